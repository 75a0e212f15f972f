#include "log/partition_log.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "format/batch_internal.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "io/fault_injection_file_system.h"
#include "io/file_cache.h"
#include "log/log_test_util.h"
#include "spool/clock.h"
#include "util/mutex.h"

namespace spool {
namespace {

using ::spool::testing_util::MakeBatch;
using ::spool::testing_util::ReadAll;
using ::spool::testing_util::SmallConfig;
using ::testing::HasSubstr;

class PartitionLogTest : public ::testing::Test {
 protected:
  PartitionLogTest() : fs_(1), files_(std::make_unique<FileCache>(&fs_, 16)) {}

  // The process dies (no I/O from destructors reaches the disk) and the
  // machine loses power.
  void Crash(std::unique_ptr<PartitionLog>& log) {
    fs_.SimulateCrash();
    log.reset();
    fs_.ClearFaults();
    files_ = std::make_unique<FileCache>(&fs_, 16);
  }

  // A power loss, then a fresh process: no handle survives.
  void PowerLoss() {
    fs_.SimulatePowerLoss();
    files_ = std::make_unique<FileCache>(&fs_, 16);
  }

  std::unique_ptr<PartitionLog> OpenLog(LogConfig config = SmallConfig(),
                                        RecoveryReport* report = nullptr,
                                        bool clean = false,
                                        int64_t recovery_point = 0) {
    PartitionLogOptions o;
    o.fs = &fs_;
    o.files = files_.get();
    o.clock = &clock_;
    o.dir = "/data/t-0";
    o.config = config;
    o.clean_shutdown = clean;
    o.recovery_point = recovery_point;
    absl::StatusOr<std::unique_ptr<PartitionLog>> log =
        PartitionLog::Open(o, report);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }

  // Appends `n` batches of `records` records; returns their bytes as
  // stored (offsets assigned).
  std::vector<std::string> AppendMany(PartitionLog& log, int n, int records,
                                      int value_bytes = 100) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
      std::string batch =
          MakeBatch(records, value_bytes, 1000 + 10 * next_seed_, next_seed_);
      ++next_seed_;
      absl::StatusOr<LogAppendResult> r = log.Append(batch);
      EXPECT_TRUE(r.ok()) << r.status();
      if (!r.ok()) break;
      SetBaseOffset(batch.data(), r->base_offset);
      out.push_back(batch);
    }
    return out;
  }

  FaultInjectionFileSystem fs_;
  std::unique_ptr<FileCache> files_;
  ManualClock clock_;
  uint64_t next_seed_ = 1;
};

TEST_F(PartitionLogTest, AppendAssignsConsecutiveOffsets) {
  auto log = OpenLog();
  absl::StatusOr<LogAppendResult> a = log->Append(MakeBatch(3, 10, 100, 1));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->base_offset, 0);
  EXPECT_EQ(a->last_offset, 2);
  absl::StatusOr<LogAppendResult> b = log->Append(MakeBatch(5, 10, 100, 2));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->base_offset, 3);
  EXPECT_EQ(b->last_offset, 7);
  EXPECT_EQ(log->log_end_offset(), 8);
  EXPECT_EQ(log->high_watermark(), 8);
  EXPECT_EQ(log->log_start_offset(), 0);
}

TEST_F(PartitionLogTest, ReadReturnsExactlyTheStoredBytes) {
  auto log = OpenLog();
  std::vector<std::string> batches = AppendMany(*log, 100, 4);
  std::vector<testing_util::ReadBack> got = ReadAll(*log);
  ASSERT_EQ(got.size(), batches.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].bytes, batches[i]) << "batch " << i;
    EXPECT_EQ(got[i].base_offset, static_cast<int64_t>(4 * i));
  }
  EXPECT_GT(log->Segments().size(), 2u) << "small segments should roll";
}

TEST_F(PartitionLogTest, ReadFromEveryOffsetStartsWithTheBatchHoldingIt) {
  auto log = OpenLog();
  AppendMany(*log, 40, 3);
  for (int64_t offset = 0; offset < log->log_end_offset(); ++offset) {
    absl::StatusOr<LogBatches> got = log->ReadBatches(offset, {.max_bytes = 1});
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(got->batches.size(), 1u) << "offset " << offset;
    const BatchHeader& h = got->batches[0].header();
    EXPECT_LE(h.base_offset, offset);
    EXPECT_GE(h.last_offset(), offset);
    EXPECT_EQ(got->next_offset, h.next_offset());
  }
}

TEST_F(PartitionLogTest, ReadThroughABrokenBatchHeaderFailsNamingIt) {
  auto log = OpenLog();
  std::vector<std::string> batches = AppendMany(*log, 20, 1);
  ASSERT_EQ(log->Segments().size(), 1u);
  const std::string path = log->Segments()[0]->log_path();
  uint64_t pos = 0;  // of batch 10
  for (int i = 0; i < 10; ++i) pos += batches[static_cast<size_t>(i)].size();
  // Its magic byte goes bad on disk while the log is open.
  auto f = fs_.Open(path, {});
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_TRUE((*f)->Write(pos + 16, std::string_view("\x07", 1)).ok());
  // Looking up the offset in it must parse its header: kDataLoss naming
  // the file, the offset sought and the batch's position.
  absl::StatusOr<LogBatches> got = log->ReadBatches(10, {.max_bytes = 1});
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(got.status().message(), HasSubstr(path));
  EXPECT_THAT(got.status().message(),
              HasSubstr(absl::StrFormat(
                  "looking up offset 10: batch at position %u", pos)));
  // Offsets before it still read; mended, everything reads again.
  EXPECT_TRUE(log->ReadBatches(9, {.max_bytes = 1}).ok());
  ASSERT_TRUE(
      (*f)->Write(pos + 16, std::string_view(&batches[10][16], 1)).ok());
  (*f)->Close().IgnoreError();
  std::vector<testing_util::ReadBack> all = ReadAll(*log);
  ASSERT_EQ(all.size(), batches.size());
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].bytes, batches[i]);
}

TEST_F(PartitionLogTest, ReadRespectsTheByteLimitInWholeBatches) {
  auto log = OpenLog();
  std::vector<std::string> batches = AppendMany(*log, 10, 2);
  int64_t size = static_cast<int64_t>(batches[0].size());
  absl::StatusOr<LogReadResult> r = log->Read(0, {.max_bytes = 3 * size + 5});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->bytes, 3 * size);
  EXPECT_EQ(r->next_offset, 6);
  // min_one_batch: a limit below one batch still returns one.
  r = log->Read(0, {.max_bytes = 1});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->bytes, size);
  r = log->Read(0, {.max_bytes = 1, .min_one_batch = false});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->bytes, 0);
  EXPECT_EQ(r->next_offset, 0);
}

TEST_F(PartitionLogTest, ReadAtTheEndIsEmptyAndBeyondIsOutOfRange) {
  auto log = OpenLog();
  AppendMany(*log, 2, 2);
  absl::StatusOr<LogReadResult> r = log->Read(4);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->regions.empty());
  EXPECT_EQ(r->next_offset, 4);
  r = log->Read(5);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(r.status().message(),
              HasSubstr("offset 5 is out of range [0, 4]"));
  r = log->Read(-1);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kOutOfRange);
}

