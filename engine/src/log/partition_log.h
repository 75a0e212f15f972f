// One partition's append-only log: a directory of segments
// (docs/format/segments.md), with offset assignment, reads by offset and by
// timestamp, durability modes with group commit, truncation for
// replication, log-start advancement and crash recovery.
//
// Thread-safe. Appends are serialized by the partition's append lock;
// reads take no lock that an append holds (they snapshot the segment list
// and read below the published end), so readers never block the writer.
// Durable appends wait for fdatasync outside the append lock, so many sync
// appenders share one fdatasync (group commit).
//
// Errors: kInvalidArgument for a bad batch (the message names the check),
// kOutOfRange for offsets outside [log start, log end], kFailedPrecondition
// after Close() or after an fsync failure (see Append), kResourceExhausted
// when the disk is full, kDataLoss for corruption found while reading.

#ifndef SPOOL_LOG_PARTITION_LOG_H_
#define SPOOL_LOG_PARTITION_LOG_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "io/file_cache.h"
#include "log/dedup_window.h"
#include "log/log_cleaner.h"
#include "log/log_config.h"
#include "log/producer_state.h"
#include "log/segment.h"
#include "spool/clock.h"
#include "spool/durability.h"
#include "spool/file_system.h"
#include "spool/record.h"
#include "util/histogram.h"
#include "util/mutex.h"
#include "util/wake_epoch.h"

namespace spool {

struct LogAppendOptions {
  // Overrides LogConfig::durability for this append.
  std::optional<Durability> durability;
  // Written into the batch's partitionLeaderEpoch field when >= 0.
  int32_t leader_epoch = -1;
  // false: the batch keeps its own offsets (a follower copying a leader's
  // log); its base offset must be >= the log end offset. Control and
  // transactional batches are accepted only this way.
  bool assign_offsets = true;
};

struct LogAppendResult {
  int64_t base_offset = 0;
  int64_t last_offset = 0;
  int64_t log_append_time = -1;  // -1 for CreateTime topics
  int32_t records = 0;
  int64_t bytes = 0;
  // Whether the batch was durable (fsynced) when the call returned.
  bool durable = false;
  // Nothing was appended: the batch (idempotent producer retry) or every
  // record (message-id de-duplication) was already in the log; the offsets
  // are those of the first copy.
  bool duplicate = false;
  // With message-id de-duplication on: for each record of the batch, in
  // order, the offset it has in the log (its own, or the first copy's).
  std::vector<int64_t> record_offsets;
};

struct LogReadOptions {
  // Stop after this many bytes of whole batches...
  int64_t max_bytes = 1 << 20;
  // ... but return the first batch even if it alone is larger.
  bool min_one_batch = true;
  // Exclusive upper bound on offsets returned; -1 = the high watermark.
  int64_t max_offset = -1;
  // Return only batches already fsynced.
  bool durable_only = false;
  // Reading into memory (ReadBatches), end at a batch start the offset
  // index knows below max_bytes, instead of reading up to max_bytes and
  // dropping the cut-off batch at the end (which the next read copies
  // again). Returns up to about an index interval and a batch less.
  bool end_at_indexed_batch = false;
};

struct LogReadResult {
  // Byte ranges of whole batches, in offset order, one per segment
  // touched. Each keeps its file open.
  std::vector<FileRegion> regions;
  int64_t bytes = 0;
  // The offset a follow-up read should ask for (the end of the last batch
  // returned, or the requested offset if nothing was returned).
  int64_t next_offset = 0;
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
  int64_t high_watermark = 0;
};

// Batches read into memory and parsed; views point into `data`.
struct LogBatches {
  std::string data;
  std::vector<RecordBatchView> batches;
  // Where `data` came from (as LogReadResult::regions) and its size.
  std::vector<FileRegion> regions;
  int64_t bytes = 0;
  int64_t next_offset = 0;
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
  int64_t high_watermark = 0;
};

// What opening a log found and did. Reported through the API, logged and
// counted in metrics by the engine.
struct RecoveryReport {
  struct Truncation {
    std::string file;
    uint64_t position = 0;          // where the valid data ended
    uint64_t bytes = 0;             // bytes removed
    int64_t first_lost_offset = 0;  // the log end after truncation
    std::string reason;
    bool zero_tail = false;  // the removed bytes were all zeros
  };
  bool clean_shutdown = false;
  int64_t recovery_point = 0;  // where scanning started
  int segments_loaded = 0;
  int segments_scanned = 0;
  uint64_t bytes_scanned = 0;
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
  std::vector<Truncation> truncations;
  // Segments removed because they followed a truncated one, and leftover
  // files of interrupted operations that were resolved.
  std::vector<std::string> removed_files;

