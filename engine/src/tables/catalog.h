// The topic catalog: one record per topic in the "catalog" table, keyed by
// topic name, holding the topic's id, configuration and partition layout.
//
// A record is a JSON document (docs/tables.md), so operators can read it
// with `spool` tools and later versions can add fields:
//
//   {"version": 1, "name": "orders", "id": "bWFkZSB1cCBleGFtcGxlIQ",
//    "created_ms": 1700000000000, "partition_dirs": [0, 1, 0],
//    "deleting": false,
//    "config": {"partitions": 3, "segment_bytes": 1073741824,
//               "segment_age_ms": 604800000, ..., "compression": "none",
//               "retention_ms": -1, ...}}
//
// Every TopicConfig field is stored under its own name; durations in
// milliseconds with an "_ms" suffix (an infinite duration is -1); enums by
// name ("none"/"zstd", "create-time"/"log-append-time",
// "none"/"interval"/"sync", "delete"/"compact"/"compact,delete").

#ifndef SPOOL_TABLES_CATALOG_H_
#define SPOOL_TABLES_CATALOG_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "spool/options.h"
#include "tables/table_store.h"

namespace spool {

inline constexpr int kTopicRecordVersion = 1;
inline constexpr size_t kMaxTopicNameLength = 249;
inline constexpr size_t kTopicIdLength = 22;

struct TopicRecord {
  std::string name;
  // Kafka-style topic id: 16 random bytes as URL-safe base64 without
  // padding (22 characters). See NewTopicId().
  std::string id;
  TopicConfig config;
  int64_t created_ms = 0;  // ms since the Unix epoch
  // Per partition (size == config.partitions): the index into the engine's
  // data_dirs of the directory holding it.
  std::vector<int32_t> partition_dirs;
  // Set while the topic's partitions are being removed; the record goes
  // when they are gone.
  bool deleting = false;
};

// Kafka's rules: 1 to 249 characters of [a-zA-Z0-9._-], not "." or "..".
// kInvalidArgument saying what is wrong (and where) otherwise.
absl::Status ValidateTopicName(std::string_view name);

// A new random topic id as Kafka makes them (a version-4 UUID), never the
// all-zero or the metadata topic's reserved id and never starting with '-'
// (so it cannot be mistaken for a command-line flag). Thread-safe.
std::string NewTopicId();

// True if `id` is 22 characters of URL-safe base64 that decode to exactly
// 16 bytes (the form NewTopicId() returns).
bool IsValidTopicId(std::string_view id);

// The JSON document for `record`. Fails with kInvalidArgument if the record
// could not be used after decoding: an invalid name or id, an invalid
// config (TopicConfig::Validate), partition_dirs not one non-negative entry
// per partition, or header names that are not UTF-8.
absl::StatusOr<std::string> EncodeTopicRecord(const TopicRecord& record);

// Parses a document made by EncodeTopicRecord, of this or a later minor
// revision: unknown fields are ignored and missing optional fields (all of
// "config", created_ms, deleting) take their defaults. Fails with kDataLoss
// naming the field for malformed JSON, a version other than 1, a missing
// required field (version, name, id, partition_dirs), a field of the wrong
// type or out of range, an unknown enum name, or partition_dirs that do not
// have one entry per partition. Does not run TopicConfig::Validate().
absl::StatusOr<TopicRecord> DecodeTopicRecord(std::string_view json);

// The catalog table of a TableStore. Thread-safe (TableStore is); the
// store must outlive it. Errors are TableStore's, plus kDataLoss for a
// record that does not decode (the message names the topic).
class Catalog {
 public:
  explicit Catalog(TableStore* store) : store_(store) {}

  // Adds or replaces the record of record.name; durable when OK. Fails
  // with kInvalidArgument as EncodeTopicRecord does.
  absl::Status Put(const TopicRecord& record);

  // Removes the record of `name` (OK if there is none); durable when OK.
  absl::Status Delete(std::string_view name);

  // The record of `name`, or nullopt.
  absl::StatusOr<std::optional<TopicRecord>> Get(std::string_view name) const;

  // Every record, sorted by name (byte order).
  absl::StatusOr<std::vector<TopicRecord>> List() const;

 private:
  TableStore* const store_;
};

}  // namespace spool

#endif  // SPOOL_TABLES_CATALOG_H_
