// Real crashes: a child process appends with kSync on the POSIX file system
// and reports each acknowledgement over a pipe; the parent kills it with
// SIGKILL at a random moment, reopens the directory and checks that every
// acknowledged batch is there, byte for byte, at its offset.

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <random>

#include "format/batch_internal.h"
#include "gtest/gtest.h"
#include "log/log_directory.h"
#include "log/log_test_util.h"

namespace spool {
namespace {

using ::spool::testing_util::MakeBatch;
using ::spool::testing_util::ReadAll;
using ::spool::testing_util::SmallConfig;
using ::spool::testing_util::TempDir;

struct Ack {
  int64_t base_offset;
  uint64_t seed;
  int32_t records;
  int32_t value_bytes;
};

std::string BatchFor(const Ack& a) {
  return MakeBatch(a.records, a.value_bytes, 1000, a.seed);
}

[[noreturn]] void RunChild(const std::string& path, int out, uint64_t seed) {
  auto dir = LogDirectory::Open({.path = path});
  if (!dir.ok()) _exit(2);
  auto log = (*dir)->OpenPartition({"t", 0}, SmallConfig(), nullptr);
  if (!log.ok()) _exit(3);
  std::mt19937_64 rng(seed);
  for (uint64_t i = 0; i < 1000000; ++i) {
    Ack a{0, seed * 1000003 + i, 1 + static_cast<int32_t>(rng() % 4),
          10 + static_cast<int32_t>(rng() % 400)};
    auto r = (*log)->Append(BatchFor(a), {.durability = Durability::kSync});
    if (!r.ok()) _exit(4);
    a.base_offset = r->base_offset;
    if (write(out, &a, sizeof(a)) != sizeof(a)) _exit(5);
  }
  _exit(0);
}

TEST(KillTest, SyncAcknowledgedBatchesSurviveSigkill) {
  TempDir tmp;
  std::mt19937_64 rng(20261129);
  std::map<int64_t, Ack> acked;
  for (int iteration = 0; iteration < 8; ++iteration) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      RunChild(tmp.path(), fds[1], iteration + 1);
    }
    close(fds[1]);
    const int kill_after_ms = 20 + static_cast<int>(rng() % 250);
    usleep(kill_after_ms * 1000);
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status))
        << "child exited early, status " << WEXITSTATUS(status);
    Ack a;
    int got = 0;
    while (read(fds[0], &a, sizeof(a)) == sizeof(a)) {
      // A restarted child reuses offsets that were never acknowledged; an
      // acknowledged one can only be overwritten if it was lost.
      acked[a.base_offset] = a;
      ++got;
    }
    close(fds[0]);

    auto dir = LogDirectory::Open({.path = tmp.path()});
    ASSERT_TRUE(dir.ok()) << dir.status();
    RecoveryReport report;
    auto log = (*dir)->OpenPartition({"t", 0}, SmallConfig(), &report);
    ASSERT_TRUE(log.ok()) << log.status();
    std::vector<testing_util::ReadBack> batches = ReadAll(**log);
    std::map<int64_t, std::string> by_offset;
    int64_t expected = 0;
    for (const auto& b : batches) {
      ASSERT_EQ(b.base_offset, expected);
      expected = b.last_offset + 1;
      by_offset[b.base_offset] = b.bytes;
    }
    for (const auto& [offset, ack] : acked) {
      auto it = by_offset.find(offset);
      ASSERT_NE(it, by_offset.end())
          << "acknowledged batch at " << offset << " lost after kill at "
          << kill_after_ms << " ms; " << report.ToString();
      std::string want = BatchFor(ack);
      SetBaseOffset(want.data(), offset);
      ASSERT_EQ(it->second, want) << "batch at " << offset;
    }
    EXPECT_GT(got, 0) << "iteration " << iteration;
  }
}

}  // namespace
}  // namespace spool
