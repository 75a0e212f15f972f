// Idempotent producers and message-id de-duplication at the partition log:
// duplicates, gaps, fencing and expiry, and that the state survives clean
// restarts, crashes between an append and the next snapshot, and
// truncation.

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "io/fault_injection_file_system.h"
#include "log/log_test_util.h"
#include "log/partition_log.h"
#include "spool/errors.h"

namespace spool {
namespace {

using ::spool::testing_util::ReadAll;
using ::spool::testing_util::SmallConfig;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string ProducerBatch(int64_t pid, int16_t epoch, int32_t seq, int records,
                          uint64_t seed) {
  RecordBatchBuilder b(
      {.producer_id = pid, .producer_epoch = epoch, .base_sequence = seq});
  for (int i = 0; i < records; ++i) {
    b.Add(absl::StrFormat("k%d", seed), absl::StrFormat("v%d-%d", seed, i), {},
          1700000000000 + i);
  }
  return *b.Build();
}

std::string IdBatch(const std::vector<std::string>& ids) {
  RecordBatchBuilder b;
  for (const std::string& id : ids) {
    b.Add("k", "value-" + id, {{"msg-id", id}}, 1700000000000);
  }
  return *b.Build();
}

class IdempotenceTest : public ::testing::Test {
 protected:
  IdempotenceTest() : fs_(3) {}

  std::unique_ptr<PartitionLog> Open(LogConfig config = SmallConfig(),
                                     bool clean = false) {
    files_ = std::make_unique<FileCache>(&fs_, 16);
    PartitionLogOptions o;
    o.fs = &fs_;
    o.files = files_.get();
    o.clock = &clock_;
    o.dir = "/data/t-0";
    o.config = config;
    o.clean_shutdown = clean;
    auto log = PartitionLog::Open(o, nullptr);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }

  void Crash(std::unique_ptr<PartitionLog>& log) {
    fs_.SimulateCrash({.mode = PowerLossMode::kKeepRandomPrefix});
    log.reset();
    fs_.ClearFaults();
  }

  static LogConfig DedupConfig() {
    LogConfig c = SmallConfig();
    c.dedup_header = "msg-id";
    c.dedup_window = absl::Minutes(2);
    return c;
  }

