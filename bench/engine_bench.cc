// Engine micro-benchmarks:
//   BM_AppendParallel   appends of 100 x 100-byte records (durability none)
//                       from 1 and 2 threads, each on its own partition: the
//                       scaling of the append path without shared locks.
//   BM_ManyPartitions   an engine with many partitions: open time, open file
//                       descriptors and memory per partition after one
//                       append to every partition.
// docs/performance.md records the numbers and how to run them.

#include <dirent.h>
#include <malloc.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_format.h"
#include "benchmark/benchmark.h"
#include "spool/engine.h"

namespace spool {
namespace {

bool Smoke() { return std::getenv("SPOOL_BENCH_SMOKE") != nullptr; }

std::string MakeTempDir() {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "spool-bench-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) std::abort();
  return tmpl;
}

std::string Batch(int records, int value_bytes) {
  RecordBatchBuilder b;
  std::string value(value_bytes, 'v');
  for (int i = 0; i < records; ++i) {
    b.Add(absl::StrFormat("key-%06d", i), value, {}, 1700000000000 + i);
  }
  return *b.Build();
}

int CountOpenFds() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d) != nullptr) ++n;
    closedir(d);
  }
  return n - 2;
}

// Bytes of heap in use (allocated and not freed).
int64_t HeapInUse() { return static_cast<int64_t>(mallinfo2().uordblks); }

struct Shared {
  std::string dir;
  std::unique_ptr<Engine> engine;
};
Shared* shared = nullptr;

void BM_AppendParallel(benchmark::State& state) {
  if (state.thread_index() == 0) {
    shared = new Shared;
    shared->dir = MakeTempDir();
    EngineOptions o;
    o.data_dirs = {shared->dir};
    shared->engine = std::move(*Engine::Open(o));
    TopicConfig c;
    c.partitions = 8;
    if (!shared->engine->CreateTopic("bench", c).ok()) std::abort();
  }
  const std::string batch = Batch(100, 100);
  const TopicPartition tp{"bench", state.thread_index()};
  int64_t records = 0;
  for (auto _ : state) {
    auto r = shared->engine->Append(tp, batch);
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      break;
    }
    records += 100;
  }
  state.SetItemsProcessed(records);
  state.SetBytesProcessed(records / 100 * static_cast<int64_t>(batch.size()));
  if (state.thread_index() == 0) {
    shared->engine->Close().IgnoreError();
    std::filesystem::remove_all(shared->dir);
    delete shared;
    shared = nullptr;
  }
}
BENCHMARK(BM_AppendParallel)->Threads(1)->Threads(2)->UseRealTime();

// Appends of 100 x 100-byte batches from one thread, plain (arg 0) or from
// an idempotent producer (arg 1: producer id, epoch, sequence checked and
// recorded under the partition lock). The difference is idempotence's cost.
void BM_AppendIdempotence(benchmark::State& state) {
  const bool idempotent = state.range(0) != 0;
  const std::string dir = MakeTempDir();
  EngineOptions o;
  o.data_dirs = {dir};
  auto engine = std::move(*Engine::Open(o));
  TopicConfig c;
  c.partitions = 1;
  if (!engine->CreateTopic("bench", c).ok()) std::abort();
  const ProducerId pid = idempotent ? *engine->InitProducerId() : ProducerId{};
  std::string value(100, 'v');
  int32_t seq = 0;
  int64_t records = 0;
  for (auto _ : state) {
    RecordBatchBuilder b({.producer_id = pid.id,
                          .producer_epoch = pid.epoch,
                          .base_sequence = idempotent ? seq : -1});
    for (int i = 0; i < 100; ++i) {
      b.Add(absl::StrFormat("key-%06d", i), value, {}, 1700000000000 + i);
    }
    auto r = engine->Append({"bench", 0}, *b.Build());
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      break;
    }
    seq += 100;
    records += 100;
  }
  state.SetItemsProcessed(records);
  state.SetLabel(idempotent ? "idempotent" : "plain");
  engine->Close().IgnoreError();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_AppendIdempotence)->Arg(0)->Arg(1)->UseRealTime();

void BM_ManyPartitions(benchmark::State& state) {
  const int partitions = static_cast<int>(state.range(0));
  const std::string dir = MakeTempDir();
  EngineOptions o;
  o.data_dirs = {dir};
  o.max_open_files = 256;
  {
    auto engine = Engine::Open(o);
    TopicConfig c;
    c.partitions = partitions;
    c.segment_index_bytes = 64 * 1024;
    if (!(*engine)->CreateTopic("many", c).ok()) std::abort();
    (*engine)->Close().IgnoreError();
  }
  const std::string one = Batch(1, 100);
  for (auto _ : state) {
    const int fds_before = CountOpenFds();
    const int64_t heap_before = HeapInUse();
    auto engine = Engine::Open(o);
    if (!engine.ok()) {
      state.SkipWithError(std::string(engine.status().message()).c_str());
      break;
    }
    state.PauseTiming();
    for (int p = 0; p < partitions; ++p) {
      if (!(*engine)->Append({"many", p}, one).ok()) std::abort();
    }
    state.counters["open_fds"] = CountOpenFds() - fds_before;
    state.counters["heap_bytes_per_partition"] =
        static_cast<double>(HeapInUse() - heap_before) / partitions;
    (*engine)->Close().IgnoreError();
    state.ResumeTiming();
  }
  state.counters["partitions"] = partitions;
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_ManyPartitions)
    ->Arg(Smoke() ? 50 : 10000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

}  // namespace
}  // namespace spool

BENCHMARK_MAIN();
