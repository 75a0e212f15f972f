// Key compaction at the partition log: the latest value per key survives at
// its offset (checked against a model), tombstone horizon, compaction lags,
// producer state, dry run, cancellation, readers of replaced segments, and
// a power loss at every step of the segment swap.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "format/batch_internal.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "io/fault_injection_file_system.h"
#include "log/log_directory.h"
#include "log/log_test_util.h"

namespace spool {
namespace {

using ::spool::testing_util::SmallConfig;

using KV = std::pair<std::string, std::optional<std::string>>;

std::string KeyedBatch(const std::vector<KV>& kvs, int64_t ts,
                       BatchBuilderOptions options = {}) {
  RecordBatchBuilder b(options);
  for (const auto& [k, v] : kvs) b.Add(k, v, {}, ts);
  auto out = b.Build();
  EXPECT_TRUE(out.ok()) << out.status();
  return *out;
}

struct Rec {
  int64_t offset;
  std::string key;
  std::optional<std::string> value;
  bool operator==(const Rec&) const = default;
};

// Every record of the log, in offset order.
std::vector<Rec> AllRecords(const PartitionLog& log) {
  std::vector<Rec> out;
  int64_t offset = log.log_start_offset();
  while (offset < log.log_end_offset()) {
    auto got = log.ReadBatches(offset, {.max_bytes = 64 * 1024});
    EXPECT_TRUE(got.ok()) << got.status();
    if (!got.ok() || got->batches.empty()) break;
    for (const RecordBatchView& b : got->batches) {
      if (b.header().is_control()) continue;
      RecordIterator it(b);
      RecordView r;
      while (it.Next(&r)) {
        if (r.offset < offset) continue;
        out.push_back({r.offset, std::string(r.key.value_or("")),
                       r.value.has_value()
                           ? std::optional<std::string>(std::string(*r.value))
                           : std::nullopt});
      }
      EXPECT_TRUE(it.status().ok()) << it.status();
    }
    offset = got->next_offset;
  }
  return out;
}

// Checks `log` against the full history of appended records: every record
// read is one that was appended, at its offset; below `clean_end` no record
// has a later record of its key before `clean_end` (exactly the latest per
// key); from `clean_end` on nothing is missing; every key's latest record
// is present unless it is a tombstone and `tombstones_may_go`.
void CheckAgainstModel(const PartitionLog& log, const std::vector<Rec>& history,
                       int64_t clean_end, bool tombstones_may_go,
                       const std::string& trace, int64_t complete_from = -1) {
  if (complete_from < 0) complete_from = clean_end;
  SCOPED_TRACE(trace);
  std::map<int64_t, Rec> by_offset;
  std::map<std::string, int64_t> latest;
  for (const Rec& r : history) {
    by_offset[r.offset] = r;
    latest[r.key] = r.offset;
  }
  std::vector<Rec> got = AllRecords(log);
  std::map<int64_t, Rec> present;
  for (const Rec& r : got) {
    ASSERT_TRUE(by_offset.contains(r.offset)) << "offset " << r.offset;
    ASSERT_EQ(by_offset[r.offset], r) << "offset " << r.offset;
    present[r.offset] = r;
  }
  // Superseded below clean_end: gone.
  std::map<std::string, int64_t> last_below;
  for (const Rec& r : history) {
    if (r.offset < clean_end) last_below[r.key] = r.offset;
  }
  for (const auto& [offset, r] : present) {
    if (offset < clean_end) {
      EXPECT_EQ(last_below[r.key], offset)
          << "superseded record at " << offset << " for key " << r.key;
    }
  }
  for (const Rec& r : history) {
    if (r.offset >= complete_from) {
      EXPECT_TRUE(present.contains(r.offset)) << "lost " << r.offset;
    }
  }
  for (const auto& [key, offset] : latest) {
    if (present.contains(offset)) continue;
    EXPECT_TRUE(tombstones_may_go && !by_offset[offset].value.has_value())
        << "latest record of " << key << " at " << offset << " is missing";
  }
}

class CompactionTest : public ::testing::Test {
 protected:
  CompactionTest() : fs_(std::make_unique<FaultInjectionFileSystem>(8)) {}

