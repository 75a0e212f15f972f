// EncodeTopicRecord / DecodeTopicRecord: the catalog's JSON documents.
//
// nlohmann::json throws on misuse; this file only calls what cannot throw:
// the non-throwing parse, type checks before every get<>(), find() instead
// of at(), and dump() only of documents whose strings are valid UTF-8.

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "spool/options.h"
#include "spool/record.h"
#include "tables/catalog.h"
#include "util/status_macros.h"
#include "util/strings.h"

namespace spool {
namespace {

using Json = nlohmann::ordered_json;

constexpr int64_t kInfiniteMs = -1;
constexpr size_t kMaxValueInMessage = 40;

template <typename E>
struct EnumName {
  E value;
  std::string_view name;
};
constexpr EnumName<Compression> kCompressionNames[] = {
    {Compression::kNone, "none"},
    {Compression::kGzip, "gzip"},
    {Compression::kSnappy, "snappy"},
    {Compression::kLz4, "lz4"},
    {Compression::kZstd, "zstd"}};
constexpr EnumName<TimestampType> kTimestampTypeNames[] = {
    {TimestampType::kCreateTime, "create-time"},
    {TimestampType::kLogAppendTime, "log-append-time"}};
constexpr EnumName<Durability> kDurabilityNames[] = {
    {Durability::kNone, "none"},
    {Durability::kInterval, "interval"},
    {Durability::kSync, "sync"}};
constexpr EnumName<CleanupPolicy> kCleanupPolicyNames[] = {
    {CleanupPolicy::kDelete, "delete"},
    {CleanupPolicy::kCompact, "compact"},
    {CleanupPolicy::kCompactAndDelete, "compact,delete"},
    {CleanupPolicy::kCompactAndDelete, "delete,compact"}};  // Kafka allows

template <typename E, size_t N>
std::string NameOf(const EnumName<E> (&names)[N], E value) {
  for (const EnumName<E>& entry : names) {
    if (entry.value == value) return std::string(entry.name);
  }
  return "unknown";
}

// The integer fields of TopicConfig (zstd_level is an int, which is
// int32_t here), durations and strings, by their JSON names.
struct Int32Field {
  const char* name;
  int32_t TopicConfig::*member;
};
constexpr Int32Field kInt32Fields[] = {
    {"partitions", &TopicConfig::partitions},
    {"segment_index_bytes", &TopicConfig::segment_index_bytes},
    {"index_interval_bytes", &TopicConfig::index_interval_bytes},
    {"max_batch_bytes", &TopicConfig::max_batch_bytes},
    {"zstd_level", &TopicConfig::zstd_level}};
struct Int64Field {
  const char* name;
  int64_t TopicConfig::*member;
};
constexpr Int64Field kInt64Fields[] = {
    {"segment_bytes", &TopicConfig::segment_bytes},
    {"preallocate_bytes", &TopicConfig::preallocate_bytes},
    {"flush_records", &TopicConfig::flush_records},
    {"retention_bytes", &TopicConfig::retention_bytes},
    {"dedup_max_ids", &TopicConfig::dedup_max_ids}};
struct DurationField {
  const char* name;
  absl::Duration TopicConfig::*member;
};
constexpr DurationField kDurationFields[] = {
    {"segment_age_ms", &TopicConfig::segment_age},
    {"flush_interval_ms", &TopicConfig::flush_interval},
    {"retention_ms", &TopicConfig::retention},
    {"delete_retention_ms", &TopicConfig::delete_retention},
    {"min_compaction_lag_ms", &TopicConfig::min_compaction_lag},
    {"max_compaction_lag_ms", &TopicConfig::max_compaction_lag},
    {"producer_id_expiration_ms", &TopicConfig::producer_id_expiration},
    {"dedup_window_ms", &TopicConfig::dedup_window}};
struct StringField {
  const char* name;
  std::string TopicConfig::*member;
};
constexpr StringField kStringFields[] = {
    {"dedup_header", &TopicConfig::dedup_header},
    {"not_before_header", &TopicConfig::not_before_header}};

int64_t ToMs(absl::Duration d) {
  return d == absl::InfiniteDuration() ? kInfiniteMs
                                       : absl::ToInt64Milliseconds(d);
}

absl::Duration FromMs(int64_t ms) {
  return ms == kInfiniteMs ? absl::InfiniteDuration() : absl::Milliseconds(ms);
}

// --- Encoding ------------------------------------------------------------

// The number of continuation bytes after lead byte `c` and the bits it
// carries; nullopt for a byte that cannot start a sequence.
std::optional<std::pair<size_t, uint32_t>> Utf8Lead(unsigned char c) {
  if (c >= 0xc2 && c <= 0xdf) return std::make_pair(size_t{1}, c & 0x1fu);
  if (c >= 0xe0 && c <= 0xef) return std::make_pair(size_t{2}, c & 0x0fu);
  if (c >= 0xf0 && c <= 0xf4) return std::make_pair(size_t{3}, c & 0x07u);
  return std::nullopt;
}

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    const auto lead = Utf8Lead(c);
    if (!lead || s.size() - i <= lead->first) return false;
    const size_t n = lead->first;
    uint32_t cp = lead->second;
    for (size_t k = 1; k <= n; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3fu);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

absl::Status InvalidRecord(const TopicRecord& record, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrFormat(
      "topic record \"%s\": %s", absl::CHexEscape(record.name), what));
}

absl::Status CheckEncodable(const TopicRecord& record) {
  SPOOL_RETURN_IF_ERROR(ValidateTopicName(record.name));
  if (!IsValidTopicId(record.id)) {
    return InvalidRecord(
        record, absl::StrFormat("id \"%s\" is not a topic id (22 characters "
                                "of URL-safe base64 encoding 16 bytes)",
                                absl::CHexEscape(record.id)));
  }
  absl::Status config = record.config.Validate();
  if (!config.ok()) return InvalidRecord(record, ToStd(config.message()));
  for (const StringField& f : kStringFields) {
    if (!IsValidUtf8(record.config.*f.member)) {
      return InvalidRecord(record,
                           absl::StrFormat("config.%s is not UTF-8", f.name));
    }
  }
  if (record.partition_dirs.size() !=
      static_cast<size_t>(record.config.partitions)) {
    return InvalidRecord(record,
                         absl::StrFormat("partition_dirs has %d entries for %d "
                                         "partitions",
                                         record.partition_dirs.size(),
                                         record.config.partitions));
  }
  for (size_t p = 0; p < record.partition_dirs.size(); ++p) {
    if (record.partition_dirs[p] < 0) {
      return InvalidRecord(
          record, absl::StrFormat("partition_dirs[%d] = %d is negative", p,
                                  record.partition_dirs[p]));
    }
  }
  return absl::OkStatus();
}

// In TopicConfig's field order, so a dumped record reads like the header.
Json EncodeConfig(const TopicConfig& c) {
  Json j = Json::object();
  j["partitions"] = c.partitions;
  j["segment_bytes"] = c.segment_bytes;
  j["segment_age_ms"] = ToMs(c.segment_age);
  j["segment_index_bytes"] = c.segment_index_bytes;
  j["index_interval_bytes"] = c.index_interval_bytes;
  j["max_batch_bytes"] = c.max_batch_bytes;
  j["preallocate_bytes"] = c.preallocate_bytes;
  j["compression"] = NameOf(kCompressionNames, c.compression);
  j["zstd_level"] = c.zstd_level;
  j["timestamp_type"] = NameOf(kTimestampTypeNames, c.timestamp_type);
  j["durability"] = NameOf(kDurabilityNames, c.durability);
  j["flush_interval_ms"] = ToMs(c.flush_interval);
  j["flush_records"] = c.flush_records;
  j["cleanup_policy"] = NameOf(kCleanupPolicyNames, c.cleanup_policy);
  j["retention_ms"] = ToMs(c.retention);
  j["retention_bytes"] = c.retention_bytes;
  j["retain_until_consumed"] = c.retain_until_consumed;
  j["delete_retention_ms"] = ToMs(c.delete_retention);
  j["min_compaction_lag_ms"] = ToMs(c.min_compaction_lag);
  j["max_compaction_lag_ms"] = ToMs(c.max_compaction_lag);
  j["min_cleanable_dirty_ratio"] = c.min_cleanable_dirty_ratio;
  j["producer_id_expiration_ms"] = ToMs(c.producer_id_expiration);
  j["dedup_header"] = c.dedup_header;
  j["dedup_window_ms"] = ToMs(c.dedup_window);
  j["dedup_max_ids"] = c.dedup_max_ids;
  j["not_before_header"] = c.not_before_header;
  return j;
}

// --- Decoding ------------------------------------------------------------

// `value` for an error message, cut if long.
std::string Shown(const Json& value) {
  std::string text = value.dump();
  if (text.size() > kMaxValueInMessage) {
    text = text.substr(0, kMaxValueInMessage) + "...";
  }
  return text;
}

absl::Status BadField(std::string_view field, std::string_view expected,
                      const Json& found) {
  return absl::DataLossError(
      absl::StrFormat("topic record: field %s: expected %s, found %s", field,
                      expected, Shown(found)));
}

absl::Status MissingField(std::string_view field) {
  return absl::DataLossError(
      absl::StrFormat("topic record: missing field %s", field));
}

// The member `name` of `object`, or null.
const Json* Find(const Json& object, const char* name) {
  auto it = object.find(name);
  return it == object.end() ? nullptr : &*it;
}

absl::StatusOr<int64_t> ToInt(const Json& value, std::string_view field,
                              int64_t min, int64_t max) {
  const std::string expected =
      absl::StrFormat("an integer in [%d, %d]", min, max);
  if (value.is_number_unsigned()) {
    const uint64_t v = value.get<uint64_t>();
    if (v > static_cast<uint64_t>(max)) return BadField(field, expected, value);
    return static_cast<int64_t>(v);
  }
  if (!value.is_number_integer()) return BadField(field, expected, value);
  const int64_t v = value.get<int64_t>();
  if (v < min || v > max) return BadField(field, expected, value);
  return v;
}

template <typename E, size_t N>
absl::Status ReadEnum(const Json& config, const char* name,
                      const EnumName<E> (&names)[N], E* out) {
  const Json* value = Find(config, name);
  if (value == nullptr) return absl::OkStatus();
  const std::string field = absl::StrFormat("config.%s", name);
  std::string expected = "one of";
  for (const EnumName<E>& entry : names) {
    if (value->is_string() && value->get<std::string>() == entry.name) {
      *out = entry.value;
      return absl::OkStatus();
    }
    absl::StrAppendFormat(&expected, " \"%s\"", entry.name);
  }
  return BadField(field, expected, *value);
}

absl::Status ReadNumbers(const Json& config, TopicConfig* c) {
  constexpr int64_t kMin64 = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax64 = std::numeric_limits<int64_t>::max();
  for (const Int32Field& f : kInt32Fields) {
    const Json* value = Find(config, f.name);
    if (value == nullptr) continue;
    SPOOL_ASSIGN_OR_RETURN(int64_t v,
                           ToInt(*value, absl::StrFormat("config.%s", f.name),
                                 std::numeric_limits<int32_t>::min(),
                                 std::numeric_limits<int32_t>::max()));
    c->*f.member = static_cast<int32_t>(v);
  }
  for (const Int64Field& f : kInt64Fields) {
    const Json* value = Find(config, f.name);
    if (value == nullptr) continue;
    SPOOL_ASSIGN_OR_RETURN(
        c->*f.member,
        ToInt(*value, absl::StrFormat("config.%s", f.name), kMin64, kMax64));
  }
  for (const DurationField& f : kDurationFields) {
    const Json* value = Find(config, f.name);
    if (value == nullptr) continue;
    SPOOL_ASSIGN_OR_RETURN(
        int64_t ms,
        ToInt(*value, absl::StrFormat("config.%s", f.name), kMin64, kMax64));
    c->*f.member = FromMs(ms);
  }
  if (const Json* v = Find(config, "min_cleanable_dirty_ratio")) {
    if (!v->is_number()) {
      return BadField("config.min_cleanable_dirty_ratio", "a number", *v);
    }
    c->min_cleanable_dirty_ratio = v->get<double>();
  }
  return absl::OkStatus();
}

absl::Status ReadOthers(const Json& config, TopicConfig* c) {
  for (const StringField& f : kStringFields) {
    const Json* value = Find(config, f.name);
    if (value == nullptr) continue;
    if (!value->is_string()) {
      return BadField(absl::StrFormat("config.%s", f.name), "a string", *value);
    }
    c->*f.member = value->get<std::string>();
  }
  if (const Json* v = Find(config, "retain_until_consumed")) {
    if (!v->is_boolean()) {
      return BadField("config.retain_until_consumed", "true or false", *v);
    }
    c->retain_until_consumed = v->get<bool>();
  }
  SPOOL_RETURN_IF_ERROR(
      ReadEnum(config, "compression", kCompressionNames, &c->compression));
  SPOOL_RETURN_IF_ERROR(ReadEnum(config, "timestamp_type", kTimestampTypeNames,
                                 &c->timestamp_type));
  SPOOL_RETURN_IF_ERROR(
      ReadEnum(config, "durability", kDurabilityNames, &c->durability));
  return ReadEnum(config, "cleanup_policy", kCleanupPolicyNames,
                  &c->cleanup_policy);
}

absl::Status ReadConfig(const Json& doc, TopicConfig* config) {
  const Json* value = Find(doc, "config");
  if (value == nullptr) return absl::OkStatus();
  if (!value->is_object()) return BadField("config", "an object", *value);
  SPOOL_RETURN_IF_ERROR(ReadNumbers(*value, config));
  return ReadOthers(*value, config);
}

absl::Status ReadVersion(const Json& doc) {
  const Json* value = Find(doc, "version");
  if (value == nullptr) return MissingField("version");
  SPOOL_ASSIGN_OR_RETURN(int64_t version, ToInt(*value, "version", 0, 1000000));
  if (version == kTopicRecordVersion) return absl::OkStatus();
  return absl::DataLossError(absl::StrFormat(
      "topic record: field version: unsupported version %d (this build "
      "reads version %d)",
      version, kTopicRecordVersion));
}

absl::Status ReadString(const Json& doc, const char* name, std::string* out) {
  const Json* value = Find(doc, name);
  if (value == nullptr) return MissingField(name);
  if (!value->is_string()) return BadField(name, "a string", *value);
  *out = value->get<std::string>();
  return absl::OkStatus();
}

absl::Status ReadPartitionDirs(const Json& doc, int32_t partitions,
                               std::vector<int32_t>* out) {
  const Json* value = Find(doc, "partition_dirs");
  if (value == nullptr) return MissingField("partition_dirs");
  if (!value->is_array()) {
    return BadField("partition_dirs", "an array", *value);
  }
  for (size_t i = 0; i < value->size(); ++i) {
    SPOOL_ASSIGN_OR_RETURN(
        int64_t dir,
        ToInt((*value)[i], absl::StrFormat("partition_dirs[%d]", i), 0,
              std::numeric_limits<int32_t>::max()));
    out->push_back(static_cast<int32_t>(dir));
  }
  if (out->size() != static_cast<size_t>(partitions)) {
    return absl::DataLossError(absl::StrFormat(
        "topic record: field partition_dirs: %d entries for %d partitions",
        out->size(), partitions));
  }
  return absl::OkStatus();
}

absl::Status ReadRecordFields(const Json& doc, TopicRecord* record) {
  SPOOL_RETURN_IF_ERROR(ReadString(doc, "name", &record->name));
  SPOOL_RETURN_IF_ERROR(ReadString(doc, "id", &record->id));
  if (!IsValidTopicId(record->id)) {
    return BadField("id", "a topic id (22 characters of URL-safe base64)",
                    *Find(doc, "id"));
  }
  if (const Json* v = Find(doc, "created_ms")) {
    SPOOL_ASSIGN_OR_RETURN(
        record->created_ms,
        ToInt(*v, "created_ms", std::numeric_limits<int64_t>::min(),
              std::numeric_limits<int64_t>::max()));
  }
  if (const Json* v = Find(doc, "deleting")) {
    if (!v->is_boolean()) return BadField("deleting", "true or false", *v);
    record->deleting = v->get<bool>();
  }
  SPOOL_RETURN_IF_ERROR(ReadConfig(doc, &record->config));
  return ReadPartitionDirs(doc, record->config.partitions,
                           &record->partition_dirs);
}

}  // namespace

absl::StatusOr<std::string> EncodeTopicRecord(const TopicRecord& record) {
  SPOOL_RETURN_IF_ERROR(CheckEncodable(record));
  Json doc = Json::object();
  doc["version"] = kTopicRecordVersion;
  doc["name"] = record.name;
  doc["id"] = record.id;
  doc["created_ms"] = record.created_ms;
  doc["partition_dirs"] = record.partition_dirs;
  doc["deleting"] = record.deleting;
  doc["config"] = EncodeConfig(record.config);
  return doc.dump();
}

absl::StatusOr<TopicRecord> DecodeTopicRecord(std::string_view json) {
  const Json doc = Json::parse(json.begin(), json.end(), /*cb=*/nullptr,
                               /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return absl::DataLossError("topic record: not valid JSON");
  }
  if (!doc.is_object()) {
    return absl::DataLossError(absl::StrFormat(
        "topic record: expected a JSON object, found %s", Shown(doc)));
  }
  SPOOL_RETURN_IF_ERROR(ReadVersion(doc));
  TopicRecord record;
  SPOOL_RETURN_IF_ERROR(ReadRecordFields(doc, &record));
  return record;
}

}  // namespace spool