  // True if bytes other than an all-zero tail were dropped.
  bool data_dropped() const;
  std::string ToString() const;
};

struct PartitionLogOptions {
  FileSystem* fs = nullptr;
  FileCache* files = nullptr;
  Clock* clock = nullptr;
  std::string dir;  // the partition directory, created if missing
  LogConfig config;
  // From the data directory's checkpoint files.
  int64_t recovery_point = 0;
  int64_t log_start_offset = 0;
  bool clean_shutdown = false;
  // Where fdatasync latencies (seconds) are recorded; may be null. Not
  // owned; must outlive the log.
  BucketHistogram* fsync_seconds = nullptr;
  // Makes the log start offset durable (the data directory's checkpoint);
  // called before segments are deleted. May be empty.
  std::function<absl::Status()> persist_log_start;
};

// What old data a partition may delete (docs/compaction.md, Retention).
struct RetentionRules {
  // Delete segments whose newest record is older than this.
  absl::Duration retention = absl::InfiniteDuration();
  // Delete oldest segments while the partition is larger than this; -1 off.
  int64_t retention_bytes = -1;
  // Work-queue retention: a segment goes as soon as every offset in it is
  // below `floor` (consumed by every group and subscription), and never
  // before, whatever time and size say. No floor (nobody registered):
  // nothing goes.
  bool until_consumed = false;
  std::optional<int64_t> floor;
};

struct RetentionResult {
  int segments_deleted = 0;
  int64_t bytes_deleted = 0;
  int64_t log_start_offset = 0;
};

struct PartitionLogStats {
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
  int64_t high_watermark = 0;
  int64_t durable_offset = 0;
  int64_t size_bytes = 0;
  int64_t segments = 0;
  int64_t appends = 0;
  int64_t appended_records = 0;
  int64_t appended_bytes = 0;
  int64_t reads = 0;
  int64_t read_bytes = 0;
  int64_t syncs = 0;
  int64_t rolls = 0;
  int64_t deleted_segments = 0;  // by retention and log-start moves
  int64_t deleted_bytes = 0;
  int64_t producers = 0;   // idempotent producers with state
  int64_t dedup_ids = 0;   // message ids in the de-duplication window
  int64_t duplicates = 0;  // appends answered as duplicates
  // Compaction (docs/compaction.md).
  int64_t cleaner_runs = 0;
  int64_t cleaner_bytes_read = 0;
  int64_t cleaner_bytes_written = 0;
  int64_t cleaner_bytes_reclaimed = 0;
  int64_t cleaner_records_removed = 0;
  double cleaner_seconds = 0;
  double dirty_ratio = 0;  // as last computed by Cleanable()
};

// The part of a log compaction may touch, and how dirty it is.
struct CleanablePart {
  // Segments [0, end_index) are cleanable: sealed, below the high
  // watermark and any open transaction, older than min_compaction_lag.
  size_t end_index = 0;
  int64_t end_offset = 0;
  // Where records not yet cleaned start, and the segment holding it.
  int64_t first_dirty = 0;
  size_t first_dirty_index = 0;
  int64_t cleanable_bytes = 0;
  int64_t dirty_bytes = 0;
  double dirty_ratio = 0;
  // The oldest dirty segment is older than max_compaction_lag.
  bool max_lag_exceeded = false;
};

class PartitionLog {
 public:
  // Opens (creating if needed) the log in options.dir and recovers it:
  // after a clean shutdown segment metadata is loaded without scanning
  // data; otherwise every segment from the recovery point on is scanned,
  // validated and truncated at the first torn or corrupt batch, later
  // segments are removed, indexes rebuilt. `report` may be null.
  static absl::StatusOr<std::unique_ptr<PartitionLog>> Open(
      PartitionLogOptions options, RecoveryReport* report);

