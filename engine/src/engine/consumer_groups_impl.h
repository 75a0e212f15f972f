// ConsumerGroupsImpl: the engine's consumer groups (spool/consumer_groups.h
// has the contract; docs/consumer-groups.md the design).
//
// Storage. Offsets live only in the tables (Table::kOffsets, read with Get
// and prefix scans); group state (membership, generation, assignment) is
// kept in memory and written through to Table::kGroups on every change,
// loaded at Open. Heartbeat times are memory only: after a restart every
// member gets a full session timeout to come back.
//
// Code is split by concern:
//   consumer_groups_impl.cc        the group map, open/close, list,
//                                  describe, delete, expiry, maintenance
//   consumer_groups_offsets.cc     commit, fetch, reset, topic deletion,
//                                  the retention floor
//   consumer_groups_membership.cc  join, heartbeat, leave, session expiry,
//                                  rebalancing
//   consumer_groups_lag.cc         lag and the Prometheus metrics
//   consumer_groups_codec.cc       the table encodings
//
// Locking. map_mu_ guards the name -> Group map and is held only for map
// operations. Each Group has its own mutex: membership changes, resets,
// deletion and expiry hold it exclusively; commits hold it shared across
// validation, fencing and the table write, so commits to one group run in
// parallel (sharing RocksDB's group commit) yet are ordered against
// membership changes. Order: Group::mu before map_mu_ before cache_mu_.
// No group lock is held while calling into the engine's administration.
//
// Thread-safe.

#ifndef SPOOL_ENGINE_CONSUMER_GROUPS_IMPL_H_
#define SPOOL_ENGINE_CONSUMER_GROUPS_IMPL_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/consumer_groups_codec.h"
#include "engine/prometheus.h"
#include "spool/clock.h"
#include "spool/consumer_groups.h"
#include "spool/engine.h"
#include "tables/table_store.h"
#include "util/mutex.h"

namespace spool {

class ConsumerGroupsImpl final : public ConsumerGroups {
 public:
  // Bytes of log of tp from the batch holding `offset` to the log end.
  using BytesFromFn =
      std::function<absl::StatusOr<int64_t>(const TopicPartition&, int64_t)>;

  struct Options {
    TableStore* tables = nullptr;  // not owned; outlives this
    Clock* clock = nullptr;        // not owned
    // Topics, offsets, fetches: the engine's public API. Not owned.
    const Engine* engine = nullptr;
    BytesFromFn bytes_from;
    // Used by RunMaintenance (EngineOptions::group_offsets_retention).
    absl::Duration retention = absl::Hours(24 * 7);
  };

  // How often the engine calls RunMaintenance (real time).
  static constexpr absl::Duration kMaintenanceInterval = absl::Seconds(1);

  // Loads every group from Table::kGroups. kDataLoss naming the group if a
  // record does not decode.
  static absl::StatusOr<std::unique_ptr<ConsumerGroupsImpl>> Open(
      Options options);

  // --- ConsumerGroups ---------------------------------------------------
  absl::Status Commit(std::string_view group,
                      const std::vector<OffsetCommit>& offsets,
                      const CommitOptions& options) override;
  absl::StatusOr<CommittedOffsets> FetchCommitted(
      std::string_view group,
      const std::optional<std::vector<TopicPartition>>& partitions)
      const override;
  absl::StatusOr<std::map<TopicPartition, int64_t>> ResetOffsets(
      std::string_view group, std::string_view topic, const ResetSpec& spec,
      const std::optional<std::vector<int32_t>>& partitions) override;
  absl::StatusOr<std::vector<std::string>> ListGroups() const override;
  absl::StatusOr<GroupDescription> DescribeGroup(
      std::string_view group) override;
  absl::Status DeleteGroup(std::string_view group) override;
  absl::StatusOr<std::vector<std::string>> ExpireGroups(
      absl::Duration retention) override;
  absl::StatusOr<JoinGroupResult> JoinGroup(
      std::string_view group, const JoinGroupRequest& request) override;
  absl::Status Heartbeat(std::string_view group, std::string_view member_id,
                         int32_t generation) override;
  absl::Status LeaveGroup(std::string_view group,
                          std::string_view member_id) override;
  absl::StatusOr<std::vector<PartitionLag>> Lag(
      std::string_view group) const override;
  absl::StatusOr<std::optional<int64_t>> RetentionFloor(
      std::string_view topic, int32_t partition) const override;

