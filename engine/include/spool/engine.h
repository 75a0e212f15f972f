// The Spool engine: topics of partitioned, append-only logs in Kafka's
// on-disk format, on one or more data directories, with a RocksDB catalog.
//
//   spool::EngineOptions options;
//   options.data_dirs = {"/var/lib/spool"};
//   auto engine = spool::Engine::Open(options);          // locks the dirs
//   (*engine)->CreateTopic("chat", {.partitions = 8});
//   (*engine)->Produce("chat", {.key = "conv-42", .value = "hello"});
//   auto fetched = (*engine)->Fetch({"chat", 3}, /*offset=*/0);
//
// Thread safety: Engine is thread-safe. Appends to different partitions run
// in parallel with no lock in common; appends to one partition are ordered
// by that partition's append lock (FIFO per partition); fetches never block
// appends. Topic administration (create/delete/add partitions) is
// serialized among itself.
//
// Errors (absl::Status codes, used consistently by every call):
//   kInvalidArgument     bad input: names, configs, batches, arguments
//   kNotFound            unknown topic, or partition out of range
//   kAlreadyExists       creating a topic that exists
//   kOutOfRange          an offset outside [log start, log end]
//   kFailedPrecondition  a closed engine; a data directory in use; a
//                        partition whose fsync failed (reopen to recover)
//   kResourceExhausted   the disk is full (the call can be retried later)
//   kUnavailable         an I/O error that may go away
//   kDataLoss            corruption found while reading
// Messages say what and where (topic, partition, file, offset).

#ifndef SPOOL_ENGINE_H_
#define SPOOL_ENGINE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "spool/compaction.h"
#include "spool/consumer_groups.h"
#include "spool/durability.h"
#include "spool/file_system.h"
#include "spool/options.h"
#include "spool/record.h"
#include "spool/subscriptions.h"
#include "spool/topic_partition.h"

namespace spool {

struct PartitionInfo {
  int32_t partition = 0;
  std::string data_dir;
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
  int64_t high_watermark = 0;
  int64_t durable_offset = 0;
  int64_t size_bytes = 0;
  int64_t segments = 0;
};

struct TopicDescription {
  std::string name;
  std::string id;  // Kafka-style topic id (22 characters of base64)
  TopicConfig config;
  absl::Time created;
  std::vector<PartitionInfo> partitions;
};

struct AppendOptions {
  // Overrides the topic's durability for this call.
  std::optional<Durability> durability;
  // Written into the batch's partitionLeaderEpoch when >= 0.
  int32_t leader_epoch = -1;
  // false: keep the batch's own offsets (replication); base offset must be
  // >= the log end offset.
  bool assign_offsets = true;
};

struct AppendResult {
  int32_t partition = 0;
  int64_t base_offset = 0;
  int64_t last_offset = 0;
  int64_t log_append_time = -1;  // -1 unless the topic uses LogAppendTime
  bool durable = false;          // fsynced when the call returned
  // Nothing was appended: this batch (an idempotent producer's retry) or
  // every record in it (message-id de-duplication) is already in the log,
  // at the offsets given.
  bool duplicate = false;
  // On a topic with message-id de-duplication: the offset of each record of
  // the batch, in order (a duplicate's is the first copy's).
  std::vector<int64_t> record_offsets;
};

// An idempotent producer's identity (docs/idempotence.md).
struct ProducerId {
  int64_t id = kNoProducerId;
  int16_t epoch = kNoProducerEpoch;
};

// Where records without a key go.
enum class NullKeyPartitioning {
  kRoundRobin,  // each record to the next partition
  kSticky,      // all null-key records of one call to one partition, the
                // next call to the next partition (fewer, larger batches)
};

struct ProduceOptions {
  std::optional<Durability> durability;
  // Send every record to this partition instead of partitioning by key.
  std::optional<int32_t> partition;
  NullKeyPartitioning null_keys = NullKeyPartitioning::kRoundRobin;
};

// Where each produced record went, in the order given.
struct ProduceResult {
  struct Placement {
    int32_t partition;
    int64_t offset;
  };
  std::vector<Placement> records;
  // One append per partition touched.
  std::vector<AppendResult> appends;
};

struct FetchOptions {
  // Whole batches up to this many bytes (at least one batch is returned
  // if any is available, even if larger).
  int64_t max_bytes = 1 << 20;
  // Long poll: wait up to this long for data when the partition has none
  // at `offset` (no busy waiting).
  absl::Duration max_wait = absl::ZeroDuration();
  // Only return batches that are already fsynced.
  bool durable_only = false;
  // Return file regions only (for sendfile); `data`/`batches` stay empty.
  bool zero_copy = false;
  // End the read at a batch start that the partition's offset index knows
  // (one about every index_interval_bytes of log): up to about an index
  // interval and one batch less than fits in max_bytes, but nothing is
  // read past the last whole batch, so a consumer reading on from
  // next_offset copies each byte once. Without it, max_bytes are read and
  // the cut-off batch at the end is dropped. (Ignored with zero_copy,
  // which reads no records.)
  bool end_at_indexed_batch = false;
};

struct FetchResult {
  TopicPartition tp;
  int64_t requested_offset = 0;
  // Offset to fetch next.
  int64_t next_offset = 0;
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
  int64_t high_watermark = 0;
  // Always set: the byte ranges of the batches in their segment files.
  std::vector<FileRegion> regions;
  int64_t bytes = 0;
  // Unless zero_copy: the same batches read into memory and parsed. The
  // first batch may begin before requested_offset (batches are whole);
  // ForEachRecord skips those records.
  std::string data;
  std::vector<RecordBatchView> batches;