TEST_F(PartitionLogTest, ReadRegionsCoverWholeBatchesAcrossSegments) {
  auto log = OpenLog();
  std::vector<std::string> batches = AppendMany(*log, 150, 2);
  absl::StatusOr<LogReadResult> r = log->Read(0, {.max_bytes = 1 << 30});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->regions.size(), 1u);
  std::string all;
  for (const FileRegion& region : r->regions) {
    std::string part;
    ASSERT_TRUE(region.ReadInto(&part).ok());
    all += part;
  }
  std::string expected;
  for (const std::string& b : batches) expected += b;
  EXPECT_EQ(all, expected);
  EXPECT_EQ(r->next_offset, log->log_end_offset());
}

TEST_F(PartitionLogTest, MaxOffsetBoundsTheRead) {
  auto log = OpenLog();
  AppendMany(*log, 5, 2);
  absl::StatusOr<LogBatches> got =
      log->ReadBatches(0, {.max_bytes = 1 << 20, .max_offset = 4});
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->batches.size(), 2u);
  EXPECT_EQ(got->next_offset, 4);
}

// Read (header walk) and ReadBatches (one pass into memory) against a
// model of the appended batches: for every offset and many byte limits,
// both return exactly the whole batches the limits allow, byte for byte.
// Batch sizes mix small ones with ones above the walker's 4 KiB
// "large batch" threshold, over several segments.
TEST_F(PartitionLogTest, ReadsMatchAModelForEveryOffsetAndLimit) {
  LogConfig config = SmallConfig();
  config.segment_bytes = 32 * 1024;
  config.max_batch_bytes = 16 * 1024;
  auto log = OpenLog(config);
  std::vector<std::string> batches;
  std::vector<int64_t> bases;
  for (int i = 0; i < 40; ++i) {
    const int records = 1 + i % 4;
    const int value_bytes = i % 3 == 0 ? 2500 : 60;  // ~10 KB or ~300 B
    std::string b = MakeBatch(records, value_bytes, 1000 + i, 500 + i);
    absl::StatusOr<LogAppendResult> r = log->Append(b);
    ASSERT_TRUE(r.ok()) << r.status();
    SetBaseOffset(b.data(), r->base_offset);
    bases.push_back(r->base_offset);
    batches.push_back(std::move(b));
  }
  ASSERT_GT(log->Segments().size(), 3u);
  const int64_t end = log->log_end_offset();
  for (int64_t offset = 0; offset < end; offset += 3) {
    for (int64_t max_bytes :
         {int64_t{1}, int64_t{300}, int64_t{4096}, int64_t{11000},
          int64_t{40000}, int64_t{1} << 20}) {
      for (bool min_one : {true, false}) {
        for (int64_t max_offset : {int64_t{-1}, offset + 7}) {
          SCOPED_TRACE(
              absl::StrFormat("offset %d max_bytes %d min_one %d "
                              "max_offset %d",
                              offset, max_bytes, min_one, max_offset));
          // The model: from the batch holding `offset`, whole batches
          // within the limits.
          std::string want;
          int64_t next = offset;
          size_t i = 0;
          while (i + 1 < bases.size() && bases[i + 1] <= offset) ++i;
          int64_t budget = max_bytes;
          for (bool first = true; i < batches.size(); ++i, first = false) {
            const int64_t size = static_cast<int64_t>(batches[i].size());
            BatchHeader h = *ParseBatchHeader(batches[i]);
            if (max_offset >= 0 && h.last_offset() >= max_offset) break;
            if (size > budget && !(first && min_one)) break;
            budget -= size;
            want += batches[i];
            next = h.next_offset();
            if (budget <= 0) break;
          }
          LogReadOptions o{.max_bytes = max_bytes,
                           .min_one_batch = min_one,
                           .max_offset = max_offset};
          absl::StatusOr<LogReadResult> r = log->Read(offset, o);
          ASSERT_TRUE(r.ok()) << r.status();
          std::string read;
          for (const FileRegion& region : r->regions) {
            std::string part;
            ASSERT_TRUE(region.ReadInto(&part).ok());
            read += part;
          }
          EXPECT_EQ(read.size(), want.size());
          EXPECT_TRUE(read == want);
          EXPECT_EQ(r->next_offset, next);
          absl::StatusOr<LogBatches> rb = log->ReadBatches(offset, o);
          ASSERT_TRUE(rb.ok()) << rb.status();
          EXPECT_EQ(rb->data.size(), want.size());
          EXPECT_TRUE(rb->data == want);
          EXPECT_EQ(rb->bytes, static_cast<int64_t>(want.size()));
          EXPECT_EQ(rb->next_offset, next);
          size_t parsed = 0;
          for (const RecordBatchView& b : rb->batches) {
            parsed += static_cast<size_t>(b.size_bytes());
          }
          EXPECT_EQ(parsed, want.size());
        }
      }
    }
  }
}

// Batches appended to a log, as the log stores them: all their bytes, and
// each one's base offset and where it starts in `all`. Batch i holds
// 1 + i % 4 records of `value_bytes` each.
struct AppendedBatches {
  std::string all;
  std::vector<int64_t> bases;
  std::vector<size_t> starts;
  size_t largest = 0;

  void Append(PartitionLog& log, int i, int value_bytes) {
    std::string b = MakeBatch(1 + i % 4, value_bytes, 1000 + i, 500 + i);
    absl::StatusOr<LogAppendResult> r = log.Append(b);
    ASSERT_TRUE(r.ok()) << r.status();
    SetBaseOffset(b.data(), r->base_offset);
    bases.push_back(r->base_offset);
    starts.push_back(all.size());
    largest = std::max(largest, b.size());
    all += b;
  }
  // After the log was truncated to the first `keep` batches.
  void Keep(size_t keep) {
    all.resize(starts[keep]);
    bases.resize(keep);
    starts.resize(keep);
  }
};

// ReadBatches with end_at_indexed_batch: whole batches from the one holding
// the offset, ending where the offset index knows a batch starts, so up to
// about an index interval and a batch short of what fits; reads going on
// from next_offset return every batch once.
TEST_F(PartitionLogTest, ReadsEndingAtAnIndexedBatchGoOnWhereTheyStopped) {
  LogConfig config = SmallConfig();  // an index entry every 512 bytes
  config.segment_bytes = 32 * 1024;
  config.max_batch_bytes = 16 * 1024;
  auto log = OpenLog(config);
  AppendedBatches appended;
  for (int i = 0; i < 60; ++i) {
    // 2.5-10 KB or ~300 B
    ASSERT_NO_FATAL_FAILURE(appended.Append(*log, i, i % 5 == 0 ? 2500 : 60));
  }
  const std::string& all = appended.all;
  const std::vector<int64_t>& bases = appended.bases;
  const std::vector<size_t>& starts = appended.starts;
  const size_t largest = appended.largest;
  ASSERT_GE(log->Segments().size(), 3u);
  const int64_t end = log->log_end_offset();
  int shorter = 0;
  for (int64_t offset = 0; offset < end; offset += 3) {
    for (int64_t max_bytes :
         {int64_t{300}, int64_t{4096}, int64_t{11000}, int64_t{40000}}) {
      SCOPED_TRACE(
          absl::StrFormat("offset %d max_bytes %d", offset, max_bytes));
      // What fits: whole batches from the one holding `offset`.
      size_t i = 0;
      while (i + 1 < bases.size() && bases[i + 1] <= offset) ++i;
      size_t fits = 0;
      for (size_t k = i; k < starts.size(); ++k) {
        const size_t next = k + 1 < starts.size() ? starts[k + 1] : all.size();
        if (k > i && next - starts[i] > static_cast<size_t>(max_bytes)) break;
        fits = next - starts[i];
      }
      absl::StatusOr<LogBatches> rb = log->ReadBatches(
          offset, {.max_bytes = max_bytes, .end_at_indexed_batch = true});
      ASSERT_TRUE(rb.ok()) << rb.status();
      ASSERT_FALSE(rb->data.empty());
      ASSERT_LE(rb->data.size(), fits);
      EXPECT_TRUE(rb->data == all.substr(starts[i], rb->data.size()));
      EXPECT_LT(fits - rb->data.size(), config.index_interval_bytes + largest);
      size_t parsed = 0;
      for (const RecordBatchView& b : rb->batches) {
        parsed += static_cast<size_t>(b.size_bytes());
      }
      EXPECT_EQ(parsed, rb->data.size());
      EXPECT_EQ(rb->next_offset, rb->batches.back().header().next_offset());
      if (rb->data.size() < fits) ++shorter;
    }
  }
  EXPECT_GT(shorter, 0);  // the option made a difference
  std::string read;
  for (int64_t offset = 0; offset < end;) {
    absl::StatusOr<LogBatches> rb = log->ReadBatches(
        offset, {.max_bytes = 11000, .end_at_indexed_batch = true});
    ASSERT_TRUE(rb.ok()) << rb.status();
    ASSERT_GT(rb->next_offset, offset);
    read += rb->data;
    offset = rb->next_offset;
  }
  EXPECT_TRUE(read == all);
}

