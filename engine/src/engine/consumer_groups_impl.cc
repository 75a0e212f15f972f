// ConsumerGroupsImpl: the group map, opening and closing, listing,
// describing, deleting and expiring groups, and the periodic maintenance.

#include "engine/consumer_groups_impl.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_format.h"
#include "util/status_macros.h"
#include "util/strings.h"

namespace spool {
namespace {

GroupState StateOf(const StoredGroup& g) {
  if (g.members.empty()) return GroupState::kEmpty;
  for (const StoredMember& m : g.members) {
    if (m.generation != g.generation) return GroupState::kRebalancing;
  }
  return GroupState::kStable;
}

}  // namespace

std::string_view GroupStateName(GroupState state) {
  switch (state) {
    case GroupState::kEmpty:
      return "empty";
    case GroupState::kRebalancing:
      return "rebalancing";
    case GroupState::kStable:
      return "stable";
  }
  return "unknown";
}

ConsumerGroupsImpl::ConsumerGroupsImpl(Options options)
    : tables_(options.tables),
      clock_(options.clock != nullptr ? options.clock : Clock::Real()),
      engine_(options.engine),
      bytes_from_(std::move(options.bytes_from)),
      retention_(options.retention) {}

absl::StatusOr<std::unique_ptr<ConsumerGroupsImpl>> ConsumerGroupsImpl::Open(
    Options options) {
  if (options.tables == nullptr || options.engine == nullptr ||
      !options.bytes_from) {
    return absl::InvalidArgumentError(
        "consumer groups need the tables, the engine and bytes_from");
  }
  std::unique_ptr<ConsumerGroupsImpl> groups(
      new ConsumerGroupsImpl(std::move(options)));
  SPOOL_RETURN_IF_ERROR(groups->Load());
  return groups;
}

absl::Status ConsumerGroupsImpl::Load() {
  const int64_t now_us = absl::ToUnixMicros(clock_->Now());
  absl::Status problem;
  absl::Status scan = tables_->Scan(
      Table::kGroups, "", [&](std::string_view key, std::string_view value) {
        absl::StatusOr<StoredGroup> decoded = DecodeGroup(value);
        if (!decoded.ok()) {
          problem = absl::DataLossError(absl::StrFormat(
              "consumer group \"%s\": %s", key, decoded.status().message()));
          return false;
        }
        auto g = std::make_shared<Group>(std::string(key), *std::move(decoded));
        {
          MutexLock lock(&g->mu);
          for (const StoredMember& m : g->state.members) {
            g->heartbeats[m.id] =
                std::make_unique<std::atomic<int64_t>>(now_us);
          }
        }
        g->persisted.store(true);
        MutexLock map_lock(&map_mu_);
        groups_[g->name] = std::move(g);
        return true;
      });
  SPOOL_RETURN_IF_ERROR(scan);
  return problem;
}

void ConsumerGroupsImpl::Close() { closed_.store(true); }

absl::Status ConsumerGroupsImpl::CheckOpen() const {
  if (closed_.load()) {
    return absl::FailedPreconditionError("the engine is closed");
  }
  return absl::OkStatus();
}

ConsumerGroupsImpl::GroupPtr ConsumerGroupsImpl::Find(
    std::string_view name) const {
  MutexLock lock(&map_mu_);
  auto it = groups_.find(ToAbsl(name));
  return it == groups_.end() ? nullptr : it->second;
}

ConsumerGroupsImpl::GroupPtr ConsumerGroupsImpl::FindOrCreate(
    std::string_view name) {
  MutexLock lock(&map_mu_);
  GroupPtr& g = groups_[ToAbsl(name)];
  if (g == nullptr) {
    StoredGroup initial;
    initial.empty_since_ms = clock_->NowMillis();
    g = std::make_shared<Group>(std::string(name), std::move(initial));
  }
  return g;
}

std::vector<ConsumerGroupsImpl::GroupPtr> ConsumerGroupsImpl::AllGroups()
    const {
  std::vector<GroupPtr> out;
  MutexLock lock(&map_mu_);
  out.reserve(groups_.size());
  for (const auto& [name, g] : groups_) out.push_back(g);
  std::sort(out.begin(), out.end(), [](const GroupPtr& a, const GroupPtr& b) {
    return a->name < b->name;
  });
  return out;
}

void ConsumerGroupsImpl::Forget(const Group& g) {
  {
    MutexLock lock(&map_mu_);
    auto it = groups_.find(g.name);
    if (it != groups_.end() && it->second.get() == &g) groups_.erase(it);
  }
  MutexLock lock(&cache_mu_);
  absl::erase_if(timestamps_, [&](const auto& entry) {
    return entry.first.first == g.name;
  });
}

absl::Status ConsumerGroupsImpl::WithGroup(
    std::string_view name, bool create,
    absl::FunctionRef<absl::Status(Group&)> fn) {
  SPOOL_RETURN_IF_ERROR(CheckOpen());
  SPOOL_RETURN_IF_ERROR(ValidateGroupName(name));
  while (true) {
    GroupPtr g = create ? FindOrCreate(name) : Find(name);
    if (g == nullptr || (!create && !g->persisted.load())) {
      return absl::NotFoundError(
          absl::StrFormat("unknown consumer group '%s'", name));
    }
    MutexLock lock(&g->mu);
    if (g->deleted) continue;  // deleted meanwhile: look the name up again
    SPOOL_RETURN_IF_ERROR(RemoveExpiredMembers(*g));
    return fn(*g);
  }
}

absl::Status ConsumerGroupsImpl::Persist(Group& g, StoredGroup next) {
  SPOOL_RETURN_IF_ERROR(
      tables_->Put(Table::kGroups, g.name, EncodeGroup(next), /*sync=*/true));
  const int64_t now_us = absl::ToUnixMicros(clock_->Now());
  absl::flat_hash_map<std::string, std::unique_ptr<std::atomic<int64_t>>> beats;
  for (const StoredMember& m : next.members) {
    auto it = g.heartbeats.find(m.id);
    beats[m.id] = it != g.heartbeats.end()
                      ? std::move(it->second)
                      : std::make_unique<std::atomic<int64_t>>(now_us);
  }
  g.heartbeats = std::move(beats);
  g.state = std::move(next);
  g.persisted.store(true);
  return absl::OkStatus();
}

absl::Status ConsumerGroupsImpl::Remove(Group& g) {
  if (g.persisted.load()) {
    TableStore::Batch batch;
    batch.Delete(Table::kGroups, g.name);
    batch.DeletePrefix(Table::kOffsets, GroupOffsetsPrefix(g.name));
    SPOOL_RETURN_IF_ERROR(tables_->Write(batch, /*sync=*/true));
  }
  g.deleted = true;
  Forget(g);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ConsumerGroupsImpl::ListGroups()
    const {
  SPOOL_RETURN_IF_ERROR(CheckOpen());
  std::vector<std::string> names;
  for (const GroupPtr& g : AllGroups()) {
    ReaderMutexLock lock(&g->mu);
    if (g->persisted.load() && !g->deleted) names.push_back(g->name);
  }
  return names;
}

absl::StatusOr<GroupDescription> ConsumerGroupsImpl::DescribeGroup(
    std::string_view group) {
  GroupDescription d;
  d.group = std::string(group);
  SPOOL_RETURN_IF_ERROR(WithGroup(group, /*create=*/false, [&](Group& g) {
    const StoredGroup& s = g.state;
    d.state = StateOf(s);
    d.generation = s.generation;
    d.strategy = s.strategy;
    if (s.empty_since_ms >= 0) {
      d.empty_since = absl::FromUnixMillis(s.empty_since_ms);
    }
    for (const StoredMember& m : s.members) {
      MemberDescription md{
          m.id,         m.topics,          m.assignment,
          m.generation, m.session_timeout, absl::InfinitePast()};
      auto it = g.heartbeats.find(m.id);
      if (it != g.heartbeats.end()) {
        md.last_heartbeat = absl::FromUnixMicros(it->second->load());
      }
      d.members.push_back(std::move(md));
    }
    return absl::OkStatus();
  }));
  SPOOL_ASSIGN_OR_RETURN(d.offsets, ScanOffsets(GroupOffsetsPrefix(group)));
  GroupPtr g = Find(group);
  if (g != nullptr) {
    SPOOL_ASSIGN_OR_RETURN(d.lag,
                           LagOfGroup(*g, d.offsets, /*skip_errors=*/false));
  }
  return d;
}

absl::Status ConsumerGroupsImpl::DeleteGroup(std::string_view group) {
  return WithGroup(group, /*create=*/false, [&](Group& g) {
    if (!g.state.members.empty()) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "consumer group '%s' has %d live members; they must leave (or "
          "their sessions time out) before it can be deleted",
          group, g.state.members.size()));
    }
    return Remove(g);
  });
}