  // Calls fn(record) for every record at or after requested_offset;
  // stops early if fn returns false. Errors are decoding errors.
  template <typename Fn>
  absl::Status ForEachRecord(Fn fn) const {
    for (const RecordBatchView& batch : batches) {
      if (batch.header().is_control()) continue;
      RecordIterator it(batch);
      RecordView r;
      while (it.Next(&r)) {
        if (r.offset < requested_offset) continue;
        if (!fn(r)) return absl::OkStatus();
      }
      if (!it.status().ok()) return it.status();
    }
    return absl::OkStatus();
  }
};

struct PartitionOffsets {
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
  int64_t high_watermark = 0;
  int64_t durable_offset = 0;
};

// What opening a partition found (see docs/operations.md, Recovery).
struct PartitionRecovery {
  TopicPartition tp;
  std::string data_dir;
  bool clean_shutdown = false;
  int segments_scanned = 0;
  uint64_t bytes_scanned = 0;
  int64_t log_end_offset = 0;
  // Torn or corrupt data that recovery cut off, as text per truncation.
  std::vector<std::string> truncations;
  uint64_t truncated_bytes = 0;
  bool data_dropped = false;  // more than an all-zero tail was dropped
  std::string summary;
};

class Engine {
 public:
  // Opens the data directories (creating them if options say so), locks
  // them (kFailedPrecondition if another engine has one), opens the
  // catalog and every partition, recovering after an unclean shutdown.
  static absl::StatusOr<std::unique_ptr<Engine>> Open(EngineOptions options);

  virtual ~Engine() = default;

  // Stops background work, flushes and syncs every partition, writes the
  // checkpoints and the clean-shutdown marker, releases the locks.
  // Idempotent; every other call afterwards fails with
  // kFailedPrecondition. The destructor closes an open engine.
  virtual absl::Status Close() = 0;

  // --- Topics -------------------------------------------------------------
  // Creates a topic and its partition directories. Durable on return.
  virtual absl::Status CreateTopic(std::string_view name,
                                   const TopicConfig& config) = 0;
  // Deletes a topic and all its data. Durable on return; a crash midway is
  // finished at the next Open.
  virtual absl::Status DeleteTopic(std::string_view name) = 0;
  virtual absl::StatusOr<std::vector<std::string>> ListTopics() const = 0;
  virtual absl::StatusOr<TopicDescription> DescribeTopic(
      std::string_view name) const = 0;
  // The number of partitions of a topic (cheap; no statistics gathered).
  virtual absl::StatusOr<int32_t> PartitionCount(
      std::string_view name) const = 0;
  // Grows a topic to `total_partitions` (never shrinks: kInvalidArgument).
  // Keys may map to different partitions afterwards, as in Kafka.
  virtual absl::Status AddPartitions(std::string_view name,
                                     int32_t total_partitions) = 0;

  // --- Writing --------------------------------------------------------------
  // Appends one complete Kafka v2 record batch to a partition. The engine
  // assigns offsets (rewriting the batch's base offset), validates the
  // batch (CRC, records, size) and, per durability, returns after fsync.
  // FIFO per partition.
  virtual absl::StatusOr<AppendResult> Append(
      const TopicPartition& tp, std::string batch,
      const AppendOptions& options = {}) = 0;

