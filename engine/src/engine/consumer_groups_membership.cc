// ConsumerGroupsImpl membership: join, heartbeat, leave, session expiry,
// commit fencing and rebalancing.
//
// Every change of the member set, of a member's subscription or of the
// subscribed topics' partitions starts a new generation: the whole
// assignment is recomputed with the group's strategy (spool/assignor.h),
// sticky keeping members' current partitions where it can, and the new
// state is written (synced) before the call returns. Members learn of it
// from their next Heartbeat ("rebalance needed") and rejoin; a rejoin that
// changes nothing only confirms the generation.

#include <algorithm>
#include <limits>
#include <set>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_format.h"
#include "engine/consumer_groups_impl.h"
#include "tables/catalog.h"
#include "util/status_macros.h"
#include "util/strings.h"

namespace spool {

absl::Status ConsumerGroupsImpl::UnknownMember(std::string_view group,
                                               std::string_view member) {
  return absl::FailedPreconditionError(absl::StrFormat(
      "unknown member '%s' in consumer group '%s' (never joined, left, or "
      "its session timed out): rejoin",
      member, group));
}

namespace {

bool SameTopics(const std::vector<TopicPartitions>& a,
                const std::vector<TopicPartitions>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const TopicPartitions& x, const TopicPartitions& y) {
                      return x.topic == y.topic && x.partitions == y.partitions;
                    });
}

StoredMember* FindMember(StoredGroup& g, std::string_view id) {
  for (StoredMember& m : g.members) {
    if (m.id == id) return &m;
  }
  return nullptr;
}

// The member `id` of `g`, added (in id order) if missing.
StoredMember& Upsert(StoredGroup& g, const std::string& id) {
  auto at = std::lower_bound(
      g.members.begin(), g.members.end(), id,
      [](const StoredMember& m, const std::string& v) { return m.id < v; });
  if (at == g.members.end() || at->id != id) {
    StoredMember m;
    m.id = id;
    at = g.members.insert(at, std::move(m));
  }
  return *at;
}

std::string NewMemberId(const StoredGroup& g) {
  absl::BitGen gen;
  while (true) {
    std::string id =
        absl::StrFormat("member-%016x%016x", absl::Uniform<uint64_t>(gen),
                        absl::Uniform<uint64_t>(gen));
    bool taken = false;
    for (const StoredMember& m : g.members) taken |= m.id == id;
    if (!taken) return id;
  }
}

// Validates a join request and returns it with sorted, unique topics.
absl::StatusOr<JoinGroupRequest> Normalize(JoinGroupRequest request) {
  if (!request.member_id.empty()) {
    SPOOL_RETURN_IF_ERROR(ValidateGroupName(request.member_id, "member id"));
  }
  if (request.topics.empty()) {
    return absl::InvalidArgumentError(
        "a member must subscribe to at least one topic");
  }
  for (const std::string& t : request.topics) {
    SPOOL_RETURN_IF_ERROR(ValidateTopicName(t));
  }
  std::sort(request.topics.begin(), request.topics.end());
  request.topics.erase(
      std::unique(request.topics.begin(), request.topics.end()),
      request.topics.end());
  if (request.session_timeout < kMinSessionTimeout ||
      request.session_timeout > kMaxSessionTimeout) {
    return absl::InvalidArgumentError(
        absl::StrFormat("session timeout %s is outside [%s, %s]",
                        absl::FormatDuration(request.session_timeout),
                        absl::FormatDuration(kMinSessionTimeout),
                        absl::FormatDuration(kMaxSessionTimeout)));
  }
  return request;
}

}  // namespace

bool ConsumerGroupsImpl::HasExpiredMembers(const Group& g,
                                           absl::Time now) const {
  for (const StoredMember& m : g.state.members) {
    auto it = g.heartbeats.find(m.id);
    if (it != g.heartbeats.end() &&
        now - absl::FromUnixMicros(it->second->load()) > m.session_timeout) {
      return true;
    }
  }
  return false;
}