// A truncation drops index entries and remembered read positions past
// the new end; reads ending at an indexed batch read what was appended
// after it, never the old batches' bytes or boundaries.
TEST_F(PartitionLogTest, ReadsEndingAtAnIndexedBatchAfterATruncation) {
  LogConfig config = SmallConfig();  // an index entry every 512 bytes
  config.segment_bytes = 1 << 20;
  config.max_batch_bytes = 16 * 1024;
  auto log = OpenLog(config);
  AppendedBatches appended;
  const std::string& all = appended.all;
  const std::vector<int64_t>& bases = appended.bases;
  const std::vector<size_t>& starts = appended.starts;
  for (int i = 0; i < 40; ++i) {
    ASSERT_NO_FATAL_FAILURE(appended.Append(*log, i, i % 3 == 0 ? 1500 : 80));
  }
  // Reads over the whole log first: the index is cached and the segment
  // remembers where they ended.
  auto read_all = [&](int64_t max_bytes) {
    std::string read;
    for (int64_t offset = 0; offset < log->log_end_offset();) {
      absl::StatusOr<LogBatches> rb = log->ReadBatches(
          offset, {.max_bytes = max_bytes, .end_at_indexed_batch = true});
      EXPECT_TRUE(rb.ok()) << rb.status();
      if (!rb.ok() || rb->next_offset <= offset) break;
      read += rb->data;
      offset = rb->next_offset;
    }
    return read;
  };
  ASSERT_TRUE(read_all(3000) == all);
  // Truncate in the middle and append batches with the same offsets but
  // other sizes: an old position remembered or indexed for an offset
  // would now point into the middle of a batch.
  const size_t keep = 20;
  absl::StatusOr<int64_t> end = log->TruncateTo(bases[keep]);
  ASSERT_TRUE(end.ok()) << end.status();
  ASSERT_EQ(*end, bases[keep]);
  appended.Keep(keep);
  for (int i = static_cast<int>(keep); i < 40; ++i) {
    ASSERT_NO_FATAL_FAILURE(appended.Append(*log, i, i % 3 == 0 ? 80 : 1500));
  }
  // Every offset of the new batches, read on its own: first, from the
  // last down, those where the reads before the truncation ended.
  for (size_t k = bases.size(); k-- > keep;) {
    absl::StatusOr<LogBatches> rb = log->ReadBatches(
        bases[k], {.max_bytes = 2000, .end_at_indexed_batch = true});
    ASSERT_TRUE(rb.ok()) << "batch " << k << ": " << rb.status();
    ASSERT_FALSE(rb->data.empty());
    EXPECT_TRUE(rb->data == all.substr(starts[k], rb->data.size()))
        << "batch " << k;
  }
  EXPECT_TRUE(read_all(3000) == all);
  EXPECT_TRUE(read_all(700) == all);
}

TEST_F(PartitionLogTest, RejectsInvalidBatches) {
  auto log = OpenLog();
  std::string batch = MakeBatch(2, 10, 100, 1);
  std::string corrupt = batch;
  corrupt[corrupt.size() - 1] ^= 1;
  absl::StatusOr<LogAppendResult> r = log->Append(corrupt);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(r.status().message(), HasSubstr("CRC"));

  r = log->Append(batch + batch);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("exactly one batch"));

  std::string big = MakeBatch(100, 200, 100, 2);  // > 8 KiB
  r = log->Append(big);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(),
              HasSubstr("exceeds the maximum batch size"));

  r = log->Append(batch.substr(0, 30));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kOutOfRange);

  // Under a valid CRC the records are checked too: record 0's offsetDelta
  // (region byte 3, after the length, attributes and timestampDelta) made
  // 1, the same as record 1's.
  absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(batch);
  ASSERT_TRUE(view.ok());
  std::string region(view->records_region());
  ASSERT_EQ(region[3], 0);
  region[3] = 2;  // zigzag(1)
  std::string resealed;
  AppendRawBatch(view->header(), region, &resealed);
  r = log->Append(resealed);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(),
              HasSubstr("record 0 has offset delta 1; produced batches need "
                        "consecutive deltas from 0"));
  // Appended with its own offsets, the batch fails on record 1 instead.
  r = log->Append(resealed, {.assign_offsets = false});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(),
              HasSubstr("invalid batch: record 1 at batch byte"));
  EXPECT_THAT(r.status().message(),
              HasSubstr("offsetDelta 1 is not in (1, lastOffsetDelta 1]"));
  // A record length one short: its fields run past it.
  region = std::string(view->records_region());
  region[0] = static_cast<char>(region[0] - 2);
  resealed.clear();
  AppendRawBatch(view->header(), region, &resealed);
  r = log->Append(resealed);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("invalid batch: record 0: "));

  // Nothing was appended by any of these.
  EXPECT_EQ(log->log_end_offset(), 0);
  EXPECT_TRUE(log->Append(batch).ok());
}

TEST_F(PartitionLogTest, LogAppendTimeStampsTheBatchAndKeepsItValid) {
  LogConfig config = SmallConfig();
  config.timestamp_type = TimestampType::kLogAppendTime;
  auto log = OpenLog(config);
  clock_.Set(absl::FromUnixMillis(1800000000000));
  absl::StatusOr<LogAppendResult> r = log->Append(MakeBatch(3, 10, 5, 1));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->log_append_time, 1800000000000);
  absl::StatusOr<LogBatches> got = log->ReadBatches(0);
  ASSERT_TRUE(got.ok());
  const RecordBatchView& b = got->batches[0];
  EXPECT_TRUE(b.VerifyCrc().ok());
  EXPECT_EQ(b.header().timestamp_type(), TimestampType::kLogAppendTime);
  RecordIterator it(b);
  RecordView rec;
  while (it.Next(&rec)) EXPECT_EQ(rec.timestamp, 1800000000000);
  EXPECT_TRUE(it.status().ok());
}

