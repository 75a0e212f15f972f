// ConsumerGroupsImpl offsets: commit, fetch, reset, dropping a deleted
// topic's offsets, and the work-queue retention floor.

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "engine/consumer_groups_impl.h"
#include "util/status_macros.h"

namespace spool {
namespace {

// The same code, with "commit for consumer group '<g>': " in front.
absl::Status ForCommit(std::string_view group, const absl::Status& s) {
  if (s.ok()) return s;
  return absl::Status(
      s.code(), absl::StrFormat("commit for consumer group '%s': %s", group,
                                s.message()));
}

absl::Status CheckEntry(const OffsetCommit& o) {
  if (o.offset < 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "offset %d for %s is negative (%d, kNoCommittedOffset, only appears "
        "in results)",
        o.offset, o.tp.ToString(), kNoCommittedOffset));
  }
  if (o.leader_epoch < kNoLeaderEpoch) {
    return absl::InvalidArgumentError(
        absl::StrFormat("leader epoch %d for %s is below %d", o.leader_epoch,
                        o.tp.ToString(), kNoLeaderEpoch));
  }
  if (o.metadata.size() > kMaxOffsetMetadataBytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "metadata for %s is %d bytes, more than the %d allowed",
        o.tp.ToString(), o.metadata.size(), kMaxOffsetMetadataBytes));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ConsumerGroupsImpl::ValidateCommit(
    std::string_view group, const std::vector<OffsetCommit>& offsets,
    const CommitOptions& options) {
  SPOOL_RETURN_IF_ERROR(ValidateGroupName(group));
  if (offsets.empty()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "commit for consumer group '%s' has no offsets", group));
  }
  if (options.member_id.empty() && options.generation != -1) {
    return ForCommit(group, absl::InvalidArgumentError(absl::StrFormat(
                                "generation %d without a member id (a commit "
                                "from outside the membership uses -1)",
                                options.generation)));
  }
  if (!options.member_id.empty()) {
    SPOOL_RETURN_IF_ERROR(ValidateGroupName(options.member_id, "member id"));
  }
  absl::flat_hash_set<TopicPartition> seen;
  for (const OffsetCommit& o : offsets) {
    SPOOL_RETURN_IF_ERROR(ForCommit(group, CheckEntry(o)));
    if (!seen.insert(o.tp).second) {
      return ForCommit(group, absl::InvalidArgumentError(absl::StrFormat(
                                  "%s appears twice", o.tp.ToString())));
    }
  }
  return absl::OkStatus();
}

absl::Status ConsumerGroupsImpl::ValidateAgainstLogs(
    std::string_view group, const std::vector<OffsetCommit>& offsets) const {
  for (const OffsetCommit& o : offsets) {
    absl::StatusOr<PartitionOffsets> log = engine_->Offsets(o.tp);
    if (!log.ok()) return ForCommit(group, log.status());
    if (o.offset > log->log_end_offset) {
      return ForCommit(
          group, absl::OutOfRangeError(absl::StrFormat(
                     "offset %d for %s is beyond the log end %d", o.offset,
                     o.tp.ToString(), log->log_end_offset)));
    }
  }
  return absl::OkStatus();
}

absl::Status ConsumerGroupsImpl::WriteOffsets(
    Group& g, const std::vector<OffsetCommit>& offsets, bool sync) {
  TableStore::Batch batch;
  // A group is stored before (in the same batch as) its first offsets, so
  // every offset has its group record.
  if (!g.persisted.load()) {
    batch.Put(Table::kGroups, g.name, EncodeGroup(g.state));
  }
  const absl::Time now = clock_->Now();
  for (const OffsetCommit& o : offsets) {
    batch.Put(Table::kOffsets, OffsetKey(g.name, o.tp),
              EncodeOffsetValue({o.offset, o.leader_epoch, o.metadata, now}));
  }
  SPOOL_RETURN_IF_ERROR(tables_->Write(batch, sync));
  g.persisted.store(true);
  const int64_t now_ms = absl::ToUnixMillis(now);
  int64_t last = g.last_commit_ms.load();
  while (last < now_ms &&
         !g.last_commit_ms.compare_exchange_weak(last, now_ms)) {
  }
  return absl::OkStatus();
}

