// EngineImpl: retention (docs/compaction.md, "Retention"). Each shard's
// background thread applies its partitions' rules every
// EngineOptions::retention_check_interval; ApplyRetention does the same on
// request. The partition log does the deleting (PartitionLog::
// ApplyRetention); the engine supplies the rules and the consumption floor.

#include <algorithm>
#include <utility>

#include "absl/strings/str_format.h"
#include "engine/engine_impl.h"
#include "util/status_macros.h"

namespace spool {

absl::StatusOr<std::optional<int64_t>> EngineImpl::ConsumedFloor(
    const TopicPartition& tp) const {
  std::optional<int64_t> floor;
  auto combine = [&floor](std::optional<int64_t> f) {
    if (!f.has_value()) return;
    floor = floor.has_value() ? std::min(*floor, *f) : *f;
  };
  SPOOL_ASSIGN_OR_RETURN(std::optional<int64_t> groups,
                         groups_->RetentionFloor(tp.topic, tp.partition));
  combine(groups);
  // Shared subscriptions (work queues): the smallest ack floor.
  SPOOL_ASSIGN_OR_RETURN(
      std::optional<int64_t> subscriptions,
      subscriptions_->RetentionFloor(tp.topic, tp.partition));
  combine(subscriptions);
  return floor;
}

absl::StatusOr<RetentionResult> EngineImpl::RetainPartition(
    const TopicState& topic, const PartitionHandle& h) {
  const TopicConfig& config = topic.record.config;
  if (config.cleanup_policy == CleanupPolicy::kCompact) {
    // Compacted-only topics keep every latest value forever.
    return RetentionResult{0, 0, h.log->log_start_offset()};
  }
  RetentionRules rules;
  rules.retention = config.retention;
  rules.retention_bytes = config.retention_bytes;
  rules.until_consumed = config.retain_until_consumed;
  if (rules.until_consumed) {
    SPOOL_ASSIGN_OR_RETURN(rules.floor, ConsumedFloor(h.tp));
  }
  absl::StatusOr<RetentionResult> r =
      h.log->ApplyRetention(clock_->Now(), rules);
  if (!r.ok()) {
    return absl::Status(r.status().code(),
                        absl::StrFormat("retention of %s: %s", h.tp.ToString(),
                                        r.status().message()));
  }
  return r;
}

absl::StatusOr<RetentionStats> EngineImpl::ApplyRetention(
    std::string_view topic_name) {
  SPOOL_RETURN_IF_ERROR(CheckOpen());
  std::vector<std::shared_ptr<const TopicState>> topics_to_check;
  if (!topic_name.empty()) {
    SPOOL_ASSIGN_OR_RETURN(auto t, FindTopic(topic_name));
    topics_to_check.push_back(std::move(t));
  } else {
    // Held for the loop: a range-for does not keep the temporary alive.
    const std::shared_ptr<const TopicMap> topic_map = topics();
    for (const auto& [name, t] : *topic_map) topics_to_check.push_back(t);
  }
  retention_runs_.fetch_add(1);
  RetentionStats stats;
  for (const auto& t : topics_to_check) {
    for (const auto& h : t->partitions) {
      absl::StatusOr<RetentionResult> r = RetainPartition(*t, *h);
      if (!r.ok()) {
        retention_errors_.fetch_add(1);
        return r.status();
      }
      ++stats.partitions_checked;
      stats.segments_deleted += r->segments_deleted;
      stats.bytes_deleted += r->bytes_deleted;
    }
  }
  return stats;
}

void EngineImpl::RunRetention(const Shard* shard) {
  if (closed_.load()) return;
  retention_runs_.fetch_add(1);
  std::shared_ptr<const TopicMap> map = topics();
  for (const auto& [name, t] : *map) {
    for (const auto& h : t->partitions) {
      if (h->shard != shard || closed_.load()) continue;
      // A failure (a closed log during deletion, an I/O error) is counted
      // and retried on the next pass; it never stops the other partitions.
      if (!RetainPartition(*t, *h).ok()) retention_errors_.fetch_add(1);
    }
  }
}

}  // namespace spool
