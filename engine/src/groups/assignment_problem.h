// The input of Assign() validated, sorted and numbered, so that the
// strategies work on small integers instead of strings:
//
//  * members are numbered 0..M-1 in member_id order;
//  * topics with at least one subscriber are numbered 0..T-1 in name order
//    (topics nobody subscribes to are left out);
//  * partition p of topic t has the id first_id[t] + p, so ids 0..P-1 are in
//    (topic, partition) order and sorting ids sorts TopicPartitions.
//
// Internal to spool_groups; the public API is spool/assignor.h.

#ifndef SPOOL_GROUPS_ASSIGNMENT_PROBLEM_H_
#define SPOOL_GROUPS_ASSIGNMENT_PROBLEM_H_

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "spool/assignor.h"

namespace spool {
namespace groups_internal {

// A partition id (see above); int64_t because the partitions of several
// topics may add up to more than INT32_MAX.
using PartitionId = int64_t;
constexpr int32_t kNoMember = -1;

struct AssignmentProblem {
  // Per member, in member_id order. Points into Assign()'s `members`.
  std::vector<const MemberSubscription*> members;
  // Per member: the subscribed topics that exist, sorted, without
  // duplicates.
  std::vector<std::vector<int32_t>> subscriptions;

  // Per topic (subscribed topics only), in name order.
  std::vector<std::string_view> topic_names;
  std::vector<int32_t> partition_counts;
  // first_id[t] is the id of partition 0 of topic t; first_id[T] is P.
  std::vector<PartitionId> first_id;
  // Per topic: the subscribed members, sorted.
  std::vector<std::vector<int32_t>> subscribers;

  int32_t num_members() const { return static_cast<int32_t>(members.size()); }
  int32_t num_topics() const {
    return static_cast<int32_t>(topic_names.size());
  }
  PartitionId num_partitions() const { return first_id.back(); }

  // The topic of partition `id`. O(log T).
  int32_t TopicOf(PartitionId id) const;
  // The id of `tp`, or nullopt if its topic is not subscribed by anyone or
  // the partition is out of range. O(log T).
  std::optional<PartitionId> IdOf(const TopicPartition& tp) const;
  // Whether `member` subscribes to `topic`. O(log s).
  bool IsSubscribed(int32_t member, int32_t topic) const;
  // Whether every member subscribes to exactly the same topics.
  bool SubscriptionsIdentical() const;
};

// Validates and indexes the input; the errors are those documented on
// Assign(). The problem points into `members`, which must outlive it.
absl::StatusOr<AssignmentProblem> BuildAssignmentProblem(
    const std::vector<TopicPartitions>& topics,
    const std::vector<MemberSubscription>& members);

// owner[id] is the member of partition id (kNoMember: unassigned, only for
// partitions nobody may take; there are none in a valid result). Builds the
// public Assignment with every member present and each list sorted.
Assignment MakeAssignment(const AssignmentProblem& problem,
                          const std::vector<int32_t>& owner);

// The strategies. Each returns owner per partition id (see MakeAssignment).
std::vector<int32_t> AssignRange(const AssignmentProblem& problem);
std::vector<int32_t> AssignRoundRobin(const AssignmentProblem& problem);
std::vector<int32_t> AssignSticky(const AssignmentProblem& problem);

// The parts of AssignSticky, exposed for tests. `claims[id]` is the member
// whose claim on partition id survived ownership resolution (kNoMember if
// none); see spool/assignor.h for the rules.
std::vector<int32_t> ResolveClaims(const AssignmentProblem& problem);
// REQUIRES: problem.SubscriptionsIdentical().
std::vector<int32_t> AssignStickyIdentical(const AssignmentProblem& problem,
                                           const std::vector<int32_t>& claims);
// Any subscriptions, identical ones included.
std::vector<int32_t> AssignStickyGeneral(const AssignmentProblem& problem,
                                         const std::vector<int32_t>& claims);

}  // namespace groups_internal
}  // namespace spool

#endif  // SPOOL_GROUPS_ASSIGNMENT_PROBLEM_H_
