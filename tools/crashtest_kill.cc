// Kill mode of spool crashtest: real process crashes (crashtest.h).
//
// Each iteration starts a child (`spool crashtest --child ...`, the same
// binary) that opens the engine on the POSIX file system, runs the
// workload and writes every acknowledgement as one line to a pipe once the
// call returned. The parent kills it with SIGKILL at a random moment (a
// fifth of the time before its first acknowledgement, so during open and
// recovery too), reads what was acknowledged, reopens the directory
// itself, verifies it against the model and retries the last idempotent
// batch of every partition, closes, and starts the next child on the
// recovered directory.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "crashtest.h"

namespace spool::crashtest {
namespace {

// Starts `self crashtest --child ...` with the pipe's write end as its
// ack fd. The argument strings are built before fork().
pid_t StartChild(const std::string& self, const std::string& dir, uint64_t seed,
                 uint64_t op_base, int ack_fd) {
  std::vector<std::string> args = {self,
                                   "crashtest",
                                   "--child",
                                   "--dir",
                                   dir,
                                   "--seed",
                                   absl::StrFormat("%u", seed),
                                   "--op-base",
                                   absl::StrFormat("%u", op_base),
                                   "--ack-fd",
                                   absl::StrFormat("%d", ack_fd)};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    execv(self.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

// Reads complete lines from `fd` into `model` until the deadline or end of
// file. Returns the number of acks read; false in *eof at end of file.
int64_t ReadAcks(int fd, std::string* buffer, Model* model, int timeout_ms,
                 bool* eof, std::string* error) {
  int64_t n = 0;
  pollfd pfd{fd, POLLIN, 0};
  if (poll(&pfd, 1, timeout_ms) <= 0) return 0;
  char chunk[65536];
  const ssize_t got = read(fd, chunk, sizeof(chunk));
  if (got <= 0) {
    *eof = true;
    return 0;
  }
  buffer->append(chunk, static_cast<size_t>(got));
  size_t start = 0;
  for (size_t nl; (nl = buffer->find('\n', start)) != std::string::npos;
       start = nl + 1) {
    auto ack = Ack::Decode(std::string_view(*buffer).substr(start, nl - start));
    if (!ack) {
      *error = "malformed ack line from the child: " +
               buffer->substr(start, nl - start);
      return n;
    }
    model->Apply(*ack);
    ++n;
  }
  buffer->erase(0, start);
  return n;
}

}  // namespace

EngineOptions KillModeEngineOptions(const std::string& dir) {
  EngineOptions o;
  o.data_dirs = {dir + "/d0", dir + "/d1"};
  o.shards = 2;
  o.checkpoint_interval = absl::Milliseconds(200);
  o.topic_defaults = CrashTopicConfig(2, Durability::kNone);
  // Retention and compaction in the background while the child works.
  o.retention_check_interval = absl::Milliseconds(50);
  o.cleaner_check_interval = absl::Milliseconds(50);
  return o;
}

[[noreturn]] void RunKillChild(const std::string& dir, uint64_t seed,
                               uint64_t op_base, int ack_fd) {
  auto engine = Engine::Open(KillModeEngineOptions(dir));
  if (!engine.ok()) {
    std::cerr << "crashtest child: open: " << engine.status() << "\n";
    _exit(3);
  }
  std::string line;
  Workload w(engine->get(), seed, op_base, {}, [&](const Ack& a) {
    line = a.Encode();
    line.push_back('\n');
    // One write per line, below PIPE_BUF: atomic.
    if (write(ack_fd, line.data(), line.size()) !=
        static_cast<ssize_t>(line.size())) {
      _exit(4);
    }
  });
  absl::Status s = w.Init();
  while (s.ok()) s = w.Step();
  std::cerr << "crashtest child: operation " << w.ops() << ": " << s << "\n";
  _exit(5);
}

RunResult RunKillMode(const std::string& self, const std::string& dir,
                      const RunOptions& options, int max_kill_ms) {
  RunResult result;
  const absl::Time start = absl::Now();
  result.replay = absl::StrFormat(
      "spool crashtest --mode kill --dir $(mktemp -d) --seed %u "
      "--iterations %d --max-kill-ms %d",
      options.seed, options.iterations, max_kill_ms);
  std::mt19937_64 rng(options.seed);
  Model model;
  const EngineOptions eo = KillModeEngineOptions(dir);
  for (int64_t i = 0; options.iterations == 0 || i < options.iterations; ++i) {
    if (options.iterations == 0 && absl::Now() - start >= options.duration) {
      break;
    }
    // Below 2^63: the child's --seed flag is a signed integer.
    const uint64_t child_seed = rng() >> 1;
    const bool early = rng() % 5 == 0;
    const int kill_ms = static_cast<int>(rng() % (max_kill_ms + 1));
    int fds[2];
    if (pipe(fds) != 0) {
      result.failure = "pipe() failed";
      break;
    }
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    const pid_t pid = StartChild(self, dir, child_seed,
                                 static_cast<uint64_t>(i) << 40, fds[1]);
    close(fds[1]);
    std::string buffer, error;
    bool eof = false;
    int64_t acks = 0;
    if (!early) {
      // Wait for the first acknowledgement: the child is running.
      const absl::Time wait_until = absl::Now() + absl::Seconds(60);
      while (acks == 0 && !eof && error.empty() && absl::Now() < wait_until) {
        acks += ReadAcks(fds[0], &buffer, &model, 100, &eof, &error);
      }
    }
    const absl::Time kill_at = absl::Now() + absl::Milliseconds(kill_ms);
    while (!eof && error.empty() && absl::Now() < kill_at) {
      const int left =
          static_cast<int>(absl::ToInt64Milliseconds(kill_at - absl::Now()));
      acks +=
          ReadAcks(fds[0], &buffer, &model, std::max(left, 1), &eof, &error);
    }
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    while (!eof && error.empty()) {
      acks += ReadAcks(fds[0], &buffer, &model, 1000, &eof, &error);
    }
    close(fds[0]);
    if (!error.empty()) {
      result.failure = error;
      break;
    }
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
      result.failure = absl::StrFormat(
          "iteration %d: the child stopped by itself (exit status %d) "
          "before it was killed; see its message above",
          i, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
      break;
    }
    auto engine = Engine::Open(eo);
    if (!engine.ok()) {
      result.failure = absl::StrFormat(
          "iteration %d: reopen after SIGKILL at %d ms failed: %s", i, kill_ms,
          engine.status().ToString());
      break;
    }
    absl::Status s = model.Verify(**engine, /*power_lost=*/false, eo.data_dirs,
                                  FileSystem::Default(), &result.verify);
    if (s.ok()) s = model.RetryLastIdempotent(**engine, &result.verify);
    if (s.ok()) s = (*engine)->Close();
    if (!s.ok()) {
      result.replay = absl::StrFormat(
          "spool crashtest --mode kill --dir $(mktemp -d) --seed %u "
          "--iterations %d --max-kill-ms %d",
          options.seed, i + 1, max_kill_ms);
      result.failure = absl::StrFormat(
          "iteration %d (child seed %u, killed %s%d ms in, %d acks): %s", i,
          child_seed, early ? "early, " : "", kill_ms, acks, s.ToString());
      break;
    }
    result.iterations = i + 1;
    result.ops += acks;
    if (options.verbose) {
      std::cout << absl::StrFormat(
          "kill %d: %d acks, killed %s%d ms in, %d records in the model\n", i,
          acks, early ? "early, " : "", kill_ms, model.acked_records());
    }
  }
  result.acked_records = model.acked_records();
  result.elapsed = absl::Now() - start;
  return result;
}

}  // namespace spool::crashtest
