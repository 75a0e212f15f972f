// RocksDbFileSystem: RocksDB's file-system calls on top of spool::FileSystem,
// checked directly on the fault-injecting file system.

#include "tables/rocksdb_file_system.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "io/fault_injection_file_system.h"
#include "spool/clock.h"
#include "tables/rocksdb_status.h"
#include "tables/tables_test_util.h"

namespace spool {
namespace {

using rocksdb::IOOptions;
using rocksdb::IOStatus;

class RocksDbFileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fs_.CreateDirs("/db").ok()); }

  std::unique_ptr<rocksdb::FSWritableFile> NewWritable(
      const std::string& name) {
    std::unique_ptr<rocksdb::FSWritableFile> file;
    IOStatus s =
        adapter_.NewWritableFile(name, rocksdb::FileOptions(), &file, nullptr);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return file;
  }
  std::string Contents(const std::string& name) {
    absl::StatusOr<std::string> bytes = fs_.ReadFile(name);
    EXPECT_TRUE(bytes.ok()) << bytes.status();
    return bytes.value_or("");
  }

  ManualClock clock_;
  FaultInjectionFileSystem fs_{/*seed=*/3, &clock_};
  RocksDbFileSystem adapter_{&fs_};
  IOOptions io_;
};

TEST_F(RocksDbFileSystemTest, WritableFileAppendsAtATrackedOffset) {
  auto file = NewWritable("/db/f");
  ASSERT_TRUE(file->Append("hello ", io_, nullptr).ok());
  ASSERT_TRUE(file->Append("world", io_, nullptr).ok());
  EXPECT_EQ(file->GetFileSize(io_, nullptr), 11u);
  ASSERT_TRUE(file->PositionedAppend("W", 6, io_, nullptr).ok());
  EXPECT_EQ(file->GetFileSize(io_, nullptr), 7u);
  ASSERT_TRUE(file->Append("ORLD", io_, nullptr).ok());
  ASSERT_TRUE(file->Flush(io_, nullptr).ok());
  ASSERT_TRUE(file->Sync(io_, nullptr).ok());
  ASSERT_TRUE(file->Truncate(9, io_, nullptr).ok());
  EXPECT_EQ(file->GetFileSize(io_, nullptr), 9u);
  ASSERT_TRUE(file->Fsync(io_, nullptr).ok());
  ASSERT_TRUE(file->Close(io_, nullptr).ok());
  EXPECT_EQ(Contents("/db/f"), "hello WOR");

  // NewWritableFile truncates an existing file.
  file = NewWritable("/db/f");
  ASSERT_TRUE(file->Close(io_, nullptr).ok());
  EXPECT_EQ(Contents("/db/f"), "");
}

TEST_F(RocksDbFileSystemTest, ReopenAppendsAtTheEndAndReuseRenames) {
  ASSERT_TRUE(fs_.WriteFileAtomic("/db/f", "abc").ok());
  std::unique_ptr<rocksdb::FSWritableFile> file;
  ASSERT_TRUE(
      adapter_
          .ReopenWritableFile("/db/f", rocksdb::FileOptions(), &file, nullptr)
          .ok());
  EXPECT_EQ(file->GetFileSize(io_, nullptr), 3u);
  ASSERT_TRUE(file->Append("def", io_, nullptr).ok());
  ASSERT_TRUE(file->Close(io_, nullptr).ok());
  EXPECT_EQ(Contents("/db/f"), "abcdef");

  ASSERT_TRUE(adapter_
                  .ReuseWritableFile("/db/g", "/db/f", rocksdb::FileOptions(),
                                     &file, nullptr)
                  .ok());
  ASSERT_TRUE(file->Append("X", io_, nullptr).ok());
  ASSERT_TRUE(file->Close(io_, nullptr).ok());
  EXPECT_EQ(Contents("/db/g"), "Xbcdef");  // overwritten in place
  EXPECT_TRUE(adapter_.FileExists("/db/f", io_, nullptr).IsNotFound());
}

