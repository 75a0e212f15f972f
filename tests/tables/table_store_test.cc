// TableStore on a POSIX temporary directory and on the fault-injecting file
// system: reads, writes, batches, prefix deletion, reopen, read-only opens,
// the lock, and a model-based randomized test.

#include "tables/table_store.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "io/fault_injection_file_system.h"
#include "rocksdb/db.h"
#include "tables/tables_test_util.h"

namespace spool {
namespace {

using testing_tables::Contents;
using testing_tables::HasStatus;
using testing_tables::ReadAll;
using testing_tables::TempDir;

enum class FsKind { kPosix, kFault };

class TableStoreTest : public ::testing::TestWithParam<FsKind> {
 protected:
  FileSystem* fs() {
    return GetParam() == FsKind::kPosix ? FileSystem::Default() : &fault_fs_;
  }
  std::string path() const {
    return (GetParam() == FsKind::kPosix ? temp_.Join("data/tables")
                                         : std::string("/data/tables")) +
           suffix_;
  }
  TableStoreOptions Options(bool read_only = false) {
    return TableStoreOptions{
        .fs = fs(), .path = path(), .read_only = read_only};
  }
  std::unique_ptr<TableStore> OpenStore(bool read_only = false) {
    absl::StatusOr<std::unique_ptr<TableStore>> store =
        TableStore::Open(Options(read_only));
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }
  // The value of `key`, or "<none>"; fails the test on an error.
  static std::string GetOr(const TableStore& store, Table table,
                           std::string_view key) {
    absl::StatusOr<std::optional<std::string>> v = store.Get(table, key);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() && v->has_value() ? **v : "<none>";
  }

  TempDir temp_;
  FaultInjectionFileSystem fault_fs_{/*seed=*/7};
  std::string suffix_;  // appended to path()
};

INSTANTIATE_TEST_SUITE_P(FileSystems, TableStoreTest,
                         ::testing::Values(FsKind::kPosix, FsKind::kFault),
                         [](const ::testing::TestParamInfo<FsKind>& p) {
                           return p.param == FsKind::kPosix ? "Posix" : "Fault";
                         });

TEST_P(TableStoreTest, PutGetDeleteInEveryTable) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  for (Table table : kAllTables) {
    const std::string value(TableName(table));
    ASSERT_TRUE(store->Put(table, "key", value).ok());
  }
  for (Table table : kAllTables) {
    EXPECT_EQ(GetOr(*store, table, "key"), TableName(table));
  }
  ASSERT_TRUE(store->Delete(Table::kOffsets, "key").ok());
  EXPECT_EQ(GetOr(*store, Table::kOffsets, "key"), "<none>");
  EXPECT_EQ(GetOr(*store, Table::kGroups, "key"), "groups");
  // Deleting a missing key is fine.
  EXPECT_TRUE(store->Delete(Table::kOffsets, "never-written").ok());
}

TEST_P(TableStoreTest, KeysAndValuesAreBinarySafe) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const std::string key("a\0b\xff", 4);
  const std::string value("\0\0\x01", 3);
  ASSERT_TRUE(store->Put(Table::kDedup, key, value).ok());
  ASSERT_TRUE(store->Put(Table::kDedup, "", "empty key").ok());
  EXPECT_EQ(GetOr(*store, Table::kDedup, key), value);
  EXPECT_EQ(GetOr(*store, Table::kDedup, ""), "empty key");
  EXPECT_EQ(GetOr(*store, Table::kDedup, std::string("a\0b", 3)), "<none>");
}

TEST_P(TableStoreTest, ScanVisitsThePrefixInByteOrderAndStopsOnFalse) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  for (std::string key : {"g1/b", "g1/a", "g2/a", "g1", "g1/\xff", "g0/z"}) {
    ASSERT_TRUE(store->Put(Table::kOffsets, key, "v-" + key).ok());
  }
  ASSERT_TRUE(store->Put(Table::kGroups, "g1/other-table", "x").ok());
  std::vector<std::string> seen;
  ASSERT_TRUE(store
                  ->Scan(Table::kOffsets, "g1/",
                         [&](std::string_view key, std::string_view value) {
                           EXPECT_EQ(value, "v-" + std::string(key));
                           seen.emplace_back(key);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"g1/a", "g1/b", "g1/\xff"}));

  seen.clear();
  ASSERT_TRUE(store
                  ->Scan(Table::kOffsets, "",
                         [&](std::string_view key, std::string_view) {
                           seen.emplace_back(key);
                           return seen.size() < 3;
                         })
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"g0/z", "g1", "g1/a"}));
}