TEST_F(PartitionLogTest, RollsOnSizeAgeAndFullIndex) {
  LogConfig config = SmallConfig();
  config.segment_bytes = 4096;
  config.max_batch_bytes = 4096;
  auto log = OpenLog(config);
  AppendMany(*log, 10, 5, 100);  // ~ 10 x 700 bytes
  size_t by_size = log->Segments().size();
  EXPECT_GE(by_size, 2u);
  for (const auto& seg : log->Segments()) EXPECT_LE(seg->size(), 4096u);

  clock_.Advance(config.segment_age + absl::Seconds(1));
  AppendMany(*log, 1, 1);
  EXPECT_EQ(log->Segments().size(), by_size + 1);

  // An offset index of 2 entries fills after a couple of interval-sized
  // batches.
  LogConfig tiny_index = SmallConfig();
  tiny_index.segment_index_bytes = 48;  // 6 offset entries, 4 time entries
  tiny_index.index_interval_bytes = 0;
  tiny_index.segment_bytes = 1 << 20;
  PartitionLogOptions o;
  o.fs = &fs_;
  o.files = files_.get();
  o.clock = &clock_;
  o.dir = "/data/t-1";
  o.config = tiny_index;
  auto log2 = PartitionLog::Open(o, nullptr);
  ASSERT_TRUE(log2.ok());
  AppendMany(**log2, 20, 1);
  EXPECT_GE((*log2)->Segments().size(), 4u);
}

TEST_F(PartitionLogTest, OffsetIndexFollowsKafkasIntervalRule) {
  auto log = OpenLog();
  std::vector<std::string> batches = AppendMany(*log, 6, 4, 60);  // ~400 B
  auto segs = log->Segments();
  ASSERT_EQ(segs.size(), 1u);
  // Interval 512, batches of ~350 bytes: no entry before batches 0 and 1
  // (bytes since the last entry: 0, ~350); batch 2 follows ~700 > 512 bytes
  // -> entry (its LAST offset, 11 -> its position); then again batch 4.
  const OffsetIndex& index = segs[0]->offset_index();
  EXPECT_EQ(index.file().entries(), 2);
  absl::StatusOr<OffsetIndex::Entry> e = index.Lookup(11);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->offset, 11);
  EXPECT_EQ(e->position, 2 * batches[0].size());
  e = index.Lookup(10);
  EXPECT_EQ(e->offset, 0);
  EXPECT_EQ(e->position, 0u);
  e = index.Lookup(100);
  EXPECT_EQ(e->offset, 19);
  EXPECT_EQ(e->position, 4 * batches[0].size());
}

TEST_F(PartitionLogTest, OffsetForTimestampFindsTheFirstRecordAtOrAfter) {
  auto log = OpenLog();
  // Batch i holds 4 records with timestamps 1000 + 10 * (i + 1) + [0, 4).
  AppendMany(*log, 30, 4);
  for (int i = 0; i < 30; ++i) {
    int64_t ts = 1000 + 10 * (i + 1) + 2;
    absl::StatusOr<std::optional<int64_t>> o = log->OffsetForTimestamp(ts);
    ASSERT_TRUE(o.ok()) << o.status();
    ASSERT_TRUE(o->has_value());
    EXPECT_EQ(**o, 4 * i + 2) << "ts " << ts;
  }
  absl::StatusOr<std::optional<int64_t>> none = log->OffsetForTimestamp(99999);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  absl::StatusOr<std::optional<int64_t>> first = log->OffsetForTimestamp(0);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->value_or(-1), 0);
}

TEST_F(PartitionLogTest, TruncateToRemovesWholeBatchesAndLaterSegments) {
  auto log = OpenLog();
  std::vector<std::string> batches = AppendMany(*log, 150, 2);
  size_t segments = log->Segments().size();
  ASSERT_GT(segments, 3u);
  absl::StatusOr<int64_t> end = log->TruncateTo(41);  // inside [40, 41]
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_EQ(*end, 40);
  EXPECT_EQ(log->log_end_offset(), 40);
  EXPECT_LT(log->Segments().size(), segments);
  std::vector<testing_util::ReadBack> got = ReadAll(*log);
  ASSERT_EQ(got.size(), 20u);
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].bytes, batches[i]);
  // Appends continue at the new end.
  absl::StatusOr<LogAppendResult> r = log->Append(MakeBatch(1, 5, 1, 999));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->base_offset, 40);
  // Truncating everything starts over at the given offset.
  end = log->TruncateTo(0);
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(*end, 0);
  EXPECT_EQ(log->Segments().size(), 1u);
}

// A read remembers where it ended, so that the next read from there skips
// the lookup (Segment::RememberPosition). After a truncation and appends
// of batches of other sizes that position is inside a batch: reading from
// the same offset must look it up again.
TEST_F(PartitionLogTest, ARememberedReadEndDoesNotOutliveATruncation) {
  auto log = OpenLog();
  AppendMany(*log, 6, 2, 10);  // offsets 0..11, one segment
  ASSERT_EQ(log->Segments().size(), 1u);
  const int64_t one_batch = static_cast<int64_t>(MakeBatch(2, 10, 0, 0).size());
  absl::StatusOr<LogBatches> first =
      log->ReadBatches(0, {.max_bytes = 4 * one_batch});
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->next_offset, 8);  // remembered: offset 8 at 4 batches
  // Reading on from there works, with the remembered position.
  const std::shared_ptr<Segment> segment = log->Segments().front();
  const int64_t hits = segment->remembered_position_hits();
  absl::StatusOr<LogBatches> on = log->ReadBatches(8);
  ASSERT_TRUE(on.ok()) << on.status();
  ASSERT_EQ(on->batches.size(), 2u);
  EXPECT_EQ(on->batches[0].header().base_offset, 8);
  EXPECT_EQ(segment->remembered_position_hits(), hits + 1);
  // The batch holding 4 and 5 and those after it go; offsets 4 and on come
  // back in one-record batches of 40-byte values.
  absl::StatusOr<int64_t> end = log->TruncateTo(5);
  ASSERT_TRUE(end.ok()) << end.status();
  ASSERT_EQ(*end, 4);  // (batches hold 2 offsets)
  std::vector<std::string> appended;
  for (int i = 0; i < 8; ++i) {
    std::string batch = MakeBatch(1, 40, 5000 + i, 100 + i);
    absl::StatusOr<LogAppendResult> r = log->Append(batch);
    ASSERT_TRUE(r.ok()) << r.status();
    SetBaseOffset(batch.data(), r->base_offset);
    appended.push_back(batch);
  }
  absl::StatusOr<LogBatches> again = log->ReadBatches(8);
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_FALSE(again->batches.empty());
  EXPECT_EQ(again->batches[0].header().base_offset, 8);
  EXPECT_EQ(again->batches[0].bytes(), appended[4]);
  EXPECT_EQ(segment->remembered_position_hits(), hits + 1);  // looked up
}

