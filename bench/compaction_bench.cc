// Compaction benchmarks (docs/compaction.md, docs/performance.md):
//   BM_CompactionThroughput   1,000,000 keyed records over 10,000 keys
//                             (100-byte values, 100 records a batch),
//                             compacted in one forced cleaning; bytes/s is
//                             cleaner input. Target: >= 200 MB/s.
//   BM_AppendWhileCompacting  append throughput (100 B records, 100 a
//                             batch, durability none) into a compacted
//                             log, alone and while a forced cleaning of
//                             the same log runs in another thread; prints
//                             the ratio (1.0 = no effect). On a 2-core
//                             machine the cleaner competes for CPU too.
// SPOOL_BENCH_SMOKE=1 shrinks the data for the ctest smoke run.

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "log/log_directory.h"
#include "spool/record.h"

namespace spool {
namespace {

bool Smoke() { return std::getenv("SPOOL_BENCH_SMOKE") != nullptr; }

std::string TempPath(const std::string& name) {
  return absl::StrFormat("/tmp/spool-compaction-bench-%d-%s", getpid(), name);
}

// Appends `records` records over `keys` keys, 100 per batch.
void Fill(PartitionLog& log, int64_t records, int keys, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const std::string value(100, 'v');
  for (int64_t i = 0; i < records; i += 100) {
    RecordBatchBuilder b;
    for (int j = 0; j < 100; ++j) {
      b.Add(absl::StrFormat("key-%06d", rng() % keys), value, {}, 1);
    }
    if (!log.Append(*b.Build()).ok()) std::abort();
  }
}

// A fresh keyed (compacted) partition log in a temporary directory,
// filled with `records` records over `keys` keys; removed at destruction.
// Segments are small enough that all but the last (active) one, about 7%
// of the data, are cleanable.
struct KeyedLog {
  std::string path;
  std::unique_ptr<LogDirectory> dir;
  std::shared_ptr<PartitionLog> log;

  ~KeyedLog() {
    log.reset();
    dir.reset();
    std::filesystem::remove_all(path);
  }
};

absl::Status OpenKeyedLog(const std::string& name, int64_t records, int keys,
                          KeyedLog* out) {
  out->path = TempPath(name);
  std::filesystem::remove_all(out->path);
  auto dir = LogDirectory::Open({.path = out->path});
  if (!dir.ok()) return dir.status();
  out->dir = std::move(*dir);
  LogConfig config;
  config.segment_bytes = Smoke() ? (256 << 10) : (8 << 20);
  config.max_batch_bytes = 64 << 10;
  config.require_keys = true;
  auto log = out->dir->OpenPartition({"t", 0}, config, nullptr);
  if (!log.ok()) return log.status();
  out->log = std::move(*log);
  Fill(*out->log, records, keys, 1);
  return absl::OkStatus();
}

void BM_CompactionThroughput(benchmark::State& state) {
  const int64_t records = Smoke() ? 20000 : 1000000;
  const int keys = Smoke() ? 200 : 10000;
  int64_t input = 0;
  double seconds = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto kl = std::make_unique<KeyedLog>();
    if (absl::Status s = OpenKeyedLog("throughput", records, keys, kl.get());
        !s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    state.ResumeTiming();
    CleanerRules rules;
    rules.force = true;
    auto st = kl->log->Compact(absl::Now(), rules);
    state.PauseTiming();
    if (!st.ok() || !st->cleaned) {
      state.SkipWithError("compaction failed or cleaned nothing");
      break;
    }
    input += st->bytes_before;
    seconds += st->seconds;
    state.counters["records_removed"] =
        static_cast<double>(st->records_removed);
    state.counters["segments_before"] =
        static_cast<double>(st->segments_before);
    state.counters["segments_after"] = static_cast<double>(st->segments_after);
    kl.reset();
    state.ResumeTiming();
  }
  state.SetBytesProcessed(input);
  if (seconds > 0) {
    const double mbps = static_cast<double>(input) / seconds / 1e6;
    state.counters["MB_per_s"] = mbps;
    state.counters["ratio_to_200MBps_target"] = mbps / 200.0;
  }
}
BENCHMARK(BM_CompactionThroughput)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// Appends ready batches for `seconds` (or until `stop`), returns records/s.
double AppendFor(PartitionLog& log, const std::vector<std::string>& batches,
                 double seconds, const std::atomic<bool>* stop) {
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + absl::Seconds(seconds);
  int64_t records = 0;
  size_t i = 0;
  while (absl::Now() < deadline && (stop == nullptr || !stop->load())) {
    if (!log.Append(batches[i++ % batches.size()]).ok()) std::abort();
    records += 100;
  }
  return static_cast<double>(records) /
         absl::ToDoubleSeconds(absl::Now() - start);
}

void BM_AppendWhileCompacting(benchmark::State& state) {
  const int64_t records = Smoke() ? 20000 : 1000000;
  const int keys = Smoke() ? 200 : 10000;
  const double seconds = Smoke() ? 0.05 : 1.0;
  std::vector<std::string> batches;
  std::mt19937_64 rng(2);
  const std::string value(100 - 12, 'v');
  for (int i = 0; i < 64; ++i) {
    RecordBatchBuilder b;
    for (int j = 0; j < 100; ++j) {
      b.Add(absl::StrFormat("key-%06d", rng() % keys), value, {}, 1);
    }
    batches.push_back(*b.Build());
  }
  double alone = 0, during = 0, compact_seconds = 0;
  for (auto _ : state) {
    KeyedLog kl;
    if (absl::Status s = OpenKeyedLog("append", records, keys, &kl); !s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    alone = AppendFor(*kl.log, batches, seconds, nullptr);
    // The same again with a cleaning of everything sealed running.
    std::atomic<bool> done{false};
    absl::Status compact_status;
    std::thread cleaner([&] {
      CleanerRules rules;
      rules.force = true;
      auto st = kl.log->Compact(absl::Now(), rules);
      if (st.ok()) {
        compact_seconds = st->seconds;
      } else {
        compact_status = st.status();
      }
      done.store(true);
    });
    during = AppendFor(*kl.log, batches, 1e9, &done);
    cleaner.join();
    if (!compact_status.ok()) {
      state.SkipWithError(compact_status.ToString().c_str());
      break;
    }
  }
  state.counters["appends_alone_rec_per_s"] = alone;
  state.counters["appends_during_rec_per_s"] = during;
  state.counters["compaction_s"] = compact_seconds;
  if (alone > 0) state.counters["ratio_during_to_alone"] = during / alone;
}
BENCHMARK(BM_AppendWhileCompacting)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace spool

BENCHMARK_MAIN();