  LogConfig Config() {
    LogConfig c = SmallConfig();
    c.require_keys = true;
    return c;
  }

  void Open() {
    auto d =
        LogDirectory::Open({.fs = fs_.get(), .clock = &clock_, .path = "/d"});
    ASSERT_TRUE(d.ok()) << d.status();
    dir_ = std::move(*d);
    auto log = dir_->OpenPartition({"t", 0}, Config(), &report_);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *log;
  }

  void Crash() {
    fs_->SimulateCrash({.keep_random_directory_prefix = true});
    log_.reset();
    dir_.reset();
    fs_->ClearFaults();
  }

  // Appends `batches` batches of 1-4 records over `keys` keys (10% of the
  // records are tombstones), recording them in history_.
  void AppendRandom(int batches, int keys, std::mt19937_64& rng) {
    for (int i = 0; i < batches; ++i) {
      std::vector<KV> kvs;
      const int n = 1 + static_cast<int>(rng() % 4);
      for (int j = 0; j < n; ++j) {
        std::string key = absl::StrFormat("key-%d", rng() % keys);
        std::optional<std::string> value;
        if (rng() % 10 != 0) {
          value = absl::StrFormat("v%d-%s", rng() % 100000,
                                  std::string(rng() % 120, 'x'));
        }
        kvs.emplace_back(std::move(key), std::move(value));
      }
      auto r = log_->Append(KeyedBatch(kvs, clock_.NowMillis()));
      ASSERT_TRUE(r.ok()) << r.status();
      for (int j = 0; j < n; ++j) {
        history_.push_back({r->base_offset + j, kvs[j].first, kvs[j].second});
      }
      clock_.Advance(absl::Seconds(1));
    }
  }

  CleanerRules Rules() {
    CleanerRules r;
    r.force = true;
    r.delete_retention = absl::Hours(1);
    return r;
  }