absl::Status ConsumerGroupsImpl::Commit(
    std::string_view group, const std::vector<OffsetCommit>& offsets,
    const CommitOptions& options) {
  SPOOL_RETURN_IF_ERROR(CheckOpen());
  SPOOL_RETURN_IF_ERROR(ValidateCommit(group, offsets, options));
  // Checked before the group is looked up or made, so that bad commits do
  // not make groups; checked again under the group's lock below.
  SPOOL_RETURN_IF_ERROR(ValidateAgainstLogs(group, offsets));
  if (!options.member_id.empty() && Find(group) == nullptr) {
    return UnknownMember(group, options.member_id);
  }
  while (true) {
    GroupPtr g = FindOrCreate(group);
    {
      ReaderMutexLock lock(&g->mu);
      if (g->deleted) continue;
      if (!HasExpiredMembers(*g, clock_->Now())) {
        SPOOL_RETURN_IF_ERROR(Fence(*g, options));
        SPOOL_RETURN_IF_ERROR(ValidateAgainstLogs(group, offsets));
        SPOOL_RETURN_IF_ERROR(WriteOffsets(*g, offsets, options.sync));
        Touch(*g, options.member_id);
        return absl::OkStatus();
      }
    }
    MutexLock lock(&g->mu);
    if (!g->deleted) SPOOL_RETURN_IF_ERROR(RemoveExpiredMembers(*g));
  }
}

absl::StatusOr<CommittedOffsets> ConsumerGroupsImpl::ScanOffsets(
    std::string_view prefix) const {
  CommittedOffsets out;
  absl::Status problem;
  SPOOL_RETURN_IF_ERROR(tables_->Scan(
      Table::kOffsets, prefix, [&](std::string_view key, std::string_view v) {
        absl::StatusOr<DecodedOffsetKey> k = DecodeOffsetKey(key);
        absl::StatusOr<CommittedOffset> value = DecodeOffsetValue(v);
        problem = !k.ok() ? k.status() : value.status();
        if (!problem.ok()) return false;
        out[k->tp] = *std::move(value);
        return true;
      }));
  SPOOL_RETURN_IF_ERROR(problem);
  return out;
}

absl::StatusOr<CommittedOffsets> ConsumerGroupsImpl::FetchCommitted(
    std::string_view group,
    const std::optional<std::vector<TopicPartition>>& partitions) const {
  SPOOL_RETURN_IF_ERROR(CheckOpen());
  SPOOL_RETURN_IF_ERROR(ValidateGroupName(group));
  if (!partitions.has_value()) return ScanOffsets(GroupOffsetsPrefix(group));
  CommittedOffsets out;
  for (const TopicPartition& tp : *partitions) {
    SPOOL_ASSIGN_OR_RETURN(std::optional<std::string> value,
                           tables_->Get(Table::kOffsets, OffsetKey(group, tp)));
    if (!value.has_value()) {
      out[tp] = CommittedOffset();
      continue;
    }
    SPOOL_ASSIGN_OR_RETURN(out[tp], DecodeOffsetValue(*value));
  }
  return out;
}

absl::StatusOr<int64_t> ConsumerGroupsImpl::LastCommitMillis(
    const Group& g) const {
  const int64_t known = g.last_commit_ms.load();
  if (known != kUnknownMillis) return known;
  SPOOL_ASSIGN_OR_RETURN(CommittedOffsets offsets,
                         ScanOffsets(GroupOffsetsPrefix(g.name)));
  int64_t newest = -1;
  for (const auto& [tp, o] : offsets) {
    newest = std::max(newest, absl::ToUnixMillis(o.commit_time));
  }
  int64_t expected = kUnknownMillis;
  // A commit racing with this scan stored a newer time: keep it.
  g.last_commit_ms.compare_exchange_strong(expected, newest);
  return std::max(newest, g.last_commit_ms.load());
}

absl::StatusOr<std::map<TopicPartition, int64_t>>
ConsumerGroupsImpl::ResetTargets(std::string_view topic, const ResetSpec& spec,
                                 const std::vector<int32_t>& partitions) const {
  std::map<TopicPartition, int64_t> targets;
  for (int32_t p : partitions) {
    const TopicPartition tp{std::string(topic), p};
    SPOOL_ASSIGN_OR_RETURN(PartitionOffsets log, engine_->Offsets(tp));
    int64_t target = log.log_start_offset;
    switch (spec.kind) {
      case ResetSpec::Kind::kEarliest:
        break;
      case ResetSpec::Kind::kLatest:
        target = log.log_end_offset;
        break;
      case ResetSpec::Kind::kTimestamp: {
        SPOOL_ASSIGN_OR_RETURN(std::optional<int64_t> found,
                               engine_->OffsetForTimestamp(tp, spec.value));
        target = found.value_or(log.log_end_offset);
        break;
      }
      case ResetSpec::Kind::kOffset:
        target =
            std::clamp(spec.value, log.log_start_offset, log.log_end_offset);
        break;
    }
    targets[tp] = target;
  }
  return targets;
}