absl::Status ConsumerGroupsImpl::RemoveExpiredMembers(Group& g) {
  const absl::Time now = clock_->Now();
  if (!HasExpiredMembers(g, now)) return absl::OkStatus();
  StoredGroup next = g.state;
  next.members.erase(
      std::remove_if(next.members.begin(), next.members.end(),
                     [&](const StoredMember& m) {
                       auto it = g.heartbeats.find(m.id);
                       return it != g.heartbeats.end() &&
                              now - absl::FromUnixMicros(it->second->load()) >
                                  m.session_timeout;
                     }),
      next.members.end());
  SPOOL_RETURN_IF_ERROR(Rebalance(&next));
  SPOOL_RETURN_IF_ERROR(Persist(g, std::move(next)));
  g.rebalances.fetch_add(1);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<TopicPartitions>>
ConsumerGroupsImpl::SubscribedTopics(const StoredGroup& g) const {
  std::set<std::string> names;
  for (const StoredMember& m : g.members) {
    names.insert(m.topics.begin(), m.topics.end());
  }
  std::vector<TopicPartitions> topics;
  for (const std::string& name : names) {
    absl::StatusOr<int32_t> n = engine_->PartitionCount(name);
    if (absl::IsNotFound(n.status())) continue;  // not created (yet)
    if (!n.ok()) return n.status();
    topics.push_back({name, *n});
  }
  return topics;
}

absl::Status ConsumerGroupsImpl::Rebalance(StoredGroup* next) const {
  const int32_t previous = next->generation;
  next->generation =
      previous == std::numeric_limits<int32_t>::max() ? 1 : previous + 1;
  if (next->members.empty()) {
    next->empty_since_ms = clock_->NowMillis();
    next->topics.clear();
    return absl::OkStatus();
  }
  next->empty_since_ms = -1;
  SPOOL_ASSIGN_OR_RETURN(next->topics, SubscribedTopics(*next));
  std::vector<MemberSubscription> subscriptions;
  for (const StoredMember& m : next->members) {
    subscriptions.push_back({m.id, m.topics, m.assignment, previous});
  }
  SPOOL_ASSIGN_OR_RETURN(
      Assignment assignment,
      Assign(next->strategy.value_or(AssignmentStrategy::kRange), next->topics,
             subscriptions));
  for (StoredMember& m : next->members) {
    m.assignment = std::move(assignment[m.id]);
  }
  return absl::OkStatus();
}

absl::Status ConsumerGroupsImpl::RebalanceIfTopicsChanged(Group& g) {
  if (g.state.members.empty()) return absl::OkStatus();
  SPOOL_ASSIGN_OR_RETURN(std::vector<TopicPartitions> topics,
                         SubscribedTopics(g.state));
  if (SameTopics(topics, g.state.topics)) return absl::OkStatus();
  StoredGroup next = g.state;
  SPOOL_RETURN_IF_ERROR(Rebalance(&next));
  SPOOL_RETURN_IF_ERROR(Persist(g, std::move(next)));
  g.rebalances.fetch_add(1);
  return absl::OkStatus();
}

void ConsumerGroupsImpl::Touch(const Group& g,
                               std::string_view member_id) const {
  auto it = g.heartbeats.find(ToAbsl(member_id));
  if (it != g.heartbeats.end()) {
    it->second->store(absl::ToUnixMicros(clock_->Now()));
  }
}

absl::Status ConsumerGroupsImpl::Fence(const Group& g,
                                       const CommitOptions& options) const {
  const StoredGroup& s = g.state;
  if (options.member_id.empty()) {
    if (s.members.empty()) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrFormat(
        "consumer group '%s' has %d live members (generation %d): a commit "
        "must come from a member of the current generation",
        g.name, s.members.size(), s.generation));
  }
  auto it = std::find_if(
      s.members.begin(), s.members.end(),
      [&](const StoredMember& m) { return m.id == options.member_id; });
  if (it == s.members.end()) return UnknownMember(g.name, options.member_id);
  if (options.generation != s.generation) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "stale generation: member '%s' committed with generation %d but "
        "consumer group '%s' is at generation %d; rejoin",
        options.member_id, options.generation, g.name, s.generation));
  }
  return absl::OkStatus();
}