  PartitionLog(const PartitionLog&) = delete;
  PartitionLog& operator=(const PartitionLog&) = delete;
  ~PartitionLog();

  // Flushes and syncs everything, seals the active segment (indexes
  // trimmed) and rejects further calls with kFailedPrecondition.
  // Idempotent.
  absl::Status Close() ABSL_LOCKS_EXCLUDED(append_mu_);

  // Appends one complete v2 batch (the string is modified in place: base
  // offset, leader epoch, LogAppendTime). Validates it fully first (CRC,
  // every record, record count equal to lastOffsetDelta + 1 for assigned
  // offsets, size <= max_batch_bytes). With kSync the call returns after an
  // fdatasync that covers the batch. On a write error (disk full, I/O
  // error) nothing is appended and the log stays readable; later appends
  // may succeed. An fdatasync failure makes durability unknowable, so the
  // log then refuses appends (kFailedPrecondition) until reopened, which
  // runs recovery.
  absl::StatusOr<LogAppendResult> Append(std::string batch,
                                         const LogAppendOptions& options = {})
      ABSL_LOCKS_EXCLUDED(append_mu_);

  // Whole batches starting with the one that holds `offset`. kOutOfRange if
  // offset < log start or > log end; empty at the end.
  absl::StatusOr<LogReadResult> Read(int64_t offset,
                                     const LogReadOptions& options = {}) const;
  // Same, read into memory and parsed.
  absl::StatusOr<LogBatches> ReadBatches(
      int64_t offset, const LogReadOptions& options = {}) const;

  // The earliest offset whose record timestamp is >= ts, or nullopt if
  // every record is older.
  absl::StatusOr<std::optional<int64_t>> OffsetForTimestamp(int64_t ts) const;

  // Bytes of whole batches from the one holding `offset` (the first whose
  // last offset is >= `offset`) to the log end: the backlog of a consumer
  // at `offset`. 0 at the log end; kOutOfRange outside [log start, log
  // end]. One index lookup and a short scan of one segment, plus the sizes
  // of the later segments. Batches appended during the call may or may not
  // be counted.
  absl::StatusOr<int64_t> BytesFrom(int64_t offset) const;

  // Blocks until the log end offset exceeds `offset`, the deadline passes
  // or the log closes. Returns true if there is data past `offset`.
  bool WaitForData(int64_t offset, absl::Time deadline) const;

  int64_t log_start_offset() const { return log_start_offset_.load(); }
  int64_t log_end_offset() const { return log_end_offset_.load(); }
  int64_t high_watermark() const { return high_watermark_.load(); }
  // Every offset below this is on disk (fdatasync'ed): the recovery point.
  int64_t durable_offset() const { return durable_offset_.load(); }
  const std::string& dir() const { return dir_; }
  const LogConfig& config() const { return config_; }

  // Replication: the high watermark normally follows the log end; a
  // replication layer sets it explicitly (<= log end).
  absl::Status SetHighWatermark(int64_t offset);

  // Removes every batch holding an offset >= `offset` (whole batches: the
  // log ends at the start of the batch holding `offset`). Syncs. Returns
  // the new log end offset.
  absl::StatusOr<int64_t> TruncateTo(int64_t offset)
      ABSL_LOCKS_EXCLUDED(append_mu_);

