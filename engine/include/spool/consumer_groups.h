// Consumer groups: committed offsets, an embedded group coordinator
// (membership, generations, partition assignment) and consumer lag. Reached
// through Engine::groups(); docs/consumer-groups.md has the full story.
//
//   spool::ConsumerGroups& groups = engine->groups();
//   auto joined = groups.JoinGroup("chat-bots", {.topics = {"chat"},
//                                  .strategy = AssignmentStrategy::kSticky});
//   for (const TopicPartition& tp : joined->assignment) {
//     ... fetch from the committed offset (FetchCommitted), process ...
//     groups.Commit("chat-bots", {{.tp = tp, .offset = next}},
//                   {.member_id = joined->member_id,
//                    .generation = joined->generation});
//   }
//   auto lag = groups.Lag("chat-bots");
//
// Everything is stored in the engine's tables (RocksDB): offsets in
// Table::kOffsets, one key per (group, topic, partition); group state in
// Table::kGroups, one key per group (encodings in docs/tables.md). A group
// exists once something was committed for it, it was reset, or a member
// joined; it goes away with DeleteGroup or when it expires.
//
// Sentinels:
//   kNoCommittedOffset (-1)  in results: the group committed nothing there
//                            (consumption starts at the log start offset).
//                            Commit refuses every negative offset.
//   kNoLeaderEpoch (-1)      a commit without a leader epoch.
//   generation -1 with an empty member_id in CommitOptions: a commit from
//                            outside the group's membership (an admin tool
//                            or a consumer that assigns itself partitions);
//                            accepted only while the group has no members.
//
// Names: a group name or member id is 1 to 249 bytes of valid UTF-8 without
// ASCII control characters (0x00-0x1f, 0x7f). Offset metadata is at most
// 4096 bytes of anything.
//
// Errors:
//   kInvalidArgument     bad names, negative offsets, duplicate partitions,
//                        metadata too long, bad session timeouts, ...
//   kNotFound            unknown topic or partition; unknown group where
//                        the call needs one (DescribeGroup, DeleteGroup,
//                        Lag)
//   kOutOfRange          a committed offset beyond the log end (the
//                        message gives the log end)
//   kFailedPrecondition  fencing: "unknown member", "stale generation"
//                        (rejoin), "rebalance needed" (heartbeat); a group
//                        with live members cannot be deleted or reset; a
//                        closed engine
//   and the tables' I/O codes (kUnavailable, kResourceExhausted, ...).
//
// Thread safety: thread-safe. Calls on different groups run in parallel;
// commits to one group run in parallel with each other and are ordered
// against membership changes of that group (a commit accepted under
// generation g is stored before generation g + 1 begins).

#ifndef SPOOL_CONSUMER_GROUPS_H_
#define SPOOL_CONSUMER_GROUPS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "spool/assignor.h"
#include "spool/topic_partition.h"

