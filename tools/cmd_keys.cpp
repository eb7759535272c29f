// SPDX-License-Identifier: Apache-2.0
// `bulkhead keygen`, and the trust options the verifying commands share.
#include <fmt/format.h>

#include "commands.hpp"
#include "file_io.hpp"

namespace bulkhead::tools {

namespace {

constexpr const char *kKeygenHelp =
	"Usage: bulkhead keygen NAME [--comment TEXT] [--force]\n"
	"\n"
	"Generates an Ed25519 key pair for signing bundles: NAME.key (the secret\n"
	"key, mode 0600: keep it offline) and NAME.pub (the public key a host\n"
	"pins with HostOptions::trust or --trust). Prints the key id.\n"
	"\n"
	"  --comment TEXT   a note stored with both keys (e.g. who owns them)\n"
	"  --force          overwrite existing files\n"
	"\n"
	"Exit status: 0 written; 2 usage error; 3 a file could not be written\n"
	"(or exists, without --force).\n";

} // namespace

int exit_status_for(const Error &e)
{
	switch (e.code) {
	case ErrorCode::NotFound:
	case ErrorCode::Unavailable:
		return kExitIo;
	default:
		return kExitNo;
	}
}

Result<broker::TrustStore> trust_from(const ParsedArgs &args)
{
	broker::TrustStore trust;
	for (const auto &file : args.all("--trust"))
		TRY(trust.add_file(file));
	for (const auto &id : args.all("--revoke"))
		trust.revoke(id);
	for (const auto &file : args.all("--revocations"))
		TRY(trust.add_revocations_file(file));
	return trust;
}

int keygen_main(std::span<char *const> argv)
{
	auto args = parse_args(argv, {"--force"}, {"--comment"});
	if (!args.has_value() || (!args->has("--help") && args->positional.size() != 1)) {
		if (!args.has_value())
			fmt::print(stderr, "bulkhead keygen: {}\n", args.error().message);
		fmt::print(stderr, "{}", kKeygenHelp);
		return kExitUsage;
	}
	if (args->has("--help")) {
		fmt::print("{}", kKeygenHelp);
		return kExitOk;
	}
	const std::string name = args->positional[0];
	const auto comment = args->value("--comment").value_or("");
	if (comment.find('\n') != std::string::npos) {
		fmt::print(stderr, "bulkhead keygen: --comment must be one line\n");
		return kExitUsage;
	}
	broker::KeyPair keys = broker::generate_key_pair(comment);
	const Replace replace = args->has("--force") ? Replace::Atomically : Replace::Never;
	std::string secret = broker::format_secret_key(keys.secret_key);
	auto wrote = write_file(name + ".key", as_bytes(secret), 0600, replace);
	std::fill(secret.begin(), secret.end(), '\0');
	if (wrote.has_value())
		wrote = write_file(name + ".pub", as_bytes(broker::format_public_key(keys.public_key)), 0644, replace);
	if (!wrote.has_value()) {
		fmt::print(stderr, "bulkhead keygen: {}\n", wrote.error().message);
		return kExitIo;
	}
	fmt::print("key id {}\n  secret: {}.key (keep it private)\n  public: {}.pub\n", keys.public_key.id,
		   name, name);
	return kExitOk;
}

} // namespace bulkhead::tools
