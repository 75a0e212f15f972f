// FaultInjectionFileSystem outside power loss: POSIX-like semantics, fault
// rules, capacity, counters and introspection.

#include "io/fault_injection_file_system.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "io/io_test_util.h"
#include "spool/clock.h"

namespace spool {
namespace {

using ::spool::testing_io::HasStatus;
using ::spool::testing_io::RandomBytes;

OpenOptions Create() {
  OpenOptions options;
  options.create = true;
  return options;
}

class FaultInjectionFileSystemTest : public ::testing::Test {
 protected:
  FaultInjectionFileSystemTest() : fs_(/*seed=*/42, &clock_) {
    EXPECT_TRUE(fs_.CreateDir("/d").ok());
  }

  std::unique_ptr<File> Open(const std::string& path,
                             const OpenOptions& options = Create()) {
    auto file = fs_.Open(path, options);
    EXPECT_TRUE(file.ok()) << file.status();
    return file.ok() ? std::move(*file) : nullptr;
  }

  std::string Contents(const std::string& path) {
    absl::StatusOr<std::string> contents = fs_.ReadFile(path);
    EXPECT_TRUE(contents.ok()) << contents.status();
    return contents.ok() ? *contents : "";
  }

  ManualClock clock_;
  FaultInjectionFileSystem fs_;
};

TEST_F(FaultInjectionFileSystemTest, FileOperationsBehaveLikePosix) {
  auto file = Open("/d/f");
  EXPECT_EQ(file->native_handle(), -1);
  ASSERT_TRUE(file->Write(0, "hello world").ok());
  ASSERT_TRUE(file->Write(6, "there").ok());
  ASSERT_TRUE(file->Write(13, "!").ok());
  EXPECT_EQ(Contents("/d/f"), std::string("hello there\0\0!", 14));
  char buffer[8];
  EXPECT_EQ(*file->Read(10, sizeof(buffer), buffer), 4u);
  EXPECT_EQ(*file->Read(100, sizeof(buffer), buffer), 0u);
  ASSERT_TRUE(file->Truncate(5).ok());
  ASSERT_TRUE(file->Truncate(7).ok());
  EXPECT_EQ(Contents("/d/f"), std::string("hello\0\0", 7));
  ASSERT_TRUE(file->Write(100, "").ok());  // empty writes do not extend
  EXPECT_EQ(*file->Size(), 7u);
  ASSERT_TRUE(file->Reserve(0, 4096).ok());
  EXPECT_EQ(*file->Size(), 7u);
  EXPECT_EQ(fs_.Stat("/d/f")->size, 7u);
  EXPECT_EQ(fs_.Stat("/d/f")->modification_time, clock_.Now());
  EXPECT_TRUE(fs_.Stat("d")->is_directory);  // relative == absolute
}

TEST_F(FaultInjectionFileSystemTest, ErrorsUsePosixCodesAndMessages) {
  Open("/d/f");
  EXPECT_TRUE(HasStatus(
      fs_.Open("/d/missing", OpenOptions()), absl::StatusCode::kNotFound,
      "open /d/missing: No such file or directory (errno 2)"));
  EXPECT_TRUE(HasStatus(fs_.Open("/x/y", Create()), absl::StatusCode::kNotFound,
                        "open /x/y"));
  EXPECT_TRUE(HasStatus(fs_.Open("/d", OpenOptions()),
                        absl::StatusCode::kInvalidArgument,
                        "open /d: Is a directory"));
  EXPECT_TRUE(HasStatus(fs_.Open("/d/f/g", Create()),
                        absl::StatusCode::kInvalidArgument, "Not a directory"));
  OpenOptions exclusive = Create();
  exclusive.exclusive = true;
  EXPECT_TRUE(HasStatus(fs_.Open("/d/f", exclusive),
                        absl::StatusCode::kAlreadyExists, "open /d/f"));
  EXPECT_TRUE(HasStatus(fs_.Rename("/d/nope", "/d/g"),
                        absl::StatusCode::kNotFound,
                        "rename /d/nope to /d/g: No such file"));
  EXPECT_TRUE(HasStatus(fs_.Remove("/d/nope"), absl::StatusCode::kNotFound,
                        "remove /d/nope"));
  EXPECT_TRUE(HasStatus(fs_.Remove("/d"), absl::StatusCode::kInvalidArgument,
                        "remove /d: Is a directory"));
  EXPECT_TRUE(HasStatus(fs_.RemoveDir("/d"),
                        absl::StatusCode::kFailedPrecondition,
                        "remove directory /d: Directory not empty"));
  EXPECT_TRUE(HasStatus(fs_.CreateDir("/d/f"), absl::StatusCode::kAlreadyExists,
                        "create directory /d/f"));
  EXPECT_TRUE(fs_.CreateDir("/d").ok());
  EXPECT_TRUE(HasStatus(fs_.ListDir("/d/f"), absl::StatusCode::kInvalidArgument,
                        "list directory /d/f"));
  EXPECT_TRUE(HasStatus(fs_.SyncDir("/d/f"), absl::StatusCode::kInvalidArgument,
                        "sync directory /d/f"));
  EXPECT_TRUE(HasStatus(fs_.MapReadOnly("/d/none"), absl::StatusCode::kNotFound,
                        "map /d/none"));
  EXPECT_TRUE(HasStatus(fs_.Stat(""), absl::StatusCode::kNotFound, "stat"));
}

TEST_F(FaultInjectionFileSystemTest, ReadOnlyHandleRejectsChanges) {
  ASSERT_TRUE(Open("/d/f")->Write(0, "abc").ok());
  OpenOptions read_only;
  read_only.read_only = true;
  auto file = Open("/d/f", read_only);
  EXPECT_TRUE(HasStatus(file->Write(0, "x"),
                        absl::StatusCode::kPermissionDenied,
                        "write /d/f: the file is open read-only"));
  EXPECT_TRUE(HasStatus(file->Truncate(0), absl::StatusCode::kPermissionDenied,
                        "truncate /d/f"));
  EXPECT_TRUE(file->Sync().ok());
  read_only.truncate = true;
  EXPECT_TRUE(HasStatus(fs_.Open("/d/f", read_only),
                        absl::StatusCode::kInvalidArgument, "read_only"));
}

TEST_F(FaultInjectionFileSystemTest, ClosedHandleFailsWithFailedPrecondition) {
  auto file = Open("/d/f");
  ASSERT_TRUE(file->Close().ok());
  EXPECT_TRUE(file->Close().ok());
  EXPECT_TRUE(HasStatus(file->Write(0, "x"),
                        absl::StatusCode::kFailedPrecondition,
                        "write /d/f: the file is closed"));
  EXPECT_TRUE(HasStatus(file->Size(), absl::StatusCode::kFailedPrecondition,
                        "size /d/f"));
  EXPECT_EQ(fs_.open_file_count(), 0u);
}

TEST_F(FaultInjectionFileSystemTest, MapReadOnlyReturnsACopy) {
  auto file = Open("/d/index");
  ASSERT_TRUE(file->Write(0, "abc").ok());
  auto region = fs_.MapReadOnly("/d/index");
  ASSERT_TRUE(region.ok());
  ASSERT_TRUE(file->Write(0, "xyz").ok());
  EXPECT_EQ((*region)->data(), "abc");
  Open("/d/empty");
  EXPECT_TRUE((*fs_.MapReadOnly("/d/empty"))->data().empty());
}

TEST_F(FaultInjectionFileSystemTest, RenameMovesFilesAndDirectories) {
  ASSERT_TRUE(Open("/d/a")->Write(0, "A").ok());
  ASSERT_TRUE(Open("/d/b")->Write(0, "B").ok());
  ASSERT_TRUE(fs_.Rename("/d/a", "/d/b").ok());
  EXPECT_EQ(Contents("/d/b"), "A");
  EXPECT_FALSE(*fs_.Exists("/d/a"));
  ASSERT_TRUE(fs_.CreateDir("/e").ok());
  ASSERT_TRUE(fs_.Rename("/d", "/e/d2").ok());
  EXPECT_EQ(Contents("/e/d2/b"), "A");
  EXPECT_TRUE(HasStatus(fs_.Rename("/e", "/e/d2/inside"),
                        absl::StatusCode::kInvalidArgument,
                        "rename /e to /e/d2/inside"));
  EXPECT_TRUE(HasStatus(fs_.Rename("/e/d2/b", "/e/d2"),
                        absl::StatusCode::kInvalidArgument, "Is a directory"));
  EXPECT_TRUE(fs_.Rename("/e/d2/b", "/e/d2/b").ok());
  EXPECT_EQ(fs_.ListFiles(), std::vector<std::string>{"/e/d2/b"});
}

TEST_F(FaultInjectionFileSystemTest, UnlinkedOpenFileKeepsWorking) {
  auto file = Open("/d/f");
  ASSERT_TRUE(fs_.Remove("/d/f").ok());
  ASSERT_TRUE(file->Write(0, "still here").ok());
  ASSERT_TRUE(file->Sync().ok());
  char buffer[16];
  EXPECT_EQ(*file->Read(0, sizeof(buffer), buffer), 10u);
  EXPECT_TRUE(fs_.ListFiles().empty());
}

TEST_F(FaultInjectionFileSystemTest, SecondLockFailsUntilReleased) {
  auto lock = fs_.Lock("/d/LOCK");
  ASSERT_TRUE(lock.ok());
  EXPECT_TRUE(
      HasStatus(fs_.Lock("d/./LOCK"), absl::StatusCode::kFailedPrecondition,
                "is locked by another process or Spool instance: d/./LOCK"));
  lock->reset();
  EXPECT_TRUE(fs_.Lock("/d/LOCK").ok());
  EXPECT_TRUE(*fs_.Exists("/d/LOCK"));
}

TEST_F(FaultInjectionFileSystemTest, NthWriteFailsWithEioAndAppliesNothing) {
  auto file = Open("/d/f");
  fs_.InjectFault({.op = FaultOp::kWrite, .nth = 2});
  ASSERT_TRUE(file->Write(0, "one").ok());
  EXPECT_TRUE(HasStatus(file->Write(3, "two"), absl::StatusCode::kUnavailable,
                        "write /d/f: Input/output error (errno 5) "
                        "[injected fault]"));
  EXPECT_EQ(Contents("/d/f"), "one");
  EXPECT_TRUE(file->Write(3, "three").ok());  // a non-sticky rule fires once
  EXPECT_EQ(fs_.counters().injected_faults, 1u);
}

TEST_F(FaultInjectionFileSystemTest, TornWriteFaultAppliesAStrictPrefix) {
  std::mt19937_64 rng(5);
  bool saw_empty = false;
  bool saw_partial = false;
  for (int i = 0; i < 50; ++i) {
    const std::string path = absl::StrCat("/d/f", i);
    const std::string data = RandomBytes(rng, 4);
    auto file = Open(path);
    fs_.InjectFault({.op = FaultOp::kWrite, .torn_write = true});
    EXPECT_TRUE(HasStatus(file->Write(10, data), absl::StatusCode::kUnavailable,
                          "[injected fault]"));
    const std::string contents = Contents(path);
    if (contents.empty()) {
      saw_empty = true;
      continue;
    }
    saw_partial = true;
    ASSERT_GT(contents.size(), 10u);
    ASSERT_LT(contents.size(), 14u);
    EXPECT_EQ(contents,
              std::string(10, '\0') + data.substr(0, contents.size() - 10));
  }
  EXPECT_TRUE(saw_empty);
  EXPECT_TRUE(saw_partial);
}

TEST_F(FaultInjectionFileSystemTest, FailedSyncLeavesDataUnsynced) {
  auto file = Open("/d/f");
  ASSERT_TRUE(file->Write(0, "data").ok());
  fs_.InjectFault({.op = FaultOp::kSync, .nth = 1});
  EXPECT_TRUE(HasStatus(file->Sync(), absl::StatusCode::kUnavailable,
                        "sync /d/f: Input/output error"));
  EXPECT_EQ(*fs_.UnsyncedBytes("/d/f"), 4u);
  ASSERT_TRUE(file->Sync().ok());
  EXPECT_EQ(*fs_.UnsyncedBytes("/d/f"), 0u);
}

TEST_F(FaultInjectionFileSystemTest, StickyFaultFailsUntilCleared) {
  auto file = Open("/d/f");
  fs_.InjectFault({.op = FaultOp::kSync, .nth = 2, .sticky = true});
  EXPECT_TRUE(file->Sync().ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(HasStatus(file->Sync(), absl::StatusCode::kUnavailable,
                          "[injected fault]"));
  }
  fs_.ClearFaults();
  EXPECT_TRUE(file->Sync().ok());
}

TEST_F(FaultInjectionFileSystemTest, PathFilterLimitsWhichFilesFail) {
  auto log = Open("/d/0.log");
  auto index = Open("/d/0.index");
  fs_.InjectFault({.op = FaultOp::kAny,
                   .nth = 1,
                   .error = FaultError::kNoSpace,
                   .sticky = true,
                   .path_substring = ".index"});
  EXPECT_TRUE(log->Write(0, "x").ok());
  EXPECT_TRUE(log->Sync().ok());
  EXPECT_TRUE(
      HasStatus(index->Write(0, "x"), absl::StatusCode::kResourceExhausted,
                "write /d/0.index: No space left on device (errno 28)"));
  EXPECT_TRUE(HasStatus(fs_.Rename("/d/0.log", "/d/1.index"),
                        absl::StatusCode::kResourceExhausted,
                        "rename /d/0.log to /d/1.index"));
}

TEST_F(FaultInjectionFileSystemTest, EachOperationKindCanFail) {
  auto file = Open("/d/f");
  struct Case {
    FaultOp op;
    std::function<absl::Status()> call;
    std::string fragment;
  };
  char c;
  const std::vector<Case> cases = {
      {FaultOp::kOpen, [&] { return fs_.Open("/d/f", Create()).status(); },
       "open /d/f"},
      {FaultOp::kOpen, [&] { return fs_.CreateDir("/d/sub"); },
       "create directory /d/sub"},
      {FaultOp::kOpen, [&] { return fs_.MapReadOnly("/d/f").status(); },
       "map /d/f"},
      {FaultOp::kOpen, [&] { return fs_.Lock("/d/LOCK").status(); },
       "lock /d/LOCK"},
      {FaultOp::kRead, [&] { return file->Read(0, 1, &c).status(); },
       "read /d/f"},
      {FaultOp::kTruncate, [&] { return file->Truncate(0); }, "truncate /d/f"},
      {FaultOp::kRename, [&] { return fs_.Rename("/d/f", "/d/g"); },
       "rename /d/f to /d/g"},
      {FaultOp::kRemove, [&] { return fs_.Remove("/d/f"); }, "remove /d/f"},
      {FaultOp::kSyncDir, [&] { return fs_.SyncDir("/d"); },
       "sync directory /d"},
  };
  for (const Case& test : cases) {
    fs_.InjectFault({.op = test.op, .nth = 1});
    EXPECT_TRUE(HasStatus(test.call(), absl::StatusCode::kUnavailable,
                          test.fragment + ": Input/output error"));
  }
  EXPECT_TRUE(*fs_.Exists("/d/f"));  // the failed rename and remove did nothing
}

TEST_F(FaultInjectionFileSystemTest, ProbabilisticFaultsAreDeterministic) {
  auto run = [](uint64_t seed) {
    FaultInjectionFileSystem fs(seed);
    auto file = fs.Open("/f", Create());
    fs.InjectFault({.op = FaultOp::kWrite, .nth = 0, .probability = 0.3});
    std::string outcomes;
    for (int i = 0; i < 200; ++i) {
      outcomes += (*file)->Write(0, "x").ok() ? '.' : 'X';
    }
    return outcomes;
  };
  const std::string first = run(9);
  EXPECT_EQ(first, run(9));
  EXPECT_NE(first, run(10));
  const auto failures = std::count(first.begin(), first.end(), 'X');
  EXPECT_GT(failures, 30);
  EXPECT_LT(failures, 90);
}

TEST_F(FaultInjectionFileSystemTest, FullDiskFailsWritesUntilSpaceIsFreed) {
  fs_.SetCapacity(100);
  auto big = Open("/d/big");
  ASSERT_TRUE(big->Write(0, std::string(60, 'b')).ok());
  auto log = Open("/d/log");
  ASSERT_TRUE(log->Write(0, std::string(30, 'l')).ok());
  // 10 bytes are left: the write stores what fits, like a short pwrite.
  EXPECT_TRUE(HasStatus(log->Write(30, std::string(20, 'm')),
                        absl::StatusCode::kResourceExhausted,
                        "write /d/log: No space left on device (errno 28) "
                        "[capacity 100 bytes]"));
  EXPECT_EQ(*log->Size(), 40u);
  EXPECT_EQ(fs_.used_bytes(), 100u);
  EXPECT_TRUE(log->Write(0, std::string(40, 'o')).ok());  // overwrite is free
  EXPECT_TRUE(HasStatus(log->Reserve(0, 200),
                        absl::StatusCode::kResourceExhausted,
                        "reserve /d/log"));

  ASSERT_TRUE(big->Truncate(10).ok());
  EXPECT_TRUE(log->Write(40, std::string(50, 'n')).ok());
  EXPECT_TRUE(HasStatus(log->Write(90, "!"),
                        absl::StatusCode::kResourceExhausted, "No space"));
  ASSERT_TRUE(big->Close().ok());
  ASSERT_TRUE(fs_.Remove("/d/big").ok());
  EXPECT_EQ(fs_.used_bytes(), 90u);
  EXPECT_TRUE(log->Write(90, std::string(10, '!')).ok());
}

TEST_F(FaultInjectionFileSystemTest, UnlinkedOpenFileHoldsSpaceUntilClosed) {
  fs_.SetCapacity(100);
  auto file = Open("/d/f");
  ASSERT_TRUE(file->Write(0, std::string(100, 'x')).ok());
  ASSERT_TRUE(fs_.Remove("/d/f").ok());
  EXPECT_EQ(fs_.used_bytes(), 100u);
  ASSERT_TRUE(file->Close().ok());
  EXPECT_EQ(fs_.used_bytes(), 0u);
  EXPECT_TRUE(Open("/d/g")->Write(0, std::string(100, 'y')).ok());
}

TEST_F(FaultInjectionFileSystemTest, ReservedSpaceCountsAndIsUsedByWrites) {
  fs_.SetCapacity(100);
  auto file = Open("/d/f");
  ASSERT_TRUE(file->Reserve(0, 80).ok());
  EXPECT_EQ(fs_.used_bytes(), 80u);
  EXPECT_TRUE(HasStatus(Open("/d/g")->Write(0, std::string(30, 'g')),
                        absl::StatusCode::kResourceExhausted, "write /d/g"));
  EXPECT_TRUE(file->Write(0, std::string(80, 'f')).ok());
  EXPECT_EQ(fs_.used_bytes(), 100u);  // 80 + the 20 /d/g got in
}

TEST_F(FaultInjectionFileSystemTest, CountersShowOneSyncForManyWrites) {
  fs_.ResetCounters();
  auto file = Open("/d/f");
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(file->Write(i * 3, "abc").ok());
  }
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  ASSERT_TRUE(file->Close().ok());
  const FaultInjectionCounters counters = fs_.counters();
  EXPECT_EQ(counters.opens, 1u);
  EXPECT_EQ(counters.closes, 1u);
  EXPECT_EQ(counters.writes, 10u);
  EXPECT_EQ(counters.bytes_written, 30u);
  EXPECT_EQ(counters.syncs, 1u);
  EXPECT_EQ(counters.sync_dirs, 1u);
  EXPECT_EQ(counters.injected_faults, 0u);
}

TEST_F(FaultInjectionFileSystemTest, UnsyncedBytesTracksWritesUntilSync) {
  auto a = Open("/d/a");
  auto b = Open("/d/b");
  ASSERT_TRUE(a->Write(0, "12345").ok());
  ASSERT_TRUE(b->Write(0, "123").ok());
  EXPECT_EQ(fs_.UnsyncedBytes(), 8u);
  ASSERT_TRUE(a->Sync().ok());
  EXPECT_EQ(fs_.UnsyncedBytes(), 3u);
  EXPECT_EQ(*fs_.UnsyncedBytes("/d/a"), 0u);
  EXPECT_TRUE(HasStatus(fs_.UnsyncedBytes("/d"),
                        absl::StatusCode::kInvalidArgument, "Is a directory"));
}

TEST_F(FaultInjectionFileSystemTest, BytesReadCountsWhatReadsReturned) {
  auto a = Open("/d/a");
  auto b = Open("/d/b");
  ASSERT_TRUE(a->Write(0, "0123456789").ok());
  char buf[16];
  ASSERT_EQ(*a->Read(2, 4, buf), 4u);
  ASSERT_EQ(*a->Read(8, 16, buf), 2u);  // only 2 bytes left
  ASSERT_EQ(*a->Read(20, 4, buf), 0u);  // past the end
  EXPECT_EQ(*fs_.BytesRead("/d/a"), 6u);
  EXPECT_EQ(*fs_.BytesRead("/d/b"), 0u);
  EXPECT_EQ(fs_.counters().bytes_read, 6u);
  // Per file: kept across a rename, gone with the file.
  ASSERT_TRUE(fs_.Rename("/d/a", "/d/c").ok());
  EXPECT_EQ(*fs_.BytesRead("/d/c"), 6u);
  EXPECT_TRUE(
      HasStatus(fs_.BytesRead("/d/a"), absl::StatusCode::kNotFound, "/d/a"));
  EXPECT_TRUE(HasStatus(fs_.BytesRead("/d"), absl::StatusCode::kInvalidArgument,
                        "Is a directory"));
}

TEST_F(FaultInjectionFileSystemTest, SnapshotsShowCurrentAndDurableState) {
  ASSERT_TRUE(fs_.CreateDir("/d/sub").ok());
  auto file = Open("/d/sub/f");
  ASSERT_TRUE(file->Write(0, "synced").ok());
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(file->Write(6, "+more").ok());
  FileSystemSnapshot current;
  current.files["/d/sub/f"] = "synced+more";
  current.directories = {"/d", "/d/sub"};
  EXPECT_EQ(fs_.CurrentSnapshot(), current);
  EXPECT_EQ(fs_.DurableSnapshot(), FileSystemSnapshot());  // nothing synced
  ASSERT_TRUE(fs_.SyncDir("/").ok());
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  ASSERT_TRUE(fs_.SyncDir("/d/sub").ok());
  FileSystemSnapshot durable = current;
  durable.files["/d/sub/f"] = "synced";
  EXPECT_EQ(fs_.DurableSnapshot(), durable);
}

TEST_F(FaultInjectionFileSystemTest, ConcurrentWritersOnSeparateFiles) {
  constexpr int kThreads = 4;
  constexpr int kWrites = 300;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      const std::string path = absl::StrCat("/d/file", t);
      auto file = fs_.Open(path, Create());
      ASSERT_TRUE(file.ok());
      for (int i = 0; i < kWrites; ++i) {
        ASSERT_TRUE((*file)->Write(i * 4, "abcd").ok());
        if (i % 50 == 0) {
          ASSERT_TRUE((*file)->Sync().ok());
        }
      }
      ASSERT_TRUE(fs_.SyncDir("/d").ok());
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(fs_.ListFiles().size(), static_cast<size_t>(kThreads));
  EXPECT_EQ(fs_.counters().writes, static_cast<uint64_t>(kThreads * kWrites));
  EXPECT_EQ(fs_.Stat("/d/file0")->size, kWrites * 4u);
}

}  // namespace
}  // namespace spool
