// The progress bar (tools/progress.h) seen from outside: the built binary
// runs with stderr (and stdout, or not) on a real pseudo-terminal, over a
// data directory of ~12 MiB, so a bar appears when the scan outlasts the
// delay, and never on a pipe.

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/cli_test_util.h"
#include "gtest/gtest.h"
#include "spool/engine.h"

extern char** environ;

namespace spool::cli_test {
namespace {

struct TtyRun {
  int exit_code = -1;
  std::string tty;     // what reached the terminal
  std::string piped;   // stdout and/or stderr that went to the pipe
  double seconds = 0;  // wall time of the run
};

// Runs `spool args...` with stderr on a new pseudo-terminal and stdout on
// it too if `stdout_on_tty`, else on a pipe; `stderr_on_tty` false puts
// stderr on the pipe as well. `env` entries ("NAME=value") are added to
// the environment, from which SPOOL_NO_PROGRESS and SPOOL_PROGRESS_DELAY_MS
// are removed first.
TtyRun RunOnTty(const std::vector<std::string>& args, bool stdout_on_tty,
                bool stderr_on_tty, const std::vector<std::string>& env) {
  TtyRun run;
  const int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  EXPECT_GE(master, 0) << strerror(errno);
  EXPECT_EQ(grantpt(master), 0);
  EXPECT_EQ(unlockpt(master), 0);
  const std::string slave = ptsname(master);
  int pipe_fds[2];
  EXPECT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);