TEST_P(TableStoreTest, DeletePrefixRemovesOnlyMatchingKeysOfOneTable) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  for (std::string key : {"g1", "g1/a", "g1/b", "g10/a", "g2/a", "\xff\xff",
                          "\xff\xff\x01", "\xff\xfe"}) {
    ASSERT_TRUE(store->Put(Table::kOffsets, key, "v").ok());
    ASSERT_TRUE(store->Put(Table::kGroups, key, "v").ok());
  }
  ASSERT_TRUE(store->DeletePrefix(Table::kOffsets, "g1/").ok());
  // A prefix without a successor (all 0xff bytes).
  ASSERT_TRUE(store->DeletePrefix(Table::kOffsets, "\xff\xff").ok());
  Contents all = ReadAll(*store);
  std::vector<std::string> offsets;
  for (const auto& [k, v] : all) {
    if (k.first == Table::kOffsets) offsets.push_back(k.second);
  }
  EXPECT_EQ(offsets,
            (std::vector<std::string>{"g1", "g10/a", "g2/a", "\xff\xfe"}));
  EXPECT_EQ(GetOr(*store, Table::kGroups, "g1/a"), "v");

  // The empty prefix clears the table.
  ASSERT_TRUE(store->DeletePrefix(Table::kOffsets, "").ok());
  for (const auto& [k, v] : ReadAll(*store)) {
    EXPECT_NE(k.first, Table::kOffsets) << k.second;
  }
  EXPECT_EQ(GetOr(*store, Table::kGroups, "\xff\xff\x01"), "v");
}

TEST_P(TableStoreTest, BatchAppliesAcrossTablesInOrder) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Put(Table::kOffsets, "g/old", "1").ok());
  ASSERT_TRUE(store->Put(Table::kProducers, "p", "1").ok());
  TableStore::Batch batch;
  batch.DeletePrefix(Table::kOffsets, "g/");
  batch.Put(Table::kOffsets, "g/new", "2");  // after the range deletion
  batch.Put(Table::kGroups, "g", "meta");
  batch.Delete(Table::kProducers, "p");
  batch.Put(Table::kCatalog, "t", "x");
  batch.Put(Table::kCatalog, "t", "y");  // the later put wins
  EXPECT_EQ(batch.size(), 6u);
  ASSERT_TRUE(store->Write(batch).ok());
  Contents expected = {{{Table::kOffsets, "g/new"}, "2"},
                       {{Table::kGroups, "g"}, "meta"},
                       {{Table::kCatalog, "t"}, "y"}};
  Contents actual = ReadAll(*store);
  EXPECT_EQ(actual, expected) << testing_tables::Diff(expected, actual);

  batch.Clear();
  EXPECT_TRUE(batch.empty());
  EXPECT_TRUE(store->Write(batch, /*sync=*/true).ok());
}

TEST_P(TableStoreTest, ReopenKeepsSyncedUnsyncedAndFlushedData) {
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Put(Table::kMeta, "synced", "1", /*sync=*/true).ok());
    ASSERT_TRUE(store->Put(Table::kMeta, "unsynced", "2", false).ok());
    ASSERT_TRUE(store->Flush().ok());
    ASSERT_TRUE(store->Put(Table::kMeta, "after-flush", "3", false).ok());
    ASSERT_TRUE(store->Close().ok());
    EXPECT_TRUE(store->Close().ok());  // idempotent
  }
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(GetOr(*store, Table::kMeta, "synced"), "1");
  EXPECT_EQ(GetOr(*store, Table::kMeta, "unsynced"), "2");
  EXPECT_EQ(GetOr(*store, Table::kMeta, "after-flush"), "3");
}

TEST_P(TableStoreTest, ReadOnlyOpenWorksWhileAWriterHoldsTheTables) {
  auto writer = OpenStore();
  ASSERT_NE(writer, nullptr);
  ASSERT_TRUE(writer->Put(Table::kCatalog, "t", "v1").ok());
  ASSERT_TRUE(writer->Flush().ok());
  ASSERT_TRUE(writer->Put(Table::kCatalog, "u", "in-wal").ok());

  auto reader = OpenStore(/*read_only=*/true);
  ASSERT_NE(reader, nullptr);
  EXPECT_TRUE(reader->read_only());
  EXPECT_EQ(GetOr(*reader, Table::kCatalog, "t"), "v1");
  EXPECT_EQ(GetOr(*reader, Table::kCatalog, "u"), "in-wal");
  EXPECT_TRUE(HasStatus(reader->Put(Table::kCatalog, "t", "x"),
                        absl::StatusCode::kFailedPrecondition, "read-only"));
  EXPECT_TRUE(HasStatus(reader->Flush(), absl::StatusCode::kFailedPrecondition,
                        "read-only"));
  // The writer is unaffected and the reader sees a snapshot of the open.
  ASSERT_TRUE(writer->Put(Table::kCatalog, "t", "v2").ok());
  EXPECT_EQ(GetOr(*reader, Table::kCatalog, "t"), "v1");
  ASSERT_TRUE(reader->Close().ok());
  EXPECT_EQ(GetOr(*writer, Table::kCatalog, "t"), "v2");
}