  std::unique_ptr<FaultInjectionFileSystem> fs_;
  ManualClock clock_;
  std::unique_ptr<LogDirectory> dir_;
  std::shared_ptr<PartitionLog> log_;
  RecoveryReport report_;
  std::vector<Rec> history_;
};

TEST_F(CompactionTest, KeepsExactlyTheLatestValuePerKeyAgainstAModel) {
  const uint64_t seed = 20261129;
  std::mt19937_64 rng(seed);
  Open();
  for (int round = 0; round < 6; ++round) {
    AppendRandom(120, 40, rng);
    const size_t before = log_->Segments().size();
    const auto active = log_->Segments().back();
    auto st = log_->Compact(clock_.Now(), Rules());
    ASSERT_TRUE(st.ok()) << st.status();
    ASSERT_TRUE(st->cleaned);
    EXPECT_EQ(st->end_offset, active->base_offset());
    EXPECT_EQ(log_->Segments().back(), active) << "the active segment moved";
    EXPECT_LE(log_->Segments().size(), before);
    EXPECT_LT(st->bytes_after, st->bytes_before);
    CheckAgainstModel(*log_, history_, st->end_offset, false,
                      absl::StrFormat("seed %d round %d", seed, round));
  }
  // Reopening (clean) reads the same records.
  const std::vector<Rec> before = AllRecords(*log_);
  log_.reset();
  dir_.reset();
  Open();
  EXPECT_EQ(AllRecords(*log_), before);
}

TEST_F(CompactionTest, SmallCleanedSegmentsAreMergedAndIndexesRebuilt) {
  std::mt19937_64 rng(5);
  Open();
  AppendRandom(400, 10, rng);  // few keys: segments shrink to almost nothing
  const size_t before = log_->Segments().size();
  ASSERT_GT(before, 6u);
  // As in Kafka, runs are grouped by their size before cleaning, so the
  // small segments the first cleaning leaves are merged by the next one.
  auto st = log_->Compact(clock_.Now(), Rules());
  ASSERT_TRUE(st.ok()) << st.status();
  st = log_->Compact(clock_.Now(), Rules());
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_LE(log_->Segments().size(), 3u) << st->ToString();
  // Every surviving offset is found through the rebuilt index.
  for (const Rec& r : AllRecords(*log_)) {
    auto got = log_->ReadBatches(r.offset, {.max_bytes = 1});
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_FALSE(got->batches.empty());
    EXPECT_LE(got->batches[0].header().base_offset, r.offset);
    EXPECT_GE(got->batches[0].header().last_offset(), r.offset);
  }
  CheckAgainstModel(*log_, history_, st->end_offset, false, "merge");
}

TEST_F(CompactionTest, TombstonesGoOnlyAfterTheDeleteHorizon) {
  Open();
  auto append = [&](const std::vector<KV>& kvs) {
    auto r = log_->Append(KeyedBatch(kvs, clock_.NowMillis()));
    ASSERT_TRUE(r.ok()) << r.status();
  };
  append({{"a", "1"}, {"b", "1"}});
  append({{"a", std::nullopt}});  // tombstone for a
  // Enough filler to roll segments past the tombstone.
  for (int i = 0; i < 60; ++i) append({{"f", std::string(300, 'f')}});
  auto st = log_->Compact(clock_.Now(), Rules());
  ASSERT_TRUE(st.ok()) << st.status();
  auto has = [&](std::string key, bool tombstone) {
    for (const Rec& r : AllRecords(*log_)) {
      if (r.key == key && r.value.has_value() != tombstone) return true;
    }
    return false;
  };
  EXPECT_FALSE(has("a", false)) << "the old value of a survived";
  EXPECT_TRUE(has("a", true)) << "the tombstone went before its horizon";
  EXPECT_TRUE(has("b", false));
  clock_.Advance(absl::Minutes(59));
  ASSERT_TRUE(log_->Compact(clock_.Now(), Rules()).ok());
  EXPECT_TRUE(has("a", true));
  clock_.Advance(absl::Minutes(2));
  st = log_->Compact(clock_.Now(), Rules());
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->tombstones_removed, 1);
  EXPECT_FALSE(has("a", true)) << "the tombstone outlived its horizon";
  EXPECT_TRUE(has("b", false));
}

TEST_F(CompactionTest, MinLagProtectsRecentSegmentsAndMaxLagForcesCleaning) {
  std::mt19937_64 rng(7);
  Open();
  AppendRandom(200, 5, rng);  // timestamps: one second apart
  CleanerRules rules = Rules();
  rules.min_compaction_lag = absl::Hours(1);
  auto st = log_->Compact(clock_.Now(), rules);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_FALSE(st->cleaned) << "records younger than the lag were cleaned";
  clock_.Advance(absl::Hours(1) - absl::Seconds(100));
  st = log_->Compact(clock_.Now(), rules);
  ASSERT_TRUE(st.ok()) << st.status();
  ASSERT_TRUE(st->cleaned);
  const int64_t lag_cut_ms = clock_.NowMillis() - 3600 * 1000;
  for (const auto& seg : log_->Segments()) {
    if (seg->base_offset() >= st->end_offset) break;
    EXPECT_LE(seg->max_timestamp(), lag_cut_ms);
  }
  EXPECT_LT(st->end_offset, log_->Segments().back()->base_offset());
  CheckAgainstModel(*log_, history_, st->end_offset, false, "min lag");

  // Below the dirty-ratio threshold nothing happens, unless max lag passed.
  AppendRandom(30, 5, rng);
  clock_.Advance(absl::Hours(2));
  rules = Rules();
  rules.force = false;
  rules.min_cleanable_dirty_ratio = 1.5;  // never reached
  st = log_->Compact(clock_.Now(), rules);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_FALSE(st->cleaned) << st->ToString();
  rules.max_compaction_lag = absl::Hours(1);
  st = log_->Compact(clock_.Now(), rules);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_TRUE(st->cleaned);
  CheckAgainstModel(*log_, history_, st->end_offset, false, "max lag");
}

TEST_F(CompactionTest, KeylessRecordsAreRejected) {
  Open();
  RecordBatchBuilder b;
  b.Add(std::nullopt, "v", {}, 1);
  auto r = log_->Append(*b.Build());
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr("has no key"));
  EXPECT_EQ(log_->log_end_offset(), 0);
}

