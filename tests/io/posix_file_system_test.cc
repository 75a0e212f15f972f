// FileSystem::Default(): the POSIX implementation against a real directory.

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "io/io_test_util.h"
#include "spool/file_system.h"

namespace spool {
namespace {

using ::spool::testing_io::HasStatus;
using ::spool::testing_io::ScopedTempDir;

OpenOptions CreateOptions() {
  OpenOptions options;
  options.create = true;
  return options;
}

OpenOptions ReadOnly() {
  OpenOptions options;
  options.read_only = true;
  return options;
}

class PosixFileSystemTest : public ::testing::Test {
 protected:
  std::unique_ptr<File> Create(const std::string& name) {
    absl::StatusOr<std::unique_ptr<File>> file =
        fs_->Open(dir_.Join(name), CreateOptions());
    EXPECT_TRUE(file.ok()) << file.status();
    return file.ok() ? std::move(*file) : nullptr;
  }

  std::string ReadAll(File& file) {
    std::string out(1 << 16, '\0');
    absl::StatusOr<size_t> n = file.Read(0, out.size(), out.data());
    EXPECT_TRUE(n.ok()) << n.status();
    out.resize(n.ok() ? *n : 0);
    return out;
  }

  ScopedTempDir dir_;
  FileSystem* fs_ = FileSystem::Default();
};

TEST_F(PosixFileSystemTest, WrittenBytesReadBack) {
  auto file = Create("f");
  ASSERT_TRUE(file->Write(0, "hello world").ok());
  ASSERT_TRUE(file->Write(6, "there").ok());
  EXPECT_EQ(ReadAll(*file), "hello there");
  EXPECT_EQ(*file->Size(), 11u);
  char buffer[4];
  EXPECT_EQ(*file->Read(9, sizeof(buffer), buffer), 2u);  // short at EOF
  EXPECT_EQ(std::string(buffer, 2), "re");
  EXPECT_EQ(*file->Read(100, sizeof(buffer), buffer), 0u);
}

TEST_F(PosixFileSystemTest, WriteBeyondEndLeavesZeros) {
  auto file = Create("f");
  ASSERT_TRUE(file->Write(4, "x").ok());
  EXPECT_EQ(ReadAll(*file), std::string("\0\0\0\0x", 5));
}

TEST_F(PosixFileSystemTest, TruncateShrinksAndExtendsWithZeros) {
  auto file = Create("f");
  ASSERT_TRUE(file->Write(0, "abcdef").ok());
  ASSERT_TRUE(file->Truncate(3).ok());
  EXPECT_EQ(ReadAll(*file), "abc");
  ASSERT_TRUE(file->Truncate(5).ok());
  EXPECT_EQ(ReadAll(*file), std::string("abc\0\0", 5));
}

TEST_F(PosixFileSystemTest, ReserveKeepsSizeAndSyncSucceeds) {
  auto file = Create("f");
  ASSERT_TRUE(file->Write(0, "abc").ok());
  ASSERT_TRUE(file->Reserve(0, 1 << 20).ok());
  ASSERT_TRUE(file->Reserve(10, 0).ok());
  EXPECT_EQ(*file->Size(), 3u);
  EXPECT_TRUE(file->Sync().ok());
  EXPECT_GE(file->native_handle(), 0);
}

TEST_F(PosixFileSystemTest, ClosedFileFailsWithFailedPrecondition) {
  auto file = Create("f");
  ASSERT_TRUE(file->Close().ok());
  EXPECT_TRUE(file->Close().ok());  // idempotent
  EXPECT_EQ(file->native_handle(), -1);
  EXPECT_TRUE(HasStatus(file->Write(0, "x"),
                        absl::StatusCode::kFailedPrecondition,
                        "write " + dir_.Join("f") + ": the file is closed"));
  char c;
  EXPECT_TRUE(HasStatus(file->Read(0, 1, &c),
                        absl::StatusCode::kFailedPrecondition, "closed"));
  EXPECT_TRUE(
      HasStatus(file->Sync(), absl::StatusCode::kFailedPrecondition, "sync"));
  EXPECT_TRUE(
      HasStatus(file->Size(), absl::StatusCode::kFailedPrecondition, "size"));
}

TEST_F(PosixFileSystemTest, OpenMissingFileIsNotFoundNamingPath) {
  const std::string path = dir_.Join("missing");
  EXPECT_TRUE(HasStatus(fs_->Open(path, OpenOptions()),
                        absl::StatusCode::kNotFound,
                        "open " + path + ": No such file or directory"));
  EXPECT_TRUE(HasStatus(fs_->Open(dir_.Join("no/such/dir"), CreateOptions()),
                        absl::StatusCode::kNotFound, "(errno 2)"));
}

TEST_F(PosixFileSystemTest, PathThroughAFileIsInvalidArgument) {
  Create("f");
  EXPECT_TRUE(HasStatus(fs_->Open(dir_.Join("f/g"), CreateOptions()),
                        absl::StatusCode::kInvalidArgument, "Not a directory"));
}

TEST_F(PosixFileSystemTest, ExclusiveCreateOfExistingFileIsAlreadyExists) {
  Create("f");
  OpenOptions options = CreateOptions();
  options.exclusive = true;
  EXPECT_TRUE(HasStatus(fs_->Open(dir_.Join("f"), options),
                        absl::StatusCode::kAlreadyExists, dir_.Join("f")));
  EXPECT_TRUE(fs_->Open(dir_.Join("g"), options).ok());
}

TEST_F(PosixFileSystemTest, TruncateOptionEmptiesExistingFile) {
  ASSERT_TRUE(Create("f")->Write(0, "old").ok());
  OpenOptions options;
  options.truncate = true;
  auto file = fs_->Open(dir_.Join("f"), options);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(*(*file)->Size(), 0u);
  options.read_only = true;
  EXPECT_TRUE(HasStatus(fs_->Open(dir_.Join("f"), options),
                        absl::StatusCode::kInvalidArgument, "read_only"));
}

TEST_F(PosixFileSystemTest, OpeningDirectoryAsFileIsInvalidArgument) {
  ASSERT_TRUE(fs_->CreateDir(dir_.Join("d")).ok());
  EXPECT_TRUE(HasStatus(fs_->Open(dir_.Join("d"), OpenOptions()),
                        absl::StatusCode::kInvalidArgument,
                        "open " + dir_.Join("d") + ": Is a directory"));
  EXPECT_TRUE(HasStatus(fs_->Open(dir_.Join("d"), ReadOnly()),
                        absl::StatusCode::kInvalidArgument, "Is a directory"));
  EXPECT_TRUE(HasStatus(fs_->MapReadOnly(dir_.Join("d")),
                        absl::StatusCode::kInvalidArgument, "map"));
}

TEST_F(PosixFileSystemTest, WritingReadOnlyHandleIsPermissionDenied) {
  Create("f");
  auto file = fs_->Open(dir_.Join("f"), ReadOnly());
  ASSERT_TRUE(file.ok());
  EXPECT_TRUE(HasStatus((*file)->Write(0, "x"),
                        absl::StatusCode::kPermissionDenied,
                        "write " + dir_.Join("f") +
                            ": the file is open "
                            "read-only"));
  EXPECT_TRUE(HasStatus((*file)->Truncate(0),
                        absl::StatusCode::kPermissionDenied, "truncate"));
}

TEST_F(PosixFileSystemTest, OpeningReadOnlyFileForWriteIsPermissionDenied) {
  if (geteuid() == 0) GTEST_SKIP() << "root ignores file permissions";
  Create("f");
  ASSERT_EQ(chmod(dir_.Join("f").c_str(), 0444), 0);
  EXPECT_TRUE(HasStatus(fs_->Open(dir_.Join("f"), OpenOptions()),
                        absl::StatusCode::kPermissionDenied,
                        "Permission denied (errno 13)"));
}

TEST_F(PosixFileSystemTest, MapReadOnlySeesContents) {
  ASSERT_TRUE(Create("f")->Write(0, "index bytes").ok());
  auto region = fs_->MapReadOnly(dir_.Join("f"));
  ASSERT_TRUE(region.ok()) << region.status();
  EXPECT_EQ((*region)->data(), "index bytes");
}

TEST_F(PosixFileSystemTest, EmptyFileMapsToEmptyRegion) {
  Create("empty");
  auto region = fs_->MapReadOnly(dir_.Join("empty"));
  ASSERT_TRUE(region.ok()) << region.status();
  EXPECT_TRUE((*region)->data().empty());
  EXPECT_TRUE(HasStatus(fs_->MapReadOnly(dir_.Join("missing")),
                        absl::StatusCode::kNotFound, "map"));
}

TEST_F(PosixFileSystemTest, RenameReplacesTarget) {
  ASSERT_TRUE(Create("a")->Write(0, "new").ok());
  ASSERT_TRUE(Create("b")->Write(0, "old").ok());
  ASSERT_TRUE(fs_->Rename(dir_.Join("a"), dir_.Join("b")).ok());
  EXPECT_EQ(*fs_->ReadFile(dir_.Join("b")), "new");
  EXPECT_FALSE(*fs_->Exists(dir_.Join("a")));
  EXPECT_TRUE(HasStatus(fs_->Rename(dir_.Join("a"), dir_.Join("c")),
                        absl::StatusCode::kNotFound,
                        "rename " + dir_.Join("a") + " to " + dir_.Join("c")));
}

TEST_F(PosixFileSystemTest, RemoveDeletesAndReportsMissing) {
  Create("f");
  ASSERT_TRUE(fs_->Remove(dir_.Join("f")).ok());
  EXPECT_FALSE(*fs_->Exists(dir_.Join("f")));
  EXPECT_TRUE(HasStatus(fs_->Remove(dir_.Join("f")),
                        absl::StatusCode::kNotFound,
                        "remove " + dir_.Join("f")));
}

TEST_F(PosixFileSystemTest, CreateDirIsIdempotentButNotOverAFile) {
  ASSERT_TRUE(fs_->CreateDir(dir_.Join("d")).ok());
  EXPECT_TRUE(fs_->CreateDir(dir_.Join("d")).ok());
  Create("f");
  EXPECT_TRUE(HasStatus(fs_->CreateDir(dir_.Join("f")),
                        absl::StatusCode::kAlreadyExists,
                        "create directory " + dir_.Join("f")));
  EXPECT_TRUE(HasStatus(fs_->CreateDir(dir_.Join("x/y")),
                        absl::StatusCode::kNotFound, dir_.Join("x/y")));
}

TEST_F(PosixFileSystemTest, RemoveDirNeedsAnEmptyDirectory) {
  ASSERT_TRUE(fs_->CreateDir(dir_.Join("d")).ok());
  ASSERT_TRUE(fs_->Open(dir_.Join("d/f"), CreateOptions()).ok());
  EXPECT_TRUE(HasStatus(fs_->RemoveDir(dir_.Join("d")),
                        absl::StatusCode::kFailedPrecondition,
                        "Directory not empty"));
  ASSERT_TRUE(fs_->Remove(dir_.Join("d/f")).ok());
  EXPECT_TRUE(fs_->RemoveDir(dir_.Join("d")).ok());
  EXPECT_TRUE(HasStatus(fs_->RemoveDir(dir_.Join("d")),
                        absl::StatusCode::kNotFound, "remove directory"));
}

TEST_F(PosixFileSystemTest, ListDirReturnsEntryNames) {
  Create("a");
  Create("b");
  ASSERT_TRUE(fs_->CreateDir(dir_.Join("c")).ok());
  auto names = fs_->ListDir(dir_.path());
  ASSERT_TRUE(names.ok());
  std::sort(names->begin(), names->end());
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(HasStatus(fs_->ListDir(dir_.Join("a")),
                        absl::StatusCode::kInvalidArgument, "list directory"));
}

TEST_F(PosixFileSystemTest, StatReportsSizeKindAndTime) {
  ASSERT_TRUE(Create("f")->Write(0, "12345").ok());
  auto info = fs_->Stat(dir_.Join("f"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->size, 5u);
  EXPECT_FALSE(info->is_directory);
  EXPECT_GT(info->modification_time, absl::UnixEpoch());
  EXPECT_TRUE(fs_->Stat(dir_.path())->is_directory);
  EXPECT_TRUE(HasStatus(fs_->Stat(dir_.Join("missing")),
                        absl::StatusCode::kNotFound, "stat"));
}

TEST_F(PosixFileSystemTest, SyncDirNeedsADirectory) {
  EXPECT_TRUE(fs_->SyncDir(dir_.path()).ok());
  Create("f");
  EXPECT_TRUE(HasStatus(fs_->SyncDir(dir_.Join("f")),
                        absl::StatusCode::kInvalidArgument,
                        "sync directory " + dir_.Join("f")));
}

TEST_F(PosixFileSystemTest, SecondLockOnSamePathFailsNamingIt) {
  const std::string path = dir_.Join("LOCK");
  auto first = fs_->Lock(path);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(
      HasStatus(fs_->Lock(path), absl::StatusCode::kFailedPrecondition,
                "is locked by another process or Spool instance: " + path));
  first->reset();
  EXPECT_TRUE(fs_->Lock(path).ok());
}

TEST_F(PosixFileSystemTest, LockHeldByParentFailsInForkedChild) {
  const std::string path = dir_.Join("LOCK");
  auto held = fs_->Lock(path);
  ASSERT_TRUE(held.ok());
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The test process has one thread, so the child may allocate; it must
    // leave with _exit so gtest's state is not torn down twice.
    absl::StatusOr<std::unique_ptr<FileLock>> lock = fs_->Lock(path);
    _exit(!lock.ok() && absl::IsFailedPrecondition(lock.status()) ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child got the lock";
}

TEST_F(PosixFileSystemTest, FilesAreOpenedCloseOnExec) {
  auto file = Create("f");
  EXPECT_NE(fcntl(file->native_handle(), F_GETFD) & FD_CLOEXEC, 0);
}

}  // namespace
}  // namespace spool
