// The peer: RocksDB used as a queue, as a user without Spool would.
//
// One DB for the topic. Key: partition (4 bytes) and sequence number (8
// bytes), both big-endian, so each partition is a contiguous, ordered key
// range. Value: key length (1 byte), key, value. One WriteBatch per
// producer batch, WAL on; sync: WriteOptions::sync per WriteBatch;
// interval: sync = false and a thread calling SyncWAL() periodically.
// Compression: none or ZSTD as the run says. Everything else is RocksDB's
// default (64 MiB memtable, leveled compaction, 2 background jobs).
// Consumers read their partitions with an iterator bounded to the
// partition's key range.
//
// Thread-compatible: one phase at a time.

#ifndef SPOOL_BENCH_SPOOL_BENCH_ROCKSDB_RUNNER_H_
#define SPOOL_BENCH_SPOOL_BENCH_ROCKSDB_RUNNER_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "measure.h"
#include "rocksdb/db.h"
#include "workload.h"

namespace spool::bench {

class RocksDbRunner {
 public:
  RocksDbRunner(const Workload& workload, std::string dir);
  ~RocksDbRunner();

  absl::Status Open();
  absl::Status Close();

  // Writes round `round` of config.rounds (everything with one round) and
  // returns its time; latency (per DB::Write) accumulates over rounds.
  absl::StatusOr<PhaseStats> Produce(int round);
  Latency write_latency() const { return latency_.Merged(); }
  // One pass over every partition with an iterator, every record touched.
  absl::StatusOr<PhaseStats> Consume();

  // Every file of the DB directory (SST, WAL, MANIFEST, LOG, OPTIONS).
  absl::StatusOr<DiskUsage> Disk() const;
  const std::string& dir() const { return dir_; }

 private:
  absl::Status ProduceOne(int producer, int round);
  absl::Status ConsumePartition(int32_t partition, PhaseStats* stats);

  const Workload& workload_;
  const RunConfig& config_;
  const std::string dir_;
  std::unique_ptr<rocksdb::DB> db_;
  LatencySet latency_;
  // Next sequence number per partition.
  std::unique_ptr<std::atomic<int64_t>[]> next_seq_;
};

}  // namespace spool::bench

#endif  // SPOOL_BENCH_SPOOL_BENCH_ROCKSDB_RUNNER_H_
