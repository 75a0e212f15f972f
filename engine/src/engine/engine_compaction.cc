// EngineImpl: key compaction (docs/compaction.md). Background cleaning runs
// on the CleanerPool; Compact() cleans one partition on request.

#include <utility>

#include "absl/strings/str_format.h"
#include "engine/engine_impl.h"
#include "util/status_macros.h"

namespace spool {
namespace {

CleanerRules RulesFor(const TopicConfig& c, int64_t map_bytes) {
  CleanerRules r;
  r.delete_retention = c.delete_retention;
  r.min_compaction_lag = c.min_compaction_lag;
  r.max_compaction_lag = c.max_compaction_lag;
  r.min_cleanable_dirty_ratio = c.min_cleanable_dirty_ratio;
  r.max_map_bytes = map_bytes;
  return r;
}

}  // namespace

std::vector<CleanerPool::Candidate> EngineImpl::CleanerCandidates() const {
  std::vector<CleanerPool::Candidate> out;
  if (closed_.load()) return out;
  // Held for the loop: a range-for does not keep the temporary alive.
  const std::shared_ptr<const TopicMap> topic_map = topics();
  for (const auto& [name, t] : *topic_map) {
    const TopicConfig& c = t->record.config;
    if (c.cleanup_policy == CleanupPolicy::kDelete) continue;
    for (const auto& h : t->partitions) {
      out.push_back({h->tp, h->log, RulesFor(c, options_.cleaner_map_bytes)});
    }
  }
  return out;
}

void EngineImpl::StartCleaner() {
  cleaner_ = std::make_unique<CleanerPool>(
      options_.cleaner_threads, options_.cleaner_check_interval,
      options_.cleaner_io_bytes_per_second, clock_,
      [this] { return CleanerCandidates(); });
  cleaner_->Start();
}

absl::StatusOr<CompactionStats> EngineImpl::Compact(
    const TopicPartition& tp, const CompactOptions& options) {
  std::shared_ptr<const TopicState> topic;
  SPOOL_ASSIGN_OR_RETURN(const PartitionHandle* h, FindPartition(tp, &topic));
  const TopicConfig& c = topic->record.config;
  if (c.cleanup_policy == CleanupPolicy::kDelete) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "cannot compact %s: topic '%s' has cleanup.policy delete (compact or "
        "compact,delete needed)",
        tp.ToString(), tp.topic));
  }
  CleanerPool::Candidate cand{tp, h->log,
                              RulesFor(c, options_.cleaner_map_bytes)};
  cand.rules.dry_run = options.dry_run;
  cand.rules.force = options.force;
  absl::StatusOr<CompactionStats> r = cleaner_->CompactNow(cand);
  if (!r.ok()) {
    return absl::Status(r.status().code(),
                        absl::StrFormat("compaction of %s: %s", tp.ToString(),
                                        r.status().message()));
  }
  return r;
}

}  // namespace spool
