// Assign(): validation and dispatch. The strategies live in
// range_assignor.cc, round_robin_assignor.cc and sticky_*.cc.

#include "spool/assignor.h"

#include "groups/assignment_problem.h"

namespace spool {

std::string_view AssignmentStrategyName(AssignmentStrategy strategy) {
  switch (strategy) {
    case AssignmentStrategy::kRange:
      return "range";
    case AssignmentStrategy::kRoundRobin:
      return "roundrobin";
    case AssignmentStrategy::kSticky:
      return "sticky";
  }
  return "unknown";
}

std::optional<AssignmentStrategy> ParseAssignmentStrategy(
    std::string_view name) {
  if (name == "range") return AssignmentStrategy::kRange;
  if (name == "roundrobin") return AssignmentStrategy::kRoundRobin;
  if (name == "sticky" || name == "cooperative-sticky") {
    return AssignmentStrategy::kSticky;
  }
  return std::nullopt;
}

absl::StatusOr<Assignment> Assign(
    AssignmentStrategy strategy, const std::vector<TopicPartitions>& topics,
    const std::vector<MemberSubscription>& members) {
  absl::StatusOr<groups_internal::AssignmentProblem> problem =
      groups_internal::BuildAssignmentProblem(topics, members);
  if (!problem.ok()) return problem.status();
  std::vector<int32_t> owner;
  switch (strategy) {
    case AssignmentStrategy::kRange:
      owner = groups_internal::AssignRange(*problem);
      break;
    case AssignmentStrategy::kRoundRobin:
      owner = groups_internal::AssignRoundRobin(*problem);
      break;
    case AssignmentStrategy::kSticky:
      owner = groups_internal::AssignSticky(*problem);
      break;
  }
  return groups_internal::MakeAssignment(*problem, owner);
}

}  // namespace spool
