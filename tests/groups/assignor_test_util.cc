#include "groups/assignor_test_util.h"

#include <algorithm>
#include <deque>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "util/strings.h"

namespace spool::testing_groups {

::testing::AssertionResult HasStatus(const absl::Status& status,
                                     absl::StatusCode code,
                                     std::string_view fragment) {
  if (status.code() == code &&
      status.message().find(ToAbsl(fragment)) != absl::string_view::npos) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "got " << status << ", want code " << absl::StatusCodeToString(code)
         << " with \"" << fragment << "\"";
}

std::vector<TopicPartition> Tps(std::string_view list) {
  std::vector<TopicPartition> result;
  for (absl::string_view item :
       absl::StrSplit(ToAbsl(list), ' ', absl::SkipEmpty())) {
    const size_t colon = item.rfind(':');
    int32_t partition = 0;
    EXPECT_TRUE(colon != absl::string_view::npos &&
                absl::SimpleAtoi(item.substr(colon + 1), &partition))
        << item;
    result.push_back(
        TopicPartition{std::string(item.substr(0, colon)), partition});
  }
  return result;
}

MemberSubscription Member(std::string id, std::vector<std::string> topics,
                          std::string_view owned, int32_t generation) {
  return MemberSubscription{std::move(id), std::move(topics), Tps(owned),
                            generation};
}

namespace {

std::string FormatList(const std::vector<TopicPartition>& list) {
  return absl::StrCat(
      "[",
      absl::StrJoin(list, " ",
                    [](std::string* out, const TopicPartition& tp) {
                      absl::StrAppend(out, tp.topic, ":", tp.partition);
                    }),
      "]");
}

}  // namespace

std::string Format(const Assignment& assignment) {
  std::vector<std::string> parts;
  for (const auto& [member, list] : assignment) {
    parts.push_back(absl::StrCat(member, "=", FormatList(list)));
  }
  return absl::StrJoin(parts, " ");
}

std::string Format(const std::vector<TopicPartitions>& topics,
                   const std::vector<MemberSubscription>& members) {
  std::string out = "topics:";
  for (const TopicPartitions& t : topics) {
    absl::StrAppend(&out, " ", t.topic, "/", t.partitions);
  }
  for (const MemberSubscription& m : members) {
    absl::StrAppend(&out, "\n  ", m.member_id, " subscribes [",
                    absl::StrJoin(m.topics, " "), "] owns ",
                    FormatList(m.owned), " gen ", m.generation);
  }
  return out;
}

Owners OwnersOf(const Assignment& assignment) {
  Owners owners;
  for (const auto& [member, list] : assignment) {
    for (const TopicPartition& tp : list) owners[tp] = member;
  }
  return owners;
}

std::map<std::string, int64_t> Loads(const Assignment& assignment) {
  std::map<std::string, int64_t> loads;
  for (const auto& [member, list] : assignment) {
    loads[member] = static_cast<int64_t>(list.size());
  }
  return loads;
}

int64_t Spread(const Assignment& assignment) {
  if (assignment.empty()) return 0;
  int64_t lo = INT64_MAX;
  int64_t hi = 0;
  for (const auto& [member, list] : assignment) {
    lo = std::min<int64_t>(lo, static_cast<int64_t>(list.size()));
    hi = std::max<int64_t>(hi, static_cast<int64_t>(list.size()));
  }
  return hi - lo;
}

int64_t SumOfSquares(const Assignment& assignment) {
  int64_t sum = 0;
  for (const auto& [member, list] : assignment) {
    sum += static_cast<int64_t>(list.size() * list.size());
  }
  return sum;
}

bool Group::SubscriptionsIdentical() const {
  for (const auto& [member, topics_of_member] : subscriptions) {
    if (topics_of_member != subscriptions.begin()->second) return false;
  }
  return true;
}

bool Group::IsSubscribed(const std::string& member,
                         const std::string& topic) const {
  auto it = subscriptions.find(member);
  return it != subscriptions.end() && it->second.count(topic) > 0;
}

Group GroupOf(const std::vector<TopicPartitions>& topics,
              const std::vector<MemberSubscription>& members) {
  Group group;
  for (const TopicPartitions& t : topics) group.topics[t.topic] = t.partitions;
  for (const MemberSubscription& m : members) {
    std::set<std::string>& subscribed = group.subscriptions[m.member_id];
    for (const std::string& topic : m.topics) {
      if (group.topics.count(topic)) subscribed.insert(topic);
    }
  }
  return group;
}

namespace {

// The partitions the contract says must be assigned, in order.
std::vector<TopicPartition> AssignablePartitions(const Group& group) {
  std::set<std::string> subscribed;
  for (const auto& [member, topics] : group.subscriptions) {
    subscribed.insert(topics.begin(), topics.end());
  }
  std::vector<TopicPartition> result;
  for (const std::string& topic : subscribed) {
    for (int32_t p = 0; p < group.topics.at(topic); ++p) {
      result.push_back(TopicPartition{topic, p});
    }
  }
  return result;
}

// Members subscribed to `topic`, sorted.
std::vector<std::string> Subscribers(const Group& group,
                                     const std::string& topic) {
  std::vector<std::string> result;
  for (const auto& [member, topics] : group.subscriptions) {
    if (topics.count(topic)) result.push_back(member);
  }
  return result;
}

Assignment EmptyAssignment(const Group& group) {
  Assignment assignment;
  for (const auto& [member, topics] : group.subscriptions) {
    assignment[member];
  }
  return assignment;
}

}  // namespace

std::string CheckValid(const Group& group, const Assignment& assignment) {
  if (assignment.size() != group.subscriptions.size()) {
    return absl::StrFormat("%d members in the result, %d in the group",
                           assignment.size(), group.subscriptions.size());
  }
  std::set<TopicPartition> seen;
  for (const auto& [member, list] : assignment) {
    if (!group.subscriptions.count(member)) {
      return absl::StrCat("unknown member ", member, " in the result");
    }
    if (!std::is_sorted(list.begin(), list.end())) {
      return absl::StrCat("list of ", member, " is not sorted");
    }
    for (const TopicPartition& tp : list) {
      if (!group.IsSubscribed(member, tp.topic) || tp.partition < 0 ||
          tp.partition >= group.topics.at(tp.topic)) {
        return absl::StrCat(tp.ToString(), " given to ", member,
                            ", which may not have it");
      }
      if (!seen.insert(tp).second) {
        return absl::StrCat(tp.ToString(), " assigned twice");
      }
    }
  }
  for (const TopicPartition& tp : AssignablePartitions(group)) {
    if (!seen.count(tp)) return absl::StrCat(tp.ToString(), " not assigned");
  }
  return "";
}

std::string CheckNoImprovingMove(const Group& group,
                                 const Assignment& assignment) {
  const std::map<std::string, int64_t> loads = Loads(assignment);
  for (const auto& [member, list] : assignment) {
    for (const TopicPartition& tp : list) {
      for (const std::string& other : Subscribers(group, tp.topic)) {
        if (loads.at(other) < loads.at(member) - 1) {
          return absl::StrFormat("%s (load %d) could go to %s (load %d)",
                                 tp.ToString(), loads.at(member), other,
                                 loads.at(other));
        }
      }
    }
  }
  return "";
}

std::string CheckNoImprovingChain(const Group& group,
                                  const Assignment& assignment) {
  const std::map<std::string, int64_t> loads = Loads(assignment);
  std::map<std::string, std::vector<std::string>> subscribers;
  std::map<std::string, std::set<std::string>> held_topics;
  for (const auto& [member, list] : assignment) {
    for (const TopicPartition& tp : list) held_topics[member].insert(tp.topic);
  }
  for (const auto& [topic, count] : group.topics) {
    subscribers[topic] = Subscribers(group, topic);
  }
  for (const auto& [start, unused] : assignment) {
    // Breadth-first over members: x -> y if x holds a partition of a topic
    // y subscribes to.
    std::set<std::string> reached = {start};
    std::deque<std::string> queue = {start};
    while (!queue.empty()) {
      const std::string x = queue.front();
      queue.pop_front();
      for (const std::string& topic : held_topics[x]) {
        for (const std::string& y : subscribers[topic]) {
          if (!reached.insert(y).second) continue;
          if (loads.at(y) <= loads.at(start) - 2) {
            return absl::StrFormat(
                "a chain leads from %s (load %d) to %s (load %d)", start,
                loads.at(start), y, loads.at(y));
          }
          queue.push_back(y);
        }
      }
    }
  }
  return "";
}

Assignment ReferenceRange(const Group& group) {
  Assignment assignment = EmptyAssignment(group);
  for (const auto& [topic, count] : group.topics) {
    const std::vector<std::string> subs = Subscribers(group, topic);
    if (subs.empty()) continue;
    const int32_t n = static_cast<int32_t>(subs.size());
    int32_t next = 0;
    for (int32_t i = 0; i < n; ++i) {
      const int32_t share = count / n + (i < count % n ? 1 : 0);
      for (int32_t k = 0; k < share; ++k) {
        assignment[subs[static_cast<size_t>(i)]].push_back({topic, next++});
      }
    }
  }
  return assignment;
}

Assignment ReferenceRoundRobin(const Group& group) {
  Assignment assignment = EmptyAssignment(group);
  std::vector<std::string> members;
  for (const auto& [member, topics] : group.subscriptions) {
    members.push_back(member);
  }
  size_t cursor = 0;
  for (const TopicPartition& tp : AssignablePartitions(group)) {
    while (!group.IsSubscribed(members[cursor], tp.topic)) {
      cursor = (cursor + 1) % members.size();
    }
    assignment[members[cursor]].push_back(tp);
    cursor = (cursor + 1) % members.size();
  }
  return assignment;
}

Owners ReferenceClaims(const Group& group,
                       const std::vector<MemberSubscription>& members) {
  std::map<TopicPartition, std::pair<int32_t, std::string>> best;
  for (const MemberSubscription& m : members) {
    for (const TopicPartition& tp : m.owned) {
      if (!group.IsSubscribed(m.member_id, tp.topic) || tp.partition < 0 ||
          tp.partition >= group.topics.at(tp.topic)) {
        continue;
      }
      auto [it, inserted] =
          best.emplace(tp, std::make_pair(m.generation, m.member_id));
      if (inserted) continue;
      auto& [generation, member] = it->second;
      if (m.generation > generation ||
          (m.generation == generation && m.member_id < member)) {
        it->second = {m.generation, m.member_id};
      }
    }
  }
  Owners claims;
  for (const auto& [tp, claim] : best) claims[tp] = claim.second;
  return claims;
}

int64_t CountMoved(const Owners& before, const Assignment& after) {
  int64_t moved = 0;
  for (const auto& [member, list] : after) {
    for (const TopicPartition& tp : list) {
      auto it = before.find(tp);
      if (it != before.end() && it->second != member) ++moved;
    }
  }
  return moved;
}

int64_t MinimalMovesIdentical(const Group& group, const Owners& before,
                              const Owners& claims) {
  const std::vector<TopicPartition> partitions = AssignablePartitions(group);
  if (partitions.empty()) return 0;
  const int64_t n = static_cast<int64_t>(partitions.size());
  const int64_t m = static_cast<int64_t>(group.subscriptions.size());
  const int64_t q = n / m;
  const int64_t r = n % m;
  std::map<std::string, int64_t> claimed;
  int64_t had_owner = 0;
  for (const TopicPartition& tp : partitions) {
    if (before.count(tp)) ++had_owner;
    auto it = claims.find(tp);
    if (it != claims.end()) ++claimed[it->second];
  }
  int64_t can_keep = 0;
  int64_t above_q = 0;
  for (const auto& [member, count] : claimed) {
    can_keep += std::min(count, q);
    if (count > q) ++above_q;
  }
  can_keep += std::min(r, above_q);
  return had_owner - can_keep;
}

namespace {

struct Enumeration {
  std::vector<TopicPartition> partitions;
  std::vector<std::vector<std::string>> candidates;  // per partition
  const Owners* before = nullptr;
  std::map<std::string, int64_t> loads;
  int64_t moves = 0;
  Optimum best;
  bool any = false;