TEST_P(TableStoreTest, ReadOnlyOpenWritesNothing) {
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Put(Table::kMeta, "k", "v").ok());
  }
  std::vector<std::string> before = *fs()->ListDir(path());
  auto reader = OpenStore(/*read_only=*/true);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(GetOr(*reader, Table::kMeta, "k"), "v");
  ASSERT_TRUE(reader->Close().ok());
  std::vector<std::string> after = *fs()->ListDir(path());
  std::sort(before.begin(), before.end());
  std::sort(after.begin(), after.end());
  EXPECT_EQ(before, after);
}

TEST_P(TableStoreTest, SecondReadWriteOpenFailsNamingThePath) {
  auto first = OpenStore();
  ASSERT_NE(first, nullptr);
  absl::StatusOr<std::unique_ptr<TableStore>> second =
      TableStore::Open(Options());
  EXPECT_TRUE(HasStatus(second, absl::StatusCode::kFailedPrecondition,
                        absl::StrFormat("tables at %s are in use by another "
                                        "process",
                                        path())));
  ASSERT_TRUE(first->Close().ok());
  EXPECT_TRUE(TableStore::Open(Options()).ok());
}

TEST_P(TableStoreTest, ReadOnlyOpenOfMissingTablesIsNotFound) {
  EXPECT_TRUE(HasStatus(TableStore::Open(Options(/*read_only=*/true)),
                        absl::StatusCode::kNotFound,
                        "open (read-only) tables at " + path()));
  // And it created nothing.
  EXPECT_TRUE(absl::IsNotFound(fs()->Stat(path()).status()));
}

TEST_P(TableStoreTest, CallsAfterCloseFailWithFailedPrecondition) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Close().ok());
  const absl::StatusCode kClosed = absl::StatusCode::kFailedPrecondition;
  EXPECT_TRUE(HasStatus(store->Put(Table::kMeta, "k", "v"), kClosed,
                        "put tables at " + path() + ": the tables are closed"));
  EXPECT_TRUE(HasStatus(store->Get(Table::kMeta, "k"), kClosed, "closed"));
  EXPECT_TRUE(HasStatus(store->Delete(Table::kMeta, "k"), kClosed, "closed"));
  EXPECT_TRUE(HasStatus(
      store->Scan(Table::kMeta, "",
                  [](std::string_view, std::string_view) { return true; }),
      kClosed, "closed"));
  EXPECT_TRUE(HasStatus(store->Flush(), kClosed, "closed"));
  EXPECT_TRUE(HasStatus(store->Stats(), kClosed, "closed"));
}

TEST_P(TableStoreTest, StatsCoverEveryTable) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(store
                    ->Put(Table::kOffsets, absl::StrFormat("k%03d", i),
                          std::string(100, 'x'), /*sync=*/false)
                    .ok());
  }
  absl::StatusOr<std::vector<TableStats>> stats = store->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  ASSERT_EQ(stats->size(), kNumTables);
  for (size_t i = 0; i < kNumTables; ++i) {
    EXPECT_EQ((*stats)[i].table, kAllTables[i]);
  }
  const TableStats& offsets = (*stats)[static_cast<size_t>(Table::kOffsets)];
  EXPECT_GT(offsets.memtable_bytes, 10000u);
  EXPECT_GT(offsets.estimated_keys, 0u);
  ASSERT_TRUE(store->Flush().ok());
  stats = store->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_GT((*stats)[static_cast<size_t>(Table::kOffsets)].sst_bytes, 0u);
  EXPECT_EQ((*stats)[static_cast<size_t>(Table::kCatalog)].sst_bytes, 0u);
}

TEST_P(TableStoreTest, ConcurrentWritersAndReadersSeeEveryWrite) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 4;
  constexpr int kKeys = 100;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done.load()) {
      ASSERT_TRUE(
          store
              ->Scan(Table::kOffsets, "",
                     [](std::string_view, std::string_view) { return true; })
              .ok());
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kKeys; ++i) {
        const std::string key = absl::StrFormat("t%d/%03d", t, i);
        TableStore::Batch batch;
        batch.Put(Table::kOffsets, key, "o");
        batch.Put(Table::kGroups, key, "g");
        EXPECT_TRUE(store->Write(batch, /*sync=*/i % 10 == 0).ok());
      }
    });
  }
  for (std::thread& w : writers) w.join();
  done = true;
  reader.join();
  EXPECT_EQ(ReadAll(*store).size(), size_t{2 * kThreads * kKeys});
}

