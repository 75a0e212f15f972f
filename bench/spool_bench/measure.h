// Measurement plumbing shared by the runners: what a phase reports, running
// N threads behind a start line, CPU time, file sizes, page-cache warming.

#ifndef SPOOL_BENCH_SPOOL_BENCH_MEASURE_H_
#define SPOOL_BENCH_SPOOL_BENCH_MEASURE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "spool/record.h"
#include "util/histogram.h"
#include "util/mutex.h"

namespace spool::bench {

struct Latency {
  uint64_t count = 0;
  uint64_t p50_ns = 0;
  uint64_t p99_ns = 0;
  uint64_t p999_ns = 0;
  uint64_t max_ns = 0;
};
Latency Summarize(const LatencyHistogram& h);

// One timed phase (a produce, or one consume pass).
struct PhaseStats {
  bool ran = false;
  int64_t records = 0;
  int64_t payload_bytes = 0;  // key + value bytes of those records
  int64_t io_bytes = 0;       // bytes written / read / sent by the system
  double seconds = 0;
  double cpu_seconds = 0;  // user + sys of the whole process
  int64_t calls = 0;       // appends, writes, fetches ...
  Latency latency;         // per call; produce only

  double records_per_second() const { return Per(records); }
  double payload_mb_per_second() const { return Per(payload_bytes) / 1e6; }
  double io_mb_per_second() const { return Per(io_bytes) / 1e6; }
  double cpu_seconds_per_gb() const {
    return payload_bytes > 0 ? cpu_seconds / (payload_bytes / 1e9) : 0;
  }

 private:
  double Per(int64_t n) const { return seconds > 0 ? n / seconds : 0; }
};

// Adds a round's time (seconds, cpu_seconds) to `total`.
void AddRound(const PhaseStats& round, PhaseStats* total);

// The median pass by throughput (records/s, or I/O bytes/s when no
// records were counted).
PhaseStats MedianPass(std::vector<PhaseStats> passes);

struct DiskUsage {
  int64_t bytes = 0;      // sum of file sizes
  int64_t allocated = 0;  // sum of allocated blocks
  int64_t files = 0;
};

// Files under `dir` (recursively) whose names end with one of `suffixes`
// (all files if empty).
absl::StatusOr<DiskUsage> MeasureDisk(const std::string& dir,
                                      const std::vector<std::string>& suffixes);
absl::StatusOr<std::vector<std::string>> ListFiles(
    const std::string& dir, const std::vector<std::string>& suffixes);

// Reads every file once (untimed) so that all of them are in the page cache.
absl::Status WarmPageCache(const std::vector<std::string>& files);

// Flushes dirty pages (sync(2)) and pauses, so the next phase does not pay
// for the previous phase's writeback.
void Settle(int pause_ms);

// Runs fn(0..n-1) on n threads released together. Fills seconds and
// cpu_seconds of `stats` (wall time from release to the last thread's end)
// and returns the first error.
absl::Status RunTimed(int n, const std::function<absl::Status(int)>& fn,
                      PhaseStats* stats);

// RunTimed for consumers: fn(c, stats of c) on n threads; the result sums
// records, payload_bytes, io_bytes and calls over the threads.
absl::StatusOr<PhaseStats> RunConsumers(
    int n, const std::function<absl::Status(int, PhaseStats*)>& fn);

// Nanoseconds of a monotonic clock.
inline uint64_t MonoNanos() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

// Keeps `v` alive for the optimizer.
inline void Sink(uint64_t v) { asm volatile("" : : "r"(v) : "memory"); }

// Counts and touches one consumed record (its key and value sizes and the
// first value byte), as a consumer would.
inline void TouchRecord(size_t key_bytes, std::string_view value,
                        PhaseStats* stats) {
  Sink(key_bytes + value.size() +
       (value.empty() ? 0 : static_cast<unsigned char>(value[0])));
  ++stats->records;
  stats->payload_bytes += static_cast<int64_t>(key_bytes + value.size());
}
inline void TouchRecord(const RecordView& r, PhaseStats* stats) {
  TouchRecord(r.key.has_value() ? r.key->size() : 0,
              r.value.value_or(std::string_view()), stats);
}

// Calls `fn` every `period` on its own thread until destroyed: how the
// baselines approximate durability "interval".
class Ticker {
 public:
  Ticker(std::chrono::milliseconds period, std::function<void()> fn);
  ~Ticker();
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;

 private:
  Mutex mu_;
  CondVar cv_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// Per-thread latency histograms merged at the end.
class LatencySet {
 public:
  explicit LatencySet(int threads);
  LatencyHistogram* at(int thread) { return per_thread_[thread].get(); }
  Latency Merged() const;

 private:
  std::vector<std::unique_ptr<LatencyHistogram>> per_thread_;
};

}  // namespace spool::bench

#endif  // SPOOL_BENCH_SPOOL_BENCH_MEASURE_H_
