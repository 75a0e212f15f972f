// Helpers shared by the assignor tests: builders, random groups, and
// checkers written independently of the library (from the contract in
// spool/assignor.h, not from its implementation).

#ifndef SPOOL_TESTS_GROUPS_ASSIGNOR_TEST_UTIL_H_
#define SPOOL_TESTS_GROUPS_ASSIGNOR_TEST_UTIL_H_

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "spool/assignor.h"

namespace spool::testing_groups {

// Success iff `status` has `code` and its message contains `fragment`.
::testing::AssertionResult HasStatus(const absl::Status& status,
                                     absl::StatusCode code,
                                     std::string_view fragment);
template <typename T>
::testing::AssertionResult HasStatus(const absl::StatusOr<T>& result,
                                     absl::StatusCode code,
                                     std::string_view fragment) {
  return HasStatus(result.status(), code, fragment);
}

// Parses "t0:0 t0:1 t1:0" into partitions (in the given order).
std::vector<TopicPartition> Tps(std::string_view list);
MemberSubscription Member(std::string id, std::vector<std::string> topics,
                          std::string_view owned = "", int32_t generation = -1);

// "a=[t0:0 t1:2] b=[]".
std::string Format(const Assignment& assignment);
std::string Format(const std::vector<TopicPartitions>& topics,
                   const std::vector<MemberSubscription>& members);

// partition -> member.
using Owners = std::map<TopicPartition, std::string>;
Owners OwnersOf(const Assignment& assignment);
std::map<std::string, int64_t> Loads(const Assignment& assignment);
// Max load minus min load; 0 without members.
int64_t Spread(const Assignment& assignment);

// The input as the contract defines it: existing topics, and each member's
// subscribed topics among them.
struct Group {
  std::map<std::string, int32_t> topics;
  std::map<std::string, std::set<std::string>> subscriptions;
  bool SubscriptionsIdentical() const;
  bool IsSubscribed(const std::string& member, const std::string& topic) const;
};
Group GroupOf(const std::vector<TopicPartitions>& topics,
              const std::vector<MemberSubscription>& members);

// Empty if `assignment` meets the guarantees common to all strategies (every
// member present, lists sorted, each partition of each subscribed topic
// assigned exactly once and only to a subscriber); else what is wrong.
std::string CheckValid(const Group& group, const Assignment& assignment);
// Empty if no member of load L holds a partition whose topic a member of
// load < L - 1 subscribes to.
std::string CheckNoImprovingMove(const Group& group,
                                 const Assignment& assignment);
// Empty if no chain of hand-overs leads from a member of load L to one of
// load <= L - 2 (see spool/assignor.h).
std::string CheckNoImprovingChain(const Group& group,
                                  const Assignment& assignment);

// Straightforward implementations of Kafka's range and round-robin.
Assignment ReferenceRange(const Group& group);
Assignment ReferenceRoundRobin(const Group& group);

// Surviving claims per the contract: valid claims only, higher generation
// wins, then the smaller member id.
Owners ReferenceClaims(const Group& group,
                       const std::vector<MemberSubscription>& members);
// Partitions of `after` that had an owner in `before` and now have another.
int64_t CountMoved(const Owners& before, const Assignment& after);
// For identical subscriptions: the fewest partitions of `after`'s partition
// set that any balanced assignment must move relative to `before`, given
// the surviving claims `claims`.
int64_t MinimalMovesIdentical(const Group& group, const Owners& before,
                              const Owners& claims);

// Best achievable by any assignment of a tiny group, by enumeration.
struct Optimum {
  int64_t max_load = 0;
  int64_t sum_of_squares = 0;
  // Fewest moves (relative to `before`) among assignments achieving
  // sum_of_squares.
  int64_t moves = 0;
};
// REQUIRES: at most `limit` candidate assignments (else returns nullopt).
std::optional<Optimum> ExhaustiveOptimum(const Group& group,
                                         const Owners& before,
                                         int64_t limit = 50000);
int64_t SumOfSquares(const Assignment& assignment);
// The same optimum by min-cost flow (Σ load² first, then moves), for groups
// too large to enumerate; O(P² (P + M) M) worst case, so keep P in the
// hundreds. max_load is left 0.
Optimum FlowOptimum(const Group& group, const Owners& before);

// Random inputs.
struct RandomGroupOptions {
  int max_topics = 6;
  int max_partitions = 12;
  int max_members = 8;
  bool identical = false;  // all members subscribe to the same topics
  bool owned = false;      // random (partly invalid, conflicting) `owned`
};
struct Input {
  std::vector<TopicPartitions> topics;
  std::vector<MemberSubscription> members;
};
Input RandomInput(std::mt19937_64& rng, const RandomGroupOptions& options);
// The same input in another order: topics, members, and each member's
// topics and owned partitions shuffled.
Input Shuffled(std::mt19937_64& rng, Input input);

}  // namespace spool::testing_groups

#endif  // SPOOL_TESTS_GROUPS_ASSIGNOR_TEST_UTIL_H_
