// Sticky assignment for arbitrary subscriptions.
//
// 1. Every surviving claim is kept.
// 2. Unclaimed partitions go, topic by topic (topics with the fewest
//    subscribers first, as they have the fewest places to go), each to the
//    least-loaded subscriber.
// 3. Local moves: while a member of load L holds a partition whose topic has
//    a subscriber of load < L - 1, the most loaded such member hands one to
//    the least loaded such subscriber. First only partitions placed in step
//    2 or received in this step (moving them again costs nothing), then any.
// 4. Chains: a chain is a sequence of members, each holding a partition of
//    a topic the next one subscribes to; shifting one partition along each
//    step moves one unit of load from the first member to the last. For
//    each level l, lowest first, a breadth-first search backwards from all
//    members of load <= l finds the most loaded member of load >= l + 2
//    that has a chain to one of them, and shifts along the shortest such
//    chain (several units at once when every step can carry them). A sweep
//    over all levels repeats until it shifts nothing.
//
// When 4 finds nothing, no cost-reducing path exists, which characterizes
// an optimal semi-matching (Harvey, Ladner, Lovasz, Tamir: "Semi-matchings
// for bipartite graphs and load balancing", 2003): the load vector then
// minimizes the maximum load and the sum of squared loads simultaneously.
// Every move in 3 and 4 lowers the sum of squared loads, so both end.
//
// Stickiness: a member gives away the partitions it received in this call
// before those it already owned, and steps 3-4 only move what balance
// requires, along shortest chains.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <set>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "groups/assignment_problem.h"

namespace spool {
namespace groups_internal {
namespace {

// Runs steps 2-4 over one problem. Single-threaded; one per call.
class StickyBalancer {
 public:
  StickyBalancer(const AssignmentProblem& problem,
                 const std::vector<int32_t>& claims);

  StickyBalancer(const StickyBalancer&) = delete;
  StickyBalancer& operator=(const StickyBalancer&) = delete;

  // Runs steps 2-4 and returns the owner of each partition.
  std::vector<int32_t> Run() &&;

 private:
  // (load, member) entries of a topic's subscribers, a min-heap.
  using LoadHeap = std::vector<std::pair<int32_t, int32_t>>;

  void PlaceUnclaimed();
  // Local moves until none is left; with `received_only`, only of partitions
  // that changed hands in this call (moving those again costs nothing).
  void BalanceLocally(bool received_only);
  // One local move away from `member`; false if none is possible.
  bool ShedOne(int32_t member, bool received_only);
  // Shifts along chains until none is left; with `received_only`, chains
  // that move only partitions received in this call.
  void BalanceByChains(bool received_only);
  // Breadth-first search backwards from the members of load <= `level`.
  // Returns the most loaded member reached (ties: the first reached) if its
  // load is >= level + 2, else kNoMember. The chain from a reached member x
  // goes to topic_to_[step_[x]] via partitions of topic step_[x].
  int32_t FindChainStart(int32_t level, bool received_only);
  // Shifts along the chain from `start` found by FindChainStart(): as many
  // units as every step can carry while the start stays above the end (one
  // if `received_only`: only the last partition of a list is known to be
  // received).
  void ShiftAlongChain(int32_t start, bool received_only);

  // Hands one partition of `topic` from `from` (which holds one) to `to`.
  void Move(int32_t from, int32_t to, int32_t topic);
  void Take(int32_t member, int32_t topic, PartitionId id);
  void AddLoad(int32_t member, int32_t delta);
  // The least loaded subscriber of `topic` (ties: the smaller index).
  std::pair<int32_t, int32_t> LeastLoaded(int32_t topic);

  static size_t Index(int32_t i) { return static_cast<size_t>(i); }

