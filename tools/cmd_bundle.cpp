// SPDX-License-Identifier: Apache-2.0
// `bulkhead pack`, `sign` and `verify`: making and checking bundles.
#include <fmt/format.h>

#include <bulkhead/broker/bundle_verifier.hpp>

#include "commands.hpp"
#include "file_io.hpp"

namespace bulkhead::tools {

namespace {

constexpr const char *kPackHelp =
	"Usage: bulkhead pack MANIFEST.json -o OUT.bhb [--key FILE.key] [--force]\n"
	"\n"
	"Builds a bundle from a JSON manifest (docs/bundle.md). Each entry of\n"
	"\"payloads\" names a \"platform\" (linux-x86_64, wasm32, ...) and a \"file\",\n"
	"relative to the manifest's directory; pack pins each file's size and\n"
	"BLAKE2b-256 in the manifest. With --key it also signs the bundle.\n"
	"\n"
	"  -o OUT.bhb       the bundle to write (required)\n"
	"  --key FILE.key   sign with this secret key (from bulkhead keygen)\n"
	"  --force          overwrite OUT.bhb if it exists\n"
	"\n"
	"Exit status: 0 written; 1 the manifest or a payload is invalid;\n"
	"2 usage error; 3 a file could not be read or written.\n";

constexpr const char *kSignHelp =
	"Usage: bulkhead sign BUNDLE --key FILE.key [-o OUT.bhb]\n"
	"\n"
	"Signs a bundle's manifest with an Ed25519 secret key, replacing any\n"
	"signature it had. The bundle's payloads are checked against the hashes\n"
	"its manifest pins first: a damaged bundle is not signed. Without -o the\n"
	"bundle is replaced atomically.\n"
	"\n"
	"Exit status: 0 signed; 1 the bundle is malformed or damaged; 2 usage\n"
	"error; 3 a file could not be read or written.\n";

std::string verify_help()
{
	return std::string("Usage: bulkhead verify BUNDLE... [--trust FILE.pub]... [options]\n"
			   "\n"
			   "Checks each bundle as a host would before running it: the container,\n"
			   "the signature (Ed25519, by a trusted and unrevoked key), the manifest,\n"
			   "a payload for the platform, and every payload's hash.\n"
			   "\n") +
	       kTrustHelp +
	       "  --platform NAME      the platform to select a payload for (default: this one)\n"
	       "  --json               one JSON object per bundle, one per line\n"
	       "\n"
	       "Exit status: 0 every bundle verified; 1 at least one was refused;\n"
	       "2 usage error; 3 a file or key could not be read.\n";
}

int usage(const char *command, const std::string &help, const Result<ParsedArgs> &args)
{
	if (!args.has_value())
		fmt::print(stderr, "bulkhead {}: {}\n", command, args.error().message);
	fmt::print(stderr, "{}", help);
	return kExitUsage;
}

std::string directory_of(const std::string &path)
{
	auto slash = path.rfind('/');
	return slash == std::string::npos ? "." : path.substr(0, slash);
}

int fail(const char *command, const Error &e)
{
	fmt::print(stderr, "bulkhead {}: {}\n", command, e.message);
	return exit_status_for(e);
}

} // namespace

int pack_main(std::span<char *const> argv)
{
	auto args = parse_args(argv, {"--force"}, {"-o", "--key"});
	if (args.has_value() && args->has("--help")) {
		fmt::print("{}", kPackHelp);
		return kExitOk;
	}
	if (!args.has_value() || args->positional.size() != 1 || !args->value("-o"))
		return usage("pack", kPackHelp, args);
	const std::string manifest_path = args->positional[0];
	auto json = read_file(manifest_path);
	if (!json.has_value())
		return fail("pack", json.error());
	auto manifest = broker::manifest_from_json(as_string(json.value()));
	if (!manifest.has_value())
		return fail("pack", Error{ErrorCode::InvalidArgument, manifest_path + ": " + manifest.error().message});
	auto files = broker::manifest_payload_files(manifest.value());
	if (!files.has_value())
		return fail("pack", files.error());
	std::vector<broker::PackPayload> payloads;
	for (const auto &f : files.value()) {
		if (f.file.empty())
			return fail("pack", Error{ErrorCode::InvalidArgument,
						  fmt::format("the {} payload names no \"file\"", f.platform)});
		const std::string path = f.file.front() == '/' ? f.file : directory_of(manifest_path) + "/" + f.file;
		auto bytes = read_file(path);
		if (!bytes.has_value())
			return fail("pack", bytes.error());
		payloads.push_back({f.platform, f.file, std::move(bytes).value()});
	}
	std::optional<broker::SecretKey> key;
	if (auto key_path = args->value("--key")) {
		auto k = broker::read_secret_key_file(*key_path);
		if (!k.has_value())
			return fail("pack", k.error());
		key = std::move(k).value();
	}
	auto bundle = broker::pack_bundle(manifest.value(), payloads, key ? &*key : nullptr);
	if (!bundle.has_value())
		return fail("pack", Error{ErrorCode::InvalidArgument, manifest_path + ": " + bundle.error().message});
	const std::string out = *args->value("-o");
	auto wrote = write_file(out, bundle.value(), 0644, args->has("--force") ? Replace::Atomically : Replace::Never);
	if (!wrote.has_value()) {
		fmt::print(stderr, "bulkhead pack: {}\n", wrote.error().message);
		return kExitIo;
	}
	fmt::print("{}: {} payload(s), {} bytes, {}\n", out, payloads.size(), bundle->size(),
		   key ? "signed by key " + key->id : "UNSIGNED (sign it with bulkhead sign)");
	return kExitOk;
}

int sign_main(std::span<char *const> argv)
{
	auto args = parse_args(argv, {}, {"-o", "--key"});
	if (args.has_value() && args->has("--help")) {
		fmt::print("{}", kSignHelp);
		return kExitOk;
	}
	if (!args.has_value() || args->positional.size() != 1 || !args->value("--key"))
		return usage("sign", kSignHelp, args);
	const std::string path = args->positional[0];
	auto file = read_file(path);
	if (!file.has_value())
		return fail("sign", file.error());
	auto key = broker::read_secret_key_file(*args->value("--key"));
	if (!key.has_value())
		return fail("sign", key.error());
	auto layout = broker::BundleLayout::parse(file.value());
	if (!layout.has_value())
		return fail("sign", Error{ErrorCode::InvalidArgument, path + ": " + layout.error().message});
	// Check it as an unsigned bundle, every payload, before signing.
	Bytes unsigned_copy = broker::assemble_bundle(layout->manifest, std::nullopt, layout->payloads);
	auto files = broker::manifest_payload_files(layout->manifest);
	broker::VerifyPolicy policy{nullptr, true, files.has_value() && !files->empty() ? files->front().platform : ""};
	auto checked = broker::verify_bundle(unsigned_copy, policy, broker::VerifyDepth::AllPayloads);
	if (!checked.has_value())
		return fail("sign", Error{ErrorCode::InvalidArgument, path + ": " + checked.error().message});
	Bytes signed_bundle = broker::assemble_bundle(layout->manifest, broker::sign_manifest(layout->manifest, key.value()),
						      layout->payloads);
	const std::string out = args->value("-o").value_or(path);
	auto wrote = write_file(out, signed_bundle, 0644, Replace::Atomically);
	if (!wrote.has_value()) {
		fmt::print(stderr, "bulkhead sign: {}\n", wrote.error().message);
		return kExitIo;
	}
	fmt::print("{}: {} {} signed by key {}\n", out, checked->manifest.name, checked->manifest.version.to_string(),
		   key->id);
	return kExitOk;
}

int verify_main(std::span<char *const> argv)
{
	auto args = parse_args(argv, {"--json"}, {"--trust", "--revoke", "--revocations", "--platform"});
	if (args.has_value() && args->has("--help")) {
		fmt::print("{}", verify_help());
		return kExitOk;
	}
	if (!args.has_value() || args->positional.empty())
		return usage("verify", verify_help(), args);
	auto trust = trust_from(args.value());
	if (!trust.has_value()) {
		fmt::print(stderr, "bulkhead verify: {}\n", trust.error().message);
		return kExitIo;
	}
	broker::VerifyPolicy policy{&trust.value(), false, args->value("--platform").value_or(broker::kHostPlatform)};
	const bool json = args->has("--json");
	int status = kExitOk;
	for (const auto &path : args->positional) {
		auto file = read_file(path);
		if (!file.has_value()) {
			fmt::print(stderr, "bulkhead verify: {}\n", file.error().message);
			status = kExitIo;
			continue;
		}
		auto v = broker::verify_bundle(file.value(), policy, broker::VerifyDepth::AllPayloads);
		if (json && v.has_value())
			fmt::print("{{\"bundle\":{},\"verified\":true,\"name\":{},\"version\":{},\"key_id\":{},"
				   "\"payload\":{},\"payload_hash\":{}}}\n",
				   json_quote(path), json_quote(v->manifest.name),
				   json_quote(v->manifest.version.to_string()), json_quote(v->key_id),
				   json_quote(v->manifest.payloads[v->payload_index].platform), json_quote(v->payload_hash));
		else if (json)
			fmt::print("{{\"bundle\":{},\"verified\":false,\"reason\":{}}}\n", json_quote(path),
				   json_quote(v.error().message));
		else if (v.has_value())
			fmt::print("{}: verified: {} {}, signed by key {}, {} payload {}\n", path, v->manifest.name,
				   v->manifest.version.to_string(), v->key_id,
				   v->manifest.payloads[v->payload_index].platform, v->payload_hash);
		else
			fmt::print("{}: {}\n", path, v.error().message);
		if (!v.has_value() && status == kExitOk)
			status = kExitNo;
	}
	return status;
}

} // namespace bulkhead::tools
