// Configuration of the engine and of its topics.

#ifndef SPOOL_OPTIONS_H_
#define SPOOL_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "spool/clock.h"
#include "spool/durability.h"
#include "spool/file_system.h"
#include "spool/record.h"

namespace spool {

// What happens to old data of a topic (Kafka's cleanup.policy).
enum class CleanupPolicy {
  kDelete,            // retention by time / size / consumption
  kCompact,           // keep the latest record per key
  kCompactAndDelete,  // both
};
std::string_view CleanupPolicyName(CleanupPolicy p);  // "delete", ...

// Per-topic configuration. Every field has a default; Validate() names the
// first invalid field. Stored in the catalog with the topic.
struct TopicConfig {
  // --- Layout ---------------------------------------------------------
  int32_t partitions = 1;  // 1 .. 100000
  // Roll to a new segment at this size (segment.bytes); 1 KiB .. 2 GiB-1.
  int64_t segment_bytes = int64_t{1} << 30;
  // Roll a non-empty segment this old (segment.ms).
  absl::Duration segment_age = absl::Hours(24 * 7);
  // Maximum size of each index file (segment.index.bytes).
  int32_t segment_index_bytes = 10 * 1024 * 1024;
  // Bytes of log between offset-index entries (index.interval.bytes).
  int32_t index_interval_bytes = 4096;
  // Largest batch accepted, bytes (max.message.bytes).
  int32_t max_batch_bytes = 1048588;
  // Zero-fill the active segment this far ahead of the write position, so
  // fdatasync after an append does not also commit a file-size change
  // (docs/performance.md, "Preallocation"); 0 disables. Only for topics
  // whose durability is interval or sync (with none nothing syncs, so the
  // zeros would be wasted). The tail is trimmed when the segment is sealed
  // or the engine closes. Never beyond segment_bytes.
  int64_t preallocate_bytes = 4 << 20;

  // --- Writing --------------------------------------------------------
  // Codec of batches built by the engine's convenience producers (Produce);
  // batches appended as bytes keep their own. kNone or kZstd.
  Compression compression = Compression::kNone;
  int zstd_level = 3;
  TimestampType timestamp_type = TimestampType::kCreateTime;
  Durability durability = Durability::kNone;
  absl::Duration flush_interval = absl::Seconds(1);  // kInterval
  int64_t flush_records = 10000;                     // kInterval

  // --- Retention and compaction (see docs/compaction.md) ---------------
  CleanupPolicy cleanup_policy = CleanupPolicy::kDelete;
  // Delete segments whose newest record is older (retention.ms); infinite
  // disables.
  absl::Duration retention = absl::Hours(24 * 7);
  // Delete oldest segments while the partition is larger (retention.bytes);
  // -1 disables.
  int64_t retention_bytes = -1;
  // Work-queue retention: delete only what every consumer group and
  // subscription has moved past.
  bool retain_until_consumed = false;
  // Compaction: tombstones stay this long after cleaning
  // (delete.retention.ms).
  absl::Duration delete_retention = absl::Hours(24);
  absl::Duration min_compaction_lag = absl::ZeroDuration();
  absl::Duration max_compaction_lag = absl::InfiniteDuration();
  double min_cleanable_dirty_ratio = 0.5;

  // --- Producers and queues (docs/idempotence.md, docs/queues.md) -------
  // Idle idempotent producers are forgotten after this long.
  absl::Duration producer_id_expiration = absl::Hours(24);
  // Message-id de-duplication: the record header holding the id (empty:
  // off) and how long ids are remembered.
  std::string dedup_header;
  absl::Duration dedup_window = absl::Minutes(2);
  int64_t dedup_max_ids = 1000000;
  // Record header holding a not-before time (decimal ms since the epoch)
  // for delayed delivery to shared subscriptions; empty: none.
  std::string not_before_header;

  absl::Status Validate() const;
};

struct EngineOptions {
  // One or more data directories (Kafka's log.dirs). Partitions are spread
  // across them; the tables (catalog, offsets, ...) live in the first.
  std::vector<std::string> data_dirs;
  // Where bytes go: default POSIX. Tests pass a fault-injecting one. Not
  // owned; must outlive the engine.
  FileSystem* file_system = nullptr;
  // What time it is: default the wall clock. Not owned.
  Clock* clock = nullptr;
  // Defaults for topics created without an explicit config.
  TopicConfig topic_defaults;
  // Partitions are assigned to shards; each shard has its own background
  // thread (flushes, checkpoints, retention) and its own file-handle cache.
  // 0: one per hardware thread.
  int shards = 0;
  // Open file descriptors kept by the segment-file caches, in total.
  int max_open_files = 1024;
  // How often recovery points and log start offsets are checkpointed.
  absl::Duration checkpoint_interval = absl::Seconds(5);
  // Create missing data directories.
  bool create_if_missing = true;
  // A consumer group that has had no members and no commits for this long
  // is deleted with its offsets (docs/consumer-groups.md). Positive;
  // InfiniteDuration keeps groups forever.
  absl::Duration group_offsets_retention = absl::Hours(24 * 7);
  // Retention and compaction (docs/compaction.md). Each shard applies
  // retention to its partitions this often (real time); positive.
  absl::Duration retention_check_interval = absl::Minutes(1);
  // Background compaction threads (the cleaner pool); 0 disables
  // background compaction (Engine::Compact still works).
  int cleaner_threads = 1;
  // How often an idle cleaner thread looks for a partition to clean.
  absl::Duration cleaner_check_interval = absl::Seconds(15);
  // Cleaner I/O budget shared by all cleaner threads, bytes read + written
  // per second; -1: unlimited.
  int64_t cleaner_io_bytes_per_second = -1;
  // Memory for the key -> offset map of one cleaning; a dirty part with
  // more distinct key bytes is cleaned in several passes.
  int64_t cleaner_map_bytes = int64_t{128} << 20;

  absl::Status Validate() const;
};

}  // namespace spool

#endif  // SPOOL_OPTIONS_H_
