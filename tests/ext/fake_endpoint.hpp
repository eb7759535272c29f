// SPDX-License-Identifier: Apache-2.0
// An Endpoint answered by a function in the test, for the registry and
// operation rules that do not depend on processes. Everything about
// processes is tested through real shims (extensions_test, plugins_test).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <bulkhead/ext/endpoint.hpp>

namespace bulkhead::test {

class FakeEndpoint final : public ext::Endpoint {
public:
	using Fn = std::function<Result<Bytes>(std::string_view op, ByteView payload)>;
	FakeEndpoint(std::string name, std::vector<std::string> ops, Fn fn = {})
		: name_(std::move(name)), ops_(std::move(ops)), fn_(std::move(fn)) {}
	const std::string &name() const override { return name_; }
	ext::Placement placement() const override { return ext::Placement::InProcess; }
	std::vector<std::string> operations() const override { return ops_; }
	Result<Bytes> call(std::string_view op, ByteView payload, Deadline) const override
	{
		if (!fn_)
			return Bytes{};
		return fn_(op, payload);
	}

private:
	std::string name_;
	std::vector<std::string> ops_;
	Fn fn_;
};

} // namespace bulkhead::test