  // Advances the log start offset to `offset` (<= high watermark) and
  // deletes segments wholly below it (never the active one). Reads below
  // the new start fail with kOutOfRange.
  absl::Status AdvanceLogStart(int64_t offset) ABSL_LOCKS_EXCLUDED(append_mu_);

  // Deletes the oldest segments the rules allow (oldest first, never the
  // active segment, never past the high watermark), advancing the log
  // start offset (made durable first). Crash-safe: segments are renamed
  // .deleted, removed when no reader holds them, and recovery removes any
  // leftover.
  absl::StatusOr<RetentionResult> ApplyRetention(absl::Time now,
                                                 const RetentionRules& rules)
      ABSL_LOCKS_EXCLUDED(append_mu_);

  // Key compaction (partition_log_compact.cc, docs/compaction.md): keeps
  // the latest record per key in the cleanable part, writing cleaned
  // segments and swapping them in crash-safely. Returns cleaned = false
  // (and changes nothing) if nothing is cleanable or, unless rules.force,
  // the dirty ratio is below rules.min_cleanable_dirty_ratio and the max
  // lag has not passed. kCancelled if control.cancel was set (nothing
  // changed), kAborted if the log changed underneath (retention,
  // truncation; retry), kFailedPrecondition after Close(). An I/O error
  // after the swap's commit point poisons the log (see Append); reopening
  // completes the swap.
  absl::StatusOr<CompactionStats> Compact(absl::Time now,
                                          const CleanerRules& rules,
                                          const CleanerControl& control = {})
      ABSL_LOCKS_EXCLUDED(clean_mu_, append_mu_);
  // The cleanable part and its dirty ratio (cheap: segment metadata only).
  CleanablePart Cleanable(absl::Time now, const CleanerRules& rules) const
      ABSL_LOCKS_EXCLUDED(append_mu_);

  // Makes everything appended so far durable (one fdatasync, shared with
  // concurrent sync appenders) and writes pending index entries.
  absl::Status Flush() ABSL_LOCKS_EXCLUDED(append_mu_);
  // kInterval: true when unsynced data is older than flush_interval or
  // more than flush_records records are unsynced.
  bool NeedsFlush(absl::Time now) const;

  PartitionLogStats Stats() const;

  // Forgets idempotent producers idle for longer than
  // producer_id_expiration and message ids older than the window.
  void ExpireProducers(absl::Time now) ABSL_LOCKS_EXCLUDED(append_mu_);
  // The idempotent producers' state, for tools and tests.
  std::vector<ProducerEntry> Producers() const ABSL_LOCKS_EXCLUDED(append_mu_);

  // Snapshot of the segments, oldest first.
  std::vector<std::shared_ptr<Segment>> Segments() const;

 private:
  using SegmentList = std::vector<std::shared_ptr<Segment>>;

  explicit PartitionLog(PartitionLogOptions options);

  absl::Status Load(RecoveryReport* report);
  absl::Status RemoveLeftovers(std::vector<std::string>* names,
                               RecoveryReport* report);
  absl::Status OpenSegments(const std::vector<int64_t>& bases,
                            RecoveryReport* report);