TEST_F(RocksDbFileSystemTest, SequentialAndRandomReads) {
  ASSERT_TRUE(fs_.WriteFileAtomic("/db/f", "0123456789").ok());
  std::unique_ptr<rocksdb::FSSequentialFile> seq;
  ASSERT_TRUE(
      adapter_.NewSequentialFile("/db/f", rocksdb::FileOptions(), &seq, nullptr)
          .ok());
  char scratch[16];
  rocksdb::Slice result;
  ASSERT_TRUE(seq->Read(3, io_, &result, scratch, nullptr).ok());
  EXPECT_EQ(result.ToString(), "012");
  ASSERT_TRUE(seq->Skip(2).ok());
  ASSERT_TRUE(seq->Read(16, io_, &result, scratch, nullptr).ok());
  EXPECT_EQ(result.ToString(), "56789");
  ASSERT_TRUE(seq->Read(16, io_, &result, scratch, nullptr).ok());
  EXPECT_TRUE(result.empty());

  std::unique_ptr<rocksdb::FSRandomAccessFile> random;
  ASSERT_TRUE(adapter_
                  .NewRandomAccessFile("/db/f", rocksdb::FileOptions(), &random,
                                       nullptr)
                  .ok());
  ASSERT_TRUE(random->Read(7, 10, io_, &result, scratch, nullptr).ok());
  EXPECT_EQ(result.ToString(), "789");
  ASSERT_TRUE(random->Read(2, 2, io_, &result, scratch, nullptr).ok());
  EXPECT_EQ(result.ToString(), "23");
}

TEST_F(RocksDbFileSystemTest, NamesAndDirectories) {
  ASSERT_TRUE(fs_.WriteFileAtomic("/db/a", "12345").ok());
  ASSERT_TRUE(adapter_.CreateDir("/db/sub", io_, nullptr).ok());
  EXPECT_TRUE(adapter_.CreateDir("/db/sub", io_, nullptr).IsIOError());
  EXPECT_TRUE(adapter_.CreateDirIfMissing("/db/sub", io_, nullptr).ok());
  EXPECT_TRUE(adapter_.CreateDirIfMissing("/db/a", io_, nullptr).IsIOError());

  std::vector<std::string> children;
  ASSERT_TRUE(adapter_.GetChildren("/db", io_, &children, nullptr).ok());
  std::sort(children.begin(), children.end());
  EXPECT_EQ(children, (std::vector<std::string>{"a", "sub"}));

  bool is_dir = false;
  ASSERT_TRUE(adapter_.IsDirectory("/db/sub", io_, &is_dir, nullptr).ok());
  EXPECT_TRUE(is_dir);
  ASSERT_TRUE(adapter_.IsDirectory("/db/a", io_, &is_dir, nullptr).ok());
  EXPECT_FALSE(is_dir);

  uint64_t size = 0;
  ASSERT_TRUE(adapter_.GetFileSize("/db/a", io_, &size, nullptr).ok());
  EXPECT_EQ(size, 5u);
  uint64_t mtime = 0;
  ASSERT_TRUE(
      adapter_.GetFileModificationTime("/db/a", io_, &mtime, nullptr).ok());
  EXPECT_EQ(mtime, static_cast<uint64_t>(absl::ToUnixSeconds(clock_.Now())));

  ASSERT_TRUE(adapter_.Truncate("/db/a", 2, io_, nullptr).ok());
  EXPECT_EQ(Contents("/db/a"), "12");
  ASSERT_TRUE(adapter_.RenameFile("/db/a", "/db/b", io_, nullptr).ok());
  EXPECT_TRUE(adapter_.FileExists("/db/b", io_, nullptr).ok());
  ASSERT_TRUE(adapter_.DeleteFile("/db/b", io_, nullptr).ok());
  ASSERT_TRUE(adapter_.DeleteDir("/db/sub", io_, nullptr).ok());
  children.clear();
  ASSERT_TRUE(adapter_.GetChildren("/db", io_, &children, nullptr).ok());
  EXPECT_TRUE(children.empty());

  std::string absolute;
  ASSERT_TRUE(adapter_.GetAbsolutePath("db", io_, &absolute, nullptr).ok());
  EXPECT_EQ(absolute, "/db");
  ASSERT_TRUE(adapter_.GetAbsolutePath("/x/y", io_, &absolute, nullptr).ok());
  EXPECT_EQ(absolute, "/x/y");
}

TEST_F(RocksDbFileSystemTest, ErrorsKeepTheKindsRocksDbReactsTo) {
  EXPECT_TRUE(adapter_.FileExists("/db/missing", io_, nullptr).IsNotFound());
  uint64_t size = 0;
  IOStatus s = adapter_.GetFileSize("/db/missing", io_, &size, nullptr);
  EXPECT_TRUE(s.IsPathNotFound()) << s.ToString();
  std::unique_ptr<rocksdb::FSSequentialFile> seq;
  s = adapter_.NewSequentialFile("/db/missing", rocksdb::FileOptions(), &seq,
                                 nullptr);
  EXPECT_TRUE(s.IsPathNotFound()) << s.ToString();
  EXPECT_NE(s.ToString().find("/db/missing"), std::string::npos);
  EXPECT_TRUE(
      adapter_.LinkFile("/db/a", "/db/b", io_, nullptr).IsNotSupported());

  auto file = NewWritable("/db/f");
  fs_.InjectFault(
      FaultSpec{.op = FaultOp::kWrite, .error = FaultError::kNoSpace});
  s = file->Append("x", io_, nullptr);
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  EXPECT_EQ(file->GetFileSize(io_, nullptr), 0u) << "a failed append";
  fs_.InjectFault(FaultSpec{.op = FaultOp::kSync});
  s = file->Sync(io_, nullptr);
  EXPECT_TRUE(s.IsIOError() && !s.IsNoSpace()) << s.ToString();
  EXPECT_NE(s.ToString().find("[injected fault]"), std::string::npos);
}

