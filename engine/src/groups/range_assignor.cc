// Kafka's RangeAssignor.

#include <algorithm>

#include "groups/assignment_problem.h"

namespace spool {
namespace groups_internal {

// Per topic, subscriber i (in member order) of k gets the i-th consecutive
// range; the first (partitions % k) ranges are one longer.
std::vector<int32_t> AssignRange(const AssignmentProblem& problem) {
  std::vector<int32_t> owner(static_cast<size_t>(problem.num_partitions()),
                             kNoMember);
  for (size_t t = 0; t < problem.subscribers.size(); ++t) {
    const std::vector<int32_t>& subs = problem.subscribers[t];
    const PartitionId k = static_cast<PartitionId>(subs.size());
    const PartitionId quotient = problem.partition_counts[t] / k;
    const PartitionId extra = problem.partition_counts[t] % k;
    PartitionId id = problem.first_id[t];
    for (PartitionId i = 0; i < k; ++i) {
      const PartitionId end = id + quotient + (i < extra ? 1 : 0);
      std::fill(owner.begin() + id, owner.begin() + end,
                subs[static_cast<size_t>(i)]);
      id = end;
    }
  }
  return owner;
}

}  // namespace groups_internal
}  // namespace spool