  void Visit(size_t i) {
    if (i == partitions.size()) return Leaf();
    const auto previous = before->find(partitions[i]);
    for (const std::string& member : candidates[i]) {
      const bool moved =
          previous != before->end() && previous->second != member;
      ++loads[member];
      moves += moved ? 1 : 0;
      Visit(i + 1);
      --loads[member];
      moves -= moved ? 1 : 0;
    }
  }

  void Leaf() {
    int64_t max_load = 0;
    int64_t squares = 0;
    for (const auto& [member, load] : loads) {
      max_load = std::max(max_load, load);
      squares += load * load;
    }
    if (!any) best = Optimum{max_load, squares, moves};
    best.max_load = std::min(best.max_load, max_load);
    if (squares < best.sum_of_squares) {
      best.sum_of_squares = squares;
      best.moves = moves;
    } else if (squares == best.sum_of_squares) {
      best.moves = std::min(best.moves, moves);
    }
    any = true;
  }
};

}  // namespace

std::optional<Optimum> ExhaustiveOptimum(const Group& group,
                                         const Owners& before, int64_t limit) {
  Enumeration e;
  e.before = &before;
  e.partitions = AssignablePartitions(group);
  int64_t combinations = 1;
  for (const TopicPartition& tp : e.partitions) {
    e.candidates.push_back(Subscribers(group, tp.topic));
    combinations *= static_cast<int64_t>(e.candidates.back().size());
    if (combinations > limit) return std::nullopt;
  }
  for (const auto& [member, topics] : group.subscriptions) e.loads[member] = 0;
  e.Visit(0);
  return e.best;
}

namespace {

// Min-cost flow by successive shortest paths (SPFA), unit capacities.
class MinCostFlow {
 public:
  explicit MinCostFlow(int nodes) : edges_(static_cast<size_t>(nodes)) {}

