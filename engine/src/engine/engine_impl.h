// The engine's implementation (see spool/engine.h for the contract).
//
// Layout in memory:
//   topics_  an immutable TopicMap (name -> TopicState), replaced as a whole
//            by topic administration and read with one atomic load, so the
//            append and fetch paths take no engine-wide lock;
//   each TopicState holds its config and its partitions' handles; each
//   handle holds its PartitionLog (shared with the LogDirectory that
//   stores it) and its shard.
// Administration (create / delete / add partitions) is serialized by
// admin_mu_ and writes the catalog (RocksDB) before touching directories,
// so a crash never leaves a directory the catalog does not explain.

#ifndef SPOOL_ENGINE_ENGINE_IMPL_H_
#define SPOOL_ENGINE_ENGINE_IMPL_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "engine/cleaner_pool.h"
#include "engine/consumer_groups_impl.h"
#include "engine/shard.h"
#include "engine/subscriptions_impl.h"
#include "log/log_directory.h"
#include "spool/engine.h"
#include "tables/catalog.h"
#include "tables/table_store.h"
#include "util/atomic_shared_ptr.h"
#include "util/histogram.h"
#include "util/mutex.h"

namespace spool {

struct PartitionHandle {
  TopicPartition tp;
  std::shared_ptr<PartitionLog> log;
  int dir_index = 0;
  Shard* shard = nullptr;
};

struct TopicState {
  TopicRecord record;
  LogConfig log_config;
  std::vector<std::shared_ptr<PartitionHandle>> partitions;
  // Null-key placement: the next partition for round-robin / sticky.
  mutable std::atomic<uint32_t> next_partition{0};
};

using TopicMap =
    absl::flat_hash_map<std::string, std::shared_ptr<const TopicState>>;

// Maps a topic's configuration to its partitions' log configuration.
LogConfig ToLogConfig(const TopicConfig& config);

class EngineImpl final : public Engine {
 public:
  static absl::StatusOr<std::unique_ptr<Engine>> Open(EngineOptions options);
  ~EngineImpl() override;

  absl::Status Close() override ABSL_LOCKS_EXCLUDED(admin_mu_);

  absl::Status CreateTopic(std::string_view name,
                           const TopicConfig& config) override
      ABSL_LOCKS_EXCLUDED(admin_mu_);
  absl::Status DeleteTopic(std::string_view name) override
      ABSL_LOCKS_EXCLUDED(admin_mu_);
  absl::StatusOr<std::vector<std::string>> ListTopics() const override;
  absl::StatusOr<TopicDescription> DescribeTopic(
      std::string_view name) const override;
  absl::StatusOr<int32_t> PartitionCount(std::string_view name) const override;
  absl::Status AddPartitions(std::string_view name,
                             int32_t total_partitions) override
      ABSL_LOCKS_EXCLUDED(admin_mu_);

  absl::StatusOr<AppendResult> Append(const TopicPartition& tp,
                                      std::string batch,
                                      const AppendOptions& options) override;
  absl::StatusOr<ProduceResult> ProduceBatch(
      std::string_view topic, const std::vector<Record>& records,
      const ProduceOptions& options) override;
  absl::StatusOr<ProducerId> InitProducerId(std::string_view name) override
      ABSL_LOCKS_EXCLUDED(producers_mu_);
  absl::StatusOr<FetchResult> Fetch(const TopicPartition& tp, int64_t offset,
                                    const FetchOptions& options) const override;
  absl::StatusOr<PartitionOffsets> Offsets(
      const TopicPartition& tp) const override;
  absl::StatusOr<std::optional<int64_t>> OffsetForTimestamp(
      const TopicPartition& tp, int64_t timestamp_ms) const override;
  absl::StatusOr<int64_t> TruncateTo(const TopicPartition& tp,
                                     int64_t offset) override;
  absl::Status SetHighWatermark(const TopicPartition& tp,
                                int64_t offset) override;
  absl::Status DeleteRecordsBefore(const TopicPartition& tp,
                                   int64_t offset) override;
  absl::Status Flush() override;
  absl::StatusOr<RetentionStats> ApplyRetention(
      std::string_view topic) override;
  absl::StatusOr<CompactionStats> Compact(
      const TopicPartition& tp, const CompactOptions& options) override;
  std::vector<PartitionRecovery> RecoveryReports() const override
      ABSL_LOCKS_EXCLUDED(admin_mu_);
  std::string Metrics() const override;
  ConsumerGroups& groups() override;
  Subscriptions& subscriptions() override;

 private:
  explicit EngineImpl(EngineOptions options);

  // Open, in order.
  absl::Status OpenDataDirs();
  absl::Status OpenTables();
  absl::Status LoadCatalog() ABSL_EXCLUSIVE_LOCKS_REQUIRED(admin_mu_);
  void StartShards();
  // Consumer groups (engine_groups.cc). Opened before the catalog loads, so
  // that finishing an interrupted topic deletion drops its offsets too.
  absl::Status OpenGroups();
  // Shared subscriptions (engine_subscriptions.cc); after the catalog.
  absl::Status OpenSubscriptions();
  // Bytes of tp's log from the batch holding `offset` to the end.
  absl::StatusOr<int64_t> BytesFrom(const TopicPartition& tp,
                                    int64_t offset) const;

