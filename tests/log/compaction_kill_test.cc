// Real crashes during compaction: a child process appends keyed records and
// compacts over and over on the POSIX file system, reporting each
// acknowledged batch over a pipe; the parent kills it with SIGKILL at a
// random moment (often mid-swap), reopens the log and checks that the
// latest acknowledged value of every key is there at its offset and that
// every record read is one that was written, at its offset.

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "log/log_directory.h"
#include "log/log_test_util.h"

namespace spool {
namespace {

using ::spool::testing_util::SmallConfig;
using ::spool::testing_util::TempDir;

constexpr int kKeys = 25;

struct Ack {
  int64_t base_offset;
  int64_t index;
};

struct KV {
  std::string key;
  std::string value;
};

// The records of batch `index` (deterministic).
std::vector<KV> BatchRecords(uint64_t seed, int64_t index) {
  std::mt19937_64 rng(seed * 7919 + static_cast<uint64_t>(index));
  std::vector<KV> out;
  const int n = 1 + static_cast<int>(rng() % 3);
  for (int j = 0; j < n; ++j) {
    out.push_back({absl::StrFormat("k%d", rng() % kKeys),
                   absl::StrFormat("v-%d-%d-%d-%s", seed, index, j,
                                   std::string(rng() % 60, 'x'))});
  }
  return out;
}

LogConfig Config() {
  LogConfig c = SmallConfig();
  c.require_keys = true;
  return c;
}

[[noreturn]] void RunChild(const std::string& path, int out, uint64_t seed) {
  auto dir = LogDirectory::Open({.path = path});
  if (!dir.ok()) _exit(2);
  auto log = (*dir)->OpenPartition({"t", 0}, Config(), nullptr);
  if (!log.ok()) _exit(3);
  CleanerRules rules;
  rules.force = true;
  for (int64_t i = 0; i < 10000000; ++i) {
    RecordBatchBuilder b;
    for (const KV& kv : BatchRecords(seed, i)) b.Add(kv.key, kv.value, {}, 1);
    auto r = (*log)->Append(*b.Build());
    if (!r.ok()) _exit(4);
    Ack a{r->base_offset, i};
    if (write(out, &a, sizeof(a)) != sizeof(a)) _exit(5);
    if (i % 40 == 39 && !(*log)->Compact(absl::Now(), rules).ok()) _exit(6);
  }
  _exit(0);
}

TEST(CompactionKillTest,
     LatestAcknowledgedValuesSurviveSigkillDuringCompaction) {
  std::mt19937_64 rng(20261130);
  int compacted_runs = 0;
  for (int iteration = 0; iteration < 6; ++iteration) {
    TempDir tmp;
    const uint64_t seed = rng();
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      RunChild(tmp.path(), fds[1], seed);
    }
    close(fds[1]);
    std::vector<Ack> acks;
    const absl::Time kill_at =
        absl::Now() + absl::Milliseconds(150 + static_cast<int>(rng() % 500));
    while (absl::Now() < kill_at) {
      pollfd p{fds[0], POLLIN, 0};
      if (poll(&p, 1, 5) <= 0) continue;
      Ack a;
      if (read(fds[0], &a, sizeof(a)) != sizeof(a)) break;
      acks.push_back(a);
    }
    kill(pid, SIGKILL);
    // Acks the child wrote before dying are acknowledged too.
    Ack a;
    while (read(fds[0], &a, sizeof(a)) == sizeof(a)) acks.push_back(a);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << status;
    SCOPED_TRACE(absl::StrFormat("iteration %d seed %d: %d acked batches",
                                 iteration, seed, acks.size()));

    // What was acknowledged: the latest offset and value per key.
    std::map<int64_t, KV> acked;  // offset -> record
    for (const Ack& ack : acks) {
      std::vector<KV> kvs = BatchRecords(seed, ack.index);
      for (size_t j = 0; j < kvs.size(); ++j) {
        acked[ack.base_offset + static_cast<int64_t>(j)] = kvs[j];
      }
    }
    std::map<std::string, int64_t> latest;
    for (const auto& [offset, kv] : acked) latest[kv.key] = offset;

    RecoveryReport report;
    auto dir = LogDirectory::Open({.path = tmp.path()});
    ASSERT_TRUE(dir.ok()) << dir.status();
    auto log = (*dir)->OpenPartition({"t", 0}, Config(), &report);
    ASSERT_TRUE(log.ok()) << log.status();
    std::map<int64_t, KV> present;
    int64_t offset = (*log)->log_start_offset();
    while (offset < (*log)->log_end_offset()) {
      auto got = (*log)->ReadBatches(offset, {.max_bytes = 1 << 20});
      ASSERT_TRUE(got.ok()) << got.status();
      for (const RecordBatchView& b : got->batches) {
        RecordIterator it(b);
        RecordView r;
        while (it.Next(&r)) {
          present[r.offset] = {std::string(*r.key), std::string(*r.value)};
        }
        ASSERT_TRUE(it.status().ok()) << it.status();
      }
      ASSERT_GT(got->next_offset, offset);
      offset = got->next_offset;
    }
    for (const auto& [o, kv] : present) {
      if (acked.contains(o)) {
        ASSERT_EQ(acked[o].key, kv.key) << "offset " << o;
        ASSERT_EQ(acked[o].value, kv.value) << "offset " << o;
      }
    }
    for (const auto& [key, o] : latest) {
      // A later, unacknowledged record of the key may have replaced it.
      bool replaced = false;
      for (auto it = present.upper_bound(o); it != present.end(); ++it) {
        replaced |= it->second.key == key;
      }
      ASSERT_TRUE(present.contains(o) || replaced)
          << "latest acknowledged value of " << key << " at " << o
          << " is gone; " << report.ToString();
    }
    if (present.size() < acked.size()) ++compacted_runs;
  }
  EXPECT_GT(compacted_runs, 0) << "no run got far enough to compact";
}

}  // namespace
}  // namespace spool
