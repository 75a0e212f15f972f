// Consumer-group micro-benchmarks (docs/consumer-groups.md, "Cost"):
//   BM_RawFdatasync   the physical limit of a synced commit: a 64-byte
//                     pwrite + fdatasync of a file in the same directory.
//   BM_RocksDbPut     the peer: a bare RocksDB Put of an offsets-sized key
//                     and value, synced (arg 1) or not (arg 0).
//   BM_Commit         ConsumerGroups::Commit of one partition, synced or
//                     not, from 1 and 4 threads (each on its own partition
//                     of one group). Counters: commits per raw fdatasync
//                     (synced) and the ratio to the RocksDB peer.
//   BM_Lag            Lag() of a group committed on N partitions that all
//                     have a backlog (the cached steady state a metrics
//                     scrape sees).
//   BM_Metrics        Engine::Metrics() with G groups x P partitions.
// Run a Release build; docs/consumer-groups.md has the numbers.

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "benchmark/benchmark.h"
#include "rocksdb/db.h"
#include "spool/consumer_groups.h"
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

// Seconds per operation of the last run of each baseline, for the ratios
// (benchmarks run in registration order: the baselines come first).
std::atomic<double> raw_fsync_seconds{0};
std::atomic<double> rocksdb_put_seconds[2] = {0, 0};

double SecondsPerOp(const benchmark::State& state, double seconds) {
  return state.iterations() == 0
             ? 0
             : seconds / static_cast<double>(state.iterations());
}

void BM_RawFdatasync(benchmark::State& state) {
  const std::string dir = MakeTempDir();
  const std::string path = dir + "/raw";
  const int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0) std::abort();
  const std::string record(64, 'r');
  off_t at = 0;
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    if (pwrite(fd, record.data(), record.size(), at) !=
            static_cast<ssize_t>(record.size()) ||
        fdatasync(fd) != 0) {
      state.SkipWithError("pwrite/fdatasync failed");
      break;
    }
    at += static_cast<off_t>(record.size());
  }
  const std::chrono::duration<double> elapsed =
      std::chrono::steady_clock::now() - start;
  raw_fsync_seconds.store(SecondsPerOp(state, elapsed.count()));
  state.SetItemsProcessed(state.iterations());
  close(fd);
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_RawFdatasync)->UseRealTime();

// Key and value as long as an offsets row of group "bench-group", topic
// "bench", a partition, and no metadata (docs/tables.md).
void BM_RocksDbPut(benchmark::State& state) {
  const bool sync = state.range(0) != 0;
  const std::string dir = MakeTempDir();
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::Open(options, dir + "/db", &raw).ok()) std::abort();
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::WriteOptions w;
  w.sync = sync;
  const std::string key = std::string("bench-group") + '\0' + "bench" + '\0' +
                          std::string("\0\0\0\1", 4);
  std::string value(25, 'v');
  int64_t i = 0;
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    value[1] = static_cast<char>(++i);
    if (!db->Put(w, key, value).ok()) {
      state.SkipWithError("rocksdb put failed");
      break;
    }
  }
  const std::chrono::duration<double> elapsed =
      std::chrono::steady_clock::now() - start;
  rocksdb_put_seconds[sync ? 1 : 0].store(SecondsPerOp(state, elapsed.count()));
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(sync ? "sync" : "no sync");
  db.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_RocksDbPut)->Arg(0)->Arg(1)->UseRealTime();

struct Shared {
  std::string dir;
  std::unique_ptr<Engine> engine;
  std::chrono::steady_clock::time_point start;
};
Shared* shared = nullptr;

void OpenShared(int partitions, int records_per_partition) {
  shared = new Shared;
  shared->dir = MakeTempDir();
  EngineOptions o;
  o.data_dirs = {shared->dir};
  shared->engine = std::move(*Engine::Open(o));
  TopicConfig c;
  c.partitions = partitions;
  if (!shared->engine->CreateTopic("bench", c).ok()) std::abort();
  for (int p = 0; p < partitions; ++p) {
    std::vector<Record> records(records_per_partition, {.value = "work"});
    if (!shared->engine->ProduceBatch("bench", records, {.partition = p})
             .ok()) {
      std::abort();
    }
  }
}