  // Hold the snapshot in a variable before iterating it: in
  // `for (... : *topics())` the temporary dies before the loop body runs.
  std::shared_ptr<const TopicMap> topics() const { return topics_.load(); }
  absl::Status CheckOpen() const;
  absl::StatusOr<std::shared_ptr<const TopicState>> FindTopic(
      std::string_view name) const;
  // The handle of tp, kept alive by `topic_out`.
  absl::StatusOr<const PartitionHandle*> FindPartition(
      const TopicPartition& tp,
      std::shared_ptr<const TopicState>* topic_out) const;

  // Opens partition `p` of `record` in data dir `dir_index`, records its
  // recovery report.
  absl::StatusOr<std::shared_ptr<PartitionHandle>> OpenPartition(
      const TopicRecord& record, const LogConfig& log_config, int32_t p,
      int dir_index) ABSL_EXCLUSIVE_LOCKS_REQUIRED(admin_mu_);
  // Data dir for a new partition: the one holding the fewest partitions.
  int PickDataDir(const std::vector<int>& extra_load) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(admin_mu_);
  // Where partition p of `record` lives: its catalog entry if that
  // directory holds it, else any data dir that does, else a new pick.
  int LocatePartition(const TopicRecord& record, int32_t p,
                      std::vector<int>* extra_load) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(admin_mu_);
  // kFailedPrecondition if partition p of `record` is recorded in a data
  // directory beyond the engine's and found in none of its directories.
  absl::Status CheckPartitionReachable(const TopicRecord& record,
                                       int32_t p) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(admin_mu_);
  absl::Status RemoveTopicData(const TopicRecord& record)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(admin_mu_);
  // Closes and deletes partitions [from, to) of `topic` in every data dir
  // (those that exist).
  absl::Status RemovePartitionData(std::string_view topic, int32_t from,
                                   int32_t to)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(admin_mu_);
  // A catalog record of `name` that the topic map does not match: left by
  // a CreateTopic or AddPartitions that failed and whose undo failed too,
  // or by a DeleteTopic that failed. Removes what it holds beyond
  // `current` (nullptr: the topic does not exist), so a new record does
  // not leave directories the catalog no longer names.
  absl::Status RemoveStaleTopicData(std::string_view name,
                                    const TopicRecord* current)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(admin_mu_);
  void Publish(std::shared_ptr<const TopicMap> map)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(admin_mu_);
  Shard* ShardFor(const TopicPartition& tp) const;
  void WriteCheckpoints();

  // Retention (engine_retention.cc). The offset below which every consumer
  // group and shared subscription registered on tp's topic has consumed
  // tp: the smallest of their floors; nullopt if none is registered.
  absl::StatusOr<std::optional<int64_t>> ConsumedFloor(
      const TopicPartition& tp) const;
  // Applies `topic`'s retention rules to one of its partitions.
  absl::StatusOr<RetentionResult> RetainPartition(const TopicState& topic,
                                                  const PartitionHandle& h);
  // The periodic pass of one shard over its partitions.
  void RunRetention(const Shard* shard);
  // Compaction (engine_compaction.cc): starts the cleaner pool.
  void StartCleaner();
  std::vector<CleanerPool::Candidate> CleanerCandidates() const;

  absl::StatusOr<AppendResult> AppendToPartition(const PartitionHandle& h,
                                                 std::string batch,
                                                 const AppendOptions& options);
  // kProducerFenced if the batch's producer is a named one whose epoch was
  // bumped past the batch's.
  absl::Status CheckProducerEpoch(std::string_view batch) const
      ABSL_LOCKS_EXCLUDED(producers_mu_);
  absl::Status LoadProducerIds() ABSL_LOCKS_EXCLUDED(producers_mu_);

  // Constant after Open.
  const EngineOptions options_;
  FileSystem* const fs_;
  Clock* const clock_;
  std::vector<std::unique_ptr<LogDirectory>> dirs_;
  std::unique_ptr<TableStore> tables_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<ConsumerGroupsImpl> groups_;
  std::unique_ptr<SubscriptionsImpl> subscriptions_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::unique_ptr<CleanerPool> cleaner_;
  BucketHistogram fsync_seconds_;

  std::atomic<bool> closed_{false};
  AtomicSharedPtr<const TopicMap> topics_;
  mutable std::atomic<int64_t> append_errors_{0};
  std::atomic<int64_t> retention_runs_{0};
  std::atomic<int64_t> retention_errors_{0};

  // Producer ids handed out; the current epoch of named producers.
  mutable Mutex producers_mu_;
  absl::flat_hash_map<int64_t, int16_t> named_epochs_
      ABSL_GUARDED_BY(producers_mu_);
  std::atomic<bool> has_named_producers_{false};

  mutable Mutex admin_mu_;
  std::vector<PartitionRecovery> recoveries_ ABSL_GUARDED_BY(admin_mu_);
};

}  // namespace spool

#endif  // SPOOL_ENGINE_ENGINE_IMPL_H_
