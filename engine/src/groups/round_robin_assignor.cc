// Kafka's RoundRobinAssignor.

#include <algorithm>

#include "groups/assignment_problem.h"

namespace spool {
namespace groups_internal {

// All partitions in (topic, partition) order are dealt to the members in
// member order, cyclically; a member not subscribed to the partition's topic
// is passed over (Kafka's CircularIterator).
std::vector<int32_t> AssignRoundRobin(const AssignmentProblem& problem) {
  std::vector<int32_t> owner(static_cast<size_t>(problem.num_partitions()),
                             kNoMember);
  int32_t next = 0;  // the member the deal continues with
  for (size_t t = 0; t < problem.subscribers.size(); ++t) {
    const std::vector<int32_t>& subs = problem.subscribers[t];
    for (PartitionId id = problem.first_id[t]; id < problem.first_id[t + 1];
         ++id) {
      // The first subscriber at or after `next`, wrapping around.
      auto it = std::lower_bound(subs.begin(), subs.end(), next);
      const int32_t member = it == subs.end() ? subs.front() : *it;
      owner[static_cast<size_t>(id)] = member;
      next = (member + 1) % problem.num_members();
    }
  }
  return owner;
}

}  // namespace groups_internal
}  // namespace spool
