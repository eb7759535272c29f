// SPDX-License-Identifier: Apache-2.0
// `bulkhead inspect`: what a bundle holds and says, readable or as JSON;
// with --sandbox, also each layer of the sandbox a shim started from it gets.
#include <string_view>

#include <fmt/format.h>

#include <bulkhead/broker/bundle_verifier.hpp>

#include "commands.hpp"
#include "file_io.hpp"

namespace bulkhead::tools {

namespace {

std::string inspect_help()
{
	return std::string("Usage: bulkhead inspect BUNDLE [--json] [--trust FILE.pub]... [--sandbox [--dev]]\n"
			   "\n"
			   "Shows a bundle's manifest (name, version, ABI, description, author,\n"
			   "categories, capabilities, limits, dependencies), its payloads with\n"
			   "their sizes and hashes (each checked), and its signature. With\n"
			   "--trust, also whether a host trusting those keys would load it.\n"
			   "\n") +
	       kTrustHelp +
	       "  --json               one JSON object instead of text\n"
	       "  --sandbox            also start the bundle in a shim exactly as a host does\n"
	       "                       and show each sandbox layer: enforced, degraded or\n"
	       "                       off, and why (needs --trust, or --dev)\n"
	       "  --dev                with --sandbox: development mode, unsigned bundles load\n"
	       "\n"
	       "Exit status: 0 shown (and verified, when --trust is given); 1 the bundle\n"
	       "is malformed, or refused under --trust; 2 usage error; 3 a file could\n"
	       "not be read or the shim could not start; 4 --sandbox: the bundle was\n"
	       "refused before any of its code ran.\n";
}

std::string json_list(const std::vector<std::string> &items)
{
	std::string out = "[";
	for (const auto &i : items)
		out += (out.size() > 1 ? "," : "") + json_quote(i);
	return out + "]";
}

std::string join(const std::vector<std::string> &items)
{
	std::string out;
	for (const auto &i : items)
		out += (out.empty() ? "" : ", ") + i;
	return out.empty() ? "(none)" : out;
}

} // namespace

int inspect_main(std::span<char *const> argv)
{
	auto args = parse_args(argv, {"--json", "--sandbox", "--dev"}, {"--trust", "--revoke", "--revocations"});
	if (args.has_value() && args->has("--help")) {
		fmt::print("{}", inspect_help());
		return kExitOk;
	}
	if (!args.has_value() || args->positional.size() != 1 || (args->has("--dev") && !args->has("--sandbox"))) {
		if (!args.has_value())
			fmt::print(stderr, "bulkhead inspect: {}\n", args.error().message);
		fmt::print(stderr, "{}", inspect_help());
		return kExitUsage;
	}
	const std::string path = args->positional[0];
	auto trust = trust_from(args.value());
	if (!trust.has_value()) {
		fmt::print(stderr, "bulkhead inspect: {}\n", trust.error().message);
		return kExitIo;
	}
	auto file = read_file(path);
	if (!file.has_value()) {
		fmt::print(stderr, "bulkhead inspect: {}\n", file.error().message);
		return kExitIo;
	}
	auto layout = broker::BundleLayout::parse(file.value());
	auto manifest = layout.has_value() ? broker::decode_manifest(layout->manifest)
					   : Result<broker::Manifest>(Unexpected(layout.error()));
	if (!manifest.has_value()) {
		fmt::print(stderr, "bulkhead inspect: {}: {}\n", path, manifest.error().message);
		return kExitNo;
	}
	const broker::Manifest &m = manifest.value();
	const bool checked = !args->all("--trust").empty();
	std::optional<Error> refusal;
	if (checked) {
		broker::VerifyPolicy policy{&trust.value(), false, broker::kHostPlatform};
		auto v = broker::verify_bundle(file.value(), policy, broker::VerifyDepth::AllPayloads);
		if (!v.has_value())
			refusal = v.error();
	}
	// The layers of a shim actually started: what this kernel and this
	// host's configuration enforce, not what the manifest asks for.
	std::optional<sandbox::SandboxReport> layers;
	if (args->has("--sandbox") && !refusal) {
		CliPlugin started = load_from_cli("inspect", args.value(), path, {});
		if (!started.plugin)
			return started.status;
		layers = started.plugin->sandbox();
		started.host->unload(*started.plugin);
	}
	const auto &sig = layout->signature;
	std::vector<bool> hash_ok;
	for (const auto &p : m.payloads)
		hash_ok.push_back(p.offset <= layout->payloads.size() && p.size <= layout->payloads.size() - p.offset &&
				  broker::blake2b_256(layout->payloads.subspan(p.offset, p.size)) == p.blake2b);

	if (args->has("--json")) {
		std::string deps = "[", payloads = "[";
		for (const auto &d : m.dependencies)
			deps += fmt::format("{}{{\"name\":{},\"range\":{}}}", deps.size() > 1 ? "," : "",
					    json_quote(d.name), json_quote(d.range.text()));
		for (std::size_t i = 0; i < m.payloads.size(); ++i) {
			const auto &p = m.payloads[i];
			payloads += fmt::format("{}{{\"platform\":{},\"file\":{},\"size\":{},\"blake2b\":{},\"hash_ok\":{}}}",
						i ? "," : "", json_quote(p.platform), json_quote(p.file), p.size,
						json_quote(broker::hex(p.blake2b)), hash_ok[i] ? "true" : "false");
		}
		std::string signature = sig ? fmt::format("{{\"algorithm\":{},\"key_id\":{}}}", json_quote(sig->algorithm),
							  json_quote(sig->key_id))
					    : "null";
		std::string verdict = !checked ? "null" : refusal ? json_quote(refusal->message) : "\"verified\"";
		std::string sandbox = "null";
		if (layers) {
			sandbox = fmt::format("{{\"fully_enforced\":{},\"layers\":[", layers->fully_enforced());
			for (std::size_t i = 0; i < layers->layers.size(); ++i) {
				const auto &l = layers->layers[i];
				sandbox += fmt::format("{}{{\"name\":{},\"state\":{},\"detail\":{}}}", i ? "," : "",
						       json_quote(l.name), json_quote(sandbox::to_string(l.state)),
						       json_quote(l.detail));
			}
			sandbox += "]}";
		}
		fmt::print("{{\"bundle\":{},\"name\":{},\"version\":{},\"abi_version\":{},\"description\":{},"
			   "\"author\":{},\"categories\":{},\"capabilities\":{},\"limits\":{{\"memory_bytes\":{},"
			   "\"cpu_percent\":{},\"pids\":{},\"call_deadline_ms\":{},\"fuel\":{}}},\"dependencies\":{}],"
			   "\"payloads\":{}],\"signature\":{},\"verification\":{},\"sandbox\":{}}}\n",
			   json_quote(path), json_quote(m.name), json_quote(m.version.to_string()), m.abi_version,
			   json_quote(m.description), json_quote(m.author), json_list(m.categories),
			   json_list(m.capabilities), m.limits.memory_bytes, m.limits.cpu_percent, m.limits.pids,
			   m.limits.call_deadline_ms, m.limits.fuel, deps, payloads, signature, verdict, sandbox);
	} else {
		fmt::print("{}\n  name          {}\n  version       {}\n  abi           {}\n", path, m.name,
			   m.version.to_string(), m.abi_version);
		fmt::print("  description   {}\n  author        {}\n", m.description.empty() ? "-" : m.description,
			   m.author.empty() ? "-" : m.author);
		fmt::print("  categories    {}\n  capabilities  {}\n", join(m.categories), join(m.capabilities));
		fmt::print("  limits        memory {} B, cpu {} %, pids {}, call deadline {} ms, fuel {} (0: host default)\n",
			   m.limits.memory_bytes, m.limits.cpu_percent, m.limits.pids, m.limits.call_deadline_ms,
			   m.limits.fuel);
		std::vector<std::string> deps;
		for (const auto &d : m.dependencies)
			deps.push_back(d.name + " " + d.range.text());
		fmt::print("  dependencies  {}\n  payloads\n", join(deps));
		for (std::size_t i = 0; i < m.payloads.size(); ++i)
			fmt::print("    {:<14} {:>10} B  blake2b {}  {}  ({})\n", m.payloads[i].platform, m.payloads[i].size,
				   broker::hex(m.payloads[i].blake2b), hash_ok[i] ? "hash ok" : "HASH MISMATCH",
				   m.payloads[i].file);
		fmt::print("  signature     {}\n", sig ? fmt::format("{} by key {}", sig->algorithm, sig->key_id) : "none (unsigned)");
		fmt::print("  verification  {}\n", !checked ? "not checked (give --trust KEY.pub)"
							    : refusal ? refusal->message : "verified: a host trusting these keys loads it");
		if (layers) {
			fmt::print("  sandbox       {}\n", layers->fully_enforced() ? "every layer enforced"
										: "some layers are degraded or off");
			std::string table = layers->to_string();
			for (std::size_t at = 0; at < table.size();) {
				const auto nl = table.find('\n', at);
				const auto end = nl == std::string::npos ? table.size() : nl;
				fmt::print("    {}\n", std::string_view(table).substr(at, end - at));
				at = end + 1;
			}
		}
	}
	return refusal ? kExitNo : kExitOk;
}

} // namespace bulkhead::tools