  // Appends records, each to the partition of its key (Kafka's murmur2
  // partitioner) unless options.partition is set; records without a key
  // per options.null_keys. One batch per partition touched, built with the
  // topic's compression. Records in one call that go to the same partition
  // stay in order and are appended atomically (one batch).
  virtual absl::StatusOr<ProduceResult> ProduceBatch(
      std::string_view topic, const std::vector<Record>& records,
      const ProduceOptions& options = {}) = 0;
  // One record.
  absl::StatusOr<ProduceResult> Produce(std::string_view topic, Record record,
                                        const ProduceOptions& options = {}) {
    std::vector<Record> records;
    records.push_back(std::move(record));
    return ProduceBatch(topic, records, options);
  }

  // Hands out a producer id for idempotent appends: batches carrying it,
  // its epoch and consecutive sequence numbers are never appended twice
  // (a retry returns the first copy's offsets). An empty `name` gives a new
  // id with epoch 0. A name gives the same id every time with the epoch
  // bumped, fencing the previous incarnation (its appends then fail with
  // ErrorKind::kProducerFenced). Durable on return.
  virtual absl::StatusOr<ProducerId> InitProducerId(
      std::string_view name = "") = 0;

  // --- Reading --------------------------------------------------------------
  // Whole batches from the one holding `offset`. An offset equal to the
  // log end returns nothing (after waiting up to max_wait for data);
  // outside [log start, log end] is kOutOfRange.
  virtual absl::StatusOr<FetchResult> Fetch(
      const TopicPartition& tp, int64_t offset,
      const FetchOptions& options = {}) const = 0;

  virtual absl::StatusOr<PartitionOffsets> Offsets(
      const TopicPartition& tp) const = 0;
  // The earliest offset whose record timestamp is >= timestamp_ms, or
  // nullopt if every record is older (Kafka's ListOffsets by time).
  virtual absl::StatusOr<std::optional<int64_t>> OffsetForTimestamp(
      const TopicPartition& tp, int64_t timestamp_ms) const = 0;

  // --- Replication primitives ---------------------------------------------
  virtual absl::StatusOr<int64_t> TruncateTo(const TopicPartition& tp,
                                             int64_t offset) = 0;
  virtual absl::Status SetHighWatermark(const TopicPartition& tp,
                                        int64_t offset) = 0;
  // Kafka's DeleteRecords: advances the log start offset.
  virtual absl::Status DeleteRecordsBefore(const TopicPartition& tp,
                                           int64_t offset) = 0;

  // --- Consumer groups ------------------------------------------------------
  // Committed offsets, group membership and lag (spool/consumer_groups.h).
  // The reference stays valid for the engine's lifetime; after Close()
  // its calls fail with kFailedPrecondition.
  virtual ConsumerGroups& groups() = 0;

  // --- Shared subscriptions (work queues) ----------------------------------
  // Per-record leases, acks, retries with backoff, dead-letter topics
  // (spool/subscriptions.h, docs/queues.md). Valid for the engine's
  // lifetime; after Close() its calls fail with kFailedPrecondition.
  virtual Subscriptions& subscriptions() = 0;

  // --- Operations -----------------------------------------------------------
  // Makes everything appended so far durable, in every partition.
  virtual absl::Status Flush() = 0;
  // Runs retention now (it also runs every
  // EngineOptions::retention_check_interval): in every partition of `topic`
  // (all topics if empty) whose cleanup policy includes delete, deletes the
  // oldest segments older than retention, beyond retention_bytes, or (with
  // retain_until_consumed) consumed by every group and subscription; never
  // the active segment. kNotFound for an unknown topic.
  virtual absl::StatusOr<RetentionStats> ApplyRetention(
      std::string_view topic = "") = 0;
  // Compacts one partition of a topic whose cleanup policy includes
  // compact, now, on the calling thread (docs/compaction.md): keeps the
  // latest record per key in the sealed segments older than
  // min_compaction_lag. A dry run reports what would be removed. Background
  // compaction (EngineOptions::cleaner_threads) does the same by dirty
  // ratio. kFailedPrecondition for a delete-only topic, kNotFound for an
  // unknown partition, kCancelled if the engine closes meanwhile,
  // kAborted if retention changed the log meanwhile (retry).
  virtual absl::StatusOr<CompactionStats> Compact(
      const TopicPartition& tp, const CompactOptions& options = {}) = 0;
  // What opening each partition found.
  virtual std::vector<PartitionRecovery> RecoveryReports() const = 0;
  // Prometheus text exposition format (version 0.0.4).
  virtual std::string Metrics() const = 0;
};

}  // namespace spool

#endif  // SPOOL_ENGINE_H_
