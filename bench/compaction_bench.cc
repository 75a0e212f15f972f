// Compaction benchmarks (docs/compaction.md, docs/performance.md):
//   BM_CompactionThroughput   1,000,000 keyed records over 10,000 keys
//                             (100-byte values, 100 records a batch),
//                             compacted in one forced cleaning; bytes/s is
//                             cleaner input. Target: >= 200 MB/s.
// SPOOL_BENCH_SMOKE=1 shrinks the data for the ctest smoke run.

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

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

void BM_CompactionThroughput(benchmark::State& state) {
  const int64_t records = Smoke() ? 20000 : 1000000;
  const int keys = Smoke() ? 200 : 10000;
  int64_t input = 0;
  double seconds = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string path = TempPath("throughput");
    std::filesystem::remove_all(path);
    auto dir = LogDirectory::Open({.path = path});
    if (!dir.ok()) std::abort();
    LogConfig config;
    // Segments small enough that all but the last (active) one, about 7%
    // of the data, are cleanable.
    config.segment_bytes = Smoke() ? (256 << 10) : (8 << 20);
    config.max_batch_bytes = 64 << 10;
    config.require_keys = true;
    auto log = (*dir)->OpenPartition({"t", 0}, config, nullptr);
    if (!log.ok()) {
      state.SkipWithError(log.status().ToString().c_str());
      break;
    }
    Fill(**log, records, keys, 1);
    state.ResumeTiming();
    CleanerRules rules;
    rules.force = true;
    auto st = (*log)->Compact(absl::Now(), rules);
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
    log->reset();
    dir->reset();
    std::filesystem::remove_all(path);
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

}  // namespace
}  // namespace spool

BENCHMARK_MAIN();
