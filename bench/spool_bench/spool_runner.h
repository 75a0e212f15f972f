// Spool under test: producers append the workload to one topic through the
// public API (Engine::Append with client-built batches, or
// Engine::ProduceBatch), consumers fetch every partition back from offset 0
// (decoded, or as file regions sent with sendfile).
//
// Thread-compatible: one phase at a time; each phase runs its own threads.

#ifndef SPOOL_BENCH_SPOOL_BENCH_SPOOL_RUNNER_H_
#define SPOOL_BENCH_SPOOL_BENCH_SPOOL_RUNNER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "measure.h"
#include "prebuilt.h"
#include "spool/engine.h"
#include "workload.h"

namespace spool::bench {

inline constexpr char kTopic[] = "bench";

// Whether this build's engine hands out producer ids for idempotent
// appends (Engine::InitProducerId).
bool IdempotenceAvailable();
// Whether this build's topics have TopicConfig::preallocate_bytes.
bool PreallocationAvailable();

struct ProducerIdentity {
  int64_t id = kNoProducerId;
  int16_t epoch = kNoProducerEpoch;
};

class SpoolRunner {
 public:
  // `dir` is the engine's data directory, created by Open(). `batches`
  // (built before Produce() with --api prebuilt) must outlive the runner.
  SpoolRunner(const Workload& workload, const PrebuiltBatches& batches,
              std::string dir);
  ~SpoolRunner();

  // Opens the engine and creates the topic if it does not exist yet.
  absl::Status Open();
  absl::Status Close();

  // With --api prebuilt: copies every batch the producers will append into
  // its own string (untimed), so the timed appends move ready buffers in,
  // as the raw baseline writes ready bytes. Call after `batches` is built.
  absl::Status PrepareOwnedBatches();

  // Appends round `round` of config.rounds of the workload (all of it with
  // one round) and returns its time; throughput includes building the
  // batches. Latency is per Append / ProduceBatch call, over all rounds.
  absl::StatusOr<PhaseStats> Produce(int round);
  Latency produce_latency() const { return latency_.Merged(); }
  // fdatasync calls the engine made for the topic since Open()
  // (spool_partition_fsyncs_total in Engine::Metrics(), summed over the
  // partitions): appends' group commits and background flushes.
  absl::StatusOr<int64_t> Fsyncs() const;
  // Bytes of the partitions' .log files.
  absl::StatusOr<int64_t> LogBytes() const;
  // One pass: every partition from offset 0 to its end, every record
  // decoded (CRC checked) and its key and value touched.
  absl::StatusOr<PhaseStats> ConsumeDecoded();
  // One pass with FetchOptions::zero_copy, each region sent to /dev/null
  // with sendfile(2).
  absl::StatusOr<PhaseStats> ConsumeZeroCopy();

  // The .log files of the partitions consumer `c` reads, in offset order.
  absl::StatusOr<std::vector<std::string>> LogFiles(int consumer) const;
  // .log + .index + .timeindex of every partition.
  absl::StatusOr<DiskUsage> Disk() const;

 private:
  absl::Status InitProducerIds();
  absl::Status ProduceAppend(int producer, int round);
  absl::Status ProduceRecords(int producer, int round);
  absl::Status ProducePrebuilt(int producer, int round);
  absl::StatusOr<PhaseStats> ConsumeAll(bool zero_copy, int sink_fd);
  absl::Status ConsumePartition(int32_t partition, bool zero_copy, int sink_fd,
                                PhaseStats* stats) const;
  std::string PartitionDir(int32_t partition) const;

  const Workload& workload_;
  const RunConfig& config_;
  const PrebuiltBatches& batches_;
  const std::string dir_;
  std::unique_ptr<Engine> engine_;
  LatencySet latency_;
  // With --idempotent: one producer id per producer thread, and its next
  // sequence number per partition of its plan, kept across rounds.
  std::vector<ProducerIdentity> producer_ids_;
  // --api prebuilt: owned[t][k] is producer t's batch k, moved out by the
  // append (each producer thread touches only its own vector).
  std::vector<std::vector<std::string>> owned_;
  std::vector<std::vector<int32_t>> sequences_;
};

}  // namespace spool::bench

#endif  // SPOOL_BENCH_SPOOL_BENCH_SPOOL_RUNNER_H_
