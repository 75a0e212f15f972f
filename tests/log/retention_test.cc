// Retention at the partition log: by time, by size, by consumption; never
// the active segment; log start made durable before files go; crash-safe.

#include <memory>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "io/fault_injection_file_system.h"
#include "log/log_directory.h"
#include "log/log_test_util.h"

namespace spool {
namespace {

using ::spool::testing_util::MakeBatch;
using ::spool::testing_util::ReadAll;
using ::spool::testing_util::SmallConfig;

class RetentionTest : public ::testing::Test {
 protected:
  RetentionTest() : fs_(21) {}

  void OpenDir() {
    auto d = LogDirectory::Open({.fs = &fs_, .clock = &clock_, .path = "/d"});
    ASSERT_TRUE(d.ok()) << d.status();
    dir_ = std::move(*d);
    auto log = dir_->OpenPartition({"t", 0}, SmallConfig(), &report_);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *log;
  }

  // Appends `n` batches stamped with the clock, advancing it a minute per
  // batch.
  void AppendMinutes(int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(
          log_->Append(MakeBatch(4, 100, clock_.NowMillis(), seed_++)).ok());
      clock_.Advance(absl::Minutes(1));
    }
  }

  void Crash() {
    fs_.SimulateCrash();
    log_.reset();
    dir_.reset();
    fs_.ClearFaults();
  }

  FaultInjectionFileSystem fs_;
  ManualClock clock_;
  std::unique_ptr<LogDirectory> dir_;
  std::shared_ptr<PartitionLog> log_;
  RecoveryReport report_;
  uint64_t seed_ = 1;
};

TEST_F(RetentionTest, TimeRetentionDeletesOldSegmentsButNeverTheActiveOne) {
  OpenDir();
  AppendMinutes(100);
  auto segs = log_->Segments();
  ASSERT_GT(segs.size(), 4u);
  // Keep the last 30 minutes.
  auto r = log_->ApplyRetention(clock_.Now(), {.retention = absl::Minutes(30)});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->segments_deleted, 0);
  const int64_t start = log_->log_start_offset();
  EXPECT_EQ(start, log_->Segments().front()->base_offset());
  for (const auto& seg : log_->Segments()) {
    if (seg != log_->Segments().back()) {
      EXPECT_GT(seg->max_timestamp(), clock_.NowMillis() - 31 * 60 * 1000);
    }
  }
  EXPECT_EQ(log_->Read(start - 1).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(log_->Stats().deleted_segments, r->segments_deleted);
  // Everything is old: all but the active segment go.
  clock_.Advance(absl::Hours(10));
  r = log_->ApplyRetention(clock_.Now(), {.retention = absl::Minutes(30)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(log_->Segments().size(), 1u);
  EXPECT_EQ(log_->log_end_offset(), 400);
}

TEST_F(RetentionTest, SizeRetentionKeepsAtLeastTheLimit) {
  OpenDir();
  AppendMinutes(100);
  const int64_t limit = 20 * 1024;
  auto r = log_->ApplyRetention(clock_.Now(), {.retention_bytes = limit});
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->segments_deleted, 0);
  int64_t size = log_->Stats().size_bytes;
  EXPECT_GE(size, limit);
  EXPECT_LT(size - static_cast<int64_t>(log_->Segments().front()->size()),
            limit)
      << "one more segment could have gone";
}

TEST_F(RetentionTest, WorkQueueRetentionFollowsTheConsumptionFloor) {
  OpenDir();
  AppendMinutes(100);
  clock_.Advance(absl::Hours(100));
  RetentionRules queue{.retention = absl::Minutes(1), .until_consumed = true};
  // Nobody registered: nothing goes, however old.
  auto r = log_->ApplyRetention(clock_.Now(), queue);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->segments_deleted, 0);
  // Consumed up to offset 150: only segments wholly below it go.
  queue.floor = 150;
  r = log_->ApplyRetention(clock_.Now(), queue);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->segments_deleted, 0);
  EXPECT_LE(log_->log_start_offset(), 150);
  ASSERT_GE(log_->Segments().size(), 2u);
  EXPECT_GT(log_->Segments()[1]->base_offset(), 150);
  // Consumed everything: all but the active segment go, even when young.
  clock_.Advance(-absl::Hours(100));
  queue.floor = log_->log_end_offset();
  r = log_->ApplyRetention(clock_.Now(), queue);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(log_->Segments().size(), 1u);
}

TEST_F(RetentionTest, NothingAboveTheHighWatermarkGoes) {
  OpenDir();
  AppendMinutes(60);
  ASSERT_TRUE(log_->SetHighWatermark(10).ok());
  clock_.Advance(absl::Hours(10));
  auto r = log_->ApplyRetention(clock_.Now(), {.retention = absl::Minutes(1)});
  ASSERT_TRUE(r.ok());
  EXPECT_LE(log_->log_start_offset(), 10);
}

TEST_F(RetentionTest, LogStartIsDurableBeforeFilesGo) {
  OpenDir();
  AppendMinutes(100);
  ASSERT_TRUE(log_->Flush().ok());
  clock_.Advance(absl::Hours(10));
  // The renames to .deleted fail: the log start was already checkpointed.
  fs_.InjectFault({.op = FaultOp::kRename,
                   .nth = 1,
                   .sticky = true,
                   .path_substring = ".log"});
  auto r = log_->ApplyRetention(clock_.Now(), {.retention = absl::Minutes(30)});
  EXPECT_FALSE(r.ok());
  fs_.ClearFaults();
  const int64_t start = log_->log_start_offset();
  ASSERT_GT(start, 0);
  Crash();
  OpenDir();
  EXPECT_EQ(log_->log_start_offset(), start);
  EXPECT_EQ(log_->Segments().front()->base_offset(), start);
  EXPECT_FALSE(report_.removed_files.empty());
  EXPECT_EQ(log_->Read(start - 1).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST_F(RetentionTest, InterruptedDeletionIsFinishedByRecovery) {
  OpenDir();
  AppendMinutes(100);
  ASSERT_TRUE(log_->Flush().ok());
  clock_.Advance(absl::Hours(10));
  auto r = log_->ApplyRetention(clock_.Now(), {.retention = absl::Minutes(30)});
  ASSERT_TRUE(r.ok());
  const int64_t start = log_->log_start_offset();
  std::vector<testing_util::ReadBack> kept = ReadAll(*log_);
  Crash();  // the .deleted renames may or may not have reached the disk
  OpenDir();
  EXPECT_EQ(log_->log_start_offset(), start);
  for (const std::string& f : fs_.ListFiles()) {
    EXPECT_FALSE(std::string_view(f).ends_with(".deleted")) << f;
  }
  std::vector<testing_util::ReadBack> after = ReadAll(*log_);
  ASSERT_EQ(after.size(), kept.size());
  for (size_t i = 0; i < kept.size(); ++i) {
    EXPECT_EQ(after[i].bytes, kept[i].bytes);
  }
}

}  // namespace
}  // namespace spool