  FaultInjectionFileSystem fs_;
  std::unique_ptr<FileCache> files_;
  ManualClock clock_;
};

TEST_F(IdempotenceTest, RetryIsAnsweredWithTheFirstCopysOffsets) {
  auto log = Open();
  ASSERT_TRUE(log->Append(ProducerBatch(1, 0, 0, 3, 1)).ok());
  auto second = log->Append(ProducerBatch(1, 0, 3, 2, 2));
  ASSERT_TRUE(second.ok());
  auto retry = log->Append(ProducerBatch(1, 0, 3, 2, 2));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->base_offset, second->base_offset);
  EXPECT_EQ(retry->last_offset, second->last_offset);
  EXPECT_EQ(log->log_end_offset(), 5);
  EXPECT_EQ(ReadAll(*log).size(), 2u);
  EXPECT_EQ(log->Stats().duplicates, 1);
  EXPECT_EQ(log->Stats().producers, 1);
}

TEST_F(IdempotenceTest, GapAndStaleEpochAreRefusedWithTheirKinds) {
  auto log = Open();
  ASSERT_TRUE(log->Append(ProducerBatch(1, 1, 0, 3, 1)).ok());
  auto gap = log->Append(ProducerBatch(1, 1, 5, 1, 2));
  EXPECT_EQ(gap.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(GetErrorKind(gap.status()), ErrorKind::kOutOfOrderSequence);
  EXPECT_THAT(gap.status().message(), HasSubstr("/data/t-0"));
  auto stale = log->Append(ProducerBatch(1, 0, 3, 1, 3));
  EXPECT_EQ(GetErrorKind(stale.status()), ErrorKind::kProducerFenced);
  EXPECT_EQ(log->log_end_offset(), 3);
  // A new epoch starting at 0 takes over.
  EXPECT_TRUE(log->Append(ProducerBatch(1, 2, 0, 1, 4)).ok());
  EXPECT_EQ(GetErrorKind(log->Append(ProducerBatch(1, 1, 3, 1, 5)).status()),
            ErrorKind::kProducerFenced);
}

TEST_F(IdempotenceTest, ExpiredProducersAreForgotten) {
  LogConfig c = SmallConfig();
  c.producer_id_expiration = absl::Hours(1);
  auto log = Open(c);
  ASSERT_TRUE(log->Append(ProducerBatch(1, 0, 0, 1, 1)).ok());
  clock_.Advance(absl::Hours(2));
  log->ExpireProducers(clock_.Now());
  EXPECT_EQ(log->Stats().producers, 0);
  // With no state, any sequence is accepted (Kafka's behaviour).
  EXPECT_TRUE(log->Append(ProducerBatch(1, 0, 40, 1, 2)).ok());
}

TEST_F(IdempotenceTest, DuplicateDetectedAfterCleanRestartAndRolls) {
  auto log = Open();
  std::vector<std::string> sent;
  for (int i = 0; i < 200; ++i) {  // several segments: snapshots at rolls
    sent.push_back(ProducerBatch(9, 0, i * 4, 4, i));
    ASSERT_TRUE(log->Append(sent.back()).ok());
  }
  ASSERT_GT(log->Segments().size(), 2u);
  ASSERT_TRUE(log->Close().ok());
  log = Open(SmallConfig(), /*clean=*/true);
  auto retry = log->Append(sent.back());
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->base_offset, 199 * 4);
  EXPECT_TRUE(log->Append(ProducerBatch(9, 0, 800, 1, 999)).ok());
}

TEST_F(IdempotenceTest, DuplicateDetectedAfterACrashBeforeAnySnapshot) {
  auto log = Open();
  std::vector<std::string> sent;
  for (int i = 0; i < 30; ++i) {
    sent.push_back(ProducerBatch(4, 0, i, 1, i));
    ASSERT_TRUE(
        log->Append(sent.back(), {.durability = Durability::kSync}).ok());
  }
  Crash(log);  // the snapshot on disk (if any) is older than these appends
  log = Open();
  for (int back = 1; back <= 5; ++back) {
    auto retry = log->Append(sent[sent.size() - back]);
    ASSERT_TRUE(retry.ok()) << retry.status();
    EXPECT_TRUE(retry->duplicate) << "retry of batch -" << back;
  }
  auto next = log->Append(ProducerBatch(4, 0, 30, 1, 30));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_FALSE(next->duplicate);
}

TEST_F(IdempotenceTest, ReplayedProducersDoNotExpireOnOldRecordTimestamps) {
  // Record timestamps are the producer's; months-old ones must not make the
  // replayed state expire at once and let a retry through.
  clock_.Advance(absl::Hours(24 * 90));
  auto log = Open();
  std::string batch = ProducerBatch(4, 0, 0, 2, 1);  // timestamps from 2023
  ASSERT_TRUE(log->Append(batch, {.durability = Durability::kSync}).ok());
  Crash(log);
  log = Open();
  auto retry = log->Append(batch);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->duplicate);
}

TEST_F(IdempotenceTest, CorruptSnapshotFallsBackToReplay) {
  auto log = Open();
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(log->Append(ProducerBatch(4, 0, i, 1, i)).ok());
  }
  ASSERT_TRUE(log->Close().ok());
  for (const std::string& f : fs_.ListFiles()) {
    if (!std::string_view(f).ends_with(".snapshot")) continue;
    auto file = fs_.Open(f, {});
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->Write(12, "garbage").ok());
  }
  log = Open(SmallConfig(), /*clean=*/false);
  auto retry = log->Append(ProducerBatch(4, 0, 39, 1, 39));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->duplicate);
}