  // Everything exec needs is built before fork (the child may only make
  // async-signal-safe calls).
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (absl::StartsWith(*e, "SPOOL_NO_PROGRESS=") ||
        absl::StartsWith(*e, "SPOOL_PROGRESS_DELAY_MS=")) {
      continue;
    }
    env_strings.push_back(*e);
  }
  for (const std::string& e : env) env_strings.push_back(e);
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings = {SpoolBinary()};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);

  const absl::Time start = absl::Now();
  const pid_t pid = fork();
  if (pid == 0) {
    setsid();  // the terminal becomes the child's controlling terminal
    const int tty = open(slave.c_str(), O_RDWR);
    const int null = open("/dev/null", O_RDONLY);
    if (tty < 0 || null < 0) _exit(126);
    dup2(null, STDIN_FILENO);
    dup2(stdout_on_tty ? tty : pipe_fds[1], STDOUT_FILENO);
    dup2(stderr_on_tty ? tty : pipe_fds[1], STDERR_FILENO);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  EXPECT_GT(pid, 0);
  close(pipe_fds[1]);
  // Read both until they close (the terminal reports EIO once the child
  // and its descendants closed it), so neither side can fill up and block.
  pollfd fds[2] = {{master, POLLIN, 0}, {pipe_fds[0], POLLIN, 0}};
  std::string* sinks[2] = {&run.tty, &run.piped};
  int open_fds = 2;
  while (open_fds > 0) {
    if (poll(fds, 2, 30000) <= 0) break;  // 30 s without output: give up
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[65536];
      const ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n > 0) {
        sinks[i]->append(buf, n);
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (const pollfd& f : fds) {
    if (f.fd >= 0) close(f.fd);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  run.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

// A bar as Progress draws it, "\r<label> [###...]  NN% D/T MB ...", and
// its erasure "\r\033[K" at the end.
bool HasBar(const std::string& text, const std::string& label) {
  const std::string start = "\r" + label + " [";
  for (size_t at = text.find(start); at != std::string::npos;
       at = text.find(start, at + 1)) {
    size_t i = at + start.size();
    auto skip = [&](auto pred) {
      const size_t from = i;
      while (i < text.size() && pred(text[i])) ++i;
      return i - from;
    };
    auto is = [](char c) { return [c](char x) { return x == c; }; };
    auto digit = [](char x) { return x >= '0' && x <= '9'; };
    const size_t bar = skip(is('#')) + skip(is('.'));
    if (bar != 30 || text.compare(i, 1, "]") != 0) continue;
    ++i;
    if (skip(is(' ')) == 0 || skip(digit) == 0) continue;
    if (text.compare(i, 2, "% ") != 0) continue;
    i += 2;
    if (skip(digit) == 0 || text.compare(i, 1, "/") != 0) continue;
    ++i;
    if (skip(digit) == 0 || text.compare(i, 3, " MB") != 0) continue;
    return absl::StrContains(text, "\r\033[K");
  }
  return false;
}

class ProgressTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new TempDir();
    dir_ = new std::string(tmp_->path() + "/data");
    EngineOptions options;
    options.data_dirs = {*dir_};
    options.shards = 1;
    options.cleaner_threads = 0;
    auto engine = Engine::Open(options);
    ASSERT_TRUE(engine.ok()) << engine.status();
    ASSERT_TRUE((*engine)->CreateTopic("big", {.partitions = 1}).ok());
    // 12 MiB in 64 KiB records: the bar is checked every 4 MiB.
    const std::string value(64 << 10, 'v');
    for (int i = 0; i < 192; ++i) {
      ASSERT_TRUE((*engine)
                      ->Produce("big", {.key = absl::StrCat(i), .value = value})
                      .ok());
    }
    ASSERT_TRUE((*engine)->Close().ok());
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete tmp_;
  }

  static TempDir* tmp_;
  static std::string* dir_;
};

TempDir* ProgressTest::tmp_ = nullptr;
std::string* ProgressTest::dir_ = nullptr;

TEST_F(ProgressTest, BarOnATerminalWhenTheScanOutlastsTheDelay) {
  TtyRun r = RunOnTty({"verify", *dir_}, /*stdout_on_tty=*/true,
                      /*stderr_on_tty=*/true, {"SPOOL_PROGRESS_DELAY_MS=0"});
  EXPECT_EQ(r.exit_code, 0) << r.tty;
  EXPECT_TRUE(HasBar(r.tty, "verify")) << r.tty;
  EXPECT_TRUE(absl::StrContains(r.tty, "verified ")) << r.tty;  // the report
}

TEST_F(ProgressTest, NoBarWhenStderrIsPiped) {
  TtyRun r = RunOnTty({"verify", *dir_}, /*stdout_on_tty=*/true,
                      /*stderr_on_tty=*/false, {"SPOOL_PROGRESS_DELAY_MS=0"});
  EXPECT_EQ(r.exit_code, 0) << r.piped;
  EXPECT_FALSE(absl::StrContains(r.piped, "\r")) << r.piped;
  EXPECT_FALSE(absl::StrContains(r.piped, "\033")) << r.piped;
  EXPECT_FALSE(absl::StrContains(r.tty, "\033")) << r.tty;
}

TEST_F(ProgressTest, NoBarWithSpoolNoProgress) {
  TtyRun r = RunOnTty({"verify", *dir_}, true, true,
                      {"SPOOL_PROGRESS_DELAY_MS=0", "SPOOL_NO_PROGRESS=1"});
  EXPECT_EQ(r.exit_code, 0) << r.tty;
  EXPECT_FALSE(absl::StrContains(r.tty, "\033[K")) << r.tty;
  EXPECT_FALSE(absl::StrContains(r.tty, "verify [")) << r.tty;
}

TEST_F(ProgressTest, DumpDrawsOnlyWhenItsOutputGoesElsewhere) {
  // Both on the terminal: the bar would tear the dump's lines.
  TtyRun same = RunOnTty({"dump", *dir_ + "/big-0"}, true, true,
                         {"SPOOL_PROGRESS_DELAY_MS=0"});
  EXPECT_EQ(same.exit_code, 0) << same.tty.substr(0, 2000);
  EXPECT_FALSE(absl::StrContains(same.tty, "\033[K"));
  EXPECT_TRUE(absl::StrContains(same.tty, "baseOffset"))
      << same.tty.substr(0, 500);
  // Output piped, stderr on the terminal: the bar is drawn there.
  TtyRun piped = RunOnTty({"dump", *dir_ + "/big-0"}, false, true,
                          {"SPOOL_PROGRESS_DELAY_MS=0"});
  EXPECT_EQ(piped.exit_code, 0) << piped.tty;
  EXPECT_TRUE(HasBar(piped.tty, "dump")) << piped.tty;
  EXPECT_FALSE(absl::StrContains(piped.piped, "\033")) << "bar in the output";
}

TEST_F(ProgressTest, NoBarForAScanShorterThanTheDefaultSecond) {
  TtyRun r = RunOnTty({"verify", *dir_}, true, true, {});
  EXPECT_EQ(r.exit_code, 0) << r.tty;
  if (r.seconds >= 1.0) {
    GTEST_SKIP() << "the scan took " << r.seconds
                 << " s on this machine: a bar is then right";
  }
  EXPECT_FALSE(absl::StrContains(r.tty, "\033[K")) << r.tty;
}

}  // namespace
}  // namespace spool::cli_test
