// Sticky assignment: ownership resolution, the identical-subscription case
// (exactly minimal movement) and dispatch. The general case is in
// sticky_balancer.cc.

#include <algorithm>

#include "groups/assignment_problem.h"

namespace spool {
namespace groups_internal {

std::vector<int32_t> ResolveClaims(const AssignmentProblem& problem) {
  const size_t num_partitions = static_cast<size_t>(problem.num_partitions());
  std::vector<int32_t> claims(num_partitions, kNoMember);
  std::vector<int32_t> claim_generation(num_partitions, 0);
  for (int32_t m = 0; m < problem.num_members(); ++m) {
    const MemberSubscription& member = *problem.members[static_cast<size_t>(m)];
    for (const TopicPartition& tp : member.owned) {
      std::optional<PartitionId> id = problem.IdOf(tp);
      if (!id || !problem.IsSubscribed(m, problem.TopicOf(*id))) continue;
      const size_t i = static_cast<size_t>(*id);
      // Members come in member_id order, so on equal generations the claim
      // already recorded (the smaller member_id, or this member listing the
      // partition twice) stands.
      if (claims[i] == kNoMember || member.generation > claim_generation[i]) {
        claims[i] = m;
        claim_generation[i] = member.generation;
      }
    }
  }
  return claims;
}

namespace {

// Quotas for the identical case: every member gets q = P / M, and r = P % M
// members get q + 1. The extra slots go first to members that already hold
// more than q (each such member then keeps one more partition), then to the
// others in member order; which of the others does not change the count
// moved.
std::vector<int64_t> IdenticalQuotas(const std::vector<int64_t>& held,
                                     PartitionId num_partitions) {
  const int64_t num_members = static_cast<int64_t>(held.size());
  const int64_t q = num_partitions / num_members;
  int64_t slots = num_partitions % num_members;
  std::vector<int64_t> quota(held.size(), q);
  for (size_t m = 0; m < held.size() && slots > 0; ++m) {
    if (held[m] > q) {
      ++quota[m];
      --slots;
    }
  }
  for (size_t m = 0; m < held.size() && slots > 0; ++m) {
    if (held[m] <= q) {
      ++quota[m];
      --slots;
    }
  }
  return quota;
}

// Deals `pool` (ascending ids) to the members below their quota, one
// partition each in member order per round, so a member's new partitions
// spread over topics. The pool holds exactly the missing partitions.
void DealPool(const std::vector<PartitionId>& pool,
              const std::vector<int64_t>& quota, std::vector<int64_t>& load,
              std::vector<int32_t>& owner) {
  std::vector<int32_t> needy;
  for (size_t m = 0; m < quota.size(); ++m) {
    if (load[m] < quota[m]) needy.push_back(static_cast<int32_t>(m));
  }
  size_t next = 0;
  std::vector<int32_t> still_needy;
  while (next < pool.size() && !needy.empty()) {
    still_needy.clear();
    for (int32_t m : needy) {
      if (next == pool.size()) break;
      owner[static_cast<size_t>(pool[next++])] = m;
      const size_t mi = static_cast<size_t>(m);
      if (++load[mi] < quota[mi]) still_needy.push_back(m);
    }
    needy.swap(still_needy);
  }
}

}  // namespace

std::vector<int32_t> AssignStickyIdentical(const AssignmentProblem& problem,
                                           const std::vector<int32_t>& claims) {
  std::vector<int64_t> held(problem.members.size(), 0);
  for (int32_t m : claims) {
    if (m != kNoMember) ++held[static_cast<size_t>(m)];
  }
  const std::vector<int64_t> quota =
      IdenticalQuotas(held, problem.num_partitions());
  // Each member keeps its lowest claimed ids up to its quota; everything
  // else goes to the pool.
  std::vector<int32_t> owner(claims.size(), kNoMember);
  std::vector<int64_t> load(problem.members.size(), 0);
  std::vector<PartitionId> pool;
  for (size_t id = 0; id < claims.size(); ++id) {
    const int32_t m = claims[id];
    if (m != kNoMember &&
        load[static_cast<size_t>(m)] < quota[static_cast<size_t>(m)]) {
      owner[id] = m;
      ++load[static_cast<size_t>(m)];
    } else {
      pool.push_back(static_cast<PartitionId>(id));
    }
  }
  DealPool(pool, quota, load, owner);
  return owner;
}

std::vector<int32_t> AssignSticky(const AssignmentProblem& problem) {
  if (problem.num_partitions() == 0) return {};
  const std::vector<int32_t> claims = ResolveClaims(problem);
  if (problem.SubscriptionsIdentical()) {
    return AssignStickyIdentical(problem, claims);
  }
  return AssignStickyGeneral(problem, claims);
}

}  // namespace groups_internal
}  // namespace spool