TEST_F(PartitionLogTest, AdvanceLogStartHidesAndDeletesOldSegments) {
  auto log = OpenLog();
  AppendMany(*log, 150, 2);
  auto before = log->Segments();
  ASSERT_GT(before.size(), 3u);
  int64_t target = before[2]->base_offset() + 1;
  ASSERT_TRUE(log->AdvanceLogStart(target).ok());
  EXPECT_EQ(log->log_start_offset(), target);
  auto after = log->Segments();
  EXPECT_EQ(after.front()->base_offset(), before[2]->base_offset());
  absl::StatusOr<LogReadResult> r = log->Read(target - 1);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(log->Read(target).ok());
  // A reader still holding an old segment can read it; the files go when
  // it lets go.
  absl::StatusOr<std::shared_ptr<File>> f = before[0]->LogFile();
  ASSERT_TRUE(f.ok()) << f.status();
  std::string buf(61, '\0');
  EXPECT_EQ(*(*f)->Read(0, 61, buf.data()), 61u);
  std::string old_path = before[0]->log_path();
  EXPECT_TRUE(*fs_.Exists(old_path));
  before.clear();
  f->reset();
  EXPECT_FALSE(*fs_.Exists(old_path));
  // Beyond the high watermark is refused.
  absl::Status s = log->AdvanceLogStart(log->log_end_offset() + 1);
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
}

TEST_F(PartitionLogTest, SyncAppendsAreDurableWhenTheyReturn) {
  auto log = OpenLog();
  absl::StatusOr<LogAppendResult> r =
      log->Append(MakeBatch(2, 10, 1, 1), {.durability = Durability::kSync});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->durable);
  EXPECT_EQ(log->durable_offset(), 2);
  r = log->Append(MakeBatch(2, 10, 1, 2));  // kNone
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->durable);
  EXPECT_EQ(log->durable_offset(), 2);
  Crash(log);
  auto reopened = OpenLog();
  EXPECT_EQ(reopened->log_end_offset(), 2);
}

// A file system whose File::Sync blocks until the test opens the gate, so
// the test controls exactly when an fdatasync is "in flight".
class GatedFileSystem : public FileSystem {
 public:
  explicit GatedFileSystem(FileSystem* base) : base_(base) {}

  void Close() {
    MutexLock lock(&mu_);
    open_ = false;
  }
  void Open() {
    MutexLock lock(&mu_);
    open_ = true;
    cv_.SignalAll();
  }
  int blocked() {
    MutexLock lock(&mu_);
    return blocked_;
  }
  // Every Sync that passes the gate from now on also takes `d` (real time).
  void set_sync_delay(absl::Duration d) {
    MutexLock lock(&mu_);
    delay_ = d;
  }

  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path,
                                             const OpenOptions& o) override {
    auto f = base_->Open(path, o);
    if (!f.ok()) return f.status();
    return std::unique_ptr<File>(new GatedFile(this, std::move(*f)));
  }
  absl::StatusOr<std::unique_ptr<MappedRegion>> MapReadOnly(
      const std::string& p) override {
    return base_->MapReadOnly(p);
  }
  absl::Status Rename(const std::string& a, const std::string& b) override {
    return base_->Rename(a, b);
  }
  absl::Status Remove(const std::string& p) override {
    return base_->Remove(p);
  }
  absl::Status CreateDir(const std::string& p) override {
    return base_->CreateDir(p);
  }
  absl::Status RemoveDir(const std::string& p) override {
    return base_->RemoveDir(p);
  }
  absl::Status SyncDir(const std::string& p) override {
    return base_->SyncDir(p);
  }
  absl::StatusOr<std::vector<std::string>> ListDir(
      const std::string& p) override {
    return base_->ListDir(p);
  }
  absl::StatusOr<FileInfo> Stat(const std::string& p) override {
    return base_->Stat(p);
  }
  absl::StatusOr<std::unique_ptr<FileLock>> Lock(
      const std::string& p) override {
    return base_->Lock(p);
  }

 private:
  class GatedFile : public File {
   public:
    GatedFile(GatedFileSystem* fs, std::unique_ptr<File> f)
        : File(f->path()), fs_(fs), f_(std::move(f)) {}
    absl::Status Write(uint64_t o, std::string_view d) override {
      return f_->Write(o, d);
    }
    absl::StatusOr<size_t> Read(uint64_t o, size_t n,
                                char* dst) const override {
      return f_->Read(o, n, dst);
    }
    absl::Status Sync() override {
      MutexLock lock(&fs_->mu_);
      ++fs_->blocked_;
      while (!fs_->open_) fs_->cv_.Wait(&fs_->mu_);
      --fs_->blocked_;
      const absl::Duration delay = fs_->delay_;
      fs_->mu_.Unlock();
      absl::SleepFor(delay);
      fs_->mu_.Lock();
      return f_->Sync();
    }
    absl::Status Truncate(uint64_t s) override { return f_->Truncate(s); }
    absl::Status Reserve(uint64_t o, uint64_t l) override {
      return f_->Reserve(o, l);
    }
    absl::StatusOr<uint64_t> Size() const override { return f_->Size(); }
    absl::Status Close() override { return f_->Close(); }

   private:
    GatedFileSystem* fs_;
    std::unique_ptr<File> f_;
  };

  FileSystem* base_;
  Mutex mu_;
  CondVar cv_;
  bool open_ = true;
  int blocked_ = 0;
  absl::Duration delay_;
};

// A log on `gated` for the group-commit tests: 1 MiB segments.
absl::StatusOr<std::unique_ptr<PartitionLog>> OpenGatedLog(
    GatedFileSystem* gated) {
  PartitionLogOptions o;
  o.fs = gated;
  o.dir = "/data/g-0";
  o.config = SmallConfig();
  o.config.segment_bytes = 1 << 20;
  o.config.max_batch_bytes = 1 << 16;
  return PartitionLog::Open(o, nullptr);
}

TEST_F(PartitionLogTest, GroupCommitCoversWaitingAppendersWithOneFsync) {
  GatedFileSystem gated(&fs_);
  auto log = OpenGatedLog(&gated);
  ASSERT_TRUE(log.ok()) << log.status();
  gated.Close();
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  // The first appender's fsync blocks at the gate ...
  threads.emplace_back([&] {
    auto r = (*log)->Append(MakeBatch(1, 10, 1, 0),
                            {.durability = Durability::kSync});
    ASSERT_TRUE(r.ok()) << r.status();
  });
  while (gated.blocked() == 0) absl::SleepFor(absl::Milliseconds(1));
  // ... while 7 more append and wait behind it.
  for (int t = 1; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto r = (*log)->Append(MakeBatch(1, 10, 1, t),
                              {.durability = Durability::kSync});
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_TRUE(r->durable);
    });
  }
  while ((*log)->log_end_offset() < kThreads) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  absl::SleepFor(absl::Milliseconds(20));  // let them reach the wait
  EXPECT_EQ(gated.blocked(), 1) << "only one fsync in flight";
  EXPECT_EQ((*log)->durable_offset(), 0);
  gated.Open();
  for (auto& th : threads) th.join();
  // One fsync for the first append, one shared by the other seven.
  EXPECT_EQ((*log)->Stats().syncs, 2);
  EXPECT_EQ((*log)->durable_offset(), kThreads);
}