TEST_F(IdempotenceTest, TruncationRewindsProducerState) {
  auto log = Open();
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(log->Append(ProducerBatch(4, 0, i, 1, i)).ok());
  }
  ASSERT_TRUE(log->TruncateTo(6).ok());
  // Sequence 6 is gone from the log: it is a new batch again, not a
  // duplicate, and 9 would be a gap.
  EXPECT_EQ(GetErrorKind(log->Append(ProducerBatch(4, 0, 9, 1, 9)).status()),
            ErrorKind::kOutOfOrderSequence);
  auto again = log->Append(ProducerBatch(4, 0, 6, 1, 6));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->duplicate);
  EXPECT_EQ(again->base_offset, 6);
}

TEST_F(IdempotenceTest, RepeatedMessageIdsAreNotAppendedAgain) {
  auto log = Open(DedupConfig());
  auto first = log->Append(IdBatch({"a", "b"}));
  ASSERT_TRUE(first.ok());
  EXPECT_THAT(first->record_offsets, ElementsAre(0, 1));
  auto again = log->Append(IdBatch({"b", "a"}));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->duplicate);
  EXPECT_THAT(again->record_offsets, ElementsAre(1, 0));
  EXPECT_EQ(log->log_end_offset(), 2);
  // A batch mixing old and new ids keeps only the new records.
  auto mixed = log->Append(IdBatch({"a", "c", "c", "d"}));
  ASSERT_TRUE(mixed.ok()) << mixed.status();
  EXPECT_FALSE(mixed->duplicate);
  EXPECT_THAT(mixed->record_offsets, ElementsAre(0, 2, 2, 3));
  EXPECT_EQ(log->log_end_offset(), 4);
  auto all = ReadAll(*log);
  ASSERT_EQ(all.size(), 2u);
  auto batch = RecordBatchView::Parse(all[1].bytes);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->header().records_count, 2);
  EXPECT_TRUE(batch->VerifyCrc().ok());
}

TEST_F(IdempotenceTest, MessageIdsExpireWithTheWindow) {
  auto log = Open(DedupConfig());
  ASSERT_TRUE(log->Append(IdBatch({"a"})).ok());
  clock_.Advance(absl::Minutes(3));
  auto again = log->Append(IdBatch({"a"}));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->duplicate);
  EXPECT_EQ(again->base_offset, 1);
}

TEST_F(IdempotenceTest, MessageIdWindowIsBoundedInMemory) {
  LogConfig c = DedupConfig();
  c.dedup_max_ids = 3;
  auto log = Open(c);
  for (const char* id : {"a", "b", "c", "d"}) {
    ASSERT_TRUE(log->Append(IdBatch({id})).ok());
  }
  EXPECT_EQ(log->Stats().dedup_ids, 3);
  EXPECT_FALSE(log->Append(IdBatch({"a"}))->duplicate);  // evicted
  EXPECT_TRUE(log->Append(IdBatch({"d"}))->duplicate);
}

TEST_F(IdempotenceTest, MessageIdWindowSurvivesRestartAndCrash) {
  // Records carry the clock's time, so the window rebuilt from the log on
  // open covers them.
  auto log = Open(DedupConfig());
  RecordBatchBuilder b;
  b.Add("k", "v", {{"msg-id", "x1"}}, clock_.NowMillis());
  ASSERT_TRUE(log->Append(*b.Build(), {.durability = Durability::kSync}).ok());
  Crash(log);
  log = Open(DedupConfig());
  RecordBatchBuilder again;
  again.Add("k", "v", {{"msg-id", "x1"}}, clock_.NowMillis());
  auto r = log->Append(*again.Build());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->duplicate);
  EXPECT_THAT(r->record_offsets, ElementsAre(0));
}

TEST_F(IdempotenceTest, SnapshotFilesAreKafkaNamedAndBounded) {
  auto log = Open();
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(log->Append(ProducerBatch(2, 0, i, 1, i)).ok());
  }
  ASSERT_TRUE(log->Close().ok());
  int snapshots = 0;
  for (const std::string& f : fs_.ListFiles()) {
    if (std::string_view(f).ends_with(".snapshot")) ++snapshots;
  }
  EXPECT_GE(snapshots, 1);
  EXPECT_LE(snapshots, 3);
  EXPECT_TRUE(*fs_.Exists("/data/t-0/00000000000000000200.snapshot"));
}

}  // namespace
}  // namespace spool