  void AddEdge(int from, int to, int64_t cost) {
    edges_[Index(from)].push_back({to, 1, cost, edges_[Index(to)].size()});
    edges_[Index(to)].push_back(
        {from, 0, -cost, edges_[Index(from)].size() - 1});
  }

  // Pushes `units` units from `source` to `sink`; returns the total cost.
  int64_t Run(int source, int sink, int64_t units) {
    int64_t total = 0;
    for (int64_t u = 0; u < units; ++u) total += Augment(source, sink);
    return total;
  }

 private:
  struct Edge {
    int to;
    int capacity;
    int64_t cost;
    size_t reverse;
  };
  static size_t Index(int i) { return static_cast<size_t>(i); }

  int64_t Augment(int source, int sink) {
    const size_t n = edges_.size();
    std::vector<int64_t> dist(n, INT64_MAX);
    std::vector<std::pair<int, size_t>> via(n, {-1, 0});
    std::vector<char> queued(n, 0);
    std::deque<int> queue = {source};
    dist[Index(source)] = 0;
    while (!queue.empty()) {
      const int x = queue.front();
      queue.pop_front();
      queued[Index(x)] = 0;
      for (size_t i = 0; i < edges_[Index(x)].size(); ++i) {
        const Edge& e = edges_[Index(x)][i];
        if (e.capacity == 0 || dist[Index(x)] + e.cost >= dist[Index(e.to)]) {
          continue;
        }
        dist[Index(e.to)] = dist[Index(x)] + e.cost;
        via[Index(e.to)] = {x, i};
        if (!queued[Index(e.to)]) {
          queued[Index(e.to)] = 1;
          queue.push_back(e.to);
        }
      }
    }
    for (int x = sink; x != source;) {
      auto [from, i] = via[Index(x)];
      Edge& e = edges_[Index(from)][i];
      --e.capacity;
      ++edges_[Index(x)][e.reverse].capacity;
      x = from;
    }
    return dist[Index(sink)];
  }