TEST_F(PartitionLogTest, GroupCommitGathersTheThreadsTheLastSyncCovered) {
  GatedFileSystem gated(&fs_);
  auto log = OpenGatedLog(&gated);
  ASSERT_TRUE(log.ok()) << log.status();
  auto append = [&](int seed) {
    auto r = (*log)->Append(MakeBatch(1, 10, 1, seed),
                            {.durability = Durability::kSync});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(r->durable);
  };
  auto run = [&](int first, int n) {
    std::vector<std::thread> threads;
    for (int t = first; t < first + n; ++t) threads.emplace_back(append, t);
    for (auto& th : threads) th.join();
  };
  // Sync 1 covers one appender and blocks at the gate while three more
  // append behind it; sync 2 covers those three (no gathering: the sync
  // before covered one). From here on every fdatasync takes 200 ms, so a
  // leader gathers for at most 100 ms.
  gated.Close();
  std::thread first(append, 0);
  while (gated.blocked() == 0) absl::SleepFor(absl::Milliseconds(1));
  std::thread behind([&] { run(1, 3); });
  while ((*log)->log_end_offset() < 4) absl::SleepFor(absl::Milliseconds(1));
  absl::SleepFor(absl::Milliseconds(20));  // let them reach the wait
  gated.set_sync_delay(absl::Milliseconds(200));
  gated.Open();
  first.join();
  behind.join();
  EXPECT_EQ((*log)->Stats().syncs, 2);
  // Three appenders again: whichever arrives first waits for the other two
  // (the last sync covered three), and one fdatasync covers them all.
  // Without the wait the first would sync alone and the others after it.
  run(4, 3);
  EXPECT_EQ((*log)->Stats().syncs, 3);
  EXPECT_EQ((*log)->durable_offset(), 7);
  // A lone appender waits for company that never comes only until the
  // bound, then syncs by itself; the next lone one does not wait at all.
  run(7, 1);
  run(8, 1);
  EXPECT_EQ((*log)->Stats().syncs, 5);
  EXPECT_EQ((*log)->durable_offset(), 9);
}

TEST_F(PartitionLogTest, GroupCommitUnderManyThreadsLosesNoWaiter) {
  // Every path of WaitDurable at once: leaders that gather, arrivals that
  // complete a gathering and run the fdatasync themselves, followers woken
  // together when it ends, and followers it did not cover. A lost wake-up
  // hangs the test; a wrong durable offset fails it.
  GatedFileSystem gated(&fs_);
  auto log = OpenGatedLog(&gated);
  ASSERT_TRUE(log.ok()) << log.status();
  gated.set_sync_delay(absl::Milliseconds(2));
  constexpr int kThreads = 16;
  constexpr int kAppends = 40;
  std::atomic<int> not_durable{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAppends; ++i) {
        auto r = (*log)->Append(MakeBatch(1, 10, 1, t * kAppends + i),
                                {.durability = Durability::kSync});
        ASSERT_TRUE(r.ok()) << r.status();
        if (!r->durable || (*log)->durable_offset() <= r->last_offset) {
          not_durable.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(not_durable.load(), 0);
  EXPECT_EQ((*log)->durable_offset(), kThreads * kAppends);
  // Group commit happened: far fewer fdatasyncs than appends.
  EXPECT_LT((*log)->Stats().syncs, kThreads * kAppends / 2);
}

TEST_F(PartitionLogTest, IntervalDurabilityNeedsFlushAfterTheInterval) {
  LogConfig config = SmallConfig();
  config.durability = Durability::kInterval;
  config.flush_interval = absl::Seconds(2);
  config.flush_records = 100;
  auto log = OpenLog(config);
  AppendMany(*log, 1, 5);
  EXPECT_FALSE(log->NeedsFlush(clock_.Now()));
  clock_.Advance(absl::Seconds(3));
  EXPECT_TRUE(log->NeedsFlush(clock_.Now()));
  ASSERT_TRUE(log->Flush().ok());
  EXPECT_FALSE(log->NeedsFlush(clock_.Now()));
  EXPECT_EQ(log->durable_offset(), 5);
  AppendMany(*log, 25, 4);  // 100 records
  EXPECT_TRUE(log->NeedsFlush(clock_.Now()));
}

TEST_F(PartitionLogTest, NoneAppendsNeverScheduleABackgroundFlush) {
  LogConfig config = SmallConfig();
  config.durability = Durability::kNone;
  config.flush_records = 10;
  auto log = OpenLog(config);
  AppendMany(*log, 20, 5);
  clock_.Advance(absl::Hours(1));
  EXPECT_FALSE(log->NeedsFlush(clock_.Now()));
  // An interval append on the same log does.
  ASSERT_TRUE(
      log->Append(MakeBatch(20, 5, 1, 3), {.durability = Durability::kInterval})
          .ok());
  EXPECT_TRUE(log->NeedsFlush(clock_.Now()));
}

TEST_F(PartitionLogTest, CleanReopenLoadsWithoutScanning) {
  auto log = OpenLog();
  std::vector<std::string> batches = AppendMany(*log, 150, 2);
  size_t segments = log->Segments().size();
  ASSERT_TRUE(log->Close().ok());
  log.reset();
  RecoveryReport report;
  auto reopened = OpenLog(SmallConfig(), &report, /*clean=*/true);
  EXPECT_EQ(report.segments_scanned, 0);
  EXPECT_EQ(report.segments_loaded, static_cast<int>(segments));
  EXPECT_EQ(reopened->log_end_offset(), 300);
  std::vector<testing_util::ReadBack> got = ReadAll(*reopened);
  ASSERT_EQ(got.size(), batches.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].bytes, batches[i]);
  // Closing trimmed every index to its entries.
  for (const std::string& f : fs_.ListFiles()) {
    if (std::string_view(f).ends_with(".index")) {
      EXPECT_EQ(*fs_.ReadFile(f) == std::string(1024, '\0'), false) << f;
    }
  }
  // Appends continue where they left off, in the same active segment.
  absl::StatusOr<LogAppendResult> r = reopened->Append(MakeBatch(1, 5, 1, 7));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->base_offset, 300);
}

TEST_F(PartitionLogTest, UncleanReopenScansFromTheRecoveryPoint) {
  auto log = OpenLog();
  std::vector<std::string> batches = AppendMany(*log, 150, 2);
  auto segs = log->Segments();
  ASSERT_GT(segs.size(), 3u);
  int64_t recovery_point = segs[segs.size() - 2]->base_offset();
  log.reset();  // closes cleanly, but we will claim it did not
  RecoveryReport report;
  auto reopened =
      OpenLog(SmallConfig(), &report, /*clean=*/false, recovery_point);
  EXPECT_EQ(report.segments_scanned, 2);
  EXPECT_EQ(report.segments_loaded, static_cast<int>(segs.size()) - 2);
  EXPECT_TRUE(report.truncations.empty()) << report.ToString();
  EXPECT_FALSE(report.data_dropped());
  std::vector<testing_util::ReadBack> got = ReadAll(*reopened);
  ASSERT_EQ(got.size(), batches.size());
}

TEST_F(PartitionLogTest, TornTailIsTruncatedAndReported) {
  auto log = OpenLog();
  std::vector<std::string> batches = AppendMany(*log, 5, 2);
  std::string path = log->Segments().back()->log_path();
  log.reset();
  // Tear the last batch: keep only half of it.
  std::string bytes = *fs_.ReadFile(path);
  size_t torn = bytes.size() - batches.back().size() / 2;
  auto f = fs_.Open(path, {});
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Truncate(torn).ok());
  (*f)->Close().IgnoreError();
  RecoveryReport report;
  auto reopened = OpenLog(SmallConfig(), &report);
  EXPECT_EQ(reopened->log_end_offset(), 8);
  ASSERT_EQ(report.truncations.size(), 1u) << report.ToString();
  const RecoveryReport::Truncation& t = report.truncations[0];
  EXPECT_EQ(t.position, bytes.size() - batches.back().size());
  EXPECT_EQ(t.bytes, torn - t.position);
  EXPECT_EQ(t.first_lost_offset, 8);
  EXPECT_FALSE(t.zero_tail);
  EXPECT_TRUE(report.data_dropped());
  EXPECT_THAT(report.ToString(), HasSubstr("dropped"));
  EXPECT_EQ(ReadAll(*reopened).size(), 4u);
}

