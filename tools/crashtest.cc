// spool crashtest: kill the engine at random moments, or lose power under
// it, and check it against a model of what it acknowledged
// (docs/crash-testing.md).
//
//   spool crashtest --mode kill --dir /tmp/ct --duration 60s --seed 7
//   spool crashtest --mode power --duration 60s --seed 7
//
// Exit status 0 when every crash was survived, 1 on the first violated
// invariant (with the seed and the command that replays it), 2 on a usage
// error.

#include "crashtest.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "cli.h"

namespace spool::cli {
namespace {

std::string Self() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("/proc/self/exe") : p.string();
}

void PrintResult(const std::string& mode, uint64_t seed, int jobs,
                 const crashtest::RunResult& r) {
  const double minutes = absl::ToDoubleSeconds(r.elapsed) / 60.0;
  std::cout << absl::StrFormat(
      "crashtest %s seed %u: %d %s survived in %.1f s (%.0f per minute%s)\n",
      mode, seed, r.iterations, mode == "kill" ? "kills" : "crashes",
      absl::ToDoubleSeconds(r.elapsed),
      minutes > 0 ? static_cast<double>(r.iterations) / minutes : 0.0,
      mode == "power" ? absl::StrFormat(", %d jobs", jobs) : "");
  if (mode == "power") {
    std::cout << absl::StrFormat(
        "  %d power losses, %d process crashes; %d fault windows survived, "
        "%d operations failed under faults, %d reopens needed after a fault "
        "(%d because the tables kept failing); %d operations\n",
        r.iterations - r.process_crashes, r.process_crashes, r.faults,
        r.fault_errors, r.fault_reopens, r.tables_stuck, r.ops);
  }
  std::cout << absl::StrFormat(
      "  %d records acknowledged; %d records read back, %d acknowledged "
      "records found in place, %d unsynced records lost to power losses "
      "(allowed), %d commits checked, %d idempotent retries answered "
      "duplicate\n",
      r.acked_records, r.verify.records_scanned, r.verify.records_checked,
      r.verify.records_lost_allowed, r.verify.commits_checked,
      r.verify.retries_checked);
  std::cout << absl::StrFormat(
      "  %d records removed by compaction and %d by retention (allowed); "
      "queues: %d acks checked not redelivered, %d unsynced acks undone by "
      "power losses (allowed), %d redeliveries matched the log, %d dead "
      "letters found\n",
      r.verify.records_compacted_allowed, r.verify.records_retention_allowed,
      r.verify.queue_acks_checked, r.verify.queue_acks_lost_allowed,
      r.verify.queue_deliveries_checked, r.verify.dead_letters_checked);
}

int RunCrashtest(int argc, char** argv) {
  Args args("crashtest", "[--mode kill|power] [flags]",
            "crash the engine at random moments and check it against a "
            "model of what it acknowledged");
  args.AddFlag({"mode", "MODE",
                "kill: SIGKILL a child process on a real directory; power: "
                "simulated power losses and faults in-process",
                "kill"})
      .AddFlag({"dir", "DIR", "kill mode: an empty or missing directory", ""})
      .AddFlag({"seed", "N", "seed of everything random (default: random)", ""})
      .AddFlag({"iterations", "N",
                "stop after this many kills / crashes (0: use --duration)",
                "0"})
      .AddFlag({"duration", "DURATION",
                "stop after this long when --iterations is 0 (60s, 5m, ...)",
                "60s"})
      .AddFlag({"max-kill-ms", "N",
                "kill mode: kill at most this long after the child is up",
                "300"})
      .AddFlag({"cycles-per-run", "N",
                "power mode: crashes on one file system before a fresh one",
                "16"})
      .AddFlag({"no-faults", "", "power mode: no disk-full / EIO windows", ""})
      .AddFlag({"jobs", "N",
                "power mode: runs at a time, in threads (0: one per CPU)", "0"})
      .AddFlag({"verbose", "", "a line per kill or per run", ""})
      .AddFlag({"child", "", "(internal) run as the child of kill mode", ""})
      .AddFlag({"op-base", "N", "(internal) first operation id", "0"})
      .AddFlag({"ack-fd", "N", "(internal) descriptor for acks", "-1"});
  int exit = kExitOk;
  if (!args.Parse(argc, argv, &exit)) return exit;
  if (!args.positional().empty()) {
    return args.UsageError("unexpected argument " + args.positional()[0]);
  }
  uint64_t seed = 0;
  if (args.Has("seed")) {
    if (!absl::SimpleAtoi(args.Get("seed"), &seed)) {
      return args.UsageError("--seed needs a number");
    }
  } else {
    seed = std::random_device()() % 1000000;
  }
  if (args.Has("child")) {
    uint64_t op_base = 0;
    absl::SimpleAtoi(args.Get("op-base"), &op_base);
    crashtest::RunKillChild(args.Get("dir"), seed, op_base,
                            static_cast<int>(args.GetInt("ack-fd")));
  }
  crashtest::RunOptions options;
  options.seed = seed;
  options.iterations = args.GetInt("iterations");
  options.verbose = args.Has("verbose");
  if (!absl::ParseDuration(args.Get("duration"), &options.duration)) {
    return args.UsageError("--duration needs a duration like 60s or 5m");
  }
  const std::string mode = args.Get("mode");
  crashtest::RunResult result;
  if (mode == "kill") {
    const std::string dir = args.Get("dir");
    if (dir.empty()) return args.UsageError("kill mode needs --dir");
    std::error_code ec;
    if (std::filesystem::exists(dir, ec) &&
        !std::filesystem::is_empty(dir, ec)) {
      return args.UsageError("--dir " + dir +
                             " is not empty (the model starts from nothing)");
    }
    std::filesystem::create_directories(dir, ec);
    if (ec) return Fail("crashtest", absl::InternalError(ec.message()));
    const int max_kill_ms = static_cast<int>(args.GetInt("max-kill-ms"));
    if (max_kill_ms < 0) return args.UsageError("--max-kill-ms must be >= 0");
    result = crashtest::RunKillMode(Self(), dir, options, max_kill_ms);
  } else if (mode == "power") {
    const int cycles = static_cast<int>(args.GetInt("cycles-per-run"));
    if (cycles < 1) return args.UsageError("--cycles-per-run must be >= 1");
    const int64_t jobs = args.GetInt("jobs");
    if (jobs < 0) return args.UsageError("--jobs must be >= 0");
    options.jobs =
        jobs > 0
            ? static_cast<int>(jobs)
            : std::max(1,
                       static_cast<int>(std::thread::hardware_concurrency()));
    result = crashtest::RunPowerMode(options, cycles, !args.Has("no-faults"));
  } else {
    return args.UsageError("--mode must be kill or power");
  }
  PrintResult(mode, seed, options.jobs, result);
  if (!result.failure.empty()) {
    std::cout << "FAILED: " << result.failure << "\n"
              << "replay: " << result.replay << "\n";
    return kExitProblems;
  }
  return kExitOk;
}

const bool kRegistered = RegisterCommand(
    {"crashtest", "crash the engine at random and check what survived",
     RunCrashtest});

}  // namespace
}  // namespace spool::cli
