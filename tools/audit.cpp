// SPDX-License-Identifier: Apache-2.0
// `bulkhead audit verify` and `bulkhead audit show`: check an audit log's
// chain and name its first broken record, or print its records as a table.
#include "audit.hpp"

#include <fstream>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include <bulkhead/broker/audit_log.hpp>

namespace bulkhead::tools {

namespace {

using broker::AuditCheck;

constexpr int kExitIntact = 0;
constexpr int kExitBroken = 1;
constexpr int kExitUsage = 2;
constexpr int kExitIo = 3;

constexpr std::string_view kAuditUsage = R"(Usage: bulkhead audit <command> FILE [options]

Commands:
  verify  check the hash chain of an audit log and name its first broken
          record (bulkhead audit verify --help)
  show    print the records of an audit log as a table, then verify it

Exit status: 0 the chain is intact, 1 it is broken, 2 usage error,
3 the file could not be read.
)";

constexpr std::string_view kVerifyUsage = R"(Usage: bulkhead audit verify FILE [--json] [--anchor HASH]

Walks every record of the audit log FILE (docs/audit.md). A record is
broken when it is not exactly the shape the host writes, when its seq is
not the one before plus 1, when its prev is not the BLAKE2b-256 hash of
the line before it, or when it is a last line cut short (no newline).

Prints "FILE: intact, N records, last hash H" or
"FILE: broken at record K: REASON".

Options:
  --json         print one JSON object instead:
                 {"file","intact","records","first_broken","reason","last_hash"}
  --anchor HASH  also require a record whose hash is HASH (64 hex digits):
                 a last hash printed earlier and kept elsewhere. Without it,
                 records cut from the end of the log cannot be detected.

Exit status:
  0  the chain is intact (and holds the anchor, if given)
  1  the chain is broken; the first broken record is named
  2  usage error
  3  FILE could not be opened or read
)";

constexpr std::string_view kShowUsage = R"(Usage: bulkhead audit show FILE

Prints each record of the audit log FILE as a row (seq, time, event, plugin,
version, instance, outcome, detail), lines that are not records as such,
then the verdict of `bulkhead audit verify`. Control characters in fields
are shown as \xNN.

Exit status: as for `bulkhead audit verify`.
)";

std::string json_string(std::string_view s)
{
	std::string out = "\"";
	for (char ch : s) {
		const auto c = static_cast<unsigned char>(ch);
		if (c == '"' || c == '\\')
			out += fmt::format("\\{}", ch);
		else if (c < 0x20 || c == 0x7f)
			out += fmt::format("\\u{:04x}", c);
		else
			out.push_back(ch);
	}
	return out + "\"";
}

// A field as it can be shown on a terminal: no control characters.
std::string printable(std::string_view s)
{
	std::string out;
	for (char ch : s) {
		const auto c = static_cast<unsigned char>(ch);
		if (c < 0x20 || c == 0x7f)
			out += fmt::format("\\x{:02x}", c);
		else
			out.push_back(ch);
	}
	return out;
}

bool is_hash_hex(std::string_view s)
{
	if (s.size() != 64)
		return false;
	for (char c : s)
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	return true;
}

struct Options {
	std::string file;
	bool json = false;
	std::string anchor;
};

// nullopt after printing the reason; `help` set when --help asked for usage.
std::optional<Options> parse(std::span<char *const> args, bool allow_flags, bool &help)
{
	Options o;
	for (std::size_t i = 0; i < args.size(); ++i) {
		const std::string_view a = args[i];
		if (a == "--help" || a == "-h") {
			help = true;
			return std::nullopt;
		} else if (allow_flags && a == "--json") {
			o.json = true;
		} else if (allow_flags && a == "--anchor" && i + 1 < args.size()) {
			o.anchor = args[++i];
			if (!is_hash_hex(o.anchor)) {
				fmt::print(stderr, "bulkhead audit: --anchor wants 64 lowercase hex digits\n");
				return std::nullopt;
			}
		} else if (a.starts_with("-") || !o.file.empty()) {
			fmt::print(stderr, "bulkhead audit: unexpected argument '{}'\n", a);
			return std::nullopt;
		} else {
			o.file = a;
		}
	}
	if (o.file.empty()) {
		fmt::print(stderr, "bulkhead audit: no FILE given\n");
		return std::nullopt;
	}
	return o;
}

int report(const Options &o, const AuditCheck &c)
{
	if (o.json)
		fmt::print("{{\"file\":{},\"intact\":{},\"records\":{},\"first_broken\":{},"
			   "\"reason\":{},\"last_hash\":{}}}\n",
			   json_string(o.file), c.intact, c.records, c.first_broken,
			   json_string(c.reason), json_string(c.last_hash));
	else if (c.intact)
		fmt::print("{}: intact, {} records, last hash {}\n", o.file, c.records, c.last_hash);
	else
		fmt::print("{}: broken at record {}: {}\n", o.file, c.first_broken, printable(c.reason));
	return c.intact ? kExitIntact : kExitBroken;
}

int verify(const Options &o)
{
	auto check = broker::verify_audit_log(o.file, o.anchor);
	if (!check.has_value()) {
		fmt::print(stderr, "bulkhead audit: {}\n", check.error().to_string());
		return kExitIo;
	}
	return report(o, check.value());
}

int show(const Options &o)
{
	std::ifstream in(o.file, std::ios::binary);
	if (!in)
		return verify(o); // names the file and why it could not be opened
	fmt::print("{:>6}  {:<30}  {:<8}  {:<16}  {:<10}  {:>8}  {:<12}  {}\n", "seq", "time",
		   "event", "plugin", "version", "instance", "outcome", "detail");
	std::string line;
	for (std::uint64_t k = 1; std::getline(in, line); ++k) {
		auto e = broker::parse_audit_line(line);
		if (!e) {
			fmt::print("{:>6}  (line {} is not an audit record)\n", "?", k);
			continue;
		}
		const auto &r = e->record;
		fmt::print("{:>6}  {:<30}  {:<8}  {:<16}  {:<10}  {:>8}  {:<12}  {}\n", e->seq, e->time,
			   broker::to_string(r.event), printable(r.plugin), printable(r.version),
			   r.instance, printable(r.outcome), printable(r.detail));
	}
	fmt::print("\n");
	return verify(o);
}

} // namespace

int audit_main(std::span<char *const> args)
{
	const std::string_view command = args.empty() ? "" : std::string_view(args[0]);
	if (command == "--help" || command == "-h" || command == "help") {
		fmt::print("{}", kAuditUsage);
		return 0;
	}
	if (command != "verify" && command != "show") {
		if (!command.empty())
			fmt::print(stderr, "bulkhead audit: unknown command '{}'\n\n", command);
		fmt::print(stderr, "{}", kAuditUsage);
		return kExitUsage;
	}
	const bool is_verify = command == "verify";
	const std::string_view usage = is_verify ? kVerifyUsage : kShowUsage;
	bool help = false;
	auto options = parse(args.subspan(1), is_verify, help);
	if (!options) {
		fmt::print(help ? stdout : stderr, "{}{}", help ? "" : "\n", usage);
		return help ? 0 : kExitUsage;
	}
	return is_verify ? verify(*options) : show(*options);
}

} // namespace bulkhead::tools
