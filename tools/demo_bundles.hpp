// SPDX-License-Identifier: Apache-2.0
// The demo's plugin root: a temporary directory holding the example
// plugins packed into bundles signed with a key made for the run.
#pragma once

#include <string>

#include <bulkhead/broker/trust_store.hpp>
#include <bulkhead/result.hpp>

namespace bulkhead::tools {

class DemoRoot {
public:
	// Generates a key, packs and signs echo and hash into a staging
	// directory, and makes an empty plugin root next to it.
	static Result<DemoRoot> create();
	DemoRoot(DemoRoot &&other) noexcept;
	DemoRoot(const DemoRoot &) = delete;
	~DemoRoot(); // removes both directories

	const std::string &root() const { return root_; }
	const std::string &staging() const { return staging_; }
	const broker::PublicKey &key() const { return key_; }

private:
	DemoRoot() = default;
	std::string base_;
	std::string root_;
	std::string staging_;
	broker::PublicKey key_;
};

} // namespace bulkhead::tools
