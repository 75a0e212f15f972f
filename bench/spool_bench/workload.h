// The records every system in a run stores, and who produces what.
//
// Record i has a key (a conversation id, "conv-0001234", 12 bytes) and a
// value: a JSON-ish bot message of exactly record_size - 12 bytes drawn from
// a pool of generated messages (templates with varying names, numbers and
// order ids), so compression behaves as on real chat traffic. Keys and
// values come from pools built before any timing starts, so generating
// them costs nothing in the measured phases.
//
// Producer t owns records [t * n / P, (t + 1) * n / P) and sends them in
// batches of `batch`; batch k goes to the k-th of its partitions, round
// robin. With P <= N producer t owns partitions t, t + P, ...; with P > N
// producer t writes partition t % N (several producers per partition).
//
// Thread-safe after construction (read-only).

#ifndef SPOOL_BENCH_SPOOL_BENCH_WORKLOAD_H_
#define SPOOL_BENCH_SPOOL_BENCH_WORKLOAD_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config.h"
#include "spool/record.h"

namespace spool::bench {

inline constexpr int kKeyBytes = 12;

struct ProducerPlan {
  int64_t first_record = 0;
  int64_t end_record = 0;  // exclusive
  std::vector<int32_t> partitions;

  int64_t batches(int batch) const {
    return (end_record - first_record + batch - 1) / batch;
  }
  // Batches [first, second) of round `round` of `rounds`.
  std::pair<int64_t, int64_t> Round(int round, int rounds, int batch) const {
    const int64_t n = batches(batch);
    return {n * round / rounds, n * (round + 1) / rounds};
  }
  // Batch k: its first record, record count and partition.
  int64_t first_of(int64_t k, int batch) const {
    return first_record + k * batch;
  }
  int64_t count_of(int64_t k, int batch) const {
    return std::min<int64_t>(batch, end_record - first_of(k, batch));
  }
  int32_t partition_of(int64_t k) const {
    return partitions[static_cast<size_t>(k) % partitions.size()];
  }
};

class Workload {
 public:
  explicit Workload(const RunConfig& config);

  const RunConfig& config() const { return config_; }
  std::string_view Key(int64_t i) const;
  std::string_view Value(int64_t i) const;
  ProducerPlan Plan(int producer) const;
  // Partitions read by consumer c: c, c + C, ... (C capped at N).
  std::vector<int32_t> ConsumerPartitions(int consumer) const;
  int consumers() const;

  // Adds records [first, first + count) to `builder` with timestamp `ts`.
  void AddRecords(RecordBatchBuilder* builder, int64_t first, int64_t count,
                  int64_t ts) const;

 private:
  static constexpr int kPoolBits = 12;  // 4096 keys and values

  RunConfig config_;
  std::vector<std::string> keys_;
  std::vector<std::string> values_;
};

// Milliseconds since the epoch, for record timestamps.
int64_t NowMillis();

}  // namespace spool::bench

#endif  // SPOOL_BENCH_SPOOL_BENCH_WORKLOAD_H_