  const AssignmentProblem& problem_;
  const std::vector<int32_t>& claims_;  // per partition id
  std::vector<int32_t> owner_;          // per partition id
  std::vector<int32_t> load_;           // per member
  // members_with_load_[l]: how many members have load l; min_load_: the
  // smallest load.
  std::vector<int32_t> members_with_load_;
  int32_t min_load_ = 0;
  // held_[m][t]: the partitions of topic t that member m holds, claimed ones
  // first and received ones last, so that pop_back() gives away received
  // partitions first. Topics with no partition held have no entry.
  std::vector<absl::btree_map<int32_t, std::vector<PartitionId>>> held_;
  // holders_[t]: the members holding at least one partition of topic t.
  std::vector<absl::btree_set<int32_t>> holders_;
  // The least loaded subscriber of a topic with few subscribers is found by
  // a scan. The others keep a heap of (load, member) entries, updated
  // lazily: a load increase leaves the member's entries too low (re-filed
  // when one reaches the top), a decrease adds an entry to each of the
  // member's heaps (the old ones, now too high, are dropped when they reach
  // the top). Every member always has an entry no higher than its load, so
  // a top entry matching its member's load is the minimum. Placements, the
  // bulk of the work, thus cost O(log M), not O(topics per member * log M).
  static constexpr size_t kMaxScan = 16;
  bool UsesHeap(int32_t topic) const {
    return problem_.subscribers[Index(topic)].size() > kMaxScan;
  }
  std::vector<LoadHeap> by_load_;