absl::StatusOr<JoinGroupResult> ConsumerGroupsImpl::JoinLocked(
    Group& g, const JoinGroupRequest& request) {
  StoredGroup& s = g.state;
  if (!s.members.empty() && s.strategy != request.strategy) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "consumer group '%s' uses the '%s' strategy, the member asked for "
        "'%s' (the strategy changes only while the group is empty)",
        g.name, AssignmentStrategyName(*s.strategy),
        AssignmentStrategyName(request.strategy)));
  }
  const std::string id =
      request.member_id.empty() ? NewMemberId(s) : request.member_id;
  StoredMember* current = FindMember(s, id);
  if (current != nullptr && current->topics == request.topics &&
      current->session_timeout == request.session_timeout) {
    SPOOL_ASSIGN_OR_RETURN(std::vector<TopicPartitions> topics,
                           SubscribedTopics(s));
    if (SameTopics(topics, s.topics)) {  // nothing changes: confirm
      current->generation = s.generation;
      Touch(g, id);
      return JoinGroupResult{id, s.generation, current->assignment};
    }
  }
  StoredGroup next = s;
  StoredMember& member = Upsert(next, id);
  member.topics = request.topics;
  member.session_timeout = request.session_timeout;
  next.strategy = request.strategy;
  SPOOL_RETURN_IF_ERROR(Rebalance(&next));
  FindMember(next, id)->generation = next.generation;
  SPOOL_RETURN_IF_ERROR(Persist(g, std::move(next)));
  g.rebalances.fetch_add(1);
  Touch(g, id);
  return JoinGroupResult{id, s.generation, FindMember(s, id)->assignment};
}

absl::StatusOr<JoinGroupResult> ConsumerGroupsImpl::JoinGroup(
    std::string_view group, const JoinGroupRequest& request) {
  SPOOL_ASSIGN_OR_RETURN(JoinGroupRequest normalized, Normalize(request));
  JoinGroupResult result;
  SPOOL_RETURN_IF_ERROR(
      WithGroup(group, /*create=*/true, [&](Group& g) -> absl::Status {
        SPOOL_ASSIGN_OR_RETURN(result, JoinLocked(g, normalized));
        return absl::OkStatus();
      }));
  return result;
}

absl::Status ConsumerGroupsImpl::Heartbeat(std::string_view group,
                                           std::string_view member_id,
                                           int32_t generation) {
  SPOOL_RETURN_IF_ERROR(ValidateGroupName(member_id, "member id"));
  absl::Status s = WithGroup(group, /*create=*/false, [&](Group& g) {
    SPOOL_RETURN_IF_ERROR(RebalanceIfTopicsChanged(g));
    if (FindMember(g.state, member_id) == nullptr) {
      return UnknownMember(group, member_id);
    }
    Touch(g, member_id);
    if (generation != g.state.generation) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "rebalance needed: consumer group '%s' is at generation %d, "
          "member '%s' is at %d; rejoin to get the new assignment",
          group, g.state.generation, member_id, generation));
    }
    return absl::OkStatus();
  });
  if (absl::IsNotFound(s)) return UnknownMember(group, member_id);
  return s;
}

absl::Status ConsumerGroupsImpl::LeaveGroup(std::string_view group,
                                            std::string_view member_id) {
  SPOOL_RETURN_IF_ERROR(ValidateGroupName(member_id, "member id"));
  absl::Status s = WithGroup(group, /*create=*/false, [&](Group& g) {
    if (FindMember(g.state, member_id) == nullptr) {
      return UnknownMember(group, member_id);
    }
    StoredGroup next = g.state;
    next.members.erase(
        std::find_if(next.members.begin(), next.members.end(),
                     [&](const StoredMember& m) { return m.id == member_id; }));
    SPOOL_RETURN_IF_ERROR(Rebalance(&next));
    SPOOL_RETURN_IF_ERROR(Persist(g, std::move(next)));
    g.rebalances.fetch_add(1);
    return absl::OkStatus();
  });
  if (absl::IsNotFound(s)) return UnknownMember(group, member_id);
  return s;
}

}  // namespace spool
