// Work-queue benchmarks (docs/queues.md): receive + ack throughput of a
// shared subscription with 4 consumers, against plain fetch throughput of
// the same records (the target: at least half of it, 100-byte
// records).
//   BM_FetchAll        4 threads, one per partition, Fetch from offset 0 to
//                      the end, visiting every record (the baseline).
//   BM_ReceiveAck      4 consumer threads on one subscription: Receive up
//                      to `batch` records (long poll of 1 ms), then ack
//                      them. sync = 1: synced acks, 0: unsynced;
//                      owned = 1: Receive (copies), 0: ReceiveBatch
//                      (views); ack = 0: one Ack call with every delivery,
//                      1: the deliveries ride on the next Receive
//                      (ReceiveOptions::ack), 2: the batch's ranges
//                      (ReceivedBatch::Ranges) ride on the next Receive
//                      (ReceiveOptions::ack_ranges). Each iteration
//                      first runs one BM_FetchAll pass (untimed), and
//                      counter `vs_fetch` is the median over iterations of
//                      (receive records/s) / (that pass's records/s): the
//                      peer measured right next to it, so that load which
//                      drifts during the run cancels out.
//   BM_EmptyReceive    one consumer polling (ReceiveBatch of up to 256) a
//                      subscription that has consumed the whole topic: the
//                      cost of an empty poll over 4 partitions.
// The first two report `cpu_ns_per_record`: CPU time of the whole process
// (every thread, user + system) per record, which a loaded machine disturbs
// less than throughput. Each iteration consumes the whole topic (a fresh
// subscription per iteration). Run a Release build.

#include <stdlib.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "benchmark/benchmark.h"
#include "spool/engine.h"
#include "spool/subscriptions.h"

namespace spool {
namespace {

constexpr int kPartitions = 4;
constexpr int kConsumers = 4;
constexpr int kValueBytes = 100;

bool Smoke() { return std::getenv("SPOOL_BENCH_SMOKE") != nullptr; }
int64_t Records() { return Smoke() ? 4000 : 400000; }

std::string MakeTempDir() {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "spool-qbench-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) std::abort();
  return tmpl;
}

// One engine with topic "q" holding Records() records of 100 bytes,
// shared by the benchmarks of this binary.
struct Fixture {
  std::string dir;
  std::unique_ptr<Engine> engine;

  Fixture() : dir(MakeTempDir()) {
    EngineOptions o;
    o.data_dirs = {dir};
    auto e = Engine::Open(o);
    if (!e.ok()) std::abort();
    engine = std::move(*e);
    if (!engine->CreateTopic("q", {.partitions = kPartitions}).ok()) {
      std::abort();
    }
    const std::string value(kValueBytes, 'v');
    std::vector<Record> batch(500, Record{.value = value});
    for (int64_t n = 0; n < Records(); n += 500) {
      const int32_t p = static_cast<int32_t>((n / 500) % kPartitions);
      if (!engine->ProduceBatch("q", batch, {.partition = p}).ok()) {
        std::abort();
      }
    }
  }
  ~Fixture() {
    engine->Close().IgnoreError();
    std::filesystem::remove_all(dir);
  }
};

Fixture& Shared() {
  static Fixture* f = new Fixture();
  return *f;
}

// User + system CPU time of the process so far, in nanoseconds.
double ProcessCpuNanos() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto ns = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) * 1e9 +
           static_cast<double>(t.tv_usec) * 1e3;
  };
  return ns(u.ru_utime) + ns(u.ru_stime);
}

// One pass of plain fetch over the topic: 4 threads, one per partition,
// Fetch from offset 0 to the end, visiting every record's value. Returns
// the records seen; *seconds gets the wall time.
int64_t FetchPass(Engine& engine, double* seconds) {
  const auto start = std::chrono::steady_clock::now();
  std::atomic<int64_t> seen{0};
  std::vector<std::thread> threads;
  for (int32_t p = 0; p < kPartitions; ++p) {
    threads.emplace_back([&, p] {
      int64_t pos = 0, n = 0, bytes = 0;
      for (;;) {
        auto f = engine.Fetch({"q", p}, pos);
        if (!f.ok() || f->batches.empty()) break;
        f->ForEachRecord([&](const RecordView& r) {
           bytes += static_cast<int64_t>(r.value->size());
           ++n;
           return true;
         }).IgnoreError();
        pos = f->next_offset;
      }
      benchmark::DoNotOptimize(bytes);
      seen.fetch_add(n);
    });
  }
  for (auto& t : threads) t.join();
  *seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return seen.load();
}

