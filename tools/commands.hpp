// SPDX-License-Identifier: Apache-2.0
// The bundle subcommands of `bulkhead`: keys, packing, signing,
// verification, inspection and calling a plugin. Each takes the arguments
// after its name and returns an exit status (args.hpp, docs/cli.md).
#pragma once

#include <span>

#include <memory>
#include <optional>

#include <bulkhead/broker/trust_store.hpp>
#include <bulkhead/host.hpp>
#include <bulkhead/result.hpp>

#include "args.hpp"

namespace bulkhead::tools {

int keygen_main(std::span<char *const> args);
int pack_main(std::span<char *const> args);
int sign_main(std::span<char *const> args);
int verify_main(std::span<char *const> args);
int inspect_main(std::span<char *const> args);
int call_main(std::span<char *const> args);
int stats_main(std::span<char *const> args);

// Starts BUNDLE as a host would, trusting what the command line's trust
// options say (--dev: development mode). On failure `plugin` is empty,
// the reason was printed, and `status` is the exit status to return.
struct CliPlugin {
	std::unique_ptr<Host> host;
	std::optional<Plugin> plugin;
	int status = kExitOk;
};
CliPlugin load_from_cli(const char *command, const ParsedArgs &args, const std::string &bundle, Bytes config);

// --trust FILE.pub (repeatable), --revoke KEYID (repeatable),
// --revocations FILE: the options every verifying command takes.
Result<broker::TrustStore> trust_from(const ParsedArgs &args);
inline constexpr const char *kTrustHelp =
	"  --trust FILE.pub     trust this public key (repeatable)\n"
	"  --revoke KEYID       refuse this key id even if trusted (repeatable)\n"
	"  --revocations FILE   a revocation list: one key id per line, # comments\n";

// The exit status for an error from reading a file or from verification.
int exit_status_for(const Error &e);

} // namespace bulkhead::tools
