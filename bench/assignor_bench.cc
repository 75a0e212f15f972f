// Micro-benchmarks of the consumer-group partition assignors
// (spool/assignor.h) over group sizes: members x partitions, spread over 10
// topics (100 with mixed subscriptions).
//
//   BM_Range, BM_RoundRobin       a fresh assignment.
//   BM_Sticky/fresh               a fresh assignment (nothing owned).
//   BM_Sticky/stable              every member owns its share already: the
//                                 common rebalance where nothing changes.
//   BM_Sticky/join, BM_Sticky/leave
//                                 one member joins / leaves a balanced group.
//   BM_StickyMixed/...            the same with each member subscribed to a
//                                 random half of 100 topics (general path).
//
// The label names the sticky path that ran (identical or general) and the
// counter "moved" the partitions that changed owner. Release build: see
// docs/consumer-groups.md. With SPOOL_BENCH_SMOKE set (ctest) only the
// smallest size is registered.

#include <algorithm>
#include <cstdlib>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "benchmark/benchmark.h"
#include "groups/assignment_problem.h"
#include "spool/assignor.h"

namespace spool {
namespace {

struct Group {
  std::vector<TopicPartitions> topics;
  std::vector<MemberSubscription> members;
  Assignment previous;  // what `owned` was set from, departed members too
};

// `members` members and `partitions` partitions. Identical subscriptions to
// 10 topics, or (mixed) each member subscribed to a random half of 100.
Group MakeGroup(int64_t members, int64_t partitions, bool mixed) {
  const int64_t num_topics = std::min<int64_t>(mixed ? 100 : 10, partitions);
  Group group;
  std::vector<std::string> names;
  for (int64_t t = 0; t < num_topics; ++t) {
    names.push_back(absl::StrFormat("topic-%03d", t));
    group.topics.push_back(
        {names.back(), static_cast<int32_t>(partitions / num_topics)});
  }
  std::mt19937_64 rng(42);
  for (int64_t m = 0; m < members; ++m) {
    MemberSubscription member;
    member.member_id = absl::StrFormat("consumer-%05d", m);
    for (const std::string& name : names) {
      if (!mixed || rng() % 2 == 0) member.topics.push_back(name);
    }
    group.members.push_back(std::move(member));
  }
  return group;
}

// Sets every member's `owned` to its share of `assignment`.
void Own(const Assignment& assignment, int32_t generation, Group& group) {
  group.previous = assignment;
  for (MemberSubscription& m : group.members) {
    auto it = assignment.find(m.member_id);
    m.owned =
        it == assignment.end() ? std::vector<TopicPartition>{} : it->second;
    m.generation = generation;
  }
}

// Partitions that changed owner since group.previous.
int64_t CountMoved(const Group& group, const Assignment& after) {
  int64_t moved = 0;
  for (const auto& [member, owned] : group.previous) {
    auto it = after.find(member);
    for (const TopicPartition& tp : owned) {
      if (it == after.end() ||
          !std::binary_search(it->second.begin(), it->second.end(), tp)) {
        ++moved;
      }
    }
  }
  return moved;
}

std::string PathLabel(const Group& group) {
  absl::StatusOr<groups_internal::AssignmentProblem> problem =
      groups_internal::BuildAssignmentProblem(group.topics, group.members);
  if (!problem.ok()) return "invalid";
  return problem->SubscriptionsIdentical() ? "identical" : "general";
}

void RunAssign(benchmark::State& state, AssignmentStrategy strategy,
               const Group& group) {
  absl::StatusOr<Assignment> result;
  for (auto _ : state) {
    result = Assign(strategy, group.topics, group.members);
    benchmark::DoNotOptimize(result);
  }
  if (!result.ok()) {
    state.SkipWithError(std::string(result.status().message()).c_str());
    return;
  }
  state.SetItemsProcessed(state.iterations() * state.range(1));
  if (strategy == AssignmentStrategy::kSticky) {
    state.SetLabel(PathLabel(group));
    state.counters["moved"] = static_cast<double>(CountMoved(group, *result));
  }
}

void BM_Range(benchmark::State& state) {
  RunAssign(state, AssignmentStrategy::kRange,
            MakeGroup(state.range(0), state.range(1), false));
}

void BM_RoundRobin(benchmark::State& state) {
  RunAssign(state, AssignmentStrategy::kRoundRobin,
            MakeGroup(state.range(0), state.range(1), false));
}

enum class Scenario { kFresh, kStable, kJoin, kLeave };

// The group of the scenario, with `owned` set from a previous assignment.
Group ScenarioGroup(Scenario scenario, int64_t members, int64_t partitions,
                    bool mixed) {
  Group group = MakeGroup(members, partitions, mixed);
  if (scenario == Scenario::kFresh) return group;
  Group previous = group;
  if (scenario == Scenario::kJoin) previous.members.pop_back();
  absl::StatusOr<Assignment> assignment =
      Assign(AssignmentStrategy::kSticky, previous.topics, previous.members);
  if (!assignment.ok()) return group;
  Own(*assignment, 1, group);
  if (scenario == Scenario::kLeave) {
    group.members.erase(group.members.begin() +
                        static_cast<int64_t>(group.members.size() / 2));
  }
  return group;
}

void BM_Sticky(benchmark::State& state, Scenario scenario, bool mixed) {
  RunAssign(state, AssignmentStrategy::kSticky,
            ScenarioGroup(scenario, state.range(0), state.range(1), mixed));
}

void RegisterAll(bool smoke) {
  std::vector<std::pair<int64_t, int64_t>> sizes = {{4, 20}};
  if (!smoke) {
    sizes = {{10, 100}, {100, 1000}, {1000, 10000}, {1000, 100000}};
  }
  auto apply = [&](benchmark::internal::Benchmark* b) {
    b->ArgNames({"members", "partitions"})->Unit(benchmark::kMicrosecond);
    for (const auto& [m, p] : sizes) b->Args({m, p});
  };
  apply(benchmark::RegisterBenchmark("BM_Range", BM_Range));
  apply(benchmark::RegisterBenchmark("BM_RoundRobin", BM_RoundRobin));
  const std::pair<const char*, Scenario> scenarios[] = {
      {"fresh", Scenario::kFresh},
      {"stable", Scenario::kStable},
      {"join", Scenario::kJoin},
      {"leave", Scenario::kLeave}};
  for (bool mixed : {false, true}) {
    for (const auto& [name, scenario] : scenarios) {
      const std::string full = absl::StrFormat(
          "%s/%s", mixed ? "BM_StickyMixed" : "BM_Sticky", name);
      apply(benchmark::RegisterBenchmark(full.c_str(), BM_Sticky, scenario,
                                         mixed));
    }
  }
}

}  // namespace
}  // namespace spool

int main(int argc, char** argv) {
  spool::RegisterAll(std::getenv("SPOOL_BENCH_SMOKE") != nullptr);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