void BM_FetchAll(benchmark::State& state) {
  Engine& engine = *Shared().engine;
  int64_t seen_total = 0;
  double seconds = 0;
  double cpu_ns = 0;
  for (auto _ : state) {
    const double cpu_start = ProcessCpuNanos();
    double pass_seconds = 0;
    seen_total += FetchPass(engine, &pass_seconds);
    seconds += pass_seconds;
    cpu_ns += ProcessCpuNanos() - cpu_start;
  }
  if (seen_total > 0) state.counters["cpu_ns_per_record"] = cpu_ns / seen_total;
  if (seen_total != Records() * state.iterations()) {
    state.SkipWithError("fetch did not see every record");
  }
  state.SetItemsProcessed(seen_total);
  state.SetBytesProcessed(seen_total * kValueBytes);
}

// state.range(0): synced acks; range(1): max_records per Receive;
// range(2): 1 = Receive (owned copies), 0 = ReceiveBatch (views);
// range(3): 0 = Ack call, 1 = deliveries on the next Receive, 2 = ranges
// on the next Receive (ReceiveBatch only).
void BM_ReceiveAck(benchmark::State& state) {
  Engine& engine = *Shared().engine;
  const bool owned = state.range(2) != 0;
  const bool ack_in_receive = state.range(3) != 0;
  const bool ack_ranges = state.range(3) == 2;
  if (ack_ranges && owned) std::abort();
  Subscriptions& subs = engine.subscriptions();
  const bool sync = state.range(0) != 0;
  static std::atomic<int> next_sub{0};
  int64_t acked_total = 0;
  double seconds = 0;
  double cpu_ns = 0;
  std::vector<double> ratios;  // per iteration: receive rate / fetch rate
  for (auto _ : state) {
    state.PauseTiming();
    const std::string name = absl::StrFormat("s%d", next_sub.fetch_add(1));
    SubscriptionConfig c;
    c.max_unacked_records = 20000;
    if (!subs.CreateSubscription("q", name, c).ok()) std::abort();
    // The peer, right before: a plain fetch pass over the same records.
    double fetch_seconds = 0;
    const int64_t fetched = FetchPass(engine, &fetch_seconds);
    state.ResumeTiming();
    const double cpu_start = ProcessCpuNanos();
    const auto start = std::chrono::steady_clock::now();
    std::atomic<int64_t> acked{0};
    std::atomic<int64_t> received{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kConsumers; ++t) {
      threads.emplace_back([&] {
        // Received and not yet acked: deliveries (ack = 0, 1) or the
        // batch's ranges (ack = 2), and how many records they are.
        std::vector<Delivery> held;
        std::vector<DeliveryRange> held_ranges;
        int64_t held_count = 0;
        auto forget_held = [&] {
          acked.fetch_add(held_count);
          held.clear();
          held_ranges.clear();
          held_count = 0;
        };
        for (;;) {
          if (received.load() >= Records()) {
            // Every record is handed out: ack what this consumer holds
            // and stop (instead of a last long poll that finds nothing).
            if (held_count > 0) {
              absl::Status s =
                  ack_ranges
                      ? subs.AckRanges("q", name, held_ranges, {.sync = sync})
                      : subs.Ack("q", name, held, {.sync = sync});
              if (!s.ok()) std::abort();
              forget_held();
            }
            break;
          }
          // A long poll, as a consumer would.
          ReceiveOptions ro{.max_records = static_cast<int32_t>(state.range(1)),
                            .max_wait = absl::Milliseconds(1)};
          if (ack_ranges) {
            ro.ack_ranges = held_ranges;
          } else if (ack_in_receive) {
            ro.ack = held;
          }
          int64_t bytes = 0;
          int64_t got_count = 0;
          std::vector<Delivery> ds;
          std::vector<DeliveryRange> ranges;
          if (owned) {
            auto got = subs.Receive("q", name, ro);
            if (!got.ok()) std::abort();
            for (const ReceivedRecord& r : *got) {
              bytes += static_cast<int64_t>(r.value->size());
              ds.push_back(r.delivery);
            }
            got_count = static_cast<int64_t>(got->size());
          } else {
            auto got = subs.ReceiveBatch("q", name, ro);
            if (!got.ok()) std::abort();
            for (const ReceivedRecordView& r : *got) {
              bytes += static_cast<int64_t>(r.record.value->size());
              if (!ack_ranges) ds.push_back(r.delivery);
            }
            if (ack_ranges) ranges = got->Ranges();
            got_count = static_cast<int64_t>(got->size());
          }
          benchmark::DoNotOptimize(bytes);
          if (ack_in_receive) forget_held();  // they rode on this Receive
          received.fetch_add(got_count);
          held = std::move(ds);
          held_ranges = std::move(ranges);
          held_count = got_count;
          if (!ack_in_receive && held_count > 0) {
            if (!subs.Ack("q", name, held, {.sync = sync}).ok()) std::abort();
            forget_held();
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    const double pass_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    seconds += pass_seconds;
    cpu_ns += ProcessCpuNanos() - cpu_start;
    acked_total += acked.load();
    if (pass_seconds > 0 && fetch_seconds > 0 && fetched > 0) {
      ratios.push_back((static_cast<double>(acked.load()) / pass_seconds) /
                       (static_cast<double>(fetched) / fetch_seconds));
    }
    state.PauseTiming();
    subs.DeleteSubscription("q", name).IgnoreError();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(acked_total);
  state.SetBytesProcessed(acked_total * kValueBytes);
  const double rate = seconds > 0 ? acked_total / seconds : 0;
  state.counters["records_per_s"] = rate;
  if (acked_total > 0) {
    state.counters["cpu_ns_per_record"] = cpu_ns / acked_total;
  }
  if (!ratios.empty()) {
    // The median of the iterations' ratios to the fetch pass run just
    // before each: load that drifts over the run cancels out.
    std::sort(ratios.begin(), ratios.end());
    const size_t m = ratios.size() / 2;
    state.counters["vs_fetch"] =
        ratios.size() % 2 == 1 ? ratios[m] : (ratios[m - 1] + ratios[m]) / 2;
  }
}

void BM_EmptyReceive(benchmark::State& state) {
  Subscriptions& subs = Shared().engine->subscriptions();
  static const bool drained = [&] {
    if (!subs.CreateSubscription("q", "drained", {}).ok()) std::abort();
    for (;;) {
      auto got = subs.ReceiveBatch("q", "drained", {.max_records = 1024});
      if (!got.ok()) std::abort();
      if (got->empty()) return true;
      std::vector<Delivery> ds;
      for (const ReceivedRecordView& r : *got) ds.push_back(r.delivery);
      if (!subs.Ack("q", "drained", ds, {.sync = false}).ok()) std::abort();
    }
  }();
  benchmark::DoNotOptimize(drained);
  for (auto _ : state) {
    auto got = subs.ReceiveBatch("q", "drained", {.max_records = 256});
    if (!got.ok() || !got->empty()) std::abort();
  }
}

BENCHMARK(BM_FetchAll)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReceiveAck)
    ->ArgNames({"sync", "batch", "owned", "ack"})
    ->Args({0, 256, 0, 0})
    ->Args({1, 256, 0, 0})
    ->Args({0, 256, 1, 0})
    ->Args({0, 1024, 0, 0})
    ->Args({0, 64, 0, 0})
    ->Args({0, 256, 0, 1})
    ->Args({0, 1024, 0, 1})
    ->Args({0, 256, 0, 2})
    ->Args({0, 1024, 0, 2})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EmptyReceive);

}  // namespace
}  // namespace spool

BENCHMARK_MAIN();
