#include "groups/assignment_problem.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace spool {
namespace groups_internal {
namespace {

constexpr int32_t kUnsubscribed = -1;

// Topics sorted by name, after checking each one.
absl::StatusOr<std::vector<const TopicPartitions*>> SortTopics(
    const std::vector<TopicPartitions>& topics) {
  std::vector<const TopicPartitions*> sorted;
  sorted.reserve(topics.size());
  for (size_t i = 0; i < topics.size(); ++i) {
    const TopicPartitions& t = topics[i];
    if (t.topic.empty()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("topics[%d]: empty topic name", i));
    }
    if (t.partitions < 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("topic \"%s\" has a negative partition count (%d)",
                          t.topic, t.partitions));
    }
    sorted.push_back(&t);
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const TopicPartitions* a, const TopicPartitions* b) {
              return a->topic < b->topic;
            });
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i]->topic == sorted[i - 1]->topic) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "duplicate topic \"%s\" in topics", sorted[i]->topic));
    }
  }
  return sorted;
}

// Members sorted by member_id, after checking each one.
absl::StatusOr<std::vector<const MemberSubscription*>> SortMembers(
    const std::vector<MemberSubscription>& members) {
  std::vector<const MemberSubscription*> sorted;
  sorted.reserve(members.size());
  for (size_t i = 0; i < members.size(); ++i) {
    if (members[i].member_id.empty()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("members[%d]: empty member id", i));
    }
    sorted.push_back(&members[i]);
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const MemberSubscription* a, const MemberSubscription* b) {
              return a->member_id < b->member_id;
            });
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i]->member_id == sorted[i - 1]->member_id) {
      return absl::InvalidArgumentError(
          absl::StrFormat("duplicate member id \"%s\"", sorted[i]->member_id));
    }
  }
  return sorted;
}

// Indices into `sorted_topics` of the member's subscribed topics that exist,
// sorted and without duplicates.
std::vector<int32_t> ExistingTopics(
    const MemberSubscription& member,
    const std::vector<const TopicPartitions*>& sorted_topics) {
  std::vector<int32_t> result;
  result.reserve(member.topics.size());
  for (const std::string& name : member.topics) {
    auto it =
        std::lower_bound(sorted_topics.begin(), sorted_topics.end(), name,
                         [](const TopicPartitions* t, const std::string& n) {
                           return t->topic < n;
                         });
    if (it != sorted_topics.end() && (*it)->topic == name) {
      result.push_back(static_cast<int32_t>(it - sorted_topics.begin()));
    }
  }
  std::sort(result.begin(), result.end());
  result.erase(std::unique(result.begin(), result.end()), result.end());
  return result;
}

// Numbers the topics someone subscribes to and fills the per-topic fields
// of `problem`, whose subscriptions are still indices into `sorted_topics`
// (renumbered here).
absl::Status NumberSubscribedTopics(
    const std::vector<const TopicPartitions*>& sorted_topics,
    AssignmentProblem& problem) {
  std::vector<int32_t> renumber(sorted_topics.size(), kUnsubscribed);
  for (const std::vector<int32_t>& topics : problem.subscriptions) {
    for (int32_t t : topics) renumber[static_cast<size_t>(t)] = 0;
  }
  problem.first_id.assign(1, 0);
  for (size_t t = 0; t < renumber.size(); ++t) {
    if (renumber[t] == kUnsubscribed) continue;
    renumber[t] = problem.num_topics();
    const TopicPartitions& topic = *sorted_topics[t];
    problem.topic_names.push_back(topic.topic);
    problem.partition_counts.push_back(topic.partitions);
    problem.first_id.push_back(problem.first_id.back() + topic.partitions);
  }
  if (problem.num_partitions() > INT32_MAX) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "the subscribed topics have %d partitions in all; at most %d are "
        "supported",
        problem.num_partitions(), INT32_MAX));
  }
  problem.subscribers.resize(problem.topic_names.size());
  for (int32_t m = 0; m < problem.num_members(); ++m) {
    for (int32_t& t : problem.subscriptions[static_cast<size_t>(m)]) {
      t = renumber[static_cast<size_t>(t)];
      problem.subscribers[static_cast<size_t>(t)].push_back(m);
    }
  }
  return absl::OkStatus();
}

}  // namespace

int32_t AssignmentProblem::TopicOf(PartitionId id) const {
  auto it = std::upper_bound(first_id.begin(), first_id.end(), id);
  return static_cast<int32_t>(it - first_id.begin()) - 1;
}

std::optional<PartitionId> AssignmentProblem::IdOf(
    const TopicPartition& tp) const {
  auto it = std::lower_bound(topic_names.begin(), topic_names.end(),
                             std::string_view(tp.topic));
  if (it == topic_names.end() || *it != tp.topic) return std::nullopt;
  size_t t = static_cast<size_t>(it - topic_names.begin());
  if (tp.partition < 0 || tp.partition >= partition_counts[t]) {
    return std::nullopt;
  }
  return first_id[t] + tp.partition;
}

bool AssignmentProblem::IsSubscribed(int32_t member, int32_t topic) const {
  const std::vector<int32_t>& s = subscriptions[static_cast<size_t>(member)];
  return std::binary_search(s.begin(), s.end(), topic);
}

bool AssignmentProblem::SubscriptionsIdentical() const {
  for (const std::vector<int32_t>& s : subscriptions) {
    if (s != subscriptions.front()) return false;
  }
  return true;
}

absl::StatusOr<AssignmentProblem> BuildAssignmentProblem(
    const std::vector<TopicPartitions>& topics,
    const std::vector<MemberSubscription>& members) {
  absl::StatusOr<std::vector<const TopicPartitions*>> sorted_topics =
      SortTopics(topics);
  if (!sorted_topics.ok()) return sorted_topics.status();
  absl::StatusOr<std::vector<const MemberSubscription*>> sorted_members =
      SortMembers(members);
  if (!sorted_members.ok()) return sorted_members.status();

  AssignmentProblem problem;
  problem.members = *std::move(sorted_members);
  for (const MemberSubscription* m : problem.members) {
    problem.subscriptions.push_back(ExistingTopics(*m, *sorted_topics));
  }
  absl::Status status = NumberSubscribedTopics(*sorted_topics, problem);
  if (!status.ok()) return status;
  return problem;
}

Assignment MakeAssignment(const AssignmentProblem& problem,
                          const std::vector<int32_t>& owner) {
  std::vector<std::vector<TopicPartition>> lists(problem.members.size());
  for (int32_t t = 0; t < problem.num_topics(); ++t) {
    const size_t ti = static_cast<size_t>(t);
    for (int32_t p = 0; p < problem.partition_counts[ti]; ++p) {
      int32_t m = owner[static_cast<size_t>(problem.first_id[ti] + p)];
      if (m == kNoMember) continue;
      lists[static_cast<size_t>(m)].push_back(
          TopicPartition{std::string(problem.topic_names[ti]), p});
    }
  }
  Assignment assignment;
  for (size_t m = 0; m < lists.size(); ++m) {
    assignment.emplace_hint(assignment.end(), problem.members[m]->member_id,
                            std::move(lists[m]));
  }
  return assignment;
}

}  // namespace groups_internal
}  // namespace spool