TEST_F(CompactionTest, DryRunReportsWithoutChangingAnything) {
  std::mt19937_64 rng(9);
  Open();
  AppendRandom(150, 8, rng);
  const std::vector<Rec> before = AllRecords(*log_);
  auto names = fs_->ListDir("/d/t-0");
  ASSERT_TRUE(names.ok());
  CleanerRules rules = Rules();
  rules.dry_run = true;
  auto dry = log_->Compact(clock_.Now(), rules);
  ASSERT_TRUE(dry.ok()) << dry.status();
  EXPECT_TRUE(dry->dry_run);
  EXPECT_GT(dry->records_removed, 0);
  EXPECT_EQ(AllRecords(*log_), before);
  EXPECT_EQ(*fs_->ListDir("/d/t-0"), *names);
  auto real = log_->Compact(clock_.Now(), Rules());
  ASSERT_TRUE(real.ok()) << real.status();
  EXPECT_EQ(real->records_removed, dry->records_removed);
  EXPECT_EQ(real->bytes_after, dry->bytes_after);
  EXPECT_EQ(static_cast<int64_t>(before.size() - AllRecords(*log_).size()),
            real->records_removed);
}

TEST_F(CompactionTest, CancelledCompactionLeavesNothingBehind) {
  std::mt19937_64 rng(10);
  Open();
  AppendRandom(150, 8, rng);
  const std::vector<Rec> before = AllRecords(*log_);
  auto names = fs_->ListDir("/d/t-0");
  std::atomic<bool> cancel{true};
  auto st = log_->Compact(clock_.Now(), Rules(), {.cancel = &cancel});
  EXPECT_EQ(st.status().code(), absl::StatusCode::kCancelled) << st.status();
  EXPECT_EQ(AllRecords(*log_), before);
  EXPECT_EQ(*fs_->ListDir("/d/t-0"), *names);
}

TEST_F(CompactionTest, IdempotentProducersLastBatchSurvivesAsAnEmptyBatch) {
  Open();
  BatchBuilderOptions o{
      .producer_id = 77, .producer_epoch = 0, .base_sequence = 0};
  ASSERT_TRUE(log_->Append(KeyedBatch({{"p", "1"}}, 1, o)).ok());
  o.base_sequence = 1;
  ASSERT_TRUE(log_->Append(KeyedBatch({{"p", "2"}, {"q", "1"}}, 2, o)).ok());
  // Another writer supersedes both keys; filler rolls segments.
  ASSERT_TRUE(log_->Append(KeyedBatch({{"p", "3"}, {"q", "2"}}, 3)).ok());
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(
        log_->Append(KeyedBatch({{"f", std::string(300, 'f')}}, 4)).ok());
  }
  auto st = log_->Compact(clock_.Now(), Rules());
  ASSERT_TRUE(st.ok()) << st.status();
  auto got = log_->ReadBatches(0, {.max_bytes = 1 << 20});
  ASSERT_TRUE(got.ok());
  ASSERT_GE(got->batches.size(), 2u);
  // Batch 0 (sequence 0) is gone; the producer's last batch (offsets 1-2,
  // sequence 1) stays as a header without records.
  const BatchHeader& h = got->batches[0].header();
  EXPECT_EQ(h.base_offset, 1);
  EXPECT_EQ(h.last_offset(), 2);
  EXPECT_EQ(h.producer_id, 77);
  EXPECT_EQ(h.base_sequence, 1);
  EXPECT_EQ(h.records_count, 0);
  EXPECT_TRUE(got->batches[0].VerifyCrc().ok());
  // A retry of that batch is still recognised after reopening.
  log_.reset();
  dir_.reset();
  Open();
  auto retry = log_->Append(KeyedBatch({{"p", "2"}, {"q", "1"}}, 2, o));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->base_offset, 1);
}

