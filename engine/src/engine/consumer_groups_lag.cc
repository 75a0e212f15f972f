// ConsumerGroupsImpl lag: records, bytes and seconds behind the log end per
// group and partition, and the spool_consumer_* metrics.
//
// position      = max(committed, log start), the log start without a commit
// lag_records   = max(0, log end - position)
// backlog_bytes = bytes of whole batches from the one holding `position` to
//                 the log end (PartitionLog::BytesFrom)
// lag_seconds   = now - timestamp of the first record at or after
//                 `position`; 0 when caught up
// The timestamp at an offset does not change, so it is cached per (group,
// partition) while the group's position stays: a stopped group costs no
// reads, and its lag in seconds grows with the clock.

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_format.h"
#include "engine/consumer_groups_impl.h"
#include "util/status_macros.h"

namespace spool {
namespace {

// Attempts when the log start moves between reading it and reading bytes.
constexpr int kLagAttempts = 3;
// Batches skipped at most looking for a record (compaction gaps, control
// batches) before lag_seconds gives up on a position.
constexpr int kTimestampProbes = 4;

}  // namespace

absl::StatusOr<std::optional<int64_t>> ConsumerGroupsImpl::TimestampAt(
    const TopicPartition& tp, int64_t offset) const {
  int64_t at = offset;
  for (int probe = 0; probe < kTimestampProbes; ++probe) {
    SPOOL_ASSIGN_OR_RETURN(FetchResult f,
                           engine_->Fetch(tp, at, {.max_bytes = 1}));
    std::optional<int64_t> ts;
    SPOOL_RETURN_IF_ERROR(f.ForEachRecord([&](const RecordView& r) {
      ts = r.timestamp;
      return false;
    }));
    if (ts.has_value()) {
      return *ts >= 0 ? ts : std::nullopt;
    }
    if (f.next_offset <= at) break;  // nothing readable there
    at = f.next_offset;
  }
  return std::optional<int64_t>();
}

absl::StatusOr<PartitionLag> ConsumerGroupsImpl::LagOf(
    std::string_view group, const TopicPartition& tp, int64_t committed) const {
  const std::pair<std::string, TopicPartition> key(std::string(group), tp);
  for (int attempt = 1;; ++attempt) {
    SPOOL_ASSIGN_OR_RETURN(PartitionOffsets log, engine_->Offsets(tp));
    PartitionLag lag;
    lag.tp = tp;
    lag.committed = committed;
    lag.log_start_offset = log.log_start_offset;
    lag.log_end_offset = log.log_end_offset;
    const int64_t position = std::max(committed, log.log_start_offset);
    lag.lag_records = std::max<int64_t>(0, log.log_end_offset - position);
    if (lag.lag_records == 0) return lag;
    absl::StatusOr<int64_t> bytes = bytes_from_(tp, position);
    if (absl::IsOutOfRange(bytes.status()) && attempt < kLagAttempts) continue;
    SPOOL_RETURN_IF_ERROR(bytes.status());
    lag.backlog_bytes = *bytes;
    std::optional<int64_t> ts;
    bool cached = false;
    {
      MutexLock lock(&cache_mu_);
      auto it = timestamps_.find(key);
      if (it != timestamps_.end() && it->second.offset == position) {
        ts = it->second.timestamp_ms;
        cached = true;
      }
    }
    if (!cached) {
      absl::StatusOr<std::optional<int64_t>> read = TimestampAt(tp, position);
      if (absl::IsOutOfRange(read.status()) && attempt < kLagAttempts) {
        continue;
      }
      SPOOL_RETURN_IF_ERROR(read.status());
      ts = *read;
      if (ts.has_value()) {  // "nothing readable yet" may change: not kept
        MutexLock lock(&cache_mu_);
        timestamps_[key] = {position, ts};
      }
    }
    if (ts.has_value()) {
      lag.lag_seconds = std::max(
          0.0,
          absl::ToDoubleSeconds(clock_->Now() - absl::FromUnixMillis(*ts)));
    }
    return lag;
  }
}

absl::StatusOr<std::vector<PartitionLag>> ConsumerGroupsImpl::LagOfGroup(
    const Group& g, const CommittedOffsets& committed, bool skip_errors) const {
  std::set<TopicPartition> partitions;
  for (const auto& [tp, offset] : committed) partitions.insert(tp);
  {
    ReaderMutexLock lock(&g.mu);
    for (const StoredMember& m : g.state.members) {
      partitions.insert(m.assignment.begin(), m.assignment.end());
    }
  }
  std::vector<PartitionLag> out;
  for (const TopicPartition& tp : partitions) {
    auto it = committed.find(tp);
    absl::StatusOr<PartitionLag> lag =
        LagOf(g.name, tp,
              it == committed.end() ? kNoCommittedOffset : it->second.offset);
    if (absl::IsNotFound(lag.status())) continue;  // the topic was deleted
    if (!lag.ok()) {
      if (skip_errors) continue;
      return lag.status();
    }
    out.push_back(*std::move(lag));
  }
  return out;
}

absl::StatusOr<std::vector<PartitionLag>> ConsumerGroupsImpl::Lag(
    std::string_view group) const {
  SPOOL_RETURN_IF_ERROR(CheckOpen());
  SPOOL_RETURN_IF_ERROR(ValidateGroupName(group));
  GroupPtr g = Find(group);
  if (g == nullptr || !g->persisted.load()) {
    return absl::NotFoundError(
        absl::StrFormat("unknown consumer group '%s'", group));
  }
  SPOOL_ASSIGN_OR_RETURN(CommittedOffsets committed,
                         ScanOffsets(GroupOffsetsPrefix(group)));
  return LagOfGroup(*g, committed, /*skip_errors=*/false);
}

void ConsumerGroupsImpl::PartitionLagMetrics(PrometheusWriter& w,
                                             const std::string& group,
                                             const PartitionLag& lag) {
  const PrometheusWriter::Labels l = {
      {"group", group},
      {"topic", lag.tp.topic},
      {"partition", absl::StrFormat("%d", lag.tp.partition)}};
  if (lag.committed != kNoCommittedOffset) {
    w.Gauge("spool_consumer_committed_offset",
            "Committed offset of the group: the next record it will consume.",
            l, static_cast<double>(lag.committed));
  }
  w.Gauge("spool_consumer_lag_records",
          "Records between the group's position and the log end.", l,
          static_cast<double>(lag.lag_records));
  w.Gauge("spool_consumer_lag_seconds",
          "Age of the oldest record the group has not consumed (0 when "
          "caught up).",
          l, lag.lag_seconds);
  w.Gauge("spool_consumer_backlog_bytes",
          "Bytes of log between the group's position and the log end.", l,
          static_cast<double>(lag.backlog_bytes));
}

void ConsumerGroupsImpl::AppendMetrics(PrometheusWriter& w) const {
  if (closed_.load()) return;
  int64_t listed = 0;
  for (const GroupPtr& g : AllGroups()) {
    size_t members = 0;
    int32_t generation = 0;
    {
      ReaderMutexLock lock(&g->mu);
      if (g->deleted || !g->persisted.load()) continue;
      members = g->state.members.size();
      generation = g->state.generation;
    }
    ++listed;
    const PrometheusWriter::Labels l = {{"group", g->name}};
    w.Gauge("spool_consumer_group_members", "Live members of the group.", l,
            static_cast<double>(members));
    w.Gauge("spool_consumer_group_generation",
            "The group's generation (moves with every rebalance).", l,
            static_cast<double>(generation));
    w.Counter("spool_consumer_group_rebalances_total",
              "Rebalances of the group since the engine opened.", l,
              static_cast<double>(g->rebalances.load()));
    absl::StatusOr<CommittedOffsets> committed =
        ScanOffsets(GroupOffsetsPrefix(g->name));
    if (!committed.ok()) continue;
    absl::StatusOr<std::vector<PartitionLag>> lags =
        LagOfGroup(*g, *committed, /*skip_errors=*/true);
    if (!lags.ok()) continue;
    for (const PartitionLag& lag : *lags) PartitionLagMetrics(w, g->name, lag);
  }
  w.Gauge("spool_consumer_groups", "Consumer groups.", {},
          static_cast<double>(listed));
  w.Counter("spool_consumer_groups_expired_total",
            "Groups deleted by offset retention since the engine opened.", {},
            static_cast<double>(expired_groups_.load()));
  w.Counter("spool_consumer_group_maintenance_errors_total",
            "Failed periodic session expiries and group expiries.", {},
            static_cast<double>(maintenance_errors_.load()));
}

}  // namespace spool