  std::vector<std::vector<Edge>> edges_;
};

}  // namespace

Optimum FlowOptimum(const Group& group, const Owners& before) {
  const std::vector<TopicPartition> partitions = AssignablePartitions(group);
  const int p = static_cast<int>(partitions.size());
  std::map<std::string, int> member_node;
  for (const auto& [member, topics] : group.subscriptions) {
    member_node.emplace(member, p + 1 + static_cast<int>(member_node.size()));
  }
  const int sink = p + 1 + static_cast<int>(member_node.size());
  const int64_t weight = p + 1;  // one unit of Σ load² outweighs all moves
  MinCostFlow flow(sink + 1);
  for (int i = 0; i < p; ++i) {
    const TopicPartition& tp = partitions[static_cast<size_t>(i)];
    flow.AddEdge(0, i + 1, 0);
    const auto previous = before.find(tp);
    for (const std::string& member : Subscribers(group, tp.topic)) {
      const bool moves = previous != before.end() && previous->second != member;
      flow.AddEdge(i + 1, member_node.at(member), moves ? 1 : 0);
    }
  }
  for (const auto& [member, node] : member_node) {
    for (int64_t k = 1; k <= p; ++k)
      flow.AddEdge(node, sink, weight * (2 * k - 1));
  }
  const int64_t cost = flow.Run(0, sink, p);
  return Optimum{0, cost / weight, cost % weight};
}

namespace {

std::vector<std::string> Pick(std::mt19937_64& rng,
                              const std::vector<std::string>& from,
                              double probability) {
  std::bernoulli_distribution take(probability);
  std::vector<std::string> result;
  for (const std::string& s : from) {
    if (take(rng)) result.push_back(s);
  }
  return result;
}

std::vector<std::string> DistinctNames(std::mt19937_64& rng,
                                       std::string_view prefix, int pool,
                                       int count) {
  std::vector<std::string> names;
  for (int i = 0; i < pool; ++i) {
    names.push_back(absl::StrFormat("%s%02d", prefix, i));
  }
  std::shuffle(names.begin(), names.end(), rng);
  names.resize(static_cast<size_t>(std::min(count, pool)));
  return names;
}

std::vector<TopicPartition> RandomOwned(
    std::mt19937_64& rng, const std::vector<TopicPartitions>& topics) {
  std::vector<TopicPartition> owned;
  const int n = std::uniform_int_distribution<int>(0, 6)(rng);
  for (int i = 0; i < n; ++i) {
    if (topics.empty() || rng() % 10 == 0) {
      owned.push_back(TopicPartition{"ghost", 0});
      continue;
    }
    const TopicPartitions& t = topics[rng() % topics.size()];
    owned.push_back(TopicPartition{
        t.topic,
        std::uniform_int_distribution<int32_t>(-1, t.partitions + 1)(rng)});
  }
  return owned;
}

}  // namespace

Input RandomInput(std::mt19937_64& rng, const RandomGroupOptions& options) {
  Input input;
  const int num_topics =
      std::uniform_int_distribution<int>(0, options.max_topics)(rng);
  std::vector<std::string> names = DistinctNames(rng, "t", 16, num_topics);
  for (const std::string& name : names) {
    input.topics.push_back({name, std::uniform_int_distribution<int32_t>(
                                      0, options.max_partitions)(rng)});
  }
  names.push_back("ghost");  // subscribed to, but does not exist
  const double density = std::uniform_real_distribution<double>(0.2, 1)(rng);
  const std::vector<std::string> common = Pick(rng, names, density);
  const int num_members =
      std::uniform_int_distribution<int>(0, options.max_members)(rng);
  for (std::string& id : DistinctNames(rng, "m", 40, num_members)) {
    MemberSubscription m;
    m.member_id = std::move(id);
    m.topics = options.identical ? common : Pick(rng, names, density);
    if (!m.topics.empty() && rng() % 4 == 0) {
      m.topics.push_back(m.topics.front());  // listed twice
    }
    if (options.owned) {
      m.owned = RandomOwned(rng, input.topics);
      m.generation = std::uniform_int_distribution<int32_t>(-1, 3)(rng);
    }
    input.members.push_back(std::move(m));
  }
  return input;
}

Input Shuffled(std::mt19937_64& rng, Input input) {
  std::shuffle(input.topics.begin(), input.topics.end(), rng);
  std::shuffle(input.members.begin(), input.members.end(), rng);
  for (MemberSubscription& m : input.members) {
    std::shuffle(m.topics.begin(), m.topics.end(), rng);
    std::shuffle(m.owned.begin(), m.owned.end(), rng);
  }
  return input;
}

}  // namespace spool::testing_groups