  // Breadth-first search scratch, per member / per topic. A mark equal to
  // search_ means "seen in the current search".
  int32_t search_ = 0;
  std::vector<int32_t> member_mark_;
  std::vector<int32_t> topic_mark_;
  std::vector<int32_t> step_;      // member -> topic of its step (-1: end)
  std::vector<int32_t> topic_to_;  // topic -> member its partitions go to
  std::vector<int32_t> queue_;
};

StickyBalancer::StickyBalancer(const AssignmentProblem& problem,
                               const std::vector<int32_t>& claims)
    : problem_(problem),
      claims_(claims),
      owner_(claims),
      load_(problem.members.size(), 0),
      held_(problem.members.size()),
      holders_(problem.topic_names.size()),
      by_load_(problem.topic_names.size()),
      member_mark_(problem.members.size(), -1),
      topic_mark_(problem.topic_names.size(), -1),
      step_(problem.members.size(), -1),
      topic_to_(problem.topic_names.size(), -1) {
  for (int32_t t = 0; t < problem.num_topics(); ++t) {
    for (PartitionId id = problem.first_id[Index(t)];
         id < problem.first_id[Index(t) + 1]; ++id) {
      const int32_t m = owner_[static_cast<size_t>(id)];
      if (m == kNoMember) continue;
      held_[Index(m)][t].push_back(id);
      holders_[Index(t)].insert(m);
      ++load_[Index(m)];
    }
  }
  for (int32_t t = 0; t < problem.num_topics(); ++t) {
    if (!UsesHeap(t)) continue;
    LoadHeap& heap = by_load_[Index(t)];
    for (int32_t m : problem.subscribers[Index(t)]) {
      heap.emplace_back(load_[Index(m)], m);
    }
    std::make_heap(heap.begin(), heap.end(), std::greater<>());
  }
  members_with_load_.assign(static_cast<size_t>(problem.num_partitions()) + 1,
                            0);
  for (int32_t load : load_) ++members_with_load_[Index(load)];
  if (!load_.empty()) min_load_ = *std::min_element(load_.begin(), load_.end());
}

std::vector<int32_t> StickyBalancer::Run() && {
  if (problem_.num_partitions() == 0) return std::move(owner_);
  PlaceUnclaimed();
  BalanceLocally(/*received_only=*/true);
  BalanceByChains(/*received_only=*/true);
  BalanceLocally(/*received_only=*/false);
  BalanceByChains(/*received_only=*/false);
  return std::move(owner_);
}

// REQUIRES: delta is 1 or -1.
void StickyBalancer::AddLoad(int32_t member, int32_t delta) {
  --members_with_load_[Index(load_[Index(member)])];
  if (load_[Index(member)] == min_load_ &&
      members_with_load_[Index(min_load_)] == 0) {
    min_load_ += delta;  // it was the last member at the minimum
  }
  load_[Index(member)] += delta;
  ++members_with_load_[Index(load_[Index(member)])];
  min_load_ = std::min(min_load_, load_[Index(member)]);
  if (delta > 0) return;
  for (int32_t t : problem_.subscriptions[Index(member)]) {
    if (!UsesHeap(t)) continue;
    LoadHeap& heap = by_load_[Index(t)];
    heap.emplace_back(load_[Index(member)], member);
    std::push_heap(heap.begin(), heap.end(), std::greater<>());
  }
}

std::pair<int32_t, int32_t> StickyBalancer::LeastLoaded(int32_t topic) {
  if (!UsesHeap(topic)) {
    std::pair<int32_t, int32_t> least(INT32_MAX, kNoMember);
    for (int32_t m : problem_.subscribers[Index(topic)]) {
      least = std::min(least, {load_[Index(m)], m});
    }
    return least;
  }
  LoadHeap& heap = by_load_[Index(topic)];
  for (;;) {
    const auto [load, m] = heap.front();
    if (load == load_[Index(m)]) return heap.front();
    std::pop_heap(heap.begin(), heap.end(), std::greater<>());
    heap.pop_back();
    if (load < load_[Index(m)]) {  // stale after an increase: re-file
      heap.emplace_back(load_[Index(m)], m);
      std::push_heap(heap.begin(), heap.end(), std::greater<>());
    }
  }
}

void StickyBalancer::Take(int32_t member, int32_t topic, PartitionId id) {
  owner_[static_cast<size_t>(id)] = member;
  std::vector<PartitionId>& ids = held_[Index(member)][topic];
  if (ids.empty()) holders_[Index(topic)].insert(member);
  ids.push_back(id);
  AddLoad(member, 1);
}

void StickyBalancer::Move(int32_t from, int32_t to, int32_t topic) {
  auto it = held_[Index(from)].find(topic);
  const PartitionId id = it->second.back();
  it->second.pop_back();
  if (it->second.empty()) {
    held_[Index(from)].erase(it);
    holders_[Index(topic)].erase(from);
  }
  AddLoad(from, -1);
  Take(to, topic, id);
}

void StickyBalancer::PlaceUnclaimed() {
  std::vector<int32_t> topics(problem_.topic_names.size());
  for (size_t t = 0; t < topics.size(); ++t) {
    topics[t] = static_cast<int32_t>(t);
  }
  std::stable_sort(topics.begin(), topics.end(), [&](int32_t a, int32_t b) {
    return problem_.subscribers[Index(a)].size() <
           problem_.subscribers[Index(b)].size();
  });
  for (int32_t t : topics) {
    for (PartitionId id = problem_.first_id[Index(t)];
         id < problem_.first_id[Index(t) + 1]; ++id) {
      if (owner_[static_cast<size_t>(id)] != kNoMember) continue;
      Take(LeastLoaded(t).second, t, id);
    }
  }
}

bool StickyBalancer::ShedOne(int32_t member, bool received_only) {
  // The receiver must end below the giver: load < load(member) - 1.
  int32_t best_load = load_[Index(member)] - 1;
  int32_t best_topic = -1;
  int32_t receiver = -1;
  for (const auto& [topic, ids] : held_[Index(member)]) {
    // Received partitions are at the back, and Move() gives the back one.
    if (received_only && claims_[static_cast<size_t>(ids.back())] == member) {
      continue;
    }
    const auto [load, m] = LeastLoaded(topic);
    if (load < best_load) {
      best_load = load;
      best_topic = topic;
      receiver = m;
      if (load == min_load_) break;  // no topic can offer less
    }
  }
  if (best_topic < 0) return false;
  Move(member, receiver, best_topic);
  return true;
}

void StickyBalancer::BalanceLocally(bool received_only) {
  // Passes over the members, most loaded first, until one moves nothing: a
  // member that could not shed may be able to after later moves lowered
  // someone else's load.
  bool moved = true;
  while (moved) {
    moved = false;
    std::set<std::pair<int32_t, int32_t>> queue;  // (-load, member)
    for (int32_t m = 0; m < problem_.num_members(); ++m) {
      queue.emplace(-load_[Index(m)], m);
    }
    while (!queue.empty()) {
      const auto [negative_load, m] = *queue.begin();
      queue.erase(queue.begin());
      if (-negative_load != load_[Index(m)]) {  // received since queued
        queue.emplace(-load_[Index(m)], m);
      } else if (ShedOne(m, received_only)) {
        moved = true;
        queue.emplace(-load_[Index(m)], m);
      }
    }
  }
}

int32_t StickyBalancer::FindChainStart(int32_t level, bool received_only) {
  ++search_;
  queue_.clear();
  for (int32_t m = 0; m < problem_.num_members(); ++m) {
    if (load_[Index(m)] > level) continue;
    member_mark_[Index(m)] = search_;
    step_[Index(m)] = -1;
    queue_.push_back(m);
  }
  int32_t start = kNoMember;
  for (size_t head = 0; head < queue_.size(); ++head) {
    const int32_t y = queue_[head];
    for (int32_t topic : problem_.subscriptions[Index(y)]) {
      if (topic_mark_[Index(topic)] == search_) continue;
      topic_mark_[Index(topic)] = search_;
      topic_to_[Index(topic)] = y;
      for (int32_t x : holders_[Index(topic)]) {
        if (member_mark_[Index(x)] == search_) continue;
        if (received_only &&
            claims_[static_cast<size_t>(held_[Index(x)].at(topic).back())] ==
                x) {
          continue;
        }
        member_mark_[Index(x)] = search_;
        step_[Index(x)] = topic;
        queue_.push_back(x);
        if (start == kNoMember || load_[Index(x)] > load_[Index(start)]) {
          start = x;
        }
      }
    }
  }
  if (start != kNoMember && load_[Index(start)] < level + 2) return kNoMember;
  return start;
}

void StickyBalancer::ShiftAlongChain(int32_t start, bool received_only) {
  int32_t end = start;
  size_t units = SIZE_MAX;
  for (; step_[Index(end)] != -1; end = topic_to_[Index(step_[Index(end)])]) {
    units = std::min(units, held_[Index(end)].at(step_[Index(end)]).size());
  }
  units = std::min(units, Index(load_[Index(start)] - load_[Index(end)]) / 2);
  if (received_only) units = 1;
  for (size_t unit = 0; unit < units; ++unit) {
    for (int32_t x = start; x != end;) {
      const int32_t topic = step_[Index(x)];
      const int32_t next = topic_to_[Index(topic)];
      Move(x, next, topic);
      x = next;
    }
  }
}

void StickyBalancer::BalanceByChains(bool received_only) {
  bool shifted = true;
  while (shifted) {
    shifted = false;
    // Shifting never raises the maximum load.
    const int32_t max_load = *std::max_element(load_.begin(), load_.end());
    for (int32_t level = min_load_; level + 2 <= max_load;) {
      const int32_t start = FindChainStart(level, received_only);
      if (start != kNoMember) {
        ShiftAlongChain(start, received_only);
        shifted = true;
        continue;
      }
      // The next level with more members at or below it; the levels in
      // between have the same searches with stricter targets.
      do {
        ++level;
      } while (level + 2 <= max_load && members_with_load_[Index(level)] == 0);
    }
  }
}

}  // namespace

std::vector<int32_t> AssignStickyGeneral(const AssignmentProblem& problem,
                                         const std::vector<int32_t>& claims) {
  return StickyBalancer(problem, claims).Run();
}

}  // namespace groups_internal
}  // namespace spool