TEST_F(PartitionLogTest, ZeroTailIsReportedAsSuch) {
  auto log = OpenLog();
  AppendMany(*log, 3, 2);
  std::string path = log->Segments().back()->log_path();
  uint64_t size = log->Segments().back()->size();
  log.reset();
  auto f = fs_.Open(path, {});
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Write(size, std::string(4096, '\0')).ok());
  (*f)->Close().IgnoreError();
  RecoveryReport report;
  auto reopened = OpenLog(SmallConfig(), &report);
  ASSERT_EQ(report.truncations.size(), 1u);
  EXPECT_TRUE(report.truncations[0].zero_tail);
  EXPECT_FALSE(report.data_dropped());
  EXPECT_EQ(reopened->log_end_offset(), 6);
}

TEST_F(PartitionLogTest, PreallocatedTailIsZerosTrimmedOnSealAndClose) {
  LogConfig config = SmallConfig();
  config.preallocate_bytes = 2048;
  config.durability = Durability::kSync;
  auto log = OpenLog(config);
  std::vector<std::string> batches = AppendMany(*log, 3, 2);
  auto active = log->Segments().back();
  const uint64_t size = active->size();
  // The file runs ahead of the data, and the extra bytes are zeros.
  std::string bytes = *fs_.ReadFile(active->log_path());
  ASSERT_GE(bytes.size(), size + 1024);
  EXPECT_LE(bytes.size(), static_cast<size_t>(config.segment_bytes));
  EXPECT_EQ(bytes.substr(size), std::string(bytes.size() - size, '\0'));
  // Readers see only the batches.
  EXPECT_EQ(ReadAll(*log).size(), 3u);
  // Rolling seals the old segment: trimmed to its data.
  batches = AppendMany(*log, 60, 2);
  auto segs = log->Segments();
  ASSERT_GT(segs.size(), 2u);
  for (size_t i = 0; i + 1 < segs.size(); ++i) {
    EXPECT_EQ(fs_.ReadFile(segs[i]->log_path())->size(), segs[i]->size())
        << segs[i]->log_path();
  }
  const int64_t end = log->log_end_offset();
  // Closing trims the active one, so a clean open loads it as it is.
  ASSERT_TRUE(log->Close().ok());
  EXPECT_EQ(fs_.ReadFile(segs.back()->log_path())->size(), segs.back()->size());
  log.reset();
  RecoveryReport report;
  auto reopened = OpenLog(config, &report, /*clean=*/true);
  EXPECT_EQ(report.segments_scanned, 0);
  EXPECT_EQ(reopened->log_end_offset(), end);
  absl::StatusOr<LogAppendResult> r = reopened->Append(MakeBatch(1, 5, 1, 7));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->base_offset, end);
}

// A full disk cuts the zero-filling short: the write of zeros extends the
// file part way and fails (as a short pwrite followed by ENOSPC does).
// Sealing must still cut the file back to the data, or a later open, which
// takes a sealed segment's size from the file system, publishes the zeros
// (docs/crash-testing.md, power mode seed 12: a cleaned segment written and
// sealed while the disk was full).
TEST_F(PartitionLogTest, PreallocationCutShortByAFullDiskIsTrimmedOnSeal) {
  LogConfig config = SmallConfig();
  config.preallocate_bytes = 2048;
  config.durability = Durability::kSync;
  auto log = OpenLog(config);
  auto seg = log->Segments().back();
  const std::string path = seg->log_path();
  // The disk is nearly full: the batch fits, only 300 bytes of its zeros do.
  const std::string batch = MakeBatch(2, 100, 2000, 2);
  const uint64_t data_end = batch.size();
  fs_.SetCapacity(fs_.used_bytes() + data_end + 300);
  absl::StatusOr<LogAppendResult> r = log->Append(batch);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(seg->size(), data_end);
  ASSERT_EQ(fs_.ReadFile(path)->size(), data_end + 300);  // cut-short zeros
  // Closing seals the segment, with the disk still full (truncating and
  // syncing need no space): the file must end at the data.
  ASSERT_TRUE(log->Close().ok());
  EXPECT_EQ(fs_.ReadFile(path)->size(), data_end);
  fs_.SetCapacity(FaultInjectionFileSystem::kUnlimitedCapacity);
  log.reset();
  seg.reset();
  // A clean open trusts the file size: the batch and nothing else.
  auto reopened = OpenLog(config, nullptr, /*clean=*/true);
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->log_end_offset(), 2);
  EXPECT_EQ(ReadAll(*reopened).size(), 1u);
  r = reopened->Append(MakeBatch(1, 5, 1, 7));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->base_offset, 2);
}

TEST_F(PartitionLogTest, NothingIsPreallocatedWithoutDurability) {
  LogConfig config = SmallConfig();
  config.preallocate_bytes = 2048;
  config.durability = Durability::kNone;
  auto log = OpenLog(config);
  AppendMany(*log, 3, 2);
  auto active = log->Segments().back();
  EXPECT_EQ(fs_.ReadFile(active->log_path())->size(), active->size());
}

TEST_F(PartitionLogTest, CrashWithPreallocatedTailKeepsSyncedDataExactly) {
  LogConfig config = SmallConfig();
  config.preallocate_bytes = 2048;
  config.durability = Durability::kSync;
  auto log = OpenLog(config);
  std::vector<std::string> batches = AppendMany(*log, 3, 2);
  ASSERT_TRUE(log->Flush().ok());  // the zero tail is synced with the data
  const int64_t durable = log->durable_offset();
  Crash(log);
  RecoveryReport report;
  auto reopened = OpenLog(config, &report, /*clean=*/false, durable);
  ASSERT_EQ(report.truncations.size(), 1u) << report.ToString();
  EXPECT_TRUE(report.truncations[0].zero_tail);
  EXPECT_FALSE(report.data_dropped());
  EXPECT_EQ(reopened->log_end_offset(), durable);
  std::vector<testing_util::ReadBack> got = ReadAll(*reopened);
  ASSERT_EQ(got.size(), batches.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].bytes, batches[i]);
  // New appends go right after the data, not after the old zero tail.
  absl::StatusOr<LogAppendResult> r = reopened->Append(MakeBatch(1, 5, 1, 9));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->base_offset, durable);
  EXPECT_EQ(ReadAll(*reopened).size(), batches.size() + 1);
}