absl::StatusOr<std::vector<std::string>> ConsumerGroupsImpl::ExpireGroups(
    absl::Duration retention) {
  SPOOL_RETURN_IF_ERROR(CheckOpen());
  if (retention <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("group retention must be positive, not %s",
                        absl::FormatDuration(retention)));
  }
  std::vector<std::string> expired;
  for (const GroupPtr& g : AllGroups()) {
    MutexLock lock(&g->mu);
    if (g->deleted) continue;
    SPOOL_RETURN_IF_ERROR(RemoveExpiredMembers(*g));
    if (!g->state.members.empty()) continue;
    const absl::Time now = clock_->Now();
    // Empty for long enough, and then no commit for long enough either (a
    // consumer committing from outside the membership keeps it alive).
    if (now - absl::FromUnixMillis(g->state.empty_since_ms) <= retention) {
      continue;
    }
    SPOOL_ASSIGN_OR_RETURN(int64_t last_commit, LastCommitMillis(*g));
    if (last_commit >= 0 &&
        now - absl::FromUnixMillis(last_commit) <= retention) {
      continue;
    }
    SPOOL_RETURN_IF_ERROR(Remove(*g));
    if (g->persisted.load()) {
      expired.push_back(g->name);
      expired_groups_.fetch_add(1);
    }
  }
  return expired;
}

void ConsumerGroupsImpl::RunMaintenance() {
  if (closed_.load()) return;
  const absl::Time now = clock_->Now();
  for (const GroupPtr& g : AllGroups()) {
    {
      ReaderMutexLock lock(&g->mu);
      if (g->deleted || !HasExpiredMembers(*g, now)) continue;
    }
    MutexLock lock(&g->mu);
    if (g->deleted) continue;
    if (!RemoveExpiredMembers(*g).ok()) maintenance_errors_.fetch_add(1);
  }
  if (!ExpireGroups(retention_).ok()) maintenance_errors_.fetch_add(1);
}

}  // namespace spool
