// SPDX-License-Identifier: Apache-2.0
// Ed25519 keys and the host's trust store: public keys pinned by key id,
// and the ids it has revoked. Key files are one line of text, so they can be
// reviewed, diffed and shipped in configuration.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include <bulkhead/result.hpp>

namespace bulkhead::broker {

// A key id: the first 8 bytes of BLAKE2b-256 of the public key, in hex.
std::string key_id_of(const std::array<std::uint8_t, 32> &public_key);

struct PublicKey {
	std::string id;
	std::array<std::uint8_t, 32> key{};
	std::string comment;
};

// Wiped from memory when destroyed.
struct SecretKey {
	std::string id;
	std::array<std::uint8_t, 64> key{}; // libsodium's seed + public key
	std::string comment;
	SecretKey() = default;
	SecretKey(const SecretKey &) = default;
	SecretKey &operator=(const SecretKey &) = default;
	~SecretKey();
};

struct KeyPair {
	PublicKey public_key;
	SecretKey secret_key;
};

KeyPair generate_key_pair(std::string comment);

// "bulkhead-ed25519-public <id> <64 hex> [comment]" and
// "bulkhead-ed25519-secret <id> <128 hex> [comment]". Parsing checks that the
// id matches the key, so a hand-edited id is caught.
std::string format_public_key(const PublicKey &key);
std::string format_secret_key(const SecretKey &key);
Result<PublicKey> parse_public_key(std::string_view text);
Result<SecretKey> parse_secret_key(std::string_view text);
Result<PublicKey> read_public_key_file(const std::string &path);
Result<SecretKey> read_secret_key_file(const std::string &path);

enum class KeyStanding : std::uint8_t { Trusted, Unknown, Revoked };

class TrustStore {
public:
	// Pins a key. The same id with other key bytes is refused.
	Result<void> add(PublicKey key);
	Result<void> add_file(const std::string &path);
	// A revoked id is refused even if it is also pinned.
	void revoke(std::string key_id);
	// One key id per line; blank lines and '#' comments are skipped.
	Result<void> add_revocations_file(const std::string &path);

	KeyStanding standing(const std::string &key_id) const;
	// The pinned key, or nullptr; says nothing about revocation.
	const PublicKey *find(const std::string &key_id) const;
	const std::map<std::string, PublicKey> &keys() const { return keys_; }
	const std::set<std::string> &revoked() const { return revoked_; }

private:
	std::map<std::string, PublicKey> keys_;
	std::set<std::string> revoked_;
};

} // namespace bulkhead::broker
