// TableStore on the fault-injecting file system: power losses in every mode,
// crashes at every point of an open, and injected EIO / ENOSPC. The oracle:
// after any crash the tables hold the state after some prefix of the
// operations, at least up to the last synced one (so every synced write is
// there and every batch is all or nothing), and the tables always open.

#include <algorithm>
#include <memory>
#include <random>
#include <string>
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
using testing_tables::HasStatus;
using testing_tables::ReadAll;

constexpr char kPath[] = "/data/tables";

// The states the tables may be in after a crash: states[i] is the state
// after i operations since the last check, and a crash may go back to any
// of states[durable..].
struct History {
  std::vector<Contents> states;
  size_t durable = 0;

  explicit History(Contents start) : states{std::move(start)} {}
  const Contents& current() const { return states.back(); }
  void Commit(Contents next, bool synced) {
    states.push_back(std::move(next));
    if (synced) durable = states.size() - 1;
  }
  // Success iff `actual` is one of the allowed states.
  ::testing::AssertionResult Allows(const Contents& actual) const {
    for (size_t i = durable; i < states.size(); ++i) {
      if (states[i] == actual) return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure()
           << "recovered state is none of states " << durable << ".."
           << states.size() - 1 << "; against the durable state:\n"
           << Diff(states[durable], actual) << "against the latest state:\n"
           << Diff(states.back(), actual);
  }
};

std::string ModeName(PowerLossMode mode) {
  switch (mode) {
    case PowerLossMode::kDropUnsynced:
      return "drop-unsynced";
    case PowerLossMode::kKeepRandomPrefix:
      return "keep-random-prefix";
    case PowerLossMode::kKeepRandomSubset:
      return "keep-random-subset";
  }
  return "?";
}

constexpr PowerLossMode kModes[] = {PowerLossMode::kDropUnsynced,
                                    PowerLossMode::kKeepRandomPrefix,
                                    PowerLossMode::kKeepRandomSubset};

class TableStoreCrashTest : public ::testing::Test {
 protected:
  // Opens the tables; the test fails if they do not open.
  std::unique_ptr<TableStore> OpenStore() {
    absl::StatusOr<std::unique_ptr<TableStore>> store =
        TableStore::Open(TableStoreOptions{.fs = fs_.get(), .path = kPath});
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  // Loses power and lets `store` die like a crashed process's would: from
  // the moment of the power loss nothing it does reaches the disk.
  void Crash(std::unique_ptr<TableStore>& store,
             const PowerLossOptions& options) {
    fs_->SimulateCrash(options);
    store.reset();
    fs_->ClearFaults();
  }

  void CrashEveryOpenAt(bool existing_tables);

  void NewFileSystem(uint64_t seed) {
    fs_ = std::make_unique<FaultInjectionFileSystem>(seed);
  }

  std::unique_ptr<FaultInjectionFileSystem> fs_ =
      std::make_unique<FaultInjectionFileSystem>(1);
};

// One random change (a put, delete, prefix delete or a batch of them) to
// `store` and `model`. Returns whether it was synced, or an error.
absl::StatusOr<bool> RandomChange(std::mt19937_64& rng, int op,
                                  TableStore& store, Contents& model) {
  auto table = [&] { return kAllTables[rng() % 4]; };
  auto key = [&] {
    return absl::StrFormat("%c%d", 'a' + rng() % 3, rng() % 6);
  };
  const bool sync = rng() % 4 == 0;
  TableStore::Batch batch;
  const int changes = rng() % 3 == 0 ? 2 + static_cast<int>(rng() % 4) : 1;
  for (int i = 0; i < changes; ++i) {
    const Table t = table();
    const std::string k = key();
    const int kind = static_cast<int>(rng() % 10);
    if (kind < 7) {
      // Values long enough that a batch spans several WAL sectors.
      std::string v = absl::StrFormat("v%d.%d-", op, i);
      v.resize(v.size() + rng() % 700, 'x');
      batch.Put(t, k, v);
      model[{t, k}] = v;
    } else if (kind < 9) {
      batch.Delete(t, k);
      model.erase({t, k});
    } else {
      const std::string prefix = k.substr(0, 1);
      batch.DeletePrefix(t, prefix);
      std::erase_if(model, [&](const auto& e) {
        return e.first.first == t && e.first.second.starts_with(prefix);
      });
    }
  }
  absl::Status s = store.Write(batch, sync);
  if (!s.ok()) return s;
  return sync;
}

// Runs `ops` random changes (and the odd Flush) on `store`, recording them.
void RunWorkload(std::mt19937_64& rng, int ops, TableStore& store,
                 History& history) {
  for (int op = 0; op < ops; ++op) {
    Contents next = history.current();
    if (rng() % 25 == 0) {
      ASSERT_TRUE(store.Flush().ok());
      history.Commit(std::move(next), /*synced=*/true);
      continue;
    }
    absl::StatusOr<bool> synced = RandomChange(rng, op, store, next);
    ASSERT_TRUE(synced.ok()) << synced.status();
    history.Commit(std::move(next), *synced);
  }
}

TEST_F(TableStoreCrashTest, PowerLossKeepsSyncedWritesAndWholeBatches) {
  int runs = 0;
  for (PowerLossMode mode : kModes) {
    for (bool keep_dirs : {false, true}) {
      for (uint64_t seed = 1; seed <= 3; ++seed) {
        SCOPED_TRACE(
            absl::StrFormat("mode %s, keep_random_directory_prefix "
                            "%v, seed %d",
                            ModeName(mode), keep_dirs, seed));
        NewFileSystem(seed);
        std::mt19937_64 rng(seed * 1000 + static_cast<uint64_t>(mode));
        History history{Contents()};
        for (int cycle = 0; cycle < 3; ++cycle) {
          SCOPED_TRACE(absl::StrFormat("crash %d", cycle));
          auto store = OpenStore();
          ASSERT_NE(store, nullptr);
          const Contents recovered = ReadAll(*store);
          ASSERT_TRUE(history.Allows(recovered));
          history = History(recovered);
          RunWorkload(rng, 30, *store, history);
          if (HasFatalFailure()) return;
          Crash(store,
                PowerLossOptions{.mode = mode,
                                 .keep_random_directory_prefix = keep_dirs});
          ++runs;
        }
        auto store = OpenStore();
        ASSERT_NE(store, nullptr);
        ASSERT_TRUE(history.Allows(ReadAll(*store)));
      }
    }
  }
  EXPECT_EQ(runs, 54);
}

TEST_F(TableStoreCrashTest, FirstOpenSurvivesAnImmediatePowerLoss) {
  for (PowerLossMode mode : kModes) {
    for (bool keep_dirs : {false, true}) {
      for (int writes : {0, 1}) {
        SCOPED_TRACE(absl::StrFormat("mode %s, keep dirs %v, writes %d",
                                     ModeName(mode), keep_dirs, writes));
        NewFileSystem(static_cast<uint64_t>(writes) + 10);
        auto store = OpenStore();
        ASSERT_NE(store, nullptr);
        if (writes > 0) {
          ASSERT_TRUE(store->Put(Table::kCatalog, "t", "v", true).ok());
          ASSERT_TRUE(store->Put(Table::kCatalog, "u", "v", false).ok());
        }
        Crash(store,
              PowerLossOptions{.mode = mode,
                               .keep_random_directory_prefix = keep_dirs});
        store = OpenStore();
        ASSERT_NE(store, nullptr);
        absl::StatusOr<std::optional<std::string>> t =
            store->Get(Table::kCatalog, "t");
        ASSERT_TRUE(t.ok()) << t.status();
        EXPECT_EQ(t->has_value(), writes > 0);
        // Still writable after recovery.
        EXPECT_TRUE(store->Put(Table::kMeta, "after", "x").ok());
      }
    }
  }
}

// The file-system operations a fault rule with FaultOp::kAny counts.
uint64_t CountedOps(const FaultInjectionCounters& c) {
  return c.opens + c.reads + c.writes + c.syncs + c.sync_dirs + c.truncates +
         c.renames + c.removes;
}

// Crashes an open at its nth file-system operation (that one and every
// later one fails, then power is lost), for n spread over the whole open,
// and checks that the next open succeeds and keeps every synced write.
void TableStoreCrashTest::CrashEveryOpenAt(bool existing_tables) {
  auto prepare = [&](uint64_t seed) {
    NewFileSystem(seed);
    if (!existing_tables) return;
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Put(Table::kCatalog, "synced", "1", true).ok());
    ASSERT_TRUE(store->Put(Table::kOffsets, "unsynced", "2", false).ok());
  };
  prepare(0);
  fs_->ResetCounters();
  OpenStore().reset();
  const uint64_t total = CountedOps(fs_->counters());
  const uint64_t stride = std::max<uint64_t>(1, total / 12);
  for (uint64_t n = 1;; n += stride) {
    SCOPED_TRACE(absl::StrFormat("crash at operation %d of ~%d", n, total));
    prepare(n);
    if (HasFatalFailure()) return;
    fs_->ResetCounters();
    fs_->InjectFault(FaultSpec{
        .op = FaultOp::kAny, .nth = static_cast<int>(n), .sticky = true});
    TableStore::Open(TableStoreOptions{.fs = fs_.get(), .path = kPath})
        .IgnoreError();  // destroyed at once, like a crashed process
    const bool fired = fs_->counters().injected_faults > 0;
    fs_->SimulatePowerLoss(PowerLossOptions{
        .mode = kModes[n % 3], .keep_random_directory_prefix = n % 2 == 1});
    fs_->ClearFaults();
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    absl::StatusOr<std::optional<std::string>> synced =
        store->Get(Table::kCatalog, "synced");
    ASSERT_TRUE(synced.ok()) << synced.status();
    EXPECT_EQ(synced->value_or("<none>"), existing_tables ? "1" : "<none>");
    ASSERT_TRUE(store->Put(Table::kMeta, "writable", "yes").ok());
    if (!fired) break;
  }
}

TEST_F(TableStoreCrashTest, CrashAnywhereInTheFirstOpenLeavesOpenableTables) {
  CrashEveryOpenAt(/*existing_tables=*/false);
}

TEST_F(TableStoreCrashTest, CrashAnywhereInAReopenKeepsSyncedWrites) {
  CrashEveryOpenAt(/*existing_tables=*/true);
}

struct InjectedFault {
  const char* name;
  FaultSpec spec;
  absl::StatusCode code;
};

// An I/O error in the write path fails that call with a clear status while
// the fault lasts, loses nothing synced before it, and once the fault
// clears the tables take writes again without the caller reopening them
// (the store reopens RocksDB itself).
TEST_F(TableStoreCrashTest, WalErrorsFailTheWriteAndLoseNothingSynced) {
  const InjectedFault kFaults[] = {
      {"wal write EIO",
       {.op = FaultOp::kWrite, .path_substring = ".log"},
       absl::StatusCode::kUnavailable},
      {"wal write ENOSPC",
       {.op = FaultOp::kWrite,
        .error = FaultError::kNoSpace,
        .path_substring = ".log"},
       absl::StatusCode::kResourceExhausted},
      {"torn wal write",
       {.op = FaultOp::kWrite, .path_substring = ".log", .torn_write = true},
       absl::StatusCode::kUnavailable},
      {"wal sync EIO",
       {.op = FaultOp::kSync, .path_substring = ".log"},
       absl::StatusCode::kUnavailable},
  };
  for (const InjectedFault& fault : kFaults) {
    SCOPED_TRACE(fault.name);
    NewFileSystem(3);
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Put(Table::kCatalog, "before", "1", true).ok());
    ASSERT_TRUE(store->Put(Table::kCatalog, "unsynced", "u", false).ok());
    FaultSpec sticky = fault.spec;
    sticky.sticky = true;
    fs_->InjectFault(sticky);
    EXPECT_TRUE(HasStatus(store->Put(Table::kCatalog, "failed", "2", true),
                          fault.code,
                          "put catalog key \"failed\" tables at /data/tables"));
    EXPECT_TRUE(HasStatus(store->Put(Table::kCatalog, "failed", "2", true),
                          fault.code, "[injected fault]"))
        << "later writes fail too while the fault lasts";
    fs_->ClearFaults();
    EXPECT_TRUE(store->Put(Table::kCatalog, "after", "3", true).ok())
        << "the fault has cleared";
    EXPECT_EQ(store->Get(Table::kCatalog, "unsynced")->value_or("<none>"), "u");
    store.reset();
    fs_->SimulatePowerLoss();
    store = OpenStore();
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->Get(Table::kCatalog, "before")->value_or("<none>"), "1");
    EXPECT_EQ(store->Get(Table::kCatalog, "after")->value_or("<none>"), "3");
    EXPECT_TRUE(store->Put(Table::kCatalog, "later", "4", true).ok());
  }
}

