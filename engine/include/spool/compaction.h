// Results of retention and key compaction (docs/compaction.md), as the
// engine's ApplyRetention and Compact calls report them.

#ifndef SPOOL_COMPACTION_H_
#define SPOOL_COMPACTION_H_

#include <cstdint>
#include <string>

namespace spool {

// What one retention pass deleted.
struct RetentionStats {
  int64_t partitions_checked = 0;
  int64_t segments_deleted = 0;
  int64_t bytes_deleted = 0;
};

struct CompactOptions {
  // Compute what would be removed without writing or changing anything.
  bool dry_run = false;
  // Clean even if the dirty ratio is below the topic's
  // min_cleanable_dirty_ratio (an operator's explicit request). Segments
  // protected by min_compaction_lag and the active segment stay untouched
  // either way.
  bool force = true;
};

// What one compaction of one partition did (or, dry run, would do).
struct CompactionStats {
  // False if there was nothing cleanable (no sealed segment old enough, or
  // the dirty ratio below the threshold without `force`).
  bool cleaned = false;
  bool dry_run = false;
  // The offsets cleaned: [first_offset, end_offset). Offsets from
  // first_dirty_offset on were new since the previous cleaning.
  int64_t first_offset = 0;
  int64_t first_dirty_offset = 0;
  int64_t end_offset = 0;
  // Dirty bytes / cleanable bytes before cleaning.
  double dirty_ratio = 0;
  int64_t segments_before = 0;
  int64_t segments_after = 0;
  int64_t bytes_before = 0;
  int64_t bytes_after = 0;
  int64_t records_read = 0;
  int64_t records_removed = 0;
  int64_t tombstones_removed = 0;
  int64_t keys = 0;  // distinct keys in the dirty part
  double seconds = 0;

  int64_t bytes_reclaimed() const { return bytes_before - bytes_after; }
  std::string ToString() const;
};

}  // namespace spool

#endif  // SPOOL_COMPACTION_H_
