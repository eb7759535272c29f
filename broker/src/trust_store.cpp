// SPDX-License-Identifier: Apache-2.0
// Ed25519 key generation, key files and the trust store.
#include <bulkhead/broker/trust_store.hpp>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>
#include <sodium.h>

namespace bulkhead::broker {

namespace {

constexpr std::string_view kPublicTag = "bulkhead-ed25519-public";
constexpr std::string_view kSecretTag = "bulkhead-ed25519-secret";

void ensure_sodium()
{
	static const int ok = ::sodium_init();
	(void)ok; // 0 or 1 (already initialised); -1 cannot happen on Linux
}

std::string hex(const std::uint8_t *data, std::size_t size)
{
	std::string out(size * 2, '\0');
	::sodium_bin2hex(out.data(), out.size() + 1, data, size);
	return out;
}

template <std::size_t N>
bool unhex(std::string_view text, std::array<std::uint8_t, N> &out)
{
	std::size_t len = 0;
	return text.size() == 2 * N &&
	       ::sodium_hex2bin(out.data(), N, text.data(), text.size(), nullptr, &len, nullptr) == 0 &&
	       len == N;
}

struct KeyLine {
	std::string tag, id, key, comment;
};

KeyLine split_key_line(std::string_view text)
{
	while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
		text.remove_suffix(1);
	KeyLine k;
	std::string *fields[] = {&k.tag, &k.id, &k.key};
	for (auto *f : fields) {
		auto sp = text.find(' ');
		*f = std::string(text.substr(0, sp));
		text = sp == std::string_view::npos ? std::string_view() : text.substr(sp + 1);
	}
	k.comment = std::string(text);
	return k;
}

Result<std::string> read_small_file(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	if (!in)
		return make_error(errno == ENOENT ? ErrorCode::NotFound : ErrorCode::InvalidArgument,
				  fmt::format("cannot read key file {}: {}", path, strerrordesc_np(errno)));
	std::ostringstream s;
	s << in.rdbuf();
	if (s.str().size() > 4096)
		return make_error(ErrorCode::InvalidArgument, fmt::format("{} is too large for a key file", path));
	return s.str();
}

Error key_error(std::string_view what) { return Error{ErrorCode::InvalidArgument, std::string(what)}; }

} // namespace

SecretKey::~SecretKey() { ::sodium_memzero(key.data(), key.size()); }

std::string key_id_of(const std::array<std::uint8_t, 32> &public_key)
{
	ensure_sodium();
	std::uint8_t digest[32];
	::crypto_generichash(digest, sizeof digest, public_key.data(), public_key.size(), nullptr, 0);
	return hex(digest, 8);
}

KeyPair generate_key_pair(std::string comment)
{
	ensure_sodium();
	KeyPair pair;
	::crypto_sign_keypair(pair.public_key.key.data(), pair.secret_key.key.data());
	pair.public_key.id = key_id_of(pair.public_key.key);
	pair.public_key.comment = comment;
	pair.secret_key.id = pair.public_key.id;
	pair.secret_key.comment = std::move(comment);
	return pair;
}

std::string format_public_key(const PublicKey &key)
{
	std::string line = fmt::format("{} {} {}", kPublicTag, key.id, hex(key.key.data(), key.key.size()));
	if (!key.comment.empty())
		line += " " + key.comment;
	return line + "\n";
}

std::string format_secret_key(const SecretKey &key)
{
	std::string line = fmt::format("{} {} {}", kSecretTag, key.id, hex(key.key.data(), key.key.size()));
	if (!key.comment.empty())
		line += " " + key.comment;
	return line + "\n";
}

Result<PublicKey> parse_public_key(std::string_view text)
{
	KeyLine line = split_key_line(text);
	if (line.tag == kSecretTag)
		return Unexpected(key_error("this is a secret key; a trust store takes public keys"));
	if (line.tag != kPublicTag)
		return Unexpected(key_error(fmt::format(
			"not a Bulkhead public key (expected a line starting '{}'; RSA and other key "
			"types are not accepted)", kPublicTag)));
	PublicKey k;
	if (!unhex(line.key, k.key))
		return Unexpected(key_error("the public key is not 64 hex digits"));
	k.id = key_id_of(k.key);
	if (k.id != line.id)
		return Unexpected(key_error(fmt::format("key id {} does not match the key (its id is {})", line.id, k.id)));
	k.comment = line.comment;
	return k;
}

Result<SecretKey> parse_secret_key(std::string_view text)
{
	KeyLine line = split_key_line(text);
	if (line.tag != kSecretTag)
		return Unexpected(key_error(fmt::format("not a Bulkhead secret key (expected '{}')", kSecretTag)));
	SecretKey k;
	if (!unhex(line.key, k.key))
		return Unexpected(key_error("the secret key is not 128 hex digits"));
	std::array<std::uint8_t, 32> pk;
	ensure_sodium();
	::crypto_sign_ed25519_sk_to_pk(pk.data(), k.key.data());
	k.id = key_id_of(pk);
	if (k.id != line.id)
		return Unexpected(key_error(fmt::format("key id {} does not match the key (its id is {})", line.id, k.id)));
	k.comment = line.comment;
	return k;
}

Result<PublicKey> read_public_key_file(const std::string &path)
{
	auto text = TRY(read_small_file(path));
	auto key = parse_public_key(text);
	if (!key.has_value())
		return make_error(ErrorCode::InvalidArgument, fmt::format("{}: {}", path, key.error().message));
	return key;
}

Result<SecretKey> read_secret_key_file(const std::string &path)
{
	auto text = TRY(read_small_file(path));
	auto key = parse_secret_key(text);
	if (!key.has_value())
		return make_error(ErrorCode::InvalidArgument, fmt::format("{}: {}", path, key.error().message));
	return key;
}

Result<void> TrustStore::add(PublicKey key)
{
	auto it = keys_.find(key.id);
	if (it != keys_.end() && it->second.key != key.key)
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("key id {} is already pinned to a different key", key.id));
	keys_[key.id] = std::move(key);
	return {};
}

Result<void> TrustStore::add_file(const std::string &path)
{
	return add(TRY(read_public_key_file(path)));
}

void TrustStore::revoke(std::string key_id) { revoked_.insert(std::move(key_id)); }

Result<void> TrustStore::add_revocations_file(const std::string &path)
{
	std::ifstream in(path);
	if (!in)
		return make_error(errno == ENOENT ? ErrorCode::NotFound : ErrorCode::InvalidArgument,
				  fmt::format("cannot read revocation list {}: {}", path, strerrordesc_np(errno)));
	std::string line;
	for (int n = 1; std::getline(in, line); ++n) {
		auto hash = line.find('#');
		line = line.substr(0, hash);
		auto first = line.find_first_not_of(" \t\r");
		if (first == std::string::npos)
			continue;
		auto id = line.substr(first, line.find_first_of(" \t\r", first) - first);
		if (id.size() != 16 || id.find_first_not_of("0123456789abcdef") != std::string::npos)
			return make_error(ErrorCode::InvalidArgument,
					  fmt::format("{}:{}: '{}' is not a key id (16 lowercase hex digits)", path, n, id));
		revoke(id);
	}
	return {};
}

KeyStanding TrustStore::standing(const std::string &key_id) const
{
	if (revoked_.contains(key_id))
		return KeyStanding::Revoked;
	return keys_.contains(key_id) ? KeyStanding::Trusted : KeyStanding::Unknown;
}

const PublicKey *TrustStore::find(const std::string &key_id) const
{
	auto it = keys_.find(key_id);
	return it == keys_.end() ? nullptr : &it->second;
}

} // namespace bulkhead::broker