TEST_F(RocksDbFileSystemTest, DirectoryFsyncMakesNewNamesDurable) {
  auto write = [&](const std::string& name) {
    auto file = NewWritable(name);
    ASSERT_TRUE(file->Append("data", io_, nullptr).ok());
    ASSERT_TRUE(file->Sync(io_, nullptr).ok());
    ASSERT_TRUE(file->Close(io_, nullptr).ok());
  };
  write("/db/synced");
  std::unique_ptr<rocksdb::FSDirectory> dir;
  ASSERT_TRUE(adapter_.NewDirectory("/db", io_, &dir, nullptr).ok());
  ASSERT_TRUE(dir->Fsync(io_, nullptr).ok());
  ASSERT_TRUE(dir->Close(io_, nullptr).ok());
  write("/db/unsynced-name");
  // A directory created by CreateDirIfMissing is durable at once.
  ASSERT_TRUE(fs_.CreateDirs("/other").ok());
  ASSERT_TRUE(adapter_.CreateDirIfMissing("/other/new", io_, nullptr).ok());
  fs_.SimulatePowerLoss();
  EXPECT_EQ(Contents("/db/synced"), "data");
  EXPECT_TRUE(
      adapter_.FileExists("/db/unsynced-name", io_, nullptr).IsNotFound());
  EXPECT_TRUE(adapter_.FileExists("/other/new", io_, nullptr).ok());
  EXPECT_TRUE(adapter_.NewDirectory("/db/missing", io_, &dir, nullptr)
                  .IsPathNotFound());
}

TEST_F(RocksDbFileSystemTest, LockFileExcludesASecondHolderUntilUnlocked) {
  rocksdb::FileLock* first = nullptr;
  ASSERT_TRUE(adapter_.LockFile("/db/LOCK", io_, &first, nullptr).ok());
  ASSERT_NE(first, nullptr);
  rocksdb::FileLock* second = nullptr;
  IOStatus s = adapter_.LockFile("/db/LOCK", io_, &second, nullptr);
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_EQ(second, nullptr);
  EXPECT_NE(s.ToString().find("locked by another"), std::string::npos);
  ASSERT_TRUE(adapter_.UnlockFile(first, io_, nullptr).ok());
  ASSERT_TRUE(adapter_.LockFile("/db/LOCK", io_, &second, nullptr).ok());
  ASSERT_TRUE(adapter_.UnlockFile(second, io_, nullptr).ok());
}

TEST_F(RocksDbFileSystemTest, LoggerWritesBufferedLinesThroughTheFileSystem) {
  std::shared_ptr<rocksdb::Logger> logger;
  ASSERT_TRUE(adapter_.NewLogger("/db/LOG", io_, &logger, nullptr).ok());
  rocksdb::Log(rocksdb::InfoLogLevel::INFO_LEVEL, logger, "opened %d tables",
               7);
  EXPECT_EQ(Contents("/db/LOG"), "") << "info lines are buffered";
  rocksdb::Log(rocksdb::InfoLogLevel::WARN_LEVEL, logger, "disk %s", "slow");
  const std::string log = Contents("/db/LOG");
  EXPECT_NE(log.find("opened 7 tables\n"), std::string::npos) << log;
  EXPECT_NE(log.find("[WARN] disk slow\n"), std::string::npos) << log;
  rocksdb::Log(rocksdb::InfoLogLevel::DEBUG_LEVEL, logger, "hidden");
  rocksdb::Log(rocksdb::InfoLogLevel::INFO_LEVEL, logger, "last");
  EXPECT_GT(logger->GetLogFileSize(), log.size());
  ASSERT_TRUE(logger->Close().ok());
  EXPECT_NE(Contents("/db/LOG").find("last\n"), std::string::npos);
  EXPECT_EQ(Contents("/db/LOG").find("hidden"), std::string::npos);
}

TEST_F(RocksDbFileSystemTest, TestDirectoryExists) {
  std::string dir;
  ASSERT_TRUE(adapter_.GetTestDirectory(io_, &dir, nullptr).ok());
  bool is_dir = false;
  ASSERT_TRUE(adapter_.IsDirectory(dir, io_, &is_dir, nullptr).ok());
  EXPECT_TRUE(is_dir);
}

}  // namespace
}  // namespace spool