  // --- Engine hooks -----------------------------------------------------
  // Every later call fails with kFailedPrecondition. Idempotent.
  void Close();
  // Deletes every group's offsets on `topic` (one synced batch). Called by
  // DeleteTopic after the topic left the topic map, and again at Open for
  // a deletion a crash interrupted. Waits for commits in flight.
  absl::Status DropTopic(std::string_view topic);
  // Removes members whose session ran out and expires groups per
  // Options::retention. Errors are counted in the metrics.
  void RunMaintenance();
  // The spool_consumer_* families.
  void AppendMetrics(PrometheusWriter& w) const;

 private:
  static constexpr int64_t kUnknownMillis = std::numeric_limits<int64_t>::min();

  struct Group {
    Group(std::string n, StoredGroup initial)
        : name(std::move(n)), state(std::move(initial)) {}
    const std::string name;
    mutable Mutex mu;
    // Set (with mu exclusive) when the group was deleted or expired; a
    // caller holding a stale pointer looks the name up again.
    bool deleted ABSL_GUARDED_BY(mu) = false;
    StoredGroup state ABSL_GUARDED_BY(mu);
    // Member id -> last heartbeat (engine Clock, µs since the epoch). The
    // keys change with mu exclusive; the values are touched by commits
    // holding mu shared.
    absl::flat_hash_map<std::string, std::unique_ptr<std::atomic<int64_t>>>
        heartbeats ABSL_GUARDED_BY(mu);
    // Whether Table::kGroups holds the group. A group made in memory by a
    // call that then failed is not listed and never written.
    std::atomic<bool> persisted{false};
    // Newest commit time (ms); kUnknownMillis until needed after Open.
    mutable std::atomic<int64_t> last_commit_ms{kUnknownMillis};
    std::atomic<int64_t> rebalances{0};
  };
  using GroupPtr = std::shared_ptr<Group>;

  explicit ConsumerGroupsImpl(Options options);

  absl::Status CheckOpen() const;
  absl::Status Load();
  GroupPtr Find(std::string_view name) const ABSL_LOCKS_EXCLUDED(map_mu_);
  GroupPtr FindOrCreate(std::string_view name) ABSL_LOCKS_EXCLUDED(map_mu_);
  std::vector<GroupPtr> AllGroups() const ABSL_LOCKS_EXCLUDED(map_mu_);
  // Drops `g` from the map (if it is still the group of its name) and its
  // cached lag timestamps. REQUIRES: g.mu held exclusively, deleted set.
  void Forget(const Group& g) ABSL_LOCKS_EXCLUDED(map_mu_, cache_mu_);

  // Runs fn with the group locked exclusively, after removing members
  // whose session ran out. create: make the group if it does not exist;
  // otherwise kNotFound for an unknown (or never stored) group.
  absl::Status WithGroup(std::string_view name, bool create,
                         absl::FunctionRef<absl::Status(Group&)> fn);
  // Writes `next` to Table::kGroups (synced) and, on success, makes it the
  // group's state. REQUIRES: g.mu held exclusively.
  absl::Status Persist(Group& g, StoredGroup next);
  // Deletes the group and its offsets. REQUIRES: g.mu held exclusively.
  absl::Status Remove(Group& g);

  // --- Membership (consumer_groups_membership.cc) -----------------------
  // kFailedPrecondition "unknown member ...: rejoin".
  static absl::Status UnknownMember(std::string_view group,
                                    std::string_view member);
  // REQUIRES: g.mu held (shared is enough).
  bool HasExpiredMembers(const Group& g, absl::Time now) const;
  // REQUIRES: g.mu held exclusively.
  absl::Status RemoveExpiredMembers(Group& g);
  // Starts a new generation of `next`: bumps it and recomputes every
  // member's assignment (or records that the group became empty).
  absl::Status Rebalance(StoredGroup* next) const;
  // Rebalances if the subscribed topics' partitions changed since the last
  // assignment (a topic created, deleted or grown). REQUIRES: g.mu held
  // exclusively.
  absl::Status RebalanceIfTopicsChanged(Group& g);
  // The subscribed topics that exist now, with their partition counts.
  absl::StatusOr<std::vector<TopicPartitions>> SubscribedTopics(
      const StoredGroup& g) const;
  // REQUIRES: g.mu held (shared is enough).
  void Touch(const Group& g, std::string_view member_id) const;
  // Commit fencing. REQUIRES: g.mu held (shared is enough).
  absl::Status Fence(const Group& g, const CommitOptions& options) const;
  absl::StatusOr<JoinGroupResult> JoinLocked(Group& g,
                                             const JoinGroupRequest& request);

