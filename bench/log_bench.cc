// Partition-log micro-benchmarks (docs/performance.md, "Preallocation" and
// "Opening a log"):
//   BM_RawSyncWrite/<mode>  the physical limit: 4 KiB pwrite + fdatasync on
//                           a plain file, either growing it (0) or
//                           overwriting space written before (1);
//   BM_SyncAppend/<prealloc> PartitionLog appends of one 4 KiB batch with
//                           durability sync, without (0) and with (1) the
//                           zero-filled tail (LogConfig::preallocate_bytes).
//                           Counters give the ratio to the raw figures.
//   BM_NoneAppend/<prealloc> the same with durability none: what zero
//                           filling costs when nothing is synced;
//   BM_OpenLog/<clean>      opening a partition of 1,000 segments after a
//                           clean shutdown (1) and after a crash (0, which
//                           scans only the last segment).

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "io/file_cache.h"
#include "log/partition_log.h"
#include "spool/clock.h"
#include "spool/file_system.h"
#include "spool/record.h"

namespace spool {
namespace {

bool Smoke() { return std::getenv("SPOOL_BENCH_SMOKE") != nullptr; }

// In the working directory's file system (not /tmp, which may be tmpfs):
// fdatasync costs are what this measures.
std::string MakeTempDir() {
  std::string tmpl =
      (std::filesystem::current_path() / "spool-log-bench-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) std::abort();
  return tmpl;
}

std::string Batch(int value_bytes) {
  RecordBatchBuilder b;
  b.Add("key", std::string(value_bytes, 'v'), {}, 1700000000000);
  return *b.Build();
}

constexpr int kBatchValueBytes = 4096 - 80;  // about 4 KiB on disk

// A plain file taking 4 KiB writes, each followed by fdatasync.
class RawFile {
 public:
  static constexpr int64_t kLimit = int64_t{64} << 20;
  explicit RawFile(bool overwrite) : dir_(MakeTempDir()) {
    fd_ = open((dir_ + "/raw").c_str(), O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (fd_ < 0) std::abort();
    if (overwrite) {
      std::string zeros(1 << 20, '\0');
      for (int64_t at = 0; at < kLimit;
           at += static_cast<int64_t>(zeros.size())) {
        if (pwrite(fd_, zeros.data(), zeros.size(), at) < 0) std::abort();
      }
      if (fdatasync(fd_) != 0) std::abort();
    }
  }
  ~RawFile() {
    close(fd_);
    std::filesystem::remove_all(dir_);
  }
  void WriteAndSync() {
    if (pwrite(fd_, block_.data(), block_.size(), pos_) < 0) std::abort();
    if (fdatasync(fd_) != 0) std::abort();
    pos_ = (pos_ + 4096) % kLimit;
  }

 private:
  std::string dir_;
  int fd_ = -1;
  int64_t pos_ = 0;
  const std::string block_ = std::string(4096, 'x');
};

// Mean microseconds of `n` raw write+fdatasync rounds.
double RawSyncMicros(bool overwrite, int n) {
  RawFile f(overwrite);
  const absl::Time start = absl::Now();
  for (int i = 0; i < n; ++i) f.WriteAndSync();
  return absl::ToDoubleMicroseconds(absl::Now() - start) / n;
}

void BM_RawSyncWrite(benchmark::State& state) {
  RawFile f(state.range(0) == 1);
  for (auto _ : state) f.WriteAndSync();
  state.SetBytesProcessed(state.iterations() * 4096);
}
BENCHMARK(BM_RawSyncWrite)
    ->Arg(0)
    ->Arg(1)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

struct LogFixture {
  std::string dir;
  std::unique_ptr<FileCache> files;
  std::unique_ptr<PartitionLog> log;

  explicit LogFixture(int64_t preallocate_bytes, Durability durability) {
    dir = MakeTempDir();
    files = std::make_unique<FileCache>(FileSystem::Default(), 16);
    PartitionLogOptions o;
    o.fs = FileSystem::Default();
    o.files = files.get();
    o.clock = Clock::Real();
    o.dir = dir + "/t-0";
    o.config.durability = durability;
    o.config.preallocate_bytes = preallocate_bytes;
    o.config.segment_bytes = int64_t{256} << 20;
    auto opened = PartitionLog::Open(std::move(o), nullptr);
    if (!opened.ok()) std::abort();
    log = std::move(*opened);
  }
  ~LogFixture() {
    log->Close().IgnoreError();
    log.reset();
    files.reset();
    std::filesystem::remove_all(dir);
  }
};

void RunAppends(benchmark::State& state, Durability durability) {
  LogFixture f(state.range(0) == 1 ? int64_t{4} << 20 : 0, durability);
  const std::string batch = Batch(kBatchValueBytes);
  const absl::Time start = absl::Now();
  for (auto _ : state) {
    auto r = f.log->Append(batch);
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
  }
  const double append_us = absl::ToDoubleMicroseconds(absl::Now() - start) /
                           static_cast<double>(state.iterations());
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(batch.size()));
  if (durability == Durability::kSync) {
    // The physical limits, measured right after in the same process: a
    // ratio above 1 means the append beats that raw pattern.
    const int n = Smoke() ? 5 : 1000;
    state.counters["raw_grow_us"] = RawSyncMicros(false, n);
    state.counters["raw_overwrite_us"] = RawSyncMicros(true, n);
    state.counters["vs_raw_grow"] = state.counters["raw_grow_us"] / append_us;
    state.counters["vs_raw_overwrite"] =
        state.counters["raw_overwrite_us"] / append_us;
  }
}

void BM_SyncAppend(benchmark::State& state) {
  RunAppends(state, Durability::kSync);
}
BENCHMARK(BM_SyncAppend)
    ->Arg(0)
    ->Arg(1)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

void BM_NoneAppend(benchmark::State& state) {
  RunAppends(state, Durability::kNone);
}
BENCHMARK(BM_NoneAppend)
    ->Arg(0)
    ->Arg(1)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// A partition of `segments` small segments, closed cleanly or not.
void BM_OpenLog(benchmark::State& state) {
  const bool clean = state.range(0) == 1;
  const int segments = Smoke() ? 20 : 1000;
  std::string dir = MakeTempDir();
  FileCache files(FileSystem::Default(), 64);
  PartitionLogOptions o;
  o.fs = FileSystem::Default();
  o.files = &files;
  o.clock = Clock::Real();
  o.dir = dir + "/t-0";
  o.config.segment_bytes = 16 * 1024;
  o.config.max_batch_bytes = 4096;
  o.config.index_interval_bytes = 1024;
  int64_t recovery_point = 0;
  {
    auto log = PartitionLog::Open(o, nullptr);
    if (!log.ok()) {
      state.SkipWithError(log.status().ToString().c_str());
      return;
    }
    const std::string batch = Batch(1000);
    // 15 batches of ~1 KiB fill a 16 KiB segment.
    for (int i = 0; i < segments * 15; ++i) {
      if (!(*log)->Append(batch).ok()) std::abort();
    }
    if (!(*log)->Flush().ok()) std::abort();
    recovery_point = (*log)->durable_offset();
    if (clean && !(*log)->Close().ok()) std::abort();
    // Without Close the destructor still seals; what makes the open
    // "unclean" is clean_shutdown = false below.
  }
  int64_t opened_segments = 0;
  for (auto _ : state) {
    PartitionLogOptions again = o;
    again.clean_shutdown = clean;
    again.recovery_point = recovery_point;
    RecoveryReport report;
    auto log = PartitionLog::Open(std::move(again), &report);
    if (!log.ok()) state.SkipWithError(log.status().ToString().c_str());
    opened_segments = report.segments_loaded + report.segments_scanned;
    state.PauseTiming();
    log->reset();
    state.ResumeTiming();
  }
  state.counters["segments"] = static_cast<double>(opened_segments);
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_OpenLog)
    ->Arg(1)
    ->Arg(0)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace spool

BENCHMARK_MAIN();