void CloseShared() {
  shared->engine->Close().IgnoreError();
  std::filesystem::remove_all(shared->dir);
  delete shared;
  shared = nullptr;
}

void BM_Commit(benchmark::State& state) {
  const bool sync = state.range(0) != 0;
  if (state.thread_index() == 0) {
    OpenShared(/*partitions=*/8, /*records_per_partition=*/1000);
    shared->start = std::chrono::steady_clock::now();
  }
  // `shared` is set by thread 0 before the loop's start barrier: only use
  // it inside the loop.
  const TopicPartition tp{"bench", state.thread_index()};
  int64_t offset = 0;
  for (auto _ : state) {
    offset = offset % 1000 + 1;
    absl::Status s = shared->engine->groups().Commit(
        "bench-group", {{.tp = tp, .offset = offset}}, {.sync = sync});
    if (!s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(sync ? "sync" : "no sync");
  if (state.thread_index() == 0) {
    // All threads together: commits per second of wall time, against one
    // raw fdatasync and one bare RocksDB put per second.
    const std::chrono::duration<double> elapsed =
        std::chrono::steady_clock::now() - shared->start;
    const double per_commit =
        elapsed.count() /
        static_cast<double>(state.iterations() * state.threads());
    if (sync && raw_fsync_seconds.load() > 0) {
      state.counters["commits_per_raw_fsync"] =
          raw_fsync_seconds.load() / per_commit;
    }
    const double peer = rocksdb_put_seconds[sync ? 1 : 0].load();
    if (peer > 0) state.counters["vs_rocksdb_put"] = peer / per_commit;
    CloseShared();
  }
}
BENCHMARK(BM_Commit)->Arg(0)->Arg(1)->Threads(1)->Threads(4)->UseRealTime();

void CommitEverywhere(const std::string& group, int partitions) {
  std::vector<OffsetCommit> commits;
  for (int p = 0; p < partitions; ++p) {
    commits.push_back({.tp = {"bench", p}, .offset = 1});
  }
  if (!shared->engine->groups().Commit(group, commits).ok()) std::abort();
}

void BM_Lag(benchmark::State& state) {
  const int partitions = static_cast<int>(state.range(0));
  OpenShared(partitions, 10);
  CommitEverywhere("bench-group", partitions);
  ConsumerGroups& groups = shared->engine->groups();
  for (auto _ : state) {
    auto lag = groups.Lag("bench-group");
    if (!lag.ok() || static_cast<int>(lag->size()) != partitions) {
      state.SkipWithError("lag failed");
      break;
    }
    benchmark::DoNotOptimize(lag->back().lag_seconds);
  }
  state.SetItemsProcessed(state.iterations() * partitions);  // partitions
  state.counters["partitions"] = partitions;
  CloseShared();
}
BENCHMARK(BM_Lag)->Arg(10)->Arg(Smoke() ? 20 : 1000)->UseRealTime();

void BM_Metrics(benchmark::State& state) {
  const int groups = static_cast<int>(state.range(0));
  const int partitions = static_cast<int>(state.range(1));
  OpenShared(partitions, 10);
  for (int g = 0; g < groups; ++g) {
    CommitEverywhere(absl::StrFormat("group-%d", g), partitions);
  }
  size_t bytes = 0;
  for (auto _ : state) {
    std::string text = shared->engine->Metrics();
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.counters["groups"] = groups;
  state.counters["partitions"] = partitions;
  state.counters["text_bytes"] = static_cast<double>(bytes);
  CloseShared();
}
BENCHMARK(BM_Metrics)
    ->Args({1, 10})
    ->Args({Smoke() ? 2 : 100, Smoke() ? 5 : 100})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace spool

BENCHMARK_MAIN();
