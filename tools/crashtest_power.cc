// Power mode of spool crashtest: simulated power losses and injected faults
// on the fault-injecting file system, in-process (crashtest.h).
//
// One run = a fresh FaultInjectionFileSystem seeded `seed + run` and a
// model, then cycles of: open the engine (recovering), verify it against
// the model, retry the last idempotent batches, run 5-80 workload
// operations, sometimes inside a fault window, then crash. Three in four
// crashes are power losses (a random PowerLossMode, sometimes keeping a
// random prefix of unsynced directory changes); the rest are process
// crashes (nothing lost). A crash = SimulateCrash (a sticky fault on every
// operation and the power loss, at one instant, so neither the engine's
// background threads nor its destructor write anything after it), destroy,
// clear.
//
// A fault window: either the capacity drops to a little above what is
// used (disk full), or a fault rule fails writes, syncs, renames, directory
// syncs or any operation with EIO or ENOSPC, once or stickily, sometimes
// tearing the failed write. Operations must fail with kResourceExhausted,
// kUnavailable or kFailedPrecondition and a message; after the fault
// clears, everything acknowledged is still readable on the live engine and
// a write to every partition succeeds (after a reopen if an fsync failed,
// which the engine reports with kFailedPrecondition).

#include <algorithm>
#include <atomic>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "crashtest.h"
#include "io/fault_injection_file_system.h"

