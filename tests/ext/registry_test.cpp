// SPDX-License-Identifier: Apache-2.0
// The registry: O(1) lookup by name while writers change it, listing,
// duplicate names refused, the active storage backend.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include <fmt/format.h>

#include <bulkhead/ext/registry.hpp>

#include "fake_endpoint.hpp"

using namespace bulkhead;
using namespace bulkhead::ext;

namespace {

std::shared_ptr<Endpoint> fake(const std::string &name)
{
	return std::make_shared<test::FakeEndpoint>(name, std::vector<std::string>{});
}

ExtensionInfo info(std::string name, std::vector<std::string> categories = {"storage"}, std::string version = "1.0.0")
{
	ExtensionInfo i;
	i.name = std::move(name);
	i.version = std::move(version);
	i.description = "a test extension";
	i.author = "tests";
	i.categories = std::move(categories);
	i.capabilities = {"network"};
	return i;
}

} // namespace

TEST_CASE("lookup_finds_every_registered_name_and_nothing_else")
{
	Registry r;
	for (int i = 0; i < 200; ++i)
		REQUIRE(r.add(info(fmt::format("ext-{}", i)), fake(fmt::format("ext-{}", i))).has_value());
	for (int i = 0; i < 200; ++i) {
		const auto *e = r.find(fmt::format("ext-{}", i));
		REQUIRE(e != nullptr);
		CHECK(e->info.name == fmt::format("ext-{}", i));
		CHECK(e->endpoint->name() == e->info.name);
	}
	CHECK(r.find("ext-200") == nullptr);
	CHECK(r.find("") == nullptr);
	CHECK(r.size() == 200);
}

TEST_CASE("a_duplicate_name_is_refused_naming_both_versions")
{
	Registry r;
	REQUIRE(r.add(info("zstd", {"compression"}, "1.2.0"), fake("zstd")).has_value());
	auto again = r.add(info("zstd", {"compression"}, "2.0.0"), fake("zstd"));
	REQUIRE_FALSE(again.has_value());
	CHECK(again.error().code == ErrorCode::FailedPrecondition);
	CHECK(again.error().message.find("1.2.0") != std::string::npos);
	CHECK(again.error().message.find("2.0.0") != std::string::npos);
	CHECK(r.size() == 1);
}

TEST_CASE("bad_registrations_are_refused_with_the_reason")
{
	Registry r;
	auto unnamed = r.add(info(""), fake("x"));
	REQUIRE_FALSE(unnamed.has_value());
	CHECK(unnamed.error().code == ErrorCode::InvalidArgument);
	auto no_endpoint = r.add(info("x"), nullptr);
	REQUIRE_FALSE(no_endpoint.has_value());
	CHECK(no_endpoint.error().message.find("no endpoint") != std::string::npos);
	auto missing = r.remove("nope");
	REQUIRE_FALSE(missing.has_value());
	CHECK(missing.error().code == ErrorCode::NotFound);
}

TEST_CASE("listing_shows_name_version_description_author_and_capabilities_sorted")
{
	Registry r;
	REQUIRE(r.add(info("b-store"), fake("b-store")).has_value());
	REQUIRE(r.add(info("a-index", {"index"}), fake("a-index")).has_value());
	auto list = r.list();
	REQUIRE(list.size() == 2);
	CHECK(list[0].name == "a-index");
	CHECK(list[1].name == "b-store");
	CHECK(list[1].version == "1.0.0");
	CHECK(list[1].description == "a test extension");
	CHECK(list[1].author == "tests");
	CHECK(list[1].capabilities == std::vector<std::string>{"network"});
	auto storages = r.in_category("storage");
	REQUIRE(storages.size() == 1);
	CHECK(storages[0]->info.name == "b-store");
}

TEST_CASE("the_active_storage_backend_is_chosen_by_name_and_must_be_storage")
{
	Registry r;
	REQUIRE(r.add(info("mem"), fake("mem")).has_value());
	REQUIRE(r.add(info("sqlite"), fake("sqlite")).has_value());
	REQUIRE(r.add(info("zstd", {"compression"}), fake("zstd")).has_value());
	auto none = r.active_storage();
	REQUIRE_FALSE(none.has_value());
	CHECK(none.error().code == ErrorCode::FailedPrecondition);

	auto wrong = r.set_active_storage("zstd");
	REQUIRE_FALSE(wrong.has_value());
	CHECK(wrong.error().message.find("not a storage plugin") != std::string::npos);
	CHECK(r.set_active_storage("absent").error().code == ErrorCode::NotFound);

	REQUIRE(r.set_active_storage("sqlite").has_value());
	auto active = r.active_storage();
	REQUIRE(active.has_value());
	CHECK(active->endpoint()->name() == "sqlite");
	REQUIRE(r.set_active_storage("mem").has_value());
	CHECK(r.active_storage()->endpoint()->name() == "mem");
	// Removing the active backend leaves none chosen, rather than a stale one.
	REQUIRE(r.remove("mem").has_value());
	CHECK_FALSE(r.active_storage().has_value());
	CHECK(r.active_storage_name().empty());
}

TEST_CASE("readers_looking_up_while_writers_add_and_remove_always_see_a_whole_table")
{
	// Under TSan this is the registry's race check; here it checks that a
	// pointer once found stays valid and that stable names never vanish.
	Registry r;
	for (int i = 0; i < 8; ++i)
		REQUIRE(r.add(info(fmt::format("stable-{}", i)), fake(fmt::format("stable-{}", i))).has_value());
	std::atomic<bool> stop{false};
	std::atomic<long> misses{0}, found_churn{0};
	std::vector<std::thread> readers;
	for (int t = 0; t < 4; ++t)
		readers.emplace_back([&, t] {
			const std::string mine = fmt::format("stable-{}", t);
			while (!stop.load()) {
				const auto *e = r.find(mine);
				if (!e || e->info.name != mine)
					misses.fetch_add(1);
				if (const auto *c = r.find("churn-3"); c && c->info.name == "churn-3")
					found_churn.fetch_add(1);
			}
		});
	for (int round = 0; round < 200; ++round) {
		for (int i = 0; i < 8; ++i)
			REQUIRE(r.add(info(fmt::format("churn-{}", i)), fake("churn")).has_value());
		for (int i = 0; i < 8; ++i)
			REQUIRE(r.remove(fmt::format("churn-{}", i)).has_value());
	}
	stop.store(true);
	for (auto &t : readers)
		t.join();
	CHECK(misses.load() == 0);
	CHECK(r.size() == 8);
	CHECK(r.find("churn-3") == nullptr);
}
