// Real crashes: a child process (this test binary, run again with
// SPOOL_GROUP_KILL_CHILD set) opens an engine on the POSIX file system and
// commits consumer offsets in a loop, reporting each commit to the parent
// over a pipe once Commit returned. The parent kills it with SIGKILL at a
// random moment, reopens the engine and checks that every reported commit
// is there (or a later one: offsets only grow here). Partition 0's commits
// are synced; partition 1's are not, and must survive too, since a process
// crash (unlike a power loss) keeps what reached the page cache.
//
// The child is not a test case: a global test environment takes over the
// re-executed binary before any test runs (so ctest lists no test that is
// always skipped). The child is exec'ed rather than only forked so that it
// starts with RocksDB's and the engine's threads in a clean state.

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "log/log_test_util.h"
#include "spool/consumer_groups.h"
#include "spool/engine.h"

extern char** environ;

namespace spool {
namespace {

constexpr char kChildEnv[] = "SPOOL_GROUP_KILL_CHILD";  // "<fd>:<dir>"
// The child runs the binary with this filter, so that gtest has a test to
// run and sets up the environments; ChildEnvironment::SetUp never returns.
constexpr char kParentTest[] =
    "ConsumerGroupKillTest.SyncedCommitsSurviveSigkill";
constexpr int kPartitions = 2;

struct Ack {
  int32_t partition;
  int64_t offset;
};

// The child: append a batch to a partition (no sync: a process crash keeps
// it), commit the new log end (synced on partition 0 only), report it.
// Never returns.
[[noreturn]] void RunChild(int out, const std::string& dir) {
  EngineOptions o;
  o.data_dirs = {dir};
  o.shards = 1;
  auto engine = Engine::Open(o);
  if (!engine.ok()) _exit(2);
  absl::Status s = (*engine)->CreateTopic("t", {.partitions = kPartitions});
  if (!s.ok() && !absl::IsAlreadyExists(s)) _exit(3);
  ConsumerGroups& groups = (*engine)->groups();
  for (int64_t i = 0;; ++i) {
    const int32_t p = static_cast<int32_t>(i % kPartitions);
    auto r = (*engine)->ProduceBatch(
        "t", std::vector<Record>(3, {.value = "work"}), {.partition = p});
    if (!r.ok()) _exit(4);
    const int64_t offset = r->appends[0].last_offset + 1;
    s = groups.Commit("g",
                      {{.tp = {"t", p},
                        .offset = offset,
                        .metadata = absl::StrFormat("%d", offset)}},
                      {.sync = p == 0});
    if (!s.ok()) _exit(5);
    Ack a{p, offset};
    if (write(out, &a, sizeof(a)) != sizeof(a)) _exit(6);
  }
}

// In the re-executed child, becomes RunChild before any test starts.
class ChildEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    const char* env = getenv(kChildEnv);
    if (env == nullptr) return;
    std::vector<std::string> parts =
        absl::StrSplit(env, absl::MaxSplits(':', 1));
    int fd = -1;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &fd)) _exit(7);
    RunChild(fd, parts[1]);
  }
};

[[maybe_unused]] ::testing::Environment* const kChildEnvironment =
    ::testing::AddGlobalTestEnvironment(new ChildEnvironment);

// Starts the child; returns its pid. The environment is built before
// fork(), so the child only calls execve.
pid_t StartChild(int out, const std::string& dir) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  env_strings.push_back(absl::StrFormat("%s=%d:%s", kChildEnv, out, dir));
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string filter = absl::StrFormat("--gtest_filter=%s", kParentTest);
  std::string exe = "/proc/self/exe";
  char* argv[] = {exe.data(), filter.data(), nullptr};
  pid_t pid = fork();
  if (pid == 0) {
    execve("/proc/self/exe", argv, envp.data());
    _exit(127);
  }
  return pid;
}

// Reads one Ack, waiting up to `timeout_ms`; false at end of file or on
// timeout.
bool ReadAck(int fd, Ack* a, int timeout_ms) {
  pollfd pfd{fd, POLLIN, 0};
  if (poll(&pfd, 1, timeout_ms) <= 0) return false;
  return read(fd, a, sizeof(*a)) == sizeof(*a);
}

TEST(ConsumerGroupKillTest, SyncedCommitsSurviveSigkill) {
  ASSERT_EQ(getenv(kChildEnv), nullptr) << "the child must not get here";
  testing_util::TempDir tmp;
  std::mt19937_64 rng(20261130);
  std::map<int32_t, int64_t> acked;  // last reported commit per partition
  int total_acks = 0;
  for (int iteration = 0; iteration < 4; ++iteration) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = StartChild(fds[1], tmp.path());
    ASSERT_GT(pid, 0);
    close(fds[1]);
    Ack a;
    // The first commit means the child is running; then a random moment.
    ASSERT_TRUE(ReadAck(fds[0], &a, 60000)) << "child made no commit";
    acked[a.partition] = a.offset;
    const int kill_after_ms = static_cast<int>(rng() % 200);
    usleep(static_cast<useconds_t>(kill_after_ms) * 1000);
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status))
        << "child exited early, status " << WEXITSTATUS(status);
    int got = 1;
    while (ReadAck(fds[0], &a, 1000)) {
      acked[a.partition] = a.offset;
      ++got;
    }
    close(fds[0]);
    total_acks += got;

    EngineOptions o;
    o.data_dirs = {tmp.path()};
    o.shards = 1;
    auto engine = Engine::Open(o);
    ASSERT_TRUE(engine.ok()) << engine.status();
    auto committed = (*engine)->groups().FetchCommitted("g");
    ASSERT_TRUE(committed.ok()) << committed.status();
    for (const auto& [p, offset] : acked) {
      const TopicPartition tp{"t", p};
      ASSERT_TRUE(committed->contains(tp))
          << "iteration " << iteration << ": commits of " << tp.ToString()
          << " lost after kill at " << kill_after_ms << " ms";
      const CommittedOffset& c = committed->at(tp);
      EXPECT_GE(c.offset, offset) << "iteration " << iteration << " "
                                  << tp.ToString() << ", " << got << " acks";
      EXPECT_EQ(c.metadata, absl::StrFormat("%d", c.offset));
      // The records it covers were written before the commit.
      EXPECT_LE(c.offset, (*engine)->Offsets(tp)->log_end_offset);
    }
    ASSERT_TRUE((*engine)->Close().ok());
  }
  std::cout << total_acks << " commits acknowledged over 4 kills\n";
}

}  // namespace
}  // namespace spool