TEST_F(TableStoreCrashTest, FlushErrorsAreReportedAndLoseNothingSynced) {
  const InjectedFault kFaults[] = {
      {"sst write EIO",
       {.op = FaultOp::kWrite, .path_substring = ".sst"},
       absl::StatusCode::kUnavailable},
      {"sst write ENOSPC",
       {.op = FaultOp::kWrite,
        .error = FaultError::kNoSpace,
        .path_substring = ".sst"},
       absl::StatusCode::kResourceExhausted},
      {"sst sync EIO",
       {.op = FaultOp::kSync, .path_substring = ".sst"},
       absl::StatusCode::kUnavailable},
      {"manifest write EIO",
       {.op = FaultOp::kWrite, .path_substring = "MANIFEST"},
       absl::StatusCode::kUnavailable},
  };
  for (const InjectedFault& fault : kFaults) {
    SCOPED_TRACE(fault.name);
    NewFileSystem(4);
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Put(Table::kOffsets, "synced", "1", true).ok());
    ASSERT_TRUE(store->Put(Table::kOffsets, "unsynced", "2", false).ok());
    FaultSpec sticky = fault.spec;
    sticky.sticky = true;
    fs_->InjectFault(sticky);
    EXPECT_TRUE(
        HasStatus(store->Flush(), fault.code, "flush tables at /data/tables"));
    EXPECT_TRUE(HasStatus(store->Put(Table::kOffsets, "during", "3", true),
                          fault.code, "[injected fault]"))
        << "writes stop after a failed flush while the fault lasts";
    fs_->ClearFaults();
    EXPECT_TRUE(store->Put(Table::kOffsets, "after", "4", true).ok())
        << "the fault has cleared";
    EXPECT_TRUE(store->Flush().ok());
    store.reset();
    fs_->SimulatePowerLoss();
    store = OpenStore();
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->Get(Table::kOffsets, "synced")->value_or("<none>"), "1");
    EXPECT_EQ(store->Get(Table::kOffsets, "unsynced")->value_or("<none>"), "2")
        << "flushed after the fault cleared";
    EXPECT_EQ(store->Get(Table::kOffsets, "after")->value_or("<none>"), "4");
  }
}