namespace spool {

inline constexpr int64_t kNoCommittedOffset = -1;
inline constexpr int32_t kNoLeaderEpoch = -1;
inline constexpr size_t kMaxGroupNameBytes = 249;
inline constexpr size_t kMaxOffsetMetadataBytes = 4096;
inline constexpr absl::Duration kMinSessionTimeout = absl::Milliseconds(100);
inline constexpr absl::Duration kMaxSessionTimeout = absl::Hours(1);

// One partition's offset in a Commit: the offset of the next record the
// group will consume (so "everything before it is processed").
struct OffsetCommit {
  TopicPartition tp;
  int64_t offset = 0;
  int32_t leader_epoch = kNoLeaderEpoch;
  std::string metadata;
};

struct CommitOptions {
  // true: durable (the tables' WAL fdatasync'ed) when Commit returns; it
  // survives any crash. false: survives a process crash, a power loss may
  // lose it (what survives is a prefix of the commits, docs/tables.md).
  bool sync = true;
  // Fencing. A group with members accepts commits only from a member of
  // its current generation; a group without members only from outside
  // (empty member_id, generation -1).
  std::string member_id;
  int32_t generation = -1;
};

struct CommittedOffset {
  int64_t offset = kNoCommittedOffset;
  int32_t leader_epoch = kNoLeaderEpoch;
  std::string metadata;
  absl::Time commit_time = absl::InfinitePast();  // engine Clock at commit
};
using CommittedOffsets = std::map<TopicPartition, CommittedOffset>;

// kEmpty: no members. kRebalancing: the generation moved and some member
// has not yet learned it (its next Heartbeat says "rebalance needed" and it
// rejoins). kStable: every member is at the current generation.
enum class GroupState { kEmpty, kRebalancing, kStable };
std::string_view GroupStateName(GroupState state);  // "empty", ...

struct JoinGroupRequest {
  // Empty: the coordinator makes one up ("member-<32 hex digits>"). A
  // member id the group does not know joins as a new member under that id
  // (a consumer with a stable identity).
  std::string member_id;
  // The topics to consume; need not exist yet (they are assigned once they
  // do). At least one; duplicates count once.
  std::vector<std::string> topics;
  // Must match the group's strategy while the group has members.
  AssignmentStrategy strategy = AssignmentStrategy::kRange;
  // The member is removed when no call from it (Heartbeat, JoinGroup,
  // Commit) arrives for this long, by engine Clock time. In
  // [kMinSessionTimeout, kMaxSessionTimeout].
  absl::Duration session_timeout = absl::Seconds(45);
};

struct JoinGroupResult {
  std::string member_id;
  int32_t generation = 0;
  // This member's partitions in `generation`, sorted.
  std::vector<TopicPartition> assignment;
};

struct MemberDescription {
  std::string member_id;
  std::vector<std::string> topics;  // sorted
  std::vector<TopicPartition> assignment;
  // The generation the member last joined (a rejoin that changes nothing
  // counts); below the group's while it has to rejoin.
  int32_t generation = 0;
  absl::Duration session_timeout;
  absl::Time last_heartbeat;
};

// Lag of one group on one partition. "position" below is where the group
// resumes: max(committed, log start), or the log start without a commit.
struct PartitionLag {
  TopicPartition tp;
  int64_t committed = kNoCommittedOffset;
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
  // log end - position, never negative.
  int64_t lag_records = 0;
  // Bytes of whole batches from the batch holding `position` to the log
  // end; 0 when lag_records is 0.
  int64_t backlog_bytes = 0;
  // Engine Clock now minus the timestamp of the record at `position` (the
  // oldest unconsumed one); 0 when lag_records is 0 or the record has no
  // timestamp, never negative. Keeps growing while the group is stopped.
  double lag_seconds = 0;
};

struct GroupDescription {
  std::string group;
  GroupState state = GroupState::kEmpty;
  int32_t generation = 0;
  // The group's assignment strategy; nullopt if no member ever joined.
  std::optional<AssignmentStrategy> strategy;
  std::vector<MemberDescription> members;  // sorted by member id
  CommittedOffsets offsets;
  // Every partition with a commit or assigned to a member.
  std::vector<PartitionLag> lag;
  // When the last member left (or the group was created without one).
  std::optional<absl::Time> empty_since;
};

// Where ResetOffsets moves a group.
struct ResetSpec {
  enum class Kind {
    kEarliest,   // the log start offset
    kLatest,     // the log end offset
    kTimestamp,  // the first record with timestamp >= value (ms since the
                 // epoch); the log end if every record is older
    kOffset,     // value, clamped into [log start, log end]
  };
  Kind kind = Kind::kEarliest;
  int64_t value = 0;
};

// The group coordinator and offset store of one engine. See the top of
// this file for names, sentinels, errors and thread safety.
class ConsumerGroups {
 public:
  virtual ~ConsumerGroups() = default;

  // --- Offsets ------------------------------------------------------------
  // Stores the offsets atomically (one write batch: all or none, also
  // across a crash), creating the group if it does not exist. Every entry
  // is checked first: the topic and partition exist (kNotFound), the
  // offset is >= 0 (kInvalidArgument) and <= the log end (kOutOfRange),
  // metadata <= kMaxOffsetMetadataBytes, no partition twice, at least one
  // entry. Then fencing (CommitOptions). A commit from a member counts as
  // its heartbeat. Offsets below the log start are accepted.
  virtual absl::Status Commit(std::string_view group,
                              const std::vector<OffsetCommit>& offsets,
                              const CommitOptions& options = {}) = 0;

