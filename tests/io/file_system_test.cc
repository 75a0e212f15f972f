// The FileSystem helpers (paths, Exists, CreateDirs, ReadFile,
// WriteFileAtomic) and FileRegion, on both implementations.

#include "spool/file_system.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "io/fault_injection_file_system.h"
#include "io/io_test_util.h"

namespace spool {
namespace {

using ::spool::testing_io::HasStatus;
using ::spool::testing_io::RandomBytes;
using ::spool::testing_io::ScopedTempDir;

TEST(PathTest, JoinPathInsertsOneSlash) {
  EXPECT_EQ(JoinPath("a", "b"), "a/b");
  EXPECT_EQ(JoinPath("a/", "b"), "a/b");
  EXPECT_EQ(JoinPath("a//", "/b"), "a/b");
  EXPECT_EQ(JoinPath("/", "b"), "/b");
  EXPECT_EQ(JoinPath("", "b"), "b");
  EXPECT_EQ(JoinPath("a", ""), "a");
}

TEST(PathTest, DirNameFollowsPosixDirname) {
  EXPECT_EQ(DirName("a/b/c"), "a/b");
  EXPECT_EQ(DirName("c"), ".");
  EXPECT_EQ(DirName("/c"), "/");
  EXPECT_EQ(DirName("/"), "/");
  EXPECT_EQ(DirName("a/b/"), "a");
  EXPECT_EQ(DirName("a//b"), "a");
  EXPECT_EQ(DirName(""), ".");
}

TEST(PathTest, BaseNameIsLastComponent) {
  EXPECT_EQ(BaseName("a/b/c"), "c");
  EXPECT_EQ(BaseName("c"), "c");
  EXPECT_EQ(BaseName("a/b/"), "b");
  EXPECT_EQ(BaseName("/"), "/");
}

// The helpers are written once against the interface; run them on both.
class FileSystemHelpersTest : public ::testing::TestWithParam<bool> {
 protected:
  FileSystemHelpersTest() {
    if (GetParam()) {
      fs_ = FileSystem::Default();
      root_ = temp_.path();
    } else {
      fault_fs_ = std::make_unique<FaultInjectionFileSystem>(/*seed=*/1);
      fs_ = fault_fs_.get();
      root_ = "/data";
      EXPECT_TRUE(fs_->CreateDir(root_).ok());
    }
  }
  std::string Path(std::string_view name) { return JoinPath(root_, name); }

