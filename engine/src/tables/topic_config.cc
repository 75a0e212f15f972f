// TopicConfig::Validate, EngineOptions::Validate and CleanupPolicyName
// (declared in spool/options.h).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "spool/options.h"
#include "spool/record.h"
#include "util/status_macros.h"

namespace spool {
namespace {

constexpr int32_t kMaxPartitions = 100000;
constexpr int64_t kMinSegmentBytes = 1024;
constexpr int64_t kMaxSegmentBytes = (int64_t{1} << 31) - 1;
// Four time-index entries of 12 bytes.
constexpr int32_t kMinSegmentIndexBytes = 48;
constexpr int kMinZstdLevel = 1;
constexpr int kMaxZstdLevel = 22;
constexpr size_t kMaxHeaderNameBytes = 255;
constexpr int kMaxShards = 1024;
constexpr int kMinMaxOpenFiles = 16;

absl::Status Invalid(std::string_view field, std::string_view value,
                     std::string_view rule) {
  return absl::InvalidArgumentError(
      absl::StrFormat("invalid topic config: %s = %s; %s", field, value, rule));
}

absl::Status Invalid(std::string_view field, int64_t value,
                     std::string_view rule) {
  return Invalid(field, absl::StrFormat("%d", value), rule);
}

// Checks that `d` is a whole number of milliseconds (the catalog stores
// milliseconds) and satisfies `ok`, else fails with `rule`.
absl::Status CheckDuration(std::string_view field, absl::Duration d, bool ok,
                           std::string_view rule) {
  const std::string value = absl::FormatDuration(d);
  if (d != absl::InfiniteDuration() && d != -absl::InfiniteDuration() &&
      d % absl::Milliseconds(1) != absl::ZeroDuration()) {
    return Invalid(field, value, "must be a whole number of milliseconds");
  }
  return ok ? absl::OkStatus() : Invalid(field, value, rule);
}

absl::Status CheckHeaderName(std::string_view field, const std::string& name) {
  if (name.size() <= kMaxHeaderNameBytes) return absl::OkStatus();
  return Invalid(
      field,
      absl::StrFormat("\"%s...\" (%d bytes)", name.substr(0, 16), name.size()),
      absl::StrFormat("must be at most %d bytes", kMaxHeaderNameBytes));
}

absl::Status ValidateLayout(const TopicConfig& c) {
  if (c.partitions < 1 || c.partitions > kMaxPartitions) {
    return Invalid("partitions", c.partitions,
                   absl::StrFormat("must be in [1, %d]", kMaxPartitions));
  }
  if (c.segment_bytes < kMinSegmentBytes ||
      c.segment_bytes > kMaxSegmentBytes) {
    return Invalid("segment_bytes", c.segment_bytes,
                   absl::StrFormat("must be in [%d, %d]", kMinSegmentBytes,
                                   kMaxSegmentBytes));
  }
  SPOOL_RETURN_IF_ERROR(CheckDuration("segment_age", c.segment_age,
                                      c.segment_age > absl::ZeroDuration(),
                                      "must be positive"));
  if (c.segment_index_bytes < kMinSegmentIndexBytes) {
    return Invalid("segment_index_bytes", c.segment_index_bytes,
                   "must be at least 48 (room for 4 time-index entries)");
  }
  if (c.index_interval_bytes < 0) {
    return Invalid("index_interval_bytes", c.index_interval_bytes,
                   "must not be negative");
  }
  if (c.max_batch_bytes < kBatchHeaderSize ||
      c.max_batch_bytes > c.segment_bytes) {
    return Invalid("max_batch_bytes", c.max_batch_bytes,
                   absl::StrFormat("must be in [%d, segment_bytes = %d]",
                                   kBatchHeaderSize, c.segment_bytes));
  }
  if (c.preallocate_bytes < 0) {
    return Invalid("preallocate_bytes", c.preallocate_bytes,
                   "must not be negative");
  }
  return absl::OkStatus();
}

// zstd_level is checked only when compression is zstd: it means nothing
// otherwise, and a topic switched to zstd later is validated again then.
absl::Status ValidateCompression(const TopicConfig& c) {
  if (c.compression != Compression::kNone &&
      c.compression != Compression::kZstd) {
    return Invalid("compression", CompressionName(c.compression),
                   "must be none or zstd (gzip, snappy and lz4 are only "
                   "read)");
  }
  if (c.compression == Compression::kZstd &&
      (c.zstd_level < kMinZstdLevel || c.zstd_level > kMaxZstdLevel)) {
    return Invalid("zstd_level", c.zstd_level,
                   absl::StrFormat("must be in [%d, %d] with zstd",
                                   kMinZstdLevel, kMaxZstdLevel));
  }
  return absl::OkStatus();
}

absl::Status ValidateWriting(const TopicConfig& c) {
  SPOOL_RETURN_IF_ERROR(ValidateCompression(c));
  if (c.timestamp_type != TimestampType::kCreateTime &&
      c.timestamp_type != TimestampType::kLogAppendTime) {
    return Invalid("timestamp_type", static_cast<int>(c.timestamp_type),
                   "must be create-time or log-append-time");
  }
  if (c.durability != Durability::kNone &&
      c.durability != Durability::kInterval &&
      c.durability != Durability::kSync) {
    return Invalid("durability", static_cast<int>(c.durability),
                   "must be none, interval or sync");
  }
  SPOOL_RETURN_IF_ERROR(CheckDuration("flush_interval", c.flush_interval,
                                      c.flush_interval > absl::ZeroDuration(),
                                      "must be positive"));
  if (c.flush_records <= 0) {
    return Invalid("flush_records", c.flush_records, "must be positive");
  }
  return absl::OkStatus();
}

absl::Status ValidateCompaction(const TopicConfig& c) {
  SPOOL_RETURN_IF_ERROR(CheckDuration(
      "delete_retention", c.delete_retention,
      c.delete_retention >= absl::ZeroDuration(), "must not be negative"));
  SPOOL_RETURN_IF_ERROR(CheckDuration(
      "min_compaction_lag", c.min_compaction_lag,
      c.min_compaction_lag >= absl::ZeroDuration(), "must not be negative"));
  SPOOL_RETURN_IF_ERROR(CheckDuration(
      "max_compaction_lag", c.max_compaction_lag,
      c.max_compaction_lag >= c.min_compaction_lag,
      absl::StrFormat("must not be less than min_compaction_lag = %s",
                      absl::FormatDuration(c.min_compaction_lag))));
  // Written so that NaN fails too.
  if (!(c.min_cleanable_dirty_ratio >= 0.0 &&
        c.min_cleanable_dirty_ratio <= 1.0)) {
    return Invalid("min_cleanable_dirty_ratio",
                   absl::StrFormat("%g", c.min_cleanable_dirty_ratio),
                   "must be in [0, 1]");
  }
  return absl::OkStatus();
}

absl::Status ValidateRetention(const TopicConfig& c) {
  if (c.cleanup_policy != CleanupPolicy::kDelete &&
      c.cleanup_policy != CleanupPolicy::kCompact &&
      c.cleanup_policy != CleanupPolicy::kCompactAndDelete) {
    return Invalid("cleanup_policy", static_cast<int>(c.cleanup_policy),
                   "must be delete, compact or compact,delete");
  }
  SPOOL_RETURN_IF_ERROR(CheckDuration("retention", c.retention,
                                      c.retention > absl::ZeroDuration(),
                                      "must be positive or infinite"));
  if (c.retention_bytes != -1 && c.retention_bytes <= 0) {
    return Invalid("retention_bytes", c.retention_bytes,
                   "must be -1 (unlimited) or positive");
  }
  return ValidateCompaction(c);
}

absl::Status ValidateQueues(const TopicConfig& c) {
  SPOOL_RETURN_IF_ERROR(CheckDuration(
      "producer_id_expiration", c.producer_id_expiration,
      c.producer_id_expiration > absl::ZeroDuration(), "must be positive"));
  SPOOL_RETURN_IF_ERROR(CheckHeaderName("dedup_header", c.dedup_header));
  SPOOL_RETURN_IF_ERROR(
      CheckHeaderName("not_before_header", c.not_before_header));
  const bool dedup = !c.dedup_header.empty();
  SPOOL_RETURN_IF_ERROR(
      CheckDuration("dedup_window", c.dedup_window,
                    !dedup || c.dedup_window > absl::ZeroDuration(),
                    "must be positive when dedup_header is set"));
  if (dedup && c.dedup_max_ids <= 0) {
    return Invalid("dedup_max_ids", c.dedup_max_ids,
                   "must be positive when dedup_header is set");
  }
  return absl::OkStatus();
}

absl::Status InvalidEngine(std::string_view field, std::string_view value,
                           std::string_view rule) {
  return absl::InvalidArgumentError(absl::StrFormat(
      "invalid engine options: %s = %s; %s", field, value, rule));
}

// "/a/b//" -> "/a/b"; "/" stays "/".
std::string_view WithoutTrailingSlashes(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  return path;
}

absl::Status ValidateDataDirs(const std::vector<std::string>& dirs) {
  if (dirs.empty()) {
    return InvalidEngine("data_dirs", "[]",
                         "at least one data directory is required");
  }
  for (size_t i = 0; i < dirs.size(); ++i) {
    const std::string field = absl::StrFormat("data_dirs[%d]", i);
    const std::string value = absl::StrFormat("\"%s\"", dirs[i]);
    if (dirs[i].empty())
      return InvalidEngine(field, value, "must not be empty");
    for (size_t j = 0; j < i; ++j) {
      if (WithoutTrailingSlashes(dirs[i]) == WithoutTrailingSlashes(dirs[j])) {
        return InvalidEngine(
            field, value,
            absl::StrFormat("the same directory as data_dirs[%d] = \"%s\"", j,
                            dirs[j]));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view CleanupPolicyName(CleanupPolicy p) {
  switch (p) {
    case CleanupPolicy::kDelete:
      return "delete";
    case CleanupPolicy::kCompact:
      return "compact";
    case CleanupPolicy::kCompactAndDelete:
      return "compact,delete";
  }
  return "unknown";
}

absl::Status TopicConfig::Validate() const {
  SPOOL_RETURN_IF_ERROR(ValidateLayout(*this));
  SPOOL_RETURN_IF_ERROR(ValidateWriting(*this));
  SPOOL_RETURN_IF_ERROR(ValidateRetention(*this));
  return ValidateQueues(*this);
}

absl::Status EngineOptions::Validate() const {
  SPOOL_RETURN_IF_ERROR(ValidateDataDirs(data_dirs));
  if (shards < 0 || shards > kMaxShards) {
    return InvalidEngine("shards", absl::StrFormat("%d", shards),
                         absl::StrFormat("must be in [0, %d] (0: one per "
                                         "hardware thread)",
                                         kMaxShards));
  }
  if (max_open_files < kMinMaxOpenFiles) {
    return InvalidEngine(
        "max_open_files", absl::StrFormat("%d", max_open_files),
        absl::StrFormat("must be at least %d", kMinMaxOpenFiles));
  }
  if (checkpoint_interval <= absl::ZeroDuration()) {
    return InvalidEngine("checkpoint_interval",
                         absl::FormatDuration(checkpoint_interval),
                         "must be positive");
  }
  if (group_offsets_retention <= absl::ZeroDuration()) {
    return InvalidEngine("group_offsets_retention",
                         absl::FormatDuration(group_offsets_retention),
                         "must be positive (infinite: keep groups forever)");
  }
  if (retention_check_interval <= absl::ZeroDuration()) {
    return InvalidEngine("retention_check_interval",
                         absl::FormatDuration(retention_check_interval),
                         "must be positive");
  }
  if (cleaner_threads < 0 || cleaner_threads > 64) {
    return InvalidEngine("cleaner_threads",
                         absl::StrFormat("%d", cleaner_threads),
                         "must be in [0, 64] (0: no background compaction)");
  }
  if (cleaner_check_interval <= absl::ZeroDuration()) {
    return InvalidEngine("cleaner_check_interval",
                         absl::FormatDuration(cleaner_check_interval),
                         "must be positive");
  }
  if (cleaner_io_bytes_per_second == 0 || cleaner_io_bytes_per_second < -1) {
    return InvalidEngine("cleaner_io_bytes_per_second",
                         absl::StrFormat("%d", cleaner_io_bytes_per_second),
                         "must be positive, or -1 for unlimited");
  }
  if (cleaner_map_bytes < (int64_t{1} << 16)) {
    return InvalidEngine("cleaner_map_bytes",
                         absl::StrFormat("%d", cleaner_map_bytes),
                         "must be at least 65536");
  }
  absl::Status topic = topic_defaults.Validate();
  if (!topic.ok()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "invalid engine options: topic_defaults: %s", topic.message()));
  }
  return absl::OkStatus();
}

}  // namespace spool
