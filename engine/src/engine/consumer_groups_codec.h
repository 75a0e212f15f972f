// The consumer groups' keys and values in the tables (docs/tables.md,
// "Consumer offsets" and "Consumer groups"), and the name rules.
//
// offsets table   key   <group> 0x00 <topic> 0x00 <partition: int32 BE>
//                 value version 1: offset, leader epoch, commit time,
//                       metadata (fixed-width big-endian fields)
// groups table    key   <group>
//                 value version 1: generation, strategy, empty-since,
//                       the topics the assignment was computed from, the
//                       members with subscriptions and assignments
//
// Group names and topic names contain no 0x00 byte, so "<group> 0x00" is
// the prefix of exactly one group's offsets and "<group> 0x00 <topic> 0x00"
// of one topic's within it; partitions sort numerically.
//
// Decoders check structure only and report problems as kDataLoss naming
// the field; version-1 readers ignore bytes after the fields they know, so
// a later revision can append fields without a new version.
//
// Thread-safe (pure functions).

#ifndef SPOOL_ENGINE_CONSUMER_GROUPS_CODEC_H_
#define SPOOL_ENGINE_CONSUMER_GROUPS_CODEC_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "spool/assignor.h"
#include "spool/consumer_groups.h"
#include "spool/topic_partition.h"

namespace spool {

// kInvalidArgument unless `name` is 1..kMaxGroupNameBytes bytes of valid
// UTF-8 without ASCII control characters. `what` names it in the message
// ("group name", "member id").
absl::Status ValidateGroupName(std::string_view name,
                               std::string_view what = "group name");

// --- Offsets --------------------------------------------------------------
std::string OffsetKey(std::string_view group, const TopicPartition& tp);
// Every key of `group`.
std::string GroupOffsetsPrefix(std::string_view group);
// Every key of `group` on `topic`.
std::string TopicOffsetsPrefix(std::string_view group, std::string_view topic);

struct DecodedOffsetKey {
  std::string group;
  TopicPartition tp;
};
absl::StatusOr<DecodedOffsetKey> DecodeOffsetKey(std::string_view key);

std::string EncodeOffsetValue(const CommittedOffset& offset);
absl::StatusOr<CommittedOffset> DecodeOffsetValue(std::string_view value);

// --- Groups ---------------------------------------------------------------
struct StoredMember {
  std::string id;
  std::vector<std::string> topics;         // sorted, unique
  std::vector<TopicPartition> assignment;  // sorted
  int32_t generation = 0;  // last generation joined or confirmed
  absl::Duration session_timeout = absl::Seconds(45);
};

struct StoredGroup {
  int32_t generation = 0;
  std::optional<AssignmentStrategy> strategy;
  // ms since the epoch when the group became empty; -1 while it has
  // members.
  int64_t empty_since_ms = -1;
  // The subscribed topics that existed at the last assignment, with their
  // partition counts, sorted by name. Assignments only name these topics.
  std::vector<TopicPartitions> topics;
  std::vector<StoredMember> members;  // sorted by id
};

std::string EncodeGroup(const StoredGroup& group);
absl::StatusOr<StoredGroup> DecodeGroup(std::string_view value);

}  // namespace spool

#endif  // SPOOL_ENGINE_CONSUMER_GROUPS_CODEC_H_
