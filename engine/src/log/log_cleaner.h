// Key compaction of one partition log (docs/compaction.md), Kafka's
// LogCleaner in two passes:
//   1. OffsetMapBuilder scans the dirty part (records appended since the
//      last cleaning) and records, per key, the offset of its latest
//      record (committed transactions only; aborted ones are remembered);
//   2. SegmentRewriter copies the cleanable segments, in groups that fit
//      one segment, into new "<base>.log.cleaned" segments keeping a
//      record only if no later record has its key, dropping tombstones
//      whose delete horizon passed, records without a key and records of
//      aborted transactions. Offsets never change; batches keep their
//      header (producer id, epoch, sequence, offset span); a batch left
//      without records is dropped unless it is the last batch of an
//      idempotent producer or of the group, which stay as empty batches.
// PartitionLog::Compact (partition_log_compact.cc) plans and swaps.
//
// Thread-compatible: one cleaning per log at a time.

#ifndef SPOOL_LOG_LOG_CLEANER_H_
#define SPOOL_LOG_LOG_CLEANER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "log/segment.h"
#include "spool/compaction.h"
#include "util/mutex.h"

namespace spool {

// What a topic's configuration says about cleaning.
struct CleanerRules {
  // Tombstones stay readable this long after the cleaning that first kept
  // them (delete.retention.ms).
  absl::Duration delete_retention = absl::Hours(24);
  // Segments with a record newer than this are not cleaned yet.
  absl::Duration min_compaction_lag = absl::ZeroDuration();
  // A partition whose oldest dirty record is older than this is cleaned
  // whatever its dirty ratio.
  absl::Duration max_compaction_lag = absl::InfiniteDuration();
  double min_cleanable_dirty_ratio = 0.5;
  // Clean even below the dirty-ratio threshold.
  bool force = false;
  bool dry_run = false;
  // Memory budget of the key -> offset map.
  int64_t max_map_bytes = int64_t{128} << 20;
};

// Limits the cleaner's I/O (bytes read plus written) to a rate shared by
// every thread that uses it. Thread-safe.
class RateLimiter {
 public:
  // bytes_per_second <= 0: unlimited.
  explicit RateLimiter(int64_t bytes_per_second);
  // Blocks until `bytes` may be used (at most about a second of budget is
  // banked), or until `cancel` becomes true.
  void Acquire(int64_t bytes, const std::atomic<bool>* cancel)
      ABSL_LOCKS_EXCLUDED(mu_);
  int64_t bytes_per_second() const { return rate_; }

 private:
  const int64_t rate_;
  Mutex mu_;
  double tokens_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_ ABSL_GUARDED_BY(mu_);
};

// How a cleaning may be slowed or stopped from outside.
struct CleanerControl {
  RateLimiter* limiter = nullptr;             // may be null
  const std::atomic<bool>* cancel = nullptr;  // may be null
};

// Key -> offset of its latest record, with a memory budget.
class OffsetMap {
 public:
  explicit OffsetMap(int64_t max_bytes) : max_bytes_(max_bytes) {}
  // Records `offset` for `key`. False (nothing stored) if a new key would
  // exceed the budget.
  bool Put(std::string_view key, int64_t offset);
  // The offset recorded for `key`, or -1.
  int64_t Get(std::string_view key) const;
  size_t size() const { return map_.size(); }
  int64_t bytes() const { return bytes_; }

 private:
  const int64_t max_bytes_;
  int64_t bytes_ = 0;
  absl::flat_hash_map<std::string, int64_t> map_;
};

// A transaction that ended with an ABORT marker: its producer's
// transactional batches with offsets in [first, marker) are dropped.
struct AbortedTxn {
  int64_t producer_id = 0;
  int64_t first_offset = 0;
  int64_t marker_offset = 0;
};

// What the first pass found.
struct DirtyScan {
  // Offset after the last record mapped; cleaning stops there (the map
  // may fill before the end of the dirty part).
  int64_t map_end = 0;
  std::vector<AbortedTxn> aborted;
  int64_t records = 0;
  int64_t bytes_read = 0;
};

// Pass 1 over segments[begin, end) from offset `from`: fills `map`.
absl::StatusOr<DirtyScan> BuildOffsetMap(
    const std::vector<std::shared_ptr<Segment>>& segments, size_t begin,
    size_t end, int64_t from, const CleanerControl& control, OffsetMap* map);

// Pass 2: writes the cleaned copy of one group of consecutive segments.
struct RewriteInput {
  const std::vector<std::shared_ptr<Segment>>* segments = nullptr;
  size_t begin = 0;  // the group: segments[begin, end)
  size_t end = 0;
  int64_t group_end = 0;  // offset after the group's last batch
  const OffsetMap* map = nullptr;
  const std::vector<AbortedTxn>* aborted = nullptr;
  // Last offsets of each idempotent producer's newest batch.
  const absl::flat_hash_set<int64_t>* producer_last_offsets = nullptr;
  int64_t now_ms = 0;
  int64_t delete_horizon_ms = 0;  // now + delete_retention
  bool dry_run = false;
  SegmentContext ctx;
  absl::Time now;
};

// Returns the cleaned segment (files "<base>.*.cleaned", sealed and
// synced), or null for a dry run; adds to `stats` (records_read,
// records_removed, tombstones_removed, bytes_after).
absl::StatusOr<std::shared_ptr<Segment>> RewriteGroup(
    const RewriteInput& in, const CleanerControl& control,
    CompactionStats* stats);

// kCancelled if control.cancel is set.
absl::Status CheckCancelled(const CleanerControl& control);

}  // namespace spool

#endif  // SPOOL_LOG_LOG_CLEANER_H_