  absl::Status ValidateForAppend(
      const RecordBatchView& batch, const LogAppendOptions& options,
      int64_t* max_timestamp,
      std::vector<std::optional<std::string>>* dedup_ids) const;
  // Idempotence and message-id checks under the append lock. Returns true
  // if the append is answered from `result` without writing; may replace
  // `batch` by one without the duplicate records.
  absl::StatusOr<bool> CheckDuplicatesLocked(
      std::string* batch, BatchHeader* header, int64_t* max_timestamp,
      const std::vector<std::optional<std::string>>& ids,
      const LogAppendOptions& options, LogAppendResult* result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(append_mu_);
  // Writes the (checked) batch: assigns offsets, rolls if needed, appends,
  // publishes. Fills result's offsets.
  absl::Status AppendLocked(std::string* batch, BatchHeader* header,
                            int64_t max_timestamp,
                            const LogAppendOptions& options,
                            LogAppendResult* result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(append_mu_);
  void RememberAppendLocked(const BatchHeader& header,
                            const std::vector<std::optional<std::string>>& ids,
                            LogAppendResult* result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(append_mu_);
  // Producer snapshots (producer_state.h).
  absl::Status WriteProducerSnapshotLocked(int64_t offset)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(append_mu_);
  absl::Status LoadProducerStateLocked(bool clean)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(append_mu_);
  absl::Status RebuildDedupWindowLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(append_mu_);
  // Calls fn(view) for every batch from the one holding `offset` to the
  // end, reading whole batches (recovery-time replays).
  absl::Status ForEachBatchFrom(
      int64_t offset,
      const std::function<absl::Status(const RecordBatchView&)>& fn) const;
  std::vector<int64_t> SnapshotOffsets() const;
  absl::Status SetLogStartLocked(int64_t offset)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(append_mu_);
  absl::Status DropOldestSegmentsLocked(size_t count)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(append_mu_);
  absl::Status RollLocked(int64_t base_offset)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(append_mu_);
  absl::Status WaitDurable(int64_t end_offset) ABSL_LOCKS_EXCLUDED(sync_mu_);
  absl::StatusOr<int64_t> SyncActive();
  // The error of a failed fdatasync, which poisons the log; OK if none.
  absl::Status SyncFailure() ABSL_LOCKS_EXCLUDED(sync_mu_);
  // Records that an fdatasync failed with `cause`; returns the poison
  // error every later append gets.
  absl::Status Poison(const absl::Status& cause) ABSL_LOCKS_EXCLUDED(sync_mu_);
  absl::Status PoisonLocked(const absl::Status& cause)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(sync_mu_);
  void PublishEnd(int64_t end) ABSL_EXCLUSIVE_LOCKS_REQUIRED(append_mu_);
  // Compaction helpers (partition_log_compact.cc).
  CleanablePart PlanLocked(absl::Time now, const CleanerRules& rules,
                           const SegmentList& segs,
                           int64_t first_unstable) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(append_mu_);
  absl::Status SwapLocked(const SegmentList& old_segs, size_t count,
                          const SegmentList& cleaned)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(append_mu_);

  std::shared_ptr<const SegmentList> snapshot() const
      ABSL_LOCKS_EXCLUDED(segments_mu_);
  void SetSegments(SegmentList segments) ABSL_LOCKS_EXCLUDED(segments_mu_);
  // Read's work over a snapshot; with `data`, also appends the bytes of
  // the regions to it, reading each byte once (ReadBatches).
  absl::StatusOr<LogReadResult> ReadLocked(int64_t offset,
                                           const LogReadOptions& options,
                                           const SegmentList& segs,
                                           std::string* data) const;

  // Constant after construction.
  const std::string dir_;
  const LogConfig config_;
  FileSystem* const fs_;
  Clock* const clock_;
  SegmentContext ctx_;
  std::unique_ptr<FileCache> owned_files_;  // when none was given
  BucketHistogram* const fsync_seconds_;
  const std::function<absl::Status()> persist_log_start_;

  // Serializes compactions of this log (held for a whole cleaning, which
  // takes append_mu_ only to plan and to swap).
  Mutex clean_mu_ ABSL_ACQUIRED_BEFORE(append_mu_);
  // Offset where records not yet cleaned start (-1: the log start).
  std::atomic<int64_t> cleaned_offset_{-1};

  // Serializes writers: appends, rolls, truncation, deletion, close.
  mutable Mutex append_mu_ ABSL_ACQUIRED_BEFORE(segments_mu_);
  bool closed_ ABSL_GUARDED_BY(append_mu_) = false;
  ProducerStateManager producers_ ABSL_GUARDED_BY(append_mu_);
  std::optional<DedupWindow> dedup_ ABSL_GUARDED_BY(append_mu_);

  // The segment list, replaced (copy-on-write) by writers.
  mutable Mutex segments_mu_;
  std::shared_ptr<const SegmentList> segments_ ABSL_GUARDED_BY(segments_mu_);

  // Group commit. Lock order: append_mu_ before sync_mu_.
  Mutex sync_mu_ ABSL_ACQUIRED_AFTER(append_mu_);
  std::atomic<bool> sync_failed_{false};
  bool syncing_ ABSL_GUARDED_BY(sync_mu_) = false;
  CondVar sync_cv_;  // signalled when a sync finishes
  // Bumped (and every waiter woken) when a sync finishes; callers waiting
  // for another's fdatasync wait on it outside sync_mu_ (WaitDurable).
  WakeEpoch sync_epoch_;
  absl::Status sync_error_ ABSL_GUARDED_BY(sync_mu_);
  // Gathering before a group commit (WaitDurable): the leader waits, for
  // at most a fraction of the last fdatasync's duration, until as many
  // callers as the last fdatasync covered have arrived since it ended.
  CondVar gather_cv_;  // signalled when an arrival takes the gathering over
  bool gathering_ ABSL_GUARDED_BY(sync_mu_) = false;
  int64_t gathers_ ABSL_GUARDED_BY(sync_mu_) = 0;        // gatherings started
  int64_t sync_arrivals_ ABSL_GUARDED_BY(sync_mu_) = 0;  // ever, not durable
  int64_t arrivals_at_sync_start_ ABSL_GUARDED_BY(sync_mu_) = 0;
  int64_t arrivals_at_sync_end_ ABSL_GUARDED_BY(sync_mu_) = 0;
  int64_t last_sync_covered_ ABSL_GUARDED_BY(sync_mu_) = 0;
  absl::Duration last_sync_duration_ ABSL_GUARDED_BY(sync_mu_);

  // Long-poll waiters.
  mutable Mutex data_mu_;
  mutable CondVar data_cv_;  // signalled when the log end moves or closes
  mutable std::atomic<int> data_waiters_{0};

  // Published offsets and counters, readable without locks.
  std::atomic<int64_t> log_start_offset_{0};
  std::atomic<int64_t> log_end_offset_{0};
  std::atomic<int64_t> high_watermark_{0};
  std::atomic<int64_t> durable_offset_{0};
  std::atomic<bool> explicit_high_watermark_{false};
  std::atomic<bool> closing_{false};
  std::atomic<int64_t> first_unsynced_micros_{0};  // 0 = all synced
  std::atomic<int64_t> unsynced_records_{0};
  std::atomic<int64_t> appends_{0};
  std::atomic<int64_t> appended_records_{0};
  std::atomic<int64_t> appended_bytes_{0};
  mutable std::atomic<int64_t> reads_{0};
  mutable std::atomic<int64_t> read_bytes_{0};
  std::atomic<int64_t> syncs_{0};
  std::atomic<int64_t> rolls_{0};
  std::atomic<int64_t> duplicates_{0};
  std::atomic<int64_t> deleted_segments_{0};
  std::atomic<int64_t> deleted_bytes_{0};
  std::atomic<int64_t> producer_count_{0};
  std::atomic<int64_t> dedup_count_{0};
  std::atomic<int64_t> cleaner_runs_{0};
  std::atomic<int64_t> cleaner_bytes_read_{0};
  std::atomic<int64_t> cleaner_bytes_written_{0};
  std::atomic<int64_t> cleaner_bytes_reclaimed_{0};
  std::atomic<int64_t> cleaner_records_removed_{0};
  std::atomic<int64_t> cleaner_micros_{0};
  mutable std::atomic<double> dirty_ratio_{0};
};

}  // namespace spool

#endif  // SPOOL_LOG_PARTITION_LOG_H_