// A transaction's end marker: a control batch of one record whose key is
// (version 0, type) and value (version 0, coordinator epoch 0), big-endian.
std::string EndMarker(int64_t base_offset, int64_t producer_id, bool commit,
                      int64_t ts) {
  const std::string key = {0, 0, 0, static_cast<char>(commit ? 1 : 0)};
  const std::string value = {0, 0, 0, 0, 0, 0};
  RecordBatchBuilder b({.base_offset = base_offset,
                        .producer_id = producer_id,
                        .producer_epoch = 0,
                        .base_sequence = -1,
                        .transactional = true,
                        .control = true});
  b.Add(key, value, {}, ts);
  auto out = b.Build();
  EXPECT_TRUE(out.ok()) << out.status();
  return *out;
}

TEST_F(CompactionTest, AbortedTransactionsGoCommittedOnesCountAndMarkersStay) {
  Open();
  const LogAppendOptions own{.assign_offsets = false};
  auto txn = [](int64_t base, int64_t pid) {
    return BatchBuilderOptions{.base_offset = base,
                               .producer_id = pid,
                               .producer_epoch = 0,
                               .base_sequence = 0,
                               .transactional = true};
  };
  // Producer 5's transaction (offsets 0-1) aborts; producer 6's (2-3)
  // commits; a plain record then supersedes one of 6's keys.
  ASSERT_TRUE(log_->Append(KeyedBatch({{"a", "a-aborted"}, {"b", "b-aborted"}},
                                      1, txn(0, 5)),
                           own)
                  .ok());
  ASSERT_TRUE(
      log_->Append(KeyedBatch({{"a", "a-committed"}, {"c", "c-committed"}}, 2,
                              txn(2, 6)),
                   own)
          .ok());
  ASSERT_TRUE(log_->Append(EndMarker(4, 5, /*commit=*/false, 3), own).ok());
  ASSERT_TRUE(log_->Append(EndMarker(5, 6, /*commit=*/true, 4), own).ok());
  ASSERT_TRUE(log_->Append(KeyedBatch({{"c", "c-plain"}}, 5)).ok());
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(
        log_->Append(KeyedBatch({{"f", std::string(300, 'f')}}, 6)).ok());
  }
  auto st = log_->Compact(clock_.Now(), Rules());
  ASSERT_TRUE(st.ok()) << st.status();
  ASSERT_TRUE(st->cleaned);
  ASSERT_GT(st->end_offset, 6);

  std::vector<Rec> got = AllRecords(*log_);
  std::vector<Rec> head;
  for (const Rec& r : got) {
    if (r.offset <= 6) head.push_back(r);
  }
  // The aborted records are gone even where no later value exists (b);
  // the committed "a" is the latest "a"; "c" keeps only its later value.
  EXPECT_EQ(head,
            (std::vector<Rec>{{2, "a", "a-committed"}, {6, "c", "c-plain"}}));
  // Both markers keep their offsets and their type.
  auto read = log_->ReadBatches(0, {.max_bytes = 1 << 20});
  ASSERT_TRUE(read.ok()) << read.status();
  std::map<int64_t, int> markers;  // offset -> type
  for (const RecordBatchView& b : read->batches) {
    if (!b.header().is_control()) continue;
    EXPECT_TRUE(b.header().is_transactional());
    EXPECT_TRUE(b.VerifyCrc().ok());
    RecordIterator it(b);
    RecordView r;
    ASSERT_TRUE(it.Next(&r));
    ASSERT_TRUE(r.key.has_value());
    ASSERT_EQ(r.key->size(), 4u);
    markers[b.header().base_offset] = (*r.key)[3];
  }
  EXPECT_EQ(markers, (std::map<int64_t, int>{{4, 0}, {5, 1}}));
}

