// Real crashes of a work-queue consumer: a child process (this binary run
// again with SPOOL_SUBSCRIPTION_KILL_CHILD set) opens an engine on the
// POSIX file system, receives records from a subscription and, per record,
// either acks it (synced) or rejects it to the dead-letter topic, reporting
// each call to the parent over a pipe once it returned OK. The parent kills
// it with SIGKILL at a random moment, several times, and finally drains
// the subscription itself. Checks:
//   * a record whose synced ack was reported is never delivered again;
//   * a record whose reject was reported is in the dead-letter topic;
//   * in the end every record is acked or dead-lettered, and every
//     rejected record is in the dead-letter topic exactly once (the
//     idempotent dead-letter append survives crashes between the append
//     and the ack).

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "log/log_test_util.h"
#include "spool/engine.h"
#include "spool/subscriptions.h"
#include "util/strings.h"

extern char** environ;

namespace spool {
namespace {

constexpr char kChildEnv[] = "SPOOL_SUBSCRIPTION_KILL_CHILD";  // "<fd>:<dir>"
constexpr char kParentTest[] =
    "SubscriptionKillTest.SyncedAcksAreNotRedeliveredAndDlqIsExactlyOnce";
constexpr int kPartitions = 2;
// The children report a few hundred records in all before their kills, so
// they are killed mid-work, and the drain after them stays short.
constexpr int kRecords = 800;

// Odd values are rejected, even ones acked (the decision depends only on
// the record, so the parent decides the same way).
bool ShouldReject(const std::string& value) {
  int v = 0;
  return absl::SimpleAtoi(value, &v) && v % 2 == 1;
}

struct Report {
  int32_t partition;
  int64_t offset;
  int32_t rejected;
};

std::unique_ptr<Engine> OpenEngine(const std::string& dir) {
  EngineOptions o;
  o.data_dirs = {dir};
  o.shards = 1;
  auto engine = Engine::Open(o);
  if (!engine.ok()) return nullptr;
  return std::move(*engine);
}

[[noreturn]] void RunChild(int out, const std::string& dir) {
  std::unique_ptr<Engine> engine = OpenEngine(dir);
  if (engine == nullptr) _exit(2);
  Subscriptions& subs = engine->subscriptions();
  for (;;) {
    auto got = subs.Receive(
        "jobs", "w", {.max_records = 16, .max_wait = absl::Milliseconds(50)});
    if (!got.ok()) _exit(3);
    for (const ReceivedRecord& r : *got) {
      const bool reject = ShouldReject(r.value.value_or(""));
      absl::Status s =
          reject ? subs.Reject("jobs", "w", r.delivery, "odd")
                 : subs.Ack("jobs", "w", {r.delivery}, {.sync = true});
      // A lease that ran out while the child was slow: someone else's now.
      if (absl::IsFailedPrecondition(s)) continue;
      if (!s.ok()) _exit(4);
      Report rep{r.delivery.partition, r.delivery.offset, reject ? 1 : 0};
      if (write(out, &rep, sizeof(rep)) != sizeof(rep)) _exit(5);
    }
  }
}

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

bool ReadReport(int fd, Report* r, int timeout_ms) {
  pollfd pfd{fd, POLLIN, 0};
  if (poll(&pfd, 1, timeout_ms) <= 0) return false;
  return read(fd, r, sizeof(*r)) == sizeof(*r);
}

// Dead-letter topic contents: (partition, offset) of the source -> copies.
std::map<std::pair<int32_t, int64_t>, int> DlqCopies(Engine& engine) {
  std::map<std::pair<int32_t, int64_t>, int> out;
  const TopicPartition tp{"jobs.dlq", 0};
  auto o = engine.Offsets(tp);
  int64_t pos = o->log_start_offset;
  while (pos < o->log_end_offset) {
    auto f = engine.Fetch(tp, pos);
    if (!f.ok() || f->batches.empty()) break;
    EXPECT_TRUE(f->ForEachRecord([&](const RecordView& r) {
                   int32_t p = -1;
                   int64_t off = -1;
                   for (const auto& h : r.headers) {
                     if (!h.value) continue;
                     if (h.key == kDlqPartitionHeader) {
                       EXPECT_TRUE(absl::SimpleAtoi(ToAbsl(*h.value), &p));
                     }
                     if (h.key == kDlqOffsetHeader) {
                       EXPECT_TRUE(absl::SimpleAtoi(ToAbsl(*h.value), &off));
                     }
                   }
                   ++out[{p, off}];
                   return true;
                 }).ok());
    pos = f->next_offset;
  }
  return out;
}

TEST(SubscriptionKillTest, SyncedAcksAreNotRedeliveredAndDlqIsExactlyOnce) {
  ASSERT_EQ(getenv(kChildEnv), nullptr) << "the child must not get here";
  testing_util::TempDir tmp;
  {
    std::unique_ptr<Engine> engine = OpenEngine(tmp.path());
    ASSERT_NE(engine, nullptr);
    ASSERT_TRUE(engine->CreateTopic("jobs", {.partitions = kPartitions}).ok());
    ASSERT_TRUE(engine->CreateTopic("jobs.dlq", {.partitions = 1}).ok());
    std::vector<Record> batch;
    for (int i = 0; i < kRecords; ++i) {
      batch.push_back(
          {.key = "k" + std::to_string(i % 7), .value = std::to_string(i)});
    }
    ASSERT_TRUE(engine->ProduceBatch("jobs", batch).ok());
    ASSERT_TRUE(
        engine->subscriptions()
            .CreateSubscription("jobs", "w",
                                {.lease = absl::Seconds(1),
                                 .max_deliveries = 0,
                                 .backoff = {.initial = absl::ZeroDuration(),
                                             .max = absl::ZeroDuration()},
                                 .dead_letter_topic = "jobs.dlq"})
            .ok());
    ASSERT_TRUE(engine->Close().ok());
  }
  std::mt19937_64 rng(20261129);
  std::set<std::pair<int32_t, int64_t>> acked, rejected;
  for (int iteration = 0; iteration < 4; ++iteration) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = StartChild(fds[1], tmp.path());
    ASSERT_GT(pid, 0);
    close(fds[1]);
    Report r;
    ASSERT_TRUE(ReadReport(fds[0], &r, 60000)) << "child made no progress";
    (r.rejected ? rejected : acked).insert({r.partition, r.offset});
    usleep(static_cast<useconds_t>(rng() % 150) * 1000);
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status))
        << "child exited early, status " << WEXITSTATUS(status);
    while (ReadReport(fds[0], &r, 1000)) {
      (r.rejected ? rejected : acked).insert({r.partition, r.offset});
    }
    close(fds[0]);
    // Reported dead letters are in the dead-letter topic.
    std::unique_ptr<Engine> engine = OpenEngine(tmp.path());
    ASSERT_NE(engine, nullptr);
    auto copies = DlqCopies(*engine);
    for (const auto& key : rejected) {
      EXPECT_EQ(copies[key], 1) << "iteration " << iteration << " partition "
                                << key.first << " offset " << key.second;
    }
    ASSERT_TRUE(engine->Close().ok());
  }
  // Drain what is left; nothing reported done may come back.
  std::unique_ptr<Engine> engine = OpenEngine(tmp.path());
  ASSERT_NE(engine, nullptr);
  Subscriptions& subs = engine->subscriptions();
  int drained = 0;
  // Leases the last child held run out within 1 s.
  // The backlog is checked before each Receive, so the drain ends without
  // waiting out a last empty long poll.
  for (int empty = 0; empty < 10;) {
    auto d = subs.DescribeSubscription("jobs", "w");
    ASSERT_TRUE(d.ok());
    int64_t backlog = 0;
    for (const auto& p : d->partitions) backlog += p.backlog;
    if (backlog == 0) break;
    auto got = subs.Receive("jobs", "w",
                            {.max_records = 64, .max_wait = absl::Seconds(1)});
    ASSERT_TRUE(got.ok()) << got.status();
    if (got->empty()) {
      ++empty;
      continue;
    }
    for (const ReceivedRecord& r : *got) {
      const std::pair<int32_t, int64_t> key{r.delivery.partition,
                                            r.delivery.offset};
      ASSERT_FALSE(acked.contains(key))
          << "acked record redelivered: partition " << key.first << " offset "
          << key.second;
      ASSERT_FALSE(rejected.contains(key))
          << "dead-lettered record redelivered: partition " << key.first
          << " offset " << key.second;
      ++drained;
      if (ShouldReject(*r.value)) {
        ASSERT_TRUE(subs.Reject("jobs", "w", r.delivery, "odd").ok());
      } else {
        // Unsynced: nothing checks the drain's acks across a crash, and a
        // synced ack per record would be most of the test's time.
        ASSERT_TRUE(subs.Ack("jobs", "w", {r.delivery}, {.sync = false}).ok());
      }
    }
  }
  auto d = subs.DescribeSubscription("jobs", "w");
  ASSERT_TRUE(d.ok());
  int64_t odd = 0;
  for (const auto& p : d->partitions) {
    EXPECT_EQ(p.backlog, 0) << "partition " << p.partition;
    EXPECT_EQ(p.ack_floor, p.log_end_offset);
  }
  // Every odd record is in the dead-letter topic exactly once; nothing else.
  auto copies = DlqCopies(*engine);
  for (const auto& [key, n] : copies) EXPECT_EQ(n, 1) << key.second;
  odd = kRecords / 2;
  EXPECT_EQ(static_cast<int64_t>(copies.size()), odd);
  ASSERT_TRUE(engine->Close().ok());
  std::cout << acked.size() << " acks and " << rejected.size()
            << " rejects reported before kills, " << drained
            << " drained after\n";
}

}  // namespace
}  // namespace spool