TEST_F(TableStoreCrashTest, FullDiskFailsWritesWithResourceExhausted) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Put(Table::kMeta, "before", "1", true).ok());
  fs_->SetCapacity(fs_->used_bytes() + 64 * 1024);
  absl::Status s;
  int written = 0;
  while (s.ok() && written < 10000) {
    s = store->Put(Table::kOffsets, absl::StrFormat("k%05d", written),
                   std::string(1000, 'v'), /*sync=*/written % 8 == 0);
    if (s.ok()) ++written;
  }
  EXPECT_TRUE(HasStatus(s, absl::StatusCode::kResourceExhausted,
                        "No space left on device"));
  EXPECT_GT(written, 0);
  fs_->SetCapacity(FaultInjectionFileSystem::kUnlimitedCapacity);
  store.reset();
  fs_->SimulatePowerLoss();
  store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Get(Table::kMeta, "before")->value_or("<none>"), "1");
}

// Random EIO / ENOSPC while working: the failing call reports an error; after
// a crash the tables hold a prefix that includes every synced change (the
// failed change itself may or may not be there).
TEST_F(TableStoreCrashTest, RandomIoErrorsNeverLoseSyncedChanges) {
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    SCOPED_TRACE(absl::StrFormat("seed %d", seed));
    NewFileSystem(seed);
    std::mt19937_64 rng(seed);
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    History history{Contents()};
    fs_->InjectFault(FaultSpec{
        .op = seed % 2 == 0 ? FaultOp::kWrite : FaultOp::kSync,
        .nth = 0,
        .probability = 0.05,
        .error = seed % 3 == 0 ? FaultError::kNoSpace : FaultError::kIO});
    for (int op = 0; op < 200; ++op) {
      Contents next = history.current();
      absl::StatusOr<bool> synced = RandomChange(rng, op, *store, next);
      if (!synced.ok()) {
        EXPECT_TRUE(absl::IsUnavailable(synced.status()) ||
                    absl::IsResourceExhausted(synced.status()))
            << synced.status();
        history.Commit(std::move(next), /*synced=*/false);
        break;
      }
      history.Commit(std::move(next), *synced);
    }
    Crash(store, PowerLossOptions{.mode = kModes[seed % 3]});
    store = OpenStore();
    ASSERT_NE(store, nullptr);
    EXPECT_TRUE(history.Allows(ReadAll(*store)));
  }
}

TEST_F(TableStoreCrashTest, OpenFailsClearlyOnAnUnreadableManifest) {
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Put(Table::kMeta, "k", "v").ok());
  }
  fs_->InjectFault(FaultSpec{
      .op = FaultOp::kRead, .sticky = true, .path_substring = "MANIFEST"});
  EXPECT_TRUE(HasStatus(
      TableStore::Open(TableStoreOptions{.fs = fs_.get(), .path = kPath}),
      absl::StatusCode::kUnavailable, "open tables at /data/tables"));
  fs_->ClearFaults();
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Get(Table::kMeta, "k")->value_or("<none>"), "v");
}

}  // namespace
}  // namespace spool