TEST_P(TableStoreTest, ScanCallbackMayWriteToTheStore) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  for (std::string key : {"a", "b", "c"}) {
    ASSERT_TRUE(store->Put(Table::kGroups, key, "old", false).ok());
  }
  int seen = 0;
  ASSERT_TRUE(store
                  ->Scan(Table::kGroups, "",
                         [&](std::string_view key, std::string_view) {
                           ++seen;
                           // Writes during a scan are not seen by it.
                           EXPECT_TRUE(store
                                           ->Put(Table::kGroups,
                                                 std::string(key) + "2", "new",
                                                 false)
                                           .ok());
                           return true;
                         })
                  .ok());
  EXPECT_EQ(seen, 3);
  EXPECT_EQ(ReadAll(*store).size(), 6u);
}

TEST_P(TableStoreTest, CloseWaitsForCallsInProgressAndLaterCallsFail) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  std::atomic<int> puts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0;; ++i) {
        absl::Status s = store->Put(Table::kOffsets,
                                    absl::StrFormat("%d/%d", t, i), "v", false);
        if (!s.ok()) {
          EXPECT_TRUE(HasStatus(s, absl::StatusCode::kFailedPrecondition,
                                "the tables are closed"));
          return;
        }
        ++puts;
      }
    });
  }
  while (puts.load() < 100) std::this_thread::yield();
  ASSERT_TRUE(store->Close().ok());
  for (std::thread& t : threads) t.join();
  store.reset();
  store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(ReadAll(*store).size(), static_cast<size_t>(puts.load()));
}

TEST_P(TableStoreTest, OpenWithEmptyPathIsInvalidArgument) {
  TableStoreOptions options = Options();
  options.path.clear();
  EXPECT_TRUE(HasStatus(TableStore::Open(options),
                        absl::StatusCode::kInvalidArgument, "path is empty"));
}

// A column family this build does not know (added by a newer Spool) must not
// stop a read-write open, which RocksDB only allows with every family.
TEST(TableStorePosixTest, UnknownColumnFamiliesAreOpenedAndKept) {
  TempDir temp;
  const std::string path = temp.Join("tables");
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, path, &raw).ok());
    rocksdb::ColumnFamilyHandle* future = nullptr;
    ASSERT_TRUE(raw->CreateColumnFamily(rocksdb::ColumnFamilyOptions(),
                                        "future", &future)
                    .ok());
    ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(), future, "k", "v").ok());
    ASSERT_TRUE(raw->DestroyColumnFamilyHandle(future).ok());
    delete raw;
  }
  absl::StatusOr<std::unique_ptr<TableStore>> store =
      TableStore::Open(TableStoreOptions{.path = path});
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Put(Table::kMeta, "k", "v").ok());
  ASSERT_TRUE((*store)->Close().ok());
  std::vector<std::string> families;
  ASSERT_TRUE(
      rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &families)
          .ok());
  EXPECT_NE(std::find(families.begin(), families.end(), "future"),
            families.end());
  EXPECT_NE(std::find(families.begin(), families.end(), "meta"),
            families.end());
}

// Model-based: random operations checked against an in-memory map, with
// reopens in between.
TEST_P(TableStoreTest, RandomOperationsMatchAModel) {
  for (uint64_t seed = 1; seed <= 2; ++seed) {
    SCOPED_TRACE(absl::StrFormat("seed %d", seed));
    suffix_ = absl::StrFormat("-%d", seed);
    std::mt19937_64 rng(seed);
    Contents model;
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    auto key = [&] {
      return absl::StrFormat("%c/%d", 'a' + rng() % 3, rng() % 8);
    };
    auto table = [&] { return kAllTables[rng() % 3]; };
    for (int op = 0; op < 300; ++op) {
      const int kind = static_cast<int>(rng() % 100);
      const Table t = table();
      const std::string k = key();
      if (kind < 50) {
        const std::string v = absl::StrFormat("v%d", op);
        ASSERT_TRUE(store->Put(t, k, v, /*sync=*/false).ok());
        model[{t, k}] = v;
      } else if (kind < 70) {
        ASSERT_TRUE(store->Delete(t, k, false).ok());
        model.erase({t, k});
      } else if (kind < 75) {
        const std::string prefix = k.substr(0, 2);
        ASSERT_TRUE(store->DeletePrefix(t, prefix, false).ok());
        std::erase_if(model, [&](const auto& e) {
          return e.first.first == t && e.first.second.starts_with(prefix);
        });
      } else if (kind < 95) {
        auto it = model.find({t, k});
        EXPECT_EQ(GetOr(*store, t, k),
                  it == model.end() ? "<none>" : it->second);
      } else if (kind < 98) {
        ASSERT_TRUE(store->Flush().ok());
      } else {
        store.reset();
        store = OpenStore();
        ASSERT_NE(store, nullptr);
      }
    }
    Contents actual = ReadAll(*store);
    EXPECT_EQ(actual, model) << testing_tables::Diff(model, actual);
  }
}

}  // namespace
}  // namespace spool