namespace spool::crashtest {
namespace {

const std::vector<std::string>& DataDirs() {
  static const auto* dirs = new std::vector<std::string>{"/d0", "/d1"};
  return *dirs;
}

EngineOptions PowerEngineOptions(FileSystem* fs, Clock* clock) {
  EngineOptions o;
  o.data_dirs = DataDirs();
  o.file_system = fs;
  o.clock = clock;
  o.shards = 2;
  o.max_open_files = 64;
  o.topic_defaults = CrashTopicConfig(2, Durability::kNone);
  // Retention and compaction in the background too (real time).
  o.retention_check_interval = absl::Milliseconds(100);
  o.cleaner_check_interval = absl::Milliseconds(100);
  return o;
}

void Crash(FaultInjectionFileSystem& fs, std::unique_ptr<Engine>& engine,
           const PowerLossOptions* power) {
  // Atomically: a background thread must not change the tree between the
  // power loss and the fault (run seed 212 of seed 67: the cleaner renamed
  // an old segment away after the power loss had undone its swap).
  if (power != nullptr) {
    fs.SimulateCrash(*power);
  } else {
    fs.InjectFault({.op = FaultOp::kAny, .nth = 1, .sticky = true});
  }
  engine.reset();
  fs.ClearFaults();
}

bool ExpectedFaultError(const absl::Status& s) {
  return (absl::IsResourceExhausted(s) || absl::IsUnavailable(s) ||
          absl::IsFailedPrecondition(s)) &&
         !s.message().empty();
}

// One fault window: returns kInternal for an unexpected error code.
absl::Status FaultWindow(FaultInjectionFileSystem& fs, Workload& w,
                         std::mt19937_64& rng, int64_t* errors) {
  if (rng() % 2 == 0) {
    fs.SetCapacity(fs.used_bytes() + rng() % (64 * 1024));
  } else {
    static constexpr FaultOp kOps[] = {FaultOp::kWrite, FaultOp::kSync,
                                       FaultOp::kSyncDir, FaultOp::kRename,
                                       FaultOp::kAny};
    FaultSpec f;
    f.op = kOps[rng() % 5];
    f.nth = 1 + static_cast<int>(rng() % 30);
    f.error = rng() % 2 == 0 ? FaultError::kIO : FaultError::kNoSpace;
    f.sticky = rng() % 2 == 0;
    f.torn_write = rng() % 2 == 0;
    fs.InjectFault(f);
  }
  const int ops = 5 + static_cast<int>(rng() % 30);
  for (int i = 0; i < ops; ++i) {
    absl::Status s = w.Step();
    if (s.ok()) continue;
    if (!ExpectedFaultError(s)) {
      return absl::InternalError(
          absl::StrCat("under an injected fault, an operation failed with an "
                       "unexpected error: ",
                       s.ToString()));
    }
    ++*errors;
  }
  fs.ClearFaults();
  fs.SetCapacity(FaultInjectionFileSystem::kUnlimitedCapacity);
  return absl::OkStatus();
}

// After a fault window: one produce per partition must work; a partition
// whose fsync failed asks for a reopen (kFailedPrecondition).
absl::Status WritableAfterFaults(Engine& engine, Model& model,
                                 uint64_t* next_op, bool* needs_reopen,
                                 bool* tables_stuck) {
  auto topics = engine.ListTopics();
  if (!topics.ok()) return topics.status();
  for (const std::string& t : *topics) {
    if (t == kDeadLetterTopic) continue;  // holds dead letters only
    auto n = engine.PartitionCount(t);
    if (!n.ok()) return n.status();
    for (int32_t p = 0; p < *n; ++p) {
      const uint64_t op = (*next_op)++;
      ExpectedRecord e = MakeRecord(t, p, op, 0);
      auto r = engine.Produce(t,
                              {.key = e.key,
                               .value = e.value,
                               .headers = {},
                               .timestamp = e.timestamp},
                              {.partition = p});
      if (!r.ok()) {
        if (absl::IsFailedPrecondition(r.status())) {
          *needs_reopen = true;
          continue;
        }
        return absl::InternalError(
            absl::StrFormat("%s-%d not writable after the fault cleared: %s", t,
                            p, r.status().ToString()));
      }
      Ack a;
      a.kind = Ack::Kind::kRecords;
      a.topic = t;
      a.partition = p;
      a.offset = r->records[0].offset;
      a.count = 1;
      a.op_id = op;
      model.Apply(a);
    }
  }
  // The dead-letter topic takes no probe (it holds dead letters only), yet
  // a dead letter may have been appended to it under the fault: a flush
  // finds a log whose fdatasync failed (power seed 900, run seed 1049: the
  // next Reject failed on it with the fault long gone).
  absl::Status flushed = engine.Flush();
  if (absl::IsFailedPrecondition(flushed)) {
    *needs_reopen = true;
  } else if (!flushed.ok()) {
    return absl::InternalError("flush after the fault cleared: " +
                               flushed.ToString());
  }
  // The tables (RocksDB) too: a synced commit of nothing new.
  auto committed = engine.groups().FetchCommitted("probe");
  if (!committed.ok()) return committed.status();
  absl::Status s = engine.groups().Commit(
      "probe", {{.tp = {"t0", 0}, .offset = 0, .metadata = "0"}},
      {.sync = true});
  if (!s.ok()) {
    // The tables recover by themselves once the fault is gone (TableStore
    // reopens RocksDB before the next call); kFailedPrecondition would ask
    // the engine to be reopened.
    if (!absl::IsFailedPrecondition(s)) {
      return absl::InternalError(
          "the tables refuse writes after the fault cleared: " + s.ToString());
    }
    *needs_reopen = true;
    *tables_stuck = true;
  }
  return absl::OkStatus();
}

struct Run {
  uint64_t seed;
  FaultInjectionFileSystem fs;
  ManualClock clock;
  Model model;
  std::mt19937_64 rng;
  uint64_t next_op = 1;
  explicit Run(uint64_t s) : seed(s), fs(s), rng(s) {}
};

// One cycle: open, verify, work, crash. Returns a failure description.
std::string Cycle(Run& run, int cycle, bool power_lost, bool faults,
                  RunResult* result, bool* lost_power_now) {
  std::unique_ptr<Engine> engine;
  {
    auto e = Engine::Open(PowerEngineOptions(&run.fs, &run.clock));
    if (!e.ok()) return "reopen failed: " + e.status().ToString();
    engine = *std::move(e);
  }
  absl::Status s = run.model.Verify(*engine, power_lost, DataDirs(), &run.fs,
                                    &result->verify);
  if (s.ok()) s = run.model.RetryLastIdempotent(*engine, &result->verify);
  if (!s.ok()) return s.ToString();

  Workload w(engine.get(), run.rng(), run.next_op, {.clock = &run.clock},
             [&](const Ack& a) { run.model.Apply(a); });
  run.next_op += 1000000;
  s = w.Init();
  if (!s.ok()) return "workload init: " + s.ToString();
  const int ops = 5 + static_cast<int>(run.rng() % 75);
  const int fault_at =
      faults && run.rng() % 4 == 0 ? static_cast<int>(run.rng() % ops) : -1;
  for (int i = 0; i < ops; ++i) {
    if (i == fault_at) {
      s = FaultWindow(run.fs, w, run.rng, &result->fault_errors);
      if (!s.ok()) return s.ToString();
      // Nothing acknowledged may be missing from the live engine. A topic
      // creation that failed under the fault may leave partition
      // directories behind until the next open (which must remove them:
      // every check after an open looks for them), so no data directory
      // is searched for strays here.
      s = run.model.Verify(*engine, false, /*data_dirs=*/{}, &run.fs,
                           &result->verify);
      bool reopen = false, stuck = false;
      if (absl::IsFailedPrecondition(s) && !s.message().empty()) {
        // A log whose fdatasync failed refuses writes until it is reopened
        // (docs/reliability.md); receiving from a queue may write to one
        // (a dead letter). Whatever was checked before held.
        reopen = true;
      } else {
        if (!s.ok()) return "after a fault window: " + s.ToString();
        s = WritableAfterFaults(*engine, run.model, &run.next_op, &reopen,
                                &stuck);
        if (!s.ok()) return s.ToString();
      }
      if (stuck) ++result->tables_stuck;
      if (reopen) {
        ++result->fault_reopens;
        // A clean close may fail (the failed partition); that is a process
        // crash, which loses nothing.
        engine->Close().IgnoreError();
        engine.reset();
        auto e = Engine::Open(PowerEngineOptions(&run.fs, &run.clock));
        if (!e.ok()) return "reopen after faults: " + e.status().ToString();
        engine = *std::move(e);
        s = run.model.Verify(*engine, false, DataDirs(), &run.fs,
                             &result->verify);
        if (s.ok()) {
          reopen = stuck = false;
          s = WritableAfterFaults(*engine, run.model, &run.next_op, &reopen,
                                  &stuck);
          if (s.ok() && reopen) {
            s = absl::InternalError("still not writable after a reopen");
          }
        }
        if (!s.ok()) return "after reopen after faults: " + s.ToString();
        // The workload holds the old engine: the rest of the cycle is idle.
        ++result->faults;
        break;
      }
      ++result->faults;
      continue;
    }
    s = w.Step();
    if (!s.ok()) {
      return absl::StrFormat("operation %d of cycle %d: %s", i, cycle,
                             s.ToString());
    }
  }
  result->ops += w.ops();
  *lost_power_now = run.rng() % 4 != 0;
  if (*lost_power_now) {
    PowerLossOptions p;
    p.mode = static_cast<PowerLossMode>(run.rng() % 3);
    p.keep_random_directory_prefix = run.rng() % 2 == 0;
    p.seed = run.rng();
    Crash(run.fs, engine, &p);
  } else {
    Crash(run.fs, engine, nullptr);
    ++result->process_crashes;
  }
  return "";
}

}  // namespace

namespace {

// Adds the counters of `from` to `to` (not failure, replay, elapsed).
void AddCounts(const RunResult& from, RunResult* to) {
  to->iterations += from.iterations;
  to->faults += from.faults;
  to->fault_errors += from.fault_errors;
  to->process_crashes += from.process_crashes;
  to->fault_reopens += from.fault_reopens;
  to->tables_stuck += from.tables_stuck;
  to->ops += from.ops;
  to->acked_records += from.acked_records;
  Model::VerifyStats& v = to->verify;
  const Model::VerifyStats& f = from.verify;
  v.records_checked += f.records_checked;
  v.records_scanned += f.records_scanned;
  v.records_lost_allowed += f.records_lost_allowed;
  v.commits_checked += f.commits_checked;
  v.retries_checked += f.retries_checked;
  v.queue_deliveries_checked += f.queue_deliveries_checked;
  v.queue_acks_lost_allowed += f.queue_acks_lost_allowed;
  v.queue_acks_checked += f.queue_acks_checked;
  v.dead_letters_checked += f.dead_letters_checked;
  v.records_compacted_allowed += f.records_compacted_allowed;
  v.records_retention_allowed += f.records_retention_allowed;
}

// Run `r` (seed options.seed + r): up to `cycles` crashes, or fewer when
// `stop` becomes true or the duration runs out. Its counters go to
// *result; a failure sets result->failure and result->replay.
void OneRun(const RunOptions& options, uint64_t r, int cycles,
            int cycles_per_run, bool faults, absl::Time start,
            const std::atomic<bool>& stop, RunResult* result) {
  Run run(options.seed + r);
  bool power_lost = false;
  int cycles_done = 0;
  auto replay = [&](int n) {
    return absl::StrFormat(
        "spool crashtest --mode power --seed %u --iterations %d "
        "--cycles-per-run %d%s",
        run.seed, n, cycles_per_run, faults ? "" : " --no-faults");
  };
  for (int c = 0; c < cycles; ++c) {
    if (stop.load() ||
        (options.iterations == 0 && absl::Now() - start >= options.duration)) {
      break;
    }
    std::string failure =
        Cycle(run, c, power_lost, faults, result, &power_lost);
    if (!failure.empty()) {
      result->failure =
          absl::StrFormat("run seed %u, cycle %d: %s", run.seed, c, failure);
      result->replay = replay(c + 1);
      result->acked_records += run.model.acked_records();
      return;
    }
    ++cycles_done;
    ++result->iterations;
  }
  // The last crash of the run is verified too.
  if (cycles_done > 0) {
    auto e = Engine::Open(PowerEngineOptions(&run.fs, &run.clock));
    absl::Status s = e.ok() ? run.model.Verify(**e, power_lost, DataDirs(),
                                               &run.fs, &result->verify)
                            : e.status();
    if (!s.ok()) {
      result->failure = absl::StrFormat("run seed %u, final check: %s",
                                        run.seed, s.ToString());
      result->replay = replay(cycles_done);
    }
  }
  result->acked_records += run.model.acked_records();
  if (options.verbose) {
    std::cout << absl::StrFormat(
        "run %u: %d crashes, %d records acknowledged\n", run.seed, cycles_done,
        run.model.acked_records());
  }
}

}  // namespace

RunResult RunPowerMode(const RunOptions& options, int cycles_per_run,
                       bool faults) {
  const absl::Time start = absl::Now();
  const int jobs = std::max(1, options.jobs);
  // Runs are numbered 0, 1, ...; each job takes the next number. With
  // --iterations, run r covers crashes [r * cycles_per_run, ...) of the
  // total, so which runs happen does not depend on the number of jobs.
  std::atomic<uint64_t> next_run{0};
  std::atomic<bool> stop{false};
  std::vector<RunResult> results(jobs);
  // Failures by run number: the lowest one is reported.
  std::vector<std::pair<uint64_t, RunResult>> failures(jobs);
  auto job = [&](int j) {
    for (;;) {
      const uint64_t r = next_run.fetch_add(1);
      int cycles = cycles_per_run;
      if (options.iterations > 0) {
        const int64_t first = static_cast<int64_t>(r) * cycles_per_run;
        if (first >= options.iterations) return;
        cycles = static_cast<int>(
            std::min<int64_t>(cycles_per_run, options.iterations - first));
      } else if (absl::Now() - start >= options.duration) {
        return;
      }
      if (stop.load()) return;
      RunResult one;
      OneRun(options, r, cycles, cycles_per_run, faults, start, stop, &one);
      AddCounts(one, &results[j]);
      if (!one.failure.empty()) {
        if (failures[j].second.failure.empty()) failures[j] = {r, one};
        stop.store(true);
        return;
      }
    }
  };
  if (jobs == 1) {
    job(0);
  } else {
    std::vector<std::thread> threads;
    for (int j = 0; j < jobs; ++j) threads.emplace_back(job, j);
    for (std::thread& t : threads) t.join();
  }
  RunResult result;
  for (const RunResult& r : results) AddCounts(r, &result);
  const std::pair<uint64_t, RunResult>* first = nullptr;
  for (const auto& f : failures) {
    if (!f.second.failure.empty() &&
        (first == nullptr || f.first < first->first)) {
      first = &f;
    }
  }
  if (first != nullptr) {
    result.failure = first->second.failure;
    result.replay = first->second.replay;
  }
  result.elapsed = absl::Now() - start;
  return result;
}

}  // namespace spool::crashtest
