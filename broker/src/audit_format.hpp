// SPDX-License-Identifier: Apache-2.0
// The audit log's line format and chain hash, shared by the writer and the
// verifier so that both agree on every byte.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <bulkhead/broker/audit_log.hpp>

namespace bulkhead::broker::audit {

constexpr std::size_t kHashBytes = 32;
using Hash = std::array<std::uint8_t, kHashBytes>;

// BLAKE2b-256 (libsodium crypto_generichash, no key) of a line without its
// newline. Callers run sodium_init() first.
Hash hash_line(std::string_view line);
std::string to_hex(const Hash &hash);

// Appends `s` as a JSON string, quotes included: `"` and `\` escaped,
// control characters (and DEL) as \u00XX, valid UTF-8 copied, every byte
// that is not part of a valid UTF-8 sequence replaced by U+FFFD (EF BF BD).
void append_json_string(std::string &out, std::string_view s);

// The current UTC time as "2026-11-22T03:50:01.123456789Z".
std::string now_utc();

// One record's line, without the newline, fields in their fixed order.
std::string encode_line(std::uint64_t seq, std::string_view prev_hex, std::string_view time,
			const AuditRecord &record);

} // namespace bulkhead::broker::audit