TEST_F(PartitionLogTest, CorruptionInAnEarlySegmentDropsEverythingAfter) {
  auto log = OpenLog();
  AppendMany(*log, 150, 2);
  auto segs = log->Segments();
  ASSERT_GT(segs.size(), 3u);
  std::string path = segs[1]->log_path();
  int64_t second_base = segs[1]->base_offset();
  log.reset();
  segs.clear();
  // Flip one byte inside the first batch of the second segment.
  auto f = fs_.Open(path, {});
  ASSERT_TRUE(f.ok());
  char c;
  ASSERT_TRUE((*f)->Read(70, 1, &c).ok());
  c ^= 0x40;
  ASSERT_TRUE((*f)->Write(70, std::string_view(&c, 1)).ok());
  (*f)->Close().IgnoreError();
  RecoveryReport report;
  auto reopened = OpenLog(SmallConfig(), &report);
  EXPECT_EQ(reopened->log_end_offset(), second_base);
  EXPECT_EQ(reopened->Segments().size(), 2u);
  ASSERT_EQ(report.truncations.size(), 1u);
  EXPECT_THAT(report.truncations[0].reason, HasSubstr("CRC"));
  EXPECT_FALSE(report.removed_files.empty());
  EXPECT_TRUE(report.data_dropped());
}

TEST_F(PartitionLogTest, MissingIndexIsRebuiltOnCleanLoad) {
  auto log = OpenLog();
  std::vector<std::string> batches = AppendMany(*log, 150, 2);
  auto segs = log->Segments();
  std::string index = segs[0]->offset_index().file().path();
  ASSERT_TRUE(log->Close().ok());
  log.reset();
  segs.clear();
  ASSERT_TRUE(fs_.Remove(index).ok());
  auto reopened = OpenLog(SmallConfig(), nullptr, /*clean=*/true);
  EXPECT_TRUE(*fs_.Exists(index));
  EXPECT_EQ(ReadAll(*reopened).size(), batches.size());
}

TEST_F(PartitionLogTest, LeftoverFilesAreResolvedOnOpen) {
  auto log = OpenLog();
  AppendMany(*log, 3, 2);
  log.reset();
  for (const char* name : {"/data/t-0/00000000000000000099.log.deleted",
                           "/data/t-0/00000000000000000050.log.cleaned",
                           "/data/t-0/00000000000000000777.index"}) {
    auto f = fs_.Open(name, {.create = true});
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Write(0, "junk").ok());
  }
  RecoveryReport report;
  auto reopened = OpenLog(SmallConfig(), &report);
  EXPECT_THAT(report.removed_files, ::testing::UnorderedElementsAre(
                                        "00000000000000000099.log.deleted",
                                        "00000000000000000050.log.cleaned",
                                        "00000000000000000777.index"));
  EXPECT_FALSE(*fs_.Exists("/data/t-0/00000000000000000777.index"));
  EXPECT_EQ(reopened->log_end_offset(), 6);
}

TEST_F(PartitionLogTest, DiskFullFailsTheAppendAndRecoversWhenSpaceIsFreed) {
  auto log = OpenLog();
  std::vector<std::string> before = AppendMany(*log, 3, 2);
  fs_.SetCapacity(fs_.used_bytes() + 300);
  absl::Status failure;
  int ok = 0;
  for (int i = 0; i < 10 && failure.ok(); ++i) {
    auto r = log->Append(MakeBatch(2, 50, 1, 100 + i));
    if (r.ok()) {
      ++ok;
    } else {
      failure = r.status();
    }
  }
  ASSERT_FALSE(failure.ok());
  EXPECT_EQ(failure.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(failure.message(), HasSubstr("/data/t-0/"));
  int64_t end = log->log_end_offset();
  EXPECT_EQ(end, 6 + 2 * ok);
  EXPECT_EQ(ReadAll(*log).size(), 3u + ok);
  fs_.SetCapacity(FaultInjectionFileSystem::kUnlimitedCapacity);
  auto r = log->Append(MakeBatch(2, 50, 1, 500));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->base_offset, end);
  EXPECT_EQ(ReadAll(*log).size(), 4u + ok);
}

TEST_F(PartitionLogTest, WriteErrorLeavesTheLogConsistent) {
  auto log = OpenLog();
  AppendMany(*log, 3, 2);
  fs_.InjectFault({.op = FaultOp::kWrite, .nth = 1, .torn_write = true});
  auto r = log->Append(MakeBatch(2, 50, 1, 100));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(log->log_end_offset(), 6);
  r = log->Append(MakeBatch(2, 50, 1, 101));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->base_offset, 6);
  EXPECT_EQ(ReadAll(*log).size(), 4u);
}

TEST_F(PartitionLogTest, FsyncFailurePoisonsTheLogUntilReopened) {
  auto log = OpenLog();
  AppendMany(*log, 2, 2);
  fs_.InjectFault({.op = FaultOp::kSync, .nth = 1});
  auto r =
      log->Append(MakeBatch(1, 5, 1, 9), {.durability = Durability::kSync});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("fdatasync failed"));
  r = log->Append(MakeBatch(1, 5, 1, 10));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  // Reads keep working.
  EXPECT_TRUE(log->Read(0).ok());
  log.reset();
  auto reopened = OpenLog();
  EXPECT_TRUE(reopened->Append(MakeBatch(1, 5, 1, 11)).ok());
}

TEST_F(PartitionLogTest, ClosedLogRejectsAppends) {
  auto log = OpenLog();
  ASSERT_TRUE(log->Close().ok());
  auto r = log->Append(MakeBatch(1, 5, 1, 1));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("closed"));
  EXPECT_TRUE(log->Close().ok());
}

TEST_F(PartitionLogTest, WaitForDataWakesOnAppendAndTimesOut) {
  auto log = OpenLog();
  EXPECT_FALSE(log->WaitForData(0, absl::Now() + absl::Milliseconds(20)));
  std::thread producer([&] {
    absl::SleepFor(absl::Milliseconds(20));
    ASSERT_TRUE(log->Append(MakeBatch(1, 5, 1, 1)).ok());
  });
  EXPECT_TRUE(log->WaitForData(0, absl::Now() + absl::Seconds(30)));
  producer.join();
}

TEST_F(PartitionLogTest, HighWatermarkBoundsReadsWhenSetExplicitly) {
  auto log = OpenLog();
  AppendMany(*log, 4, 2);
  ASSERT_TRUE(log->SetHighWatermark(4).ok());
  absl::StatusOr<LogBatches> got = log->ReadBatches(0, {.max_bytes = 1 << 20});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->batches.size(), 2u);
  EXPECT_EQ(log->SetHighWatermark(9).code(), absl::StatusCode::kOutOfRange);
}

TEST_F(PartitionLogTest, ReplicaAppendsKeepTheirOffsets) {
  auto log = OpenLog();
  std::string batch = MakeBatch(3, 5, 1, 1);
  SetBaseOffset(batch.data(), 100);
  auto r = log->Append(batch, {.assign_offsets = false});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->base_offset, 100);
  EXPECT_EQ(log->log_end_offset(), 103);
  SetBaseOffset(batch.data(), 50);
  r = log->Append(batch, {.assign_offsets = false});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("below the log end offset"));
}

TEST_F(PartitionLogTest, ConcurrentReadersSeeOnlyCompleteBatchesInOrder) {
  auto log = OpenLog();
  std::atomic<bool> done{false};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      int64_t offset = 0;
      while (!done.load() || offset < log->log_end_offset()) {
        auto got = log->ReadBatches(offset, {.max_bytes = 4096});
        ASSERT_TRUE(got.ok()) << got.status();
        for (const RecordBatchView& b : got->batches) {
          ASSERT_EQ(b.header().base_offset, offset);
          ASSERT_TRUE(b.VerifyCrc().ok());
          offset = b.header().next_offset();
        }
      }
    });
  }
  AppendMany(*log, 300, 3);
  done.store(true);
  for (auto& th : readers) th.join();
}

}  // namespace
}  // namespace spool
