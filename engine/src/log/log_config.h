// Settings of one partition log. The engine derives them from a topic's
// configuration; tests build them directly.

#ifndef SPOOL_LOG_LOG_CONFIG_H_
#define SPOOL_LOG_LOG_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "spool/durability.h"
#include "spool/record.h"

namespace spool {

struct LogConfig {
  // Roll to a new segment before the active one would exceed this many
  // bytes (Kafka: segment.bytes). Segments stay below 2 GiB because index
  // positions are int32.
  int64_t segment_bytes = int64_t{1} << 30;
  // Roll a non-empty active segment once it is this old (segment.ms),
  // measured with the engine's clock from the segment's creation.
  absl::Duration segment_age = absl::Hours(24 * 7);
  // Maximum size of each index file; a full index rolls the segment
  // (segment.index.bytes).
  int32_t segment_index_bytes = 10 * 1024 * 1024;
  // An index entry is added before a batch that starts more than this many
  // bytes after the previous entry's batch (index.interval.bytes).
  int32_t index_interval_bytes = 4096;
  // Largest batch accepted, in bytes including the 12-byte log overhead
  // (max.message.bytes).
  int32_t max_batch_bytes = 1048588;
  // Zero-fill the active segment's .log this many bytes ahead of the
  // write position (0: off; ignored when `durability` is kNone). An fdatasync
  // after writing into already-written space skips the journal commit a growing
  // file needs (docs/performance.md, "Preallocation"); the tail is trimmed on
  // seal and close, and recovery treats a zero tail as the end of the log.
  // Never extends the file beyond segment_bytes.
  int64_t preallocate_bytes = 0;
  // CreateTime keeps the producer's timestamps; LogAppendTime stamps each
  // batch with the clock at append (message.timestamp.type).
  TimestampType timestamp_type = TimestampType::kCreateTime;
  // Default durability of appends (per-append override possible).
  Durability durability = Durability::kNone;
  // kInterval: flush once unsynced data is this old ...
  absl::Duration flush_interval = absl::Seconds(1);
  // ... or once this many records are unsynced.
  int64_t flush_records = 10000;
  // Idempotent producers idle this long are forgotten.
  absl::Duration producer_id_expiration = absl::Hours(24);
  // Message-id de-duplication: the record header holding the id (empty:
  // off), how long and how many ids are remembered.
  std::string dedup_header;
  absl::Duration dedup_window = absl::Minutes(2);
  int64_t dedup_max_ids = 1000000;
  // Compacted topics: every record of an appended batch (offsets assigned
  // by the log) must have a key (Kafka rejects keyless records there).
  bool require_keys = false;

  // kInvalidArgument naming the field and the allowed range.
  absl::Status Validate() const;
};

}  // namespace spool

#endif  // SPOOL_LOG_LOG_CONFIG_H_
