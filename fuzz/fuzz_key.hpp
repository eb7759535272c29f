// SPDX-License-Identifier: Apache-2.0
// The fuzzers' one signing key, derived from a fixed seed: the seed corpus
// is signed with it and the bundle fuzzer's trust store pins it, so signed
// inputs reach past the signature check. A test key, never a real one.
#pragma once

#include <sodium.h>

#include <bulkhead/broker/trust_store.hpp>

namespace bulkhead::fuzz {

inline broker::KeyPair fixed_key_pair()
{
	if (::sodium_init() < 0)
		__builtin_trap();
	std::uint8_t seed[crypto_sign_SEEDBYTES] = {'b', 'u', 'l', 'k', 'h', 'e', 'a', 'd', '-',
						    'f', 'u', 'z', 'z', '-', 'k', 'e', 'y'};
	broker::KeyPair k;
	::crypto_sign_seed_keypair(k.public_key.key.data(), k.secret_key.key.data(), seed);
	k.public_key.id = k.secret_key.id = broker::key_id_of(k.public_key.key);
	k.public_key.comment = k.secret_key.comment = "fuzz test key";
	return k;
}

} // namespace bulkhead::fuzz