  // --- Offsets (consumer_groups_offsets.cc) -----------------------------
  // Checks a commit's input (no partition lookups).
  static absl::Status ValidateCommit(std::string_view group,
                                     const std::vector<OffsetCommit>& offsets,
                                     const CommitOptions& options);
  // Checks each entry against the logs. Called again with g.mu held, so a
  // topic deleted meanwhile is caught (DropTopic waits for the lock).
  absl::Status ValidateAgainstLogs(
      std::string_view group, const std::vector<OffsetCommit>& offsets) const;
  // Writes the offsets (and the group, if not yet stored) in one batch.
  // REQUIRES: g.mu held (shared is enough).
  absl::Status WriteOffsets(Group& g, const std::vector<OffsetCommit>& offsets,
                            bool sync);
  absl::StatusOr<CommittedOffsets> ScanOffsets(std::string_view prefix) const;
  // The newest commit time of the group's offsets (-1 if none), scanned
  // once and then kept up to date. REQUIRES: g.mu held.
  absl::StatusOr<int64_t> LastCommitMillis(const Group& g) const;
  // What `g` contributes to tp's retention floor: nullopt if it is not
  // registered on tp's topic (spool/consumer_groups.h, RetentionFloor).
  // Takes g.mu shared.
  absl::StatusOr<std::optional<int64_t>> FloorOf(
      const Group& g, const TopicPartition& tp) const;
  absl::StatusOr<std::map<TopicPartition, int64_t>> ResetTargets(
      std::string_view topic, const ResetSpec& spec,
      const std::vector<int32_t>& partitions) const;

  // --- Lag (consumer_groups_lag.cc) -------------------------------------
  // Lag of `group` on tp given its committed offset (or kNoCommittedOffset).
  absl::StatusOr<PartitionLag> LagOf(std::string_view group,
                                     const TopicPartition& tp,
                                     int64_t committed) const;
  // Timestamp (ms) of the first record at or after `offset`, nullopt if
  // none is readable.
  absl::StatusOr<std::optional<int64_t>> TimestampAt(const TopicPartition& tp,
                                                     int64_t offset) const;
  // Lag on every partition the group committed or is assigned (partitions
  // of deleted topics skipped). skip_errors: leave out partitions whose lag
  // cannot be read instead of failing. Takes g.mu shared.
  absl::StatusOr<std::vector<PartitionLag>> LagOfGroup(
      const Group& g, const CommittedOffsets& committed,
      bool skip_errors) const;
  static void PartitionLagMetrics(PrometheusWriter& w, const std::string& group,
                                  const PartitionLag& lag);

  // Constant after construction.
  TableStore* const tables_;
  Clock* const clock_;
  const Engine* const engine_;
  const BytesFromFn bytes_from_;
  const absl::Duration retention_;

  std::atomic<bool> closed_{false};
  std::atomic<int64_t> expired_groups_{0};
  std::atomic<int64_t> maintenance_errors_{0};

  mutable Mutex map_mu_ ABSL_ACQUIRED_BEFORE(cache_mu_);
  absl::flat_hash_map<std::string, GroupPtr> groups_ ABSL_GUARDED_BY(map_mu_);

  // (group, partition) -> (position, timestamp of the record there): the
  // record at an offset does not change, so a stopped group's lag in
  // seconds needs no read.
  struct CachedTimestamp {
    int64_t offset = -1;
    std::optional<int64_t> timestamp_ms;
  };
  mutable Mutex cache_mu_;
  mutable absl::flat_hash_map<std::pair<std::string, TopicPartition>,
                              CachedTimestamp>
      timestamps_ ABSL_GUARDED_BY(cache_mu_);
};

}  // namespace spool

#endif  // SPOOL_ENGINE_CONSUMER_GROUPS_IMPL_H_