  ScopedTempDir temp_;
  std::unique_ptr<FaultInjectionFileSystem> fault_fs_;
  FileSystem* fs_ = nullptr;
  std::string root_;
};

INSTANTIATE_TEST_SUITE_P(Implementations, FileSystemHelpersTest,
                         ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "Posix" : "FaultInjection";
                         });

TEST_P(FileSystemHelpersTest, CreateDirsMakesMissingParents) {
  ASSERT_TRUE(fs_->CreateDirs(Path("a/b/c")).ok());
  EXPECT_TRUE(fs_->Stat(Path("a/b/c"))->is_directory);
  EXPECT_TRUE(fs_->CreateDirs(Path("a/b/c/")).ok());
  ASSERT_TRUE(fs_->WriteFileAtomic(Path("a/file"), "x").ok());
  EXPECT_TRUE(HasStatus(fs_->CreateDirs(Path("a/file")),
                        absl::StatusCode::kInvalidArgument,
                        Path("a/file") + " is not a directory"));
  EXPECT_TRUE(HasStatus(fs_->CreateDirs(Path("a/file/d")),
                        absl::StatusCode::kInvalidArgument, "Not a directory"));
}

TEST_P(FileSystemHelpersTest, ExistsDistinguishesMissingFromErrors) {
  EXPECT_FALSE(*fs_->Exists(Path("nothing")));
  ASSERT_TRUE(fs_->WriteFileAtomic(Path("f"), "x").ok());
  EXPECT_TRUE(*fs_->Exists(Path("f")));
}

TEST_P(FileSystemHelpersTest, WriteFileAtomicReplacesContents) {
  std::mt19937_64 rng(7);
  const std::string big = RandomBytes(rng, 200000);  // more than one chunk
  ASSERT_TRUE(fs_->WriteFileAtomic(Path("checkpoint"), "first").ok());
  ASSERT_TRUE(fs_->WriteFileAtomic(Path("checkpoint"), big).ok());
  EXPECT_EQ(*fs_->ReadFile(Path("checkpoint")), big);
  EXPECT_FALSE(*fs_->Exists(Path("checkpoint.tmp")));
  EXPECT_TRUE(HasStatus(fs_->ReadFile(Path("missing")),
                        absl::StatusCode::kNotFound, Path("missing")));
}

TEST_P(FileSystemHelpersTest, RegionReadIntoCopiesTheRange) {
  OpenOptions options;
  options.create = true;
  auto opened = fs_->Open(Path("seg"), options);
  ASSERT_TRUE(opened.ok());
  std::shared_ptr<File> file = std::move(*opened);
  ASSERT_TRUE(file->Write(0, "0123456789").ok());
  std::string out = "junk";
  ASSERT_TRUE(FileRegion(file, 2, 5).ReadInto(&out).ok());
  EXPECT_EQ(out, "23456");
  ASSERT_TRUE(FileRegion(file, 2, 0).ReadInto(&out).ok());
  EXPECT_EQ(out, "");
  EXPECT_TRUE(HasStatus(
      FileRegion(file, 8, 5).ReadInto(&out), absl::StatusCode::kOutOfRange,
      "read region [8, 13) of " + Path("seg") + ": the file ends at byte 10"));
  EXPECT_TRUE(HasStatus(FileRegion(nullptr, 0, 3).ReadInto(&out),
                        absl::StatusCode::kFailedPrecondition, "no file"));
}

// Reads everything from `fd` until EOF.
std::string Drain(int fd) {
  std::string out;
  char buffer[8192];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

TEST_P(FileSystemHelpersTest, RegionSendToPipeSendsExactlyTheRange) {
  std::mt19937_64 rng(11);
  const std::string data = RandomBytes(rng, 300000);
  OpenOptions options;
  options.create = true;
  auto opened = fs_->Open(Path("seg"), options);
  ASSERT_TRUE(opened.ok());
  std::shared_ptr<File> file = std::move(*opened);
  ASSERT_TRUE(file->Write(0, data).ok());
  EXPECT_EQ(FileRegion(file, 0, 1).fd() >= 0, GetParam());

  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  // The region is larger than a pipe buffer: a reader must drain it.
  std::string received;
  std::thread reader([&] { received = Drain(fds[0]); });
  absl::StatusOr<uint64_t> sent = FileRegion(file, 1000, 250000).SendTo(fds[1]);
  close(fds[1]);
  reader.join();
  close(fds[0]);
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(*sent, 250000u);
  EXPECT_EQ(received, data.substr(1000, 250000));
}

TEST_P(FileSystemHelpersTest, RegionSendToNonBlockingSocketWaitsForSpace) {
  std::mt19937_64 rng(12);
  const std::string data = RandomBytes(rng, 1 << 20);
  OpenOptions options;
  options.create = true;
  auto opened = fs_->Open(Path("seg"), options);
  ASSERT_TRUE(opened.ok());
  std::shared_ptr<File> file = std::move(*opened);
  ASSERT_TRUE(file->Write(0, data).ok());

  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  ASSERT_EQ(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);  // sender gets EAGAIN
  std::string received;
  std::thread reader([&] {
    // Start late so the sender's buffer fills up first.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    received = Drain(fds[1]);
  });
  absl::StatusOr<uint64_t> sent =
      FileRegion(file, 0, data.size()).SendTo(fds[0]);
  shutdown(fds[0], SHUT_WR);
  reader.join();
  close(fds[0]);
  close(fds[1]);
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(*sent, data.size());
  EXPECT_EQ(received, data);
}

TEST_P(FileSystemHelpersTest, RegionSendToReportsPastEndAndBrokenPeer) {
  OpenOptions options;
  options.create = true;
  auto opened = fs_->Open(Path("seg"), options);
  ASSERT_TRUE(opened.ok());
  std::shared_ptr<File> file = std::move(*opened);
  ASSERT_TRUE(file->Write(0, "0123456789").ok());

  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  EXPECT_TRUE(HasStatus(FileRegion(file, 5, 10).SendTo(fds[0]),
                        absl::StatusCode::kOutOfRange,
                        "the file ends at byte 10 (after sending 5 of 10"));
  close(fds[1]);
  // A closed peer: EPIPE (MSG_NOSIGNAL is not available to sendfile, so the
  // test ignores SIGPIPE as a server would).
  signal(SIGPIPE, SIG_IGN);
  EXPECT_TRUE(HasStatus(FileRegion(file, 0, 10).SendTo(fds[0]),
                        absl::StatusCode::kUnavailable, "Broken pipe"));
  close(fds[0]);
}

}  // namespace
}  // namespace spool
