// SPDX-License-Identifier: Apache-2.0
// bulkhead sandbox-report PLUGIN.so [--grant network|read:PATH]...: loads the
// plugin in a sandboxed shim and prints every layer: enforced, degraded or
// off, and why. Exit status 0 when all are enforced, 1 when any is not.
#include "sandbox_report.hpp"

#include <string>
#include <string_view>

#include <fmt/format.h>

#include <bulkhead/host.hpp>

#include "paths.hpp"

namespace bulkhead::tools {

namespace {

void usage()
{
	fmt::print("Usage: bulkhead sandbox-report PLUGIN.so [--grant network|read:PATH]...\n\n"
		   "Loads PLUGIN.so (or an example plugin's name, e.g. echo) in a sandboxed\n"
		   "shim and prints the state of each sandbox layer. A --grant is both\n"
		   "allowed by the host and requested by the plugin.\n");
}

} // namespace

int sandbox_report_main(std::span<char *const> args)
{
	std::string plugin;
	HostOptions options;
	options.shim_path = shim_path();
	// A diagnostic: it loads bare .so files and unsigned bundles, and
	// says so in the log.
	options.development_mode = true;
	LoadOptions load;
	for (std::size_t i = 0; i < args.size(); ++i) {
		const std::string_view a = args[i];
		if (a == "--help" || a == "-h") {
			usage();
			return 0;
		}
		if (a == "--grant" && i + 1 < args.size()) {
			const std::string_view g = args[++i];
			sandbox::CapabilityGrant grant;
			if (g == "network") {
				grant.kind = sandbox::Capability::Network;
			} else if (g.starts_with("read:")) {
				grant.kind = sandbox::Capability::ReadPath;
				grant.path = std::string(g.substr(5));
			} else {
				fmt::print(stderr, "bulkhead sandbox-report: unknown grant '{}'\n", g);
				return 2;
			}
			options.sandbox.grantable.push_back(grant);
			load.capabilities.push_back(grant);
		} else if (plugin.empty()) {
			plugin = a;
		} else {
			usage();
			return 2;
		}
	}
	if (plugin.empty()) {
		usage();
		return 2;
	}
	if (plugin.find('/') == std::string::npos && !plugin.ends_with(".so"))
		plugin = plugin_path(plugin);

	auto host = Host::create(options);
	if (!host.has_value()) {
		fmt::print(stderr, "bulkhead sandbox-report: {}\n", host.error().to_string());
		return 1;
	}
	auto p = host.value()->load(plugin, std::move(load));
	if (!p.has_value()) {
		fmt::print(stderr, "bulkhead sandbox-report: {}\n", p.error().to_string());
		return 1;
	}
	const sandbox::SandboxReport report = p->sandbox();
	fmt::print("plugin {} {} (instance {}, shim pid {})\n\n{}", p->info().name,
		   p->info().version, p->info().instance, p->info().pid, report.to_string());
	fmt::print("\n{}\n", report.fully_enforced() ? "every layer enforced"
						   : "some layers are degraded or off (see above)");
	host.value()->unload(p.value());
	return report.fully_enforced() ? 0 : 1;
}

} // namespace bulkhead::tools