  // The group's committed offsets: all of them, or those of `partitions`
  // (a partition without a commit maps to offset kNoCommittedOffset). A
  // group that does not exist has none (not an error).
  virtual absl::StatusOr<CommittedOffsets> FetchCommitted(
      std::string_view group,
      const std::optional<std::vector<TopicPartition>>& partitions =
          std::nullopt) const = 0;

  // Moves the group's offsets on `topic` (all partitions, or
  // `partitions`) per `spec`, creating the group if needed; synced.
  // kFailedPrecondition if the group has live members (members whose
  // session ran out are removed first). Returns the new offsets.
  virtual absl::StatusOr<std::map<TopicPartition, int64_t>> ResetOffsets(
      std::string_view group, std::string_view topic, const ResetSpec& spec,
      const std::optional<std::vector<int32_t>>& partitions = std::nullopt) = 0;

  // --- Groups -------------------------------------------------------------
  // Every group's name, sorted.
  virtual absl::StatusOr<std::vector<std::string>> ListGroups() const = 0;

  // State, members, offsets and lag. Removes members whose session ran
  // out first (so it may write). kNotFound for an unknown group.
  virtual absl::StatusOr<GroupDescription> DescribeGroup(
      std::string_view group) = 0;

  // Deletes the group and its offsets (one synced batch). kNotFound for an
  // unknown group, kFailedPrecondition if it has live members.
  virtual absl::Status DeleteGroup(std::string_view group) = 0;

  // Deletes every group that has had no members and no commit for longer
  // than `retention` (> 0; InfiniteDuration: none), with its offsets.
  // Members whose session ran out are removed first. Returns the names
  // deleted. The engine also runs this periodically with
  // EngineOptions::group_offsets_retention.
  virtual absl::StatusOr<std::vector<std::string>> ExpireGroups(
      absl::Duration retention) = 0;

  // --- Membership ---------------------------------------------------------
  // Adds the member (or updates an existing member's subscription). A new
  // member, a changed subscription, a member removed or a change in the
  // subscribed topics' partitions starts a new generation and recomputes
  // the whole assignment with the group's strategy (sticky keeps members'
  // current partitions where it can). A rejoin that changes nothing
  // returns the current generation and assignment without a new one.
  // kFailedPrecondition if the strategy differs from the group's while it
  // has members.
  virtual absl::StatusOr<JoinGroupResult> JoinGroup(
      std::string_view group, const JoinGroupRequest& request) = 0;

  // Keeps the member's session alive. OK if `generation` is current;
  // kFailedPrecondition "rebalance needed" if the group moved on (rejoin
  // to get the new assignment) or "unknown member" if the member is not in
  // the group (its session ran out, or it never joined): rejoin.
  virtual absl::Status Heartbeat(std::string_view group,
                                 std::string_view member_id,
                                 int32_t generation) = 0;

  // Removes the member (a new generation for the others).
  // kFailedPrecondition "unknown member" if it is not in the group.
  virtual absl::Status LeaveGroup(std::string_view group,
                                  std::string_view member_id) = 0;

  // --- Lag ----------------------------------------------------------------
  // Per partition with a commit or assigned to a member (sorted).
  // kNotFound for an unknown group. Partitions of deleted topics are
  // skipped. Reads at most one batch per lagging partition.
  virtual absl::StatusOr<std::vector<PartitionLag>> Lag(
      std::string_view group) const = 0;

  // --- Work-queue retention -----------------------------------------------
  // For TopicConfig::retain_until_consumed: segments may be deleted only
  // below the returned offset. A group is registered on `topic` while it
  // has a committed offset on any partition of the topic or a member (not
  // yet removed) subscribed to it. Each registered group contributes its
  // committed offset on `partition`, or the partition's log start offset
  // if it has none there (it has consumed nothing yet); the floor is the
  // smallest contribution. nullopt: no group is registered, so consumption
  // imposes no floor. kNotFound for an unknown topic or partition.
  virtual absl::StatusOr<std::optional<int64_t>> RetentionFloor(
      std::string_view topic, int32_t partition) const = 0;
};

}  // namespace spool

#endif  // SPOOL_CONSUMER_GROUPS_H_