absl::StatusOr<std::map<TopicPartition, int64_t>>
ConsumerGroupsImpl::ResetOffsets(
    std::string_view group, std::string_view topic, const ResetSpec& spec,
    const std::optional<std::vector<int32_t>>& partitions) {
  SPOOL_RETURN_IF_ERROR(CheckOpen());
  SPOOL_RETURN_IF_ERROR(ValidateGroupName(group));
  if ((spec.kind == ResetSpec::Kind::kOffset ||
       spec.kind == ResetSpec::Kind::kTimestamp) &&
      spec.value < 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "reset of consumer group '%s' to a negative %s: %d", group,
        spec.kind == ResetSpec::Kind::kOffset ? "offset" : "timestamp",
        spec.value));
  }
  SPOOL_ASSIGN_OR_RETURN(int32_t count, engine_->PartitionCount(topic));
  std::vector<int32_t> parts;
  if (partitions.has_value()) {
    parts = *partitions;
  } else {
    for (int32_t p = 0; p < count; ++p) parts.push_back(p);
  }
  for (int32_t p : parts) {
    if (p < 0 || p >= count) {
      return absl::NotFoundError(absl::StrFormat(
          "topic '%s' has no partition %d (it has %d)", topic, p, count));
    }
  }
  if (parts.empty()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "reset of consumer group '%s' names no partitions", group));
  }
  std::map<TopicPartition, int64_t> targets;
  SPOOL_RETURN_IF_ERROR(WithGroup(group, /*create=*/true, [&](Group& g) {
    if (!g.state.members.empty()) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "consumer group '%s' has %d live members; stop them (or let their "
          "sessions time out) before resetting its offsets",
          group, g.state.members.size()));
    }
    SPOOL_ASSIGN_OR_RETURN(targets, ResetTargets(topic, spec, parts));
    std::vector<OffsetCommit> commits;
    for (const auto& [tp, offset] : targets) commits.push_back({tp, offset});
    return WriteOffsets(g, commits, /*sync=*/true);
  }));
  return targets;
}

absl::Status ConsumerGroupsImpl::DropTopic(std::string_view topic) {
  TableStore::Batch batch;
  for (const GroupPtr& g : AllGroups()) {
    // Taking the lock waits for commits in flight; later ones find the
    // topic gone.
    MutexLock lock(&g->mu);
    if (!g->deleted && g->persisted.load()) {
      batch.DeletePrefix(Table::kOffsets, TopicOffsetsPrefix(g->name, topic));
    }
  }
  SPOOL_RETURN_IF_ERROR(tables_->Write(batch, /*sync=*/true));
  MutexLock lock(&cache_mu_);
  absl::erase_if(timestamps_, [&](const auto& entry) {
    return entry.first.second.topic == topic;
  });
  return absl::OkStatus();
}

absl::StatusOr<std::optional<int64_t>> ConsumerGroupsImpl::FloorOf(
    const Group& g, const TopicPartition& tp) const {
  bool registered = false;
  {
    ReaderMutexLock lock(&g.mu);
    if (g.deleted || !g.persisted.load()) return std::optional<int64_t>();
    for (const StoredMember& m : g.state.members) {
      registered |=
          std::binary_search(m.topics.begin(), m.topics.end(), tp.topic);
    }
  }
  SPOOL_ASSIGN_OR_RETURN(std::optional<std::string> value,
                         tables_->Get(Table::kOffsets, OffsetKey(g.name, tp)));
  if (value.has_value()) {
    SPOOL_ASSIGN_OR_RETURN(CommittedOffset committed,
                           DecodeOffsetValue(*value));
    return std::optional<int64_t>(committed.offset);
  }
  if (!registered) {  // by a commit on another partition of the topic?
    SPOOL_RETURN_IF_ERROR(
        tables_->Scan(Table::kOffsets, TopicOffsetsPrefix(g.name, tp.topic),
                      [&](std::string_view, std::string_view) {
                        registered = true;
                        return false;
                      }));
  }
  if (!registered) return std::optional<int64_t>();
  // Registered, nothing consumed here: nothing may go.
  SPOOL_ASSIGN_OR_RETURN(PartitionOffsets log, engine_->Offsets(tp));
  return std::optional<int64_t>(log.log_start_offset);
}

absl::StatusOr<std::optional<int64_t>> ConsumerGroupsImpl::RetentionFloor(
    std::string_view topic, int32_t partition) const {
  SPOOL_RETURN_IF_ERROR(CheckOpen());
  SPOOL_ASSIGN_OR_RETURN(int32_t count, engine_->PartitionCount(topic));
  if (partition < 0 || partition >= count) {
    return absl::NotFoundError(absl::StrFormat(
        "topic '%s' has no partition %d (it has %d)", topic, partition, count));
  }
  const TopicPartition tp{std::string(topic), partition};
  std::optional<int64_t> floor;
  for (const GroupPtr& g : AllGroups()) {
    SPOOL_ASSIGN_OR_RETURN(std::optional<int64_t> contribution,
                           FloorOf(*g, tp));
    if (contribution.has_value()) {
      floor = std::min(floor.value_or(*contribution), *contribution);
    }
  }
  return floor;
}

}  // namespace spool
