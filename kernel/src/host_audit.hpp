// SPDX-License-Identifier: Apache-2.0
// Writing the Host's audit records: one place that fills a record from what
// is known about a plugin, and that treats "no audit log" as nothing to do.
#pragma once

#include <memory>

#include <bulkhead/broker/audit_log.hpp>
#include <bulkhead/broker/instance.hpp>
#include <bulkhead/log.hpp>

namespace bulkhead::detail {

inline broker::AuditRecord audit_record(broker::AuditEvent event, const broker::Instance &i,
					std::string outcome, std::string detail)
{
	broker::AuditRecord r;
	r.event = event;
	r.plugin = i.name();
	r.version = i.version();
	r.key_id = i.provenance().key_id;
	r.payload_hash = i.provenance().payload_hash;
	r.instance = i.id();
	r.outcome = std::move(outcome);
	r.detail = std::move(detail);
	return r;
}

// Appends when there is a log; the error names the log.
inline Result<void> audit(const std::shared_ptr<broker::AuditLog> &log, const broker::AuditRecord &r)
{
	if (!log)
		return {};
	auto written = log->append(r);
	if (!written.has_value())
		return make_error(ErrorCode::Unavailable,
				  "cannot write the audit log: " + written.error().message);
	return {};
}

// For events that happen whether or not they are recorded (a crash): a
// failed append is logged, not returned.
inline void audit_or_log(const std::shared_ptr<broker::AuditLog> &log, const broker::AuditRecord &r)
{
	if (auto written = audit(log, r); !written.has_value())
		log::error("{} (lost record: {} {} {})", written.error().message, to_string(r.event), r.plugin,
			   r.detail);
}

} // namespace bulkhead::detail
