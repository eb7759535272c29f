// SPDX-License-Identifier: Apache-2.0
// A test-only shim that completes the handshake honestly and then attacks
// the channel in one way, named by the contents of its "plugin" file. The
// host must turn each attack into an error: never a crash, never a hang.
#include <cstdio>
#include <cstring>
#include <string>
#include <unistd.h>

#include <bulkhead/ipc/atomics.hpp>
#include <bulkhead/ipc/control.hpp>
#include <bulkhead/ipc/layout.hpp>
#include <bulkhead/ipc/ring.hpp>
#include <bulkhead/ipc/shim_protocol.hpp>
#include <bulkhead/mapping.hpp>

#include "channel_generated.h"

namespace sp = bulkhead::ipc::shim_protocol;
namespace ctl = bulkhead::control;
namespace wire = bulkhead::wire;
using namespace bulkhead::ipc;
using bulkhead::Bytes;
using bulkhead::Deadline;

namespace {

void send(flatbuffers::FlatBufferBuilder &fbb)
{
	(void)control::send(sp::kControlFd, {fbb.GetBufferPointer(), fbb.GetSize()},
			    Deadline::after(std::chrono::seconds(5)));
}

void handshake(const std::string &mode)
{
	flatbuffers::FlatBufferBuilder fbb;
	std::vector<flatbuffers::Offset<flatbuffers::String>> ops{fbb.CreateString("echo")};
	std::string hash(control::schema_hash());
	if (mode == "wrong_schema")
		hash = "0123456789abcdef";
	auto hello = ctl::CreateHello(fbb, control::protocol_version(),
				      fbb.CreateString(hash.data(), hash.size()),
				      fbb.CreateString("hostile"), fbb.CreateString("6.6.6"),
				      fbb.CreateVector(ops));
	fbb.Finish(ctl::CreateMessage(fbb, ctl::Body::Hello, hello.Union()));
	send(fbb);
	auto init = control::receive(sp::kControlFd, Deadline::after(std::chrono::seconds(5)));
	if (!init.has_value())
		::_exit(1);
	flatbuffers::FlatBufferBuilder done;
	done.Finish(ctl::CreateMessage(done, ctl::Body::InitDone,
				       ctl::CreateInitDone(done, true).Union()));
	send(done);
}

Bytes completion(std::uint64_t call_id, std::uint32_t slot, std::uint32_t generation,
		 wire::Status status = wire::Status::Ok)
{
	flatbuffers::FlatBufferBuilder fbb;
	std::uint8_t payload[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	fbb.Finish(wire::CreateCompletion(fbb, call_id, slot, generation, status,
					  fbb.CreateVector(payload, 8)));
	return Bytes(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
}

} // namespace

int main()
{
	// The "plugin" is a text file naming the misbehaviour.
	std::string mode;
	char text[64] = {};
	ssize_t got = ::pread(sp::kPayloadFd, text, sizeof text - 1, 0);
	if (got > 0)
		mode.assign(text, static_cast<std::size_t>(got));
	mode = mode.substr(0, mode.find('\n'));

	auto host_size = ::lseek(sp::kHostRegionFd, 0, SEEK_END);
	auto host = bulkhead::Mapping::map(sp::kHostRegionFd, host_size, bulkhead::Access::ReadOnly);
	auto shim = bulkhead::Mapping::map(sp::kShimRegionFd, host_size, bulkhead::Access::ReadWrite);
	if (!host.has_value() || !shim.has_value())
		return 1;
	const auto *hdr = reinterpret_cast<const RegionHeader *>(host->data());
	Geometry g{hdr->cells, hdr->cell_bytes};
	auto *sc = reinterpret_cast<ShimControl *>(shim->data() + kControlOffset);
	const auto *hc = reinterpret_cast<const HostControl *>(host->data() + kControlOffset);
	std::byte *cells = shim->data() + kCellsOffset;
	RingReader requests(host->data() + kCellsOffset, g, &sc->req_head);
	RingWriter completions(cells, g, &sc->cmp_tail, &hc->cmp_head);

	if (mode == "exit_before_hello")
		return 9;
	handshake(mode);

	// Health pings are answered honestly: the attack is on the first
	// real call.
	auto publish = [&](const Bytes &msg) { completions.push(msg); };
	std::span<const std::uint8_t> view;
	const wire::Request *req = nullptr;
	for (;;) {
		while (requests.peek(view) != PeekStatus::Ready)
			::usleep(100);
		req = flatbuffers::GetRoot<wire::Request>(view.data());
		if (req->op() != sp::kPingOp)
			break;
		const Bytes pong = completion(req->call_id(), req->slot(), req->generation());
		requests.pop();
		publish(pong);
	}
	const std::uint64_t id = req->call_id();
	const std::uint32_t slot = req->slot(), gen = req->generation();
	requests.pop();

	// The cell the host reads next (after any pongs): position = tail.
	const std::uint64_t next = load_acquire(&sc->cmp_tail);
	auto raw_cell = [&](std::uint64_t seq, std::uint32_t len) {
		auto *c = reinterpret_cast<CellHeader *>(cells + (next % g.cells) * g.cell_bytes);
		c->len = len;
		store_release(&c->seq, seq);
	};

	if (mode == "bad_seq")
		raw_cell(0xdeadbeefull, 8);
	else if (mode == "bad_len")
		raw_cell(next + 1, g.cell_bytes * 4);
	else if (mode == "bad_slot")
		publish(completion(id, 0x7fffffff, gen));
	else if (mode == "bad_generation")
		publish(completion(id, slot, gen + 7));
	else if (mode == "bad_call_id")
		publish(completion(id + 1000, slot, gen));
	else if (mode == "bad_status")
		publish(completion(id, slot, gen, static_cast<wire::Status>(999)));
	else if (mode == "bad_offsets") {
		Bytes m = completion(id, slot, gen);
		// Root offset and vtable offsets pointing far outside the buffer.
		std::uint32_t huge = 0x7ffffff0;
		std::memcpy(m.data(), &huge, 4);
		publish(m);
	} else if (mode == "random_bytes") {
		Bytes m(200);
		for (std::size_t i = 0; i < m.size(); ++i)
			m[i] = static_cast<std::uint8_t>(i * 37 + 11);
		publish(m);
	} else if (mode == "truncated") {
		Bytes m = completion(id, slot, gen);
		m.resize(m.size() / 2);
		publish(m);
	} else if (mode == "duplicate") {
		publish(completion(id, slot, gen));
		publish(completion(id, slot, gen));
	} else if (mode == "bad_req_head") {
		// Answer every call honestly, but each time claim to have
		// consumed far more requests than were ever written: the host
		// must notice by the time it consults the head.
		publish(completion(id, slot, gen));
		store_release(&sc->req_head, std::uint64_t(1) << 40);
		for (;;) {
			while (requests.peek(view) != PeekStatus::Ready)
				::usleep(50);
			const auto *r = flatbuffers::GetRoot<wire::Request>(view.data());
			const Bytes answer = completion(r->call_id(), r->slot(), r->generation());
			requests.pop();
			publish(answer);
			store_release(&sc->req_head, std::uint64_t(1) << 40);
		}
	} else if (mode == "garbage_region") {
		for (std::size_t i = 0; i < shim->size(); ++i)
			reinterpret_cast<volatile std::uint8_t *>(shim->data())[i] =
				static_cast<std::uint8_t>(0xA5 ^ (i * 131));
	} else if (mode == "no_answer") {
		// Nothing: the deadline must end the call.
	}
	// Stay alive so the host, not our exit, has to detect the attack.
	for (;;)
		::pause();
}
