// TableStore recovering from I/O errors without the caller reopening it:
// after an injected EIO / ENOSPC on the WAL, an SST or the MANIFEST, the
// store closes and reopens RocksDB before the next call. The oracle: every
// write that returned OK is visible on the live store (a write that failed
// may or may not be: its outcome is unknown), calls work again once the
// fault clears, and after a power loss the tables hold the state after
// some prefix of the writes that includes every synced one.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "io/fault_injection_file_system.h"
#include "tables/table_store.h"
#include "tables/tables_test_util.h"

namespace spool {
namespace {

using testing_tables::Contents;
using testing_tables::Diff;
using testing_tables::ReadAll;

constexpr char kPath[] = "/data/tables";

class TableStoreFaultRecoveryTest : public ::testing::Test {
 protected:
  std::unique_ptr<TableStore> OpenStore() {
    absl::StatusOr<std::unique_ptr<TableStore>> store =
        TableStore::Open(TableStoreOptions{.fs = fs_.get(), .path = kPath});
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }
  // Power loss under a live store: nothing it does afterwards reaches the
  // disk.
  void Crash(std::unique_ptr<TableStore>& store, PowerLossMode mode) {
    fs_->SimulateCrash({.mode = mode});
    store.reset();
    fs_->ClearFaults();
  }
  std::unique_ptr<FaultInjectionFileSystem> fs_ =
      std::make_unique<FaultInjectionFileSystem>(5);
};

// One failed WAL write or sync (torn or not) fails its write; the next
// write reopens the tables and goes to a new WAL, and survives a power loss
// in every mode although the WAL before it has a bad record in the middle.
TEST_F(TableStoreFaultRecoveryTest, WritesAfterOneFailedWalWriteAreDurable) {
  const struct {
    const char* name;
    FaultSpec spec;
  } kFaults[] = {
      {"wal write EIO", {.op = FaultOp::kWrite, .path_substring = ".log"}},
      {"torn wal write",
       {.op = FaultOp::kWrite, .path_substring = ".log", .torn_write = true}},
      {"wal write ENOSPC",
       {.op = FaultOp::kWrite,
        .error = FaultError::kNoSpace,
        .path_substring = ".log"}},
      {"wal sync EIO", {.op = FaultOp::kSync, .path_substring = ".log"}},
      {"wal sync ENOSPC",
       {.op = FaultOp::kSync,
        .error = FaultError::kNoSpace,
        .path_substring = ".log"}},
  };
  const PowerLossMode kModes[] = {PowerLossMode::kDropUnsynced,
                                  PowerLossMode::kKeepRandomPrefix,
                                  PowerLossMode::kKeepRandomSubset};
  for (const auto& fault : kFaults) {
    for (PowerLossMode mode : kModes) {
      SCOPED_TRACE(absl::StrFormat("%s, power loss mode %d", fault.name,
                                   static_cast<int>(mode)));
      fs_ = std::make_unique<FaultInjectionFileSystem>(11);
      auto store = OpenStore();
      ASSERT_NE(store, nullptr);
      ASSERT_TRUE(store->Put(Table::kOffsets, "a", "1", true).ok());
      ASSERT_TRUE(store->Put(Table::kOffsets, "b", "2", false).ok());
      const uint64_t injected = fs_->counters().injected_faults;
      fs_->InjectFault(fault.spec);
      const absl::Status failed = store->Put(Table::kOffsets, "c", "3", true);
      EXPECT_TRUE(absl::IsUnavailable(failed) ||
                  absl::IsResourceExhausted(failed))
          << failed;
      EXPECT_EQ(fs_->counters().injected_faults, injected + 1)
          << "the fault did not fire";
      ASSERT_TRUE(store->Put(Table::kOffsets, "d", "4", true).ok());
      EXPECT_EQ(store->Get(Table::kOffsets, "b")->value_or("<none>"), "2");
      ASSERT_TRUE(store->Put(Table::kOffsets, "e", "5", false).ok());
      Crash(store, mode);
      store = OpenStore();
      ASSERT_NE(store, nullptr);
      for (const char* key : {"a", "b", "d"}) {
        EXPECT_NE(store->Get(Table::kOffsets, key)->value_or("<none>"),
                  "<none>")
            << key;
      }
    }
  }
}

// A flush RocksDB runs on its own (a full write buffer) fails with no call
// of ours seeing it; RocksDB stops on that error. The first call after the
// fault clears must work, not fail with the stale error (crashtest power
// seed 316): the store reopens first.
TEST_F(TableStoreFaultRecoveryTest,
       ABackgroundFlushErrorIsReopenedBeforeTheNextCall) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const uint64_t injected = fs_->counters().injected_faults;
  fs_->InjectFault(
      {.op = FaultOp::kWrite, .sticky = true, .path_substring = ".sst"});
  const std::string value(64 * 1024, 'v');
  int written = 0;
  // 3 MiB: more than a write buffer, so a flush starts in the background.
  for (; written < 48; ++written) {
    absl::Status s = store->Put(
        Table::kOffsets, absl::StrFormat("k%03d", written), value, false);
    if (!s.ok()) break;  // RocksDB stopped already
  }
  for (int i = 0; i < 500 && fs_->counters().injected_faults == injected; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GT(fs_->counters().injected_faults, injected)
      << "no flush reached the fault";
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  fs_->ClearFaults();
  absl::Status s = store->Put(Table::kOffsets, "after", "1", true);
  EXPECT_TRUE(s.ok()) << s;
  for (int i = 0; i < written; ++i) {
    EXPECT_EQ(store->Get(Table::kOffsets, absl::StrFormat("k%03d", i))
                  ->value_or("<none>"),
              value)
        << i;
  }
}

// Random faults while working, and work going on after each failure: the
// live store always shows every successful write (and a failed one only if
// the reopen replayed it); after the faults clear every write succeeds; a power
// loss at the end keeps a prefix of the successful writes with every synced
// one.
TEST_F(TableStoreFaultRecoveryTest, WorkGoesOnThroughRandomFaults) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE(absl::StrFormat("seed %d", seed));
    fs_ = std::make_unique<FaultInjectionFileSystem>(seed);
    std::mt19937_64 rng(seed);
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    Contents model;
    std::vector<Contents> states = {model};  // after each successful write
    size_t durable = 0;
    int failures = 0;
    static constexpr FaultOp kOps[] = {FaultOp::kWrite, FaultOp::kSync,
                                       FaultOp::kAny};
    std::optional<FaultSpec> fault;
    // Failed writes not yet decided: key -> values.
    std::map<std::string, std::set<std::string>> maybe;
    for (int op = 0; op < 160; ++op) {
      if (op % 40 == 0) {
        fs_->ClearFaults();
        fault.reset();
        if (op < 120) {
          fault = FaultSpec{
              .op = kOps[(seed + op / 40) % 3],
              .nth = 0,
              .probability = 0.08,
              .error = rng() % 2 == 0 ? FaultError::kNoSpace : FaultError::kIO,
              .torn_write = rng() % 2 == 0};
          fs_->InjectFault(*fault);
        }
      }
      const std::string key = absl::StrFormat("k%d", rng() % 20);
      const std::string value =
          absl::StrFormat("v%d-%s", op, std::string(rng() % 300, 'x'));
      const bool sync = rng() % 3 == 0;
      absl::Status s;
      const bool flush = rng() % 20 == 0;
      s = flush ? store->Flush() : store->Put(Table::kGroups, key, value, sync);
      if (s.ok() && !maybe.empty()) {
        // The failed writes before this one are decided now (the reopen
        // that preceded it replayed them or not): adopt what is there.
        fs_->ClearFaults();
        for (const auto& [k, values] : maybe) {
          if (!flush && k == key) continue;  // overwritten just now
          auto got = store->Get(Table::kGroups, k);
          ASSERT_TRUE(got.ok()) << got.status();
          if (got->has_value() && values.contains(**got)) {
            model[{Table::kGroups, k}] = **got;
          }
        }
        if (fault) fs_->InjectFault(*fault);
        maybe.clear();
        states.push_back(model);
      }
      if (s.ok() && flush) durable = states.size() - 1;
      if (s.ok() && !flush) {
        model[{Table::kGroups, key}] = value;
        states.push_back(model);
        if (sync) durable = states.size() - 1;
      }
      if (!s.ok() && !flush) maybe[key].insert(value);
      if (!s.ok()) {
        ++failures;
        EXPECT_TRUE(absl::IsUnavailable(s) || absl::IsResourceExhausted(s))
            << s;
        EXPECT_NE(s.message().find("tables at /data/tables"), std::string::npos)
            << s;
        EXPECT_LT(op, 120) << "a write failed after the faults cleared: " << s;
      }
      if (op % 10 == 9) {
        // Read without faults (a kAny rule fails reads too).
        fs_->ClearFaults();
        const Contents live = ReadAll(*store);
        if (fault) fs_->InjectFault(*fault);
        for (const auto& [k, values] : maybe) {  // decided by the reads
          auto it = live.find({Table::kGroups, k});
          if (it != live.end() && values.contains(it->second)) {
            model[{Table::kGroups, k}] = it->second;
          }
        }
        if (!maybe.empty()) states.push_back(model);
        maybe.clear();
        EXPECT_EQ(live, model) << Diff(model, live);
        if (live != model) return;
      }
    }
    EXPECT_GT(failures, 0) << "no fault made a write fail";
    Crash(store, static_cast<PowerLossMode>(seed % 3));
    store = OpenStore();
    ASSERT_NE(store, nullptr);
    const Contents recovered = ReadAll(*store);
    bool allowed = false;
    for (size_t i = durable; i < states.size() && !allowed; ++i) {
      allowed = states[i] == recovered;
    }
    EXPECT_TRUE(allowed) << "recovered state is none of states " << durable
                         << ".." << states.size() - 1 << ":\n"
                         << Diff(states[durable], recovered);
  }
}

}  // namespace
}  // namespace spool
