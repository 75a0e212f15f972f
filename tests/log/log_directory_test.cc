#include "log/log_directory.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "io/fault_injection_file_system.h"
#include "log/log_test_util.h"

namespace spool {
namespace {

using ::spool::testing_util::MakeBatch;
using ::spool::testing_util::SmallConfig;
using ::spool::testing_util::TempDir;
using ::testing::HasSubstr;

TEST(LogDirectoryTest, SecondOpenOfTheSameDirectoryFails) {
  TempDir tmp;
  auto first = LogDirectory::Open({.path = tmp.path()});
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = LogDirectory::Open({.path = tmp.path()});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.status().message(), HasSubstr(tmp.path()));
  EXPECT_THAT(second.status().message(), HasSubstr("in use"));
  first->reset();
  EXPECT_TRUE(LogDirectory::Open({.path = tmp.path()}).ok());
}

TEST(LogDirectoryTest, RejectsAFileAsDataDirectory) {
  TempDir tmp;
  std::string file = tmp.path() + "/plain";
  auto f = FileSystem::Default()->Open(file, {.create = true});
  ASSERT_TRUE(f.ok());
  auto dir = LogDirectory::Open({.path = file});
  EXPECT_EQ(dir.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(dir.status().message(), HasSubstr("not a directory"));
}

TEST(LogDirectoryTest, CleanCloseWritesMarkerAndCheckpoints) {
  FaultInjectionFileSystem fs(5);
  {
    auto dir = LogDirectory::Open({.fs = &fs, .path = "/data"});
    ASSERT_TRUE(dir.ok()) << dir.status();
    EXPECT_FALSE((*dir)->clean_shutdown());
    auto log = (*dir)->OpenPartition({"orders", 3}, SmallConfig(), nullptr);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->Append(MakeBatch(4, 10, 1, 1)).ok());
    ASSERT_TRUE((*dir)->Close().ok());
  }
  fs.SimulatePowerLoss();  // everything Close wrote is durable
  EXPECT_EQ(*fs.ReadFile("/data/recovery-point-offset-checkpoint"),
            "0\n1\norders 3 4\n");
  EXPECT_EQ(*fs.ReadFile("/data/log-start-offset-checkpoint"),
            "0\n1\norders 3 0\n");
  EXPECT_TRUE(*fs.Exists("/data/.kafka_cleanshutdown"));
  auto dir = LogDirectory::Open({.fs = &fs, .path = "/data"});
  ASSERT_TRUE(dir.ok());
  EXPECT_TRUE((*dir)->clean_shutdown());
  // The marker is consumed at once: a crash from here on is unclean.
  EXPECT_FALSE(*fs.Exists("/data/.kafka_cleanshutdown"));
  auto parts = (*dir)->ListPartitionsOnDisk();
  ASSERT_TRUE(parts.ok());
  EXPECT_EQ(*parts, (std::vector<TopicPartition>{{"orders", 3}}));
  RecoveryReport report;
  auto log = (*dir)->OpenPartition({"orders", 3}, SmallConfig(), &report);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->log_end_offset(), 4);
  EXPECT_EQ(report.segments_scanned, 0);
}

TEST(LogDirectoryTest, CheckpointsKeepPartitionsNotOpenedThisSession) {
  FaultInjectionFileSystem fs(6);
  {
    auto dir = LogDirectory::Open({.fs = &fs, .path = "/data"});
    ASSERT_TRUE(dir.ok());
    for (int p = 0; p < 2; ++p) {
      auto log = (*dir)->OpenPartition({"t", p}, SmallConfig(), nullptr);
      ASSERT_TRUE(log.ok());
      ASSERT_TRUE((*log)->Append(MakeBatch(2, 10, 1, p)).ok());
    }
  }
  {
    auto dir = LogDirectory::Open({.fs = &fs, .path = "/data"});
    ASSERT_TRUE(dir.ok());
    ASSERT_TRUE((*dir)->OpenPartition({"t", 1}, SmallConfig(), nullptr).ok());
  }
  EXPECT_EQ(*fs.ReadFile("/data/recovery-point-offset-checkpoint"),
            "0\n2\nt 0 2\nt 1 2\n");
}

TEST(LogDirectoryTest, DeletePartitionRemovesItsDirectory) {
  FaultInjectionFileSystem fs(7);
  auto dir = LogDirectory::Open({.fs = &fs, .path = "/data"});
  ASSERT_TRUE(dir.ok());
  auto log = (*dir)->OpenPartition({"t", 0}, SmallConfig(), nullptr);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Append(MakeBatch(2, 10, 1, 1)).ok());
  ASSERT_TRUE((*dir)->DeletePartition({"t", 0}).ok());
  EXPECT_FALSE(*fs.Exists("/data/t-0"));
  EXPECT_EQ((*dir)->FindPartition({"t", 0}), nullptr);
  auto parts = (*dir)->ListPartitionsOnDisk();
  ASSERT_TRUE(parts.ok());
  EXPECT_TRUE(parts->empty());
}

TEST(LogDirectoryTest, InterruptedPartitionDeletionIsFinishedOnOpen) {
  FaultInjectionFileSystem fs(8);
  ASSERT_TRUE(
      fs.CreateDirs("/data/t-0.0123456789abcdef0123456789abcdef-delete").ok());
  auto f = fs.Open(
      "/data/t-0.0123456789abcdef0123456789abcdef-delete/"
      "00000000000000000000.log",
      {.create = true});
  ASSERT_TRUE(f.ok());
  f->reset();
  auto dir = LogDirectory::Open({.fs = &fs, .path = "/data"});
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_FALSE(*fs.Exists("/data/t-0.0123456789abcdef0123456789abcdef-delete"));
}

}  // namespace
}  // namespace spool