TEST_F(CompactionTest, ConcurrentReadersOfReplacedSegmentsKeepReading) {
  std::mt19937_64 rng(11);
  Open();
  AppendRandom(300, 20, rng);
  // A reader holding a region of the old segments.
  auto held = log_->Read(0, {.max_bytes = 4096});
  ASSERT_TRUE(held.ok());
  ASSERT_FALSE(held->regions.empty());
  std::string before(held->regions[0].length(), '\0');
  ASSERT_TRUE(
      held->regions[0]
          .file()
          ->Read(held->regions[0].offset(), before.size(), before.data())
          .ok());
  std::atomic<bool> done{false};
  std::atomic<int64_t> reads{0};
  std::thread reader([&] {
    while (!done.load()) {
      // Every read sees a consistent log: valid batches, increasing
      // offsets, the latest value of every key.
      int64_t last = -1;
      for (const Rec& r : AllRecords(*log_)) {
        ASSERT_GT(r.offset, last);
        last = r.offset;
      }
      reads.fetch_add(1);
    }
  });
  for (int i = 0; i < 5; ++i) {
    AppendRandom(40, 20, rng);
    auto st = log_->Compact(clock_.Now(), Rules());
    ASSERT_TRUE(st.ok()) << st.status();
  }
  // On a busy machine the compactions may all be over before the reader
  // has finished one read: let it finish one.
  for (int i = 0; i < 1000 && reads.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  done.store(true);
  reader.join();
  EXPECT_GT(reads.load(), 0);
  std::string after(before.size(), '\0');
  ASSERT_TRUE(held->regions[0]
                  .file()
                  ->Read(held->regions[0].offset(), after.size(), after.data())
                  .ok());
  EXPECT_EQ(after, before) << "a held region changed under its reader";
  CheckAgainstModel(*log_, history_, log_->Segments().back()->base_offset(),
                    false, "concurrent");
}

// A power loss at every file-system operation of a compaction: after
// recovery the log is either the old one or the compacted one (never a mix
// that loses a latest value or exposes a half-written segment).
TEST_F(CompactionTest, PowerLossAtEveryStepOfTheSwapRecovers) {
  int crashes = 0;
  for (int nth = 1; nth < 2000; ++nth) {
    fs_ = std::make_unique<FaultInjectionFileSystem>(nth);
    history_.clear();
    std::mt19937_64 rng(3);
    Open();
    AppendRandom(120, 15, rng);
    ASSERT_TRUE(log_->Flush().ok());
    const std::vector<Rec> before = AllRecords(*log_);
    const int64_t active_base = log_->Segments().back()->base_offset();
    fs_->InjectFault({.op = FaultOp::kAny, .nth = nth, .sticky = true});
    auto st = log_->Compact(clock_.Now(), Rules());
    if (st.ok()) {
      fs_->ClearFaults();
      log_.reset();
      dir_.reset();
      break;  // every step was covered
    }
    ++crashes;
    Crash();
    Open();
    SCOPED_TRACE(absl::StrFormat("power loss at operation %d: %s; %s", nth,
                                 st.status().ToString(), report_.ToString()));
    const std::vector<Rec> after = AllRecords(*log_);
    if (after != before) {
      // Some or all groups were swapped: no latest value lost, nothing
      // from the active segment on lost, every record at its offset.
      CheckAgainstModel(*log_, history_, 0, false, "after swap", active_base);
    }
    // The recovered log takes appends and compacts.
    AppendRandom(5, 15, rng);
    auto again = log_->Compact(clock_.Now(), Rules());
    ASSERT_TRUE(again.ok()) << again.status();
    CheckAgainstModel(*log_, history_, again->end_offset, false, "recompact");
    log_.reset();
    dir_.reset();
    if (HasFatalFailure() || HasNonfatalFailure()) break;
  }
  EXPECT_GT(crashes, 20);
}

}  // namespace
}  // namespace spool
