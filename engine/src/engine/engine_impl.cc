// EngineImpl: opening, closing, topic administration. The data path is in
// engine_data.cc, metrics in engine_metrics.cc.

#include "engine/engine_impl.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "util/status_macros.h"
#include "util/strings.h"

namespace spool {
namespace {

constexpr char kTablesDir[] = "spool-tables";

}  // namespace

absl::StatusOr<std::unique_ptr<Engine>> Engine::Open(EngineOptions options) {
  return EngineImpl::Open(std::move(options));
}

LogConfig ToLogConfig(const TopicConfig& c) {
  LogConfig l;
  l.segment_bytes = c.segment_bytes;
  l.segment_age = c.segment_age;
  l.segment_index_bytes = c.segment_index_bytes;
  l.index_interval_bytes = c.index_interval_bytes;
  l.preallocate_bytes = c.preallocate_bytes;
  l.max_batch_bytes = c.max_batch_bytes;
  l.timestamp_type = c.timestamp_type;
  l.durability = c.durability;
  l.flush_interval = c.flush_interval;
  l.flush_records = c.flush_records;
  l.producer_id_expiration = c.producer_id_expiration;
  l.dedup_header = c.dedup_header;
  l.dedup_window = c.dedup_window;
  l.dedup_max_ids = c.dedup_max_ids;
  l.require_keys = c.cleanup_policy != CleanupPolicy::kDelete;
  return l;
}

EngineImpl::EngineImpl(EngineOptions options)
    : options_(std::move(options)),
      fs_(options_.file_system != nullptr ? options_.file_system
                                          : FileSystem::Default()),
      clock_(options_.clock != nullptr ? options_.clock : Clock::Real()),
      fsync_seconds_(BucketHistogram::LatencyBoundsSeconds()),
      topics_(std::make_shared<const TopicMap>()) {}

EngineImpl::~EngineImpl() { Close().IgnoreError(); }

absl::StatusOr<std::unique_ptr<Engine>> EngineImpl::Open(
    EngineOptions options) {
  SPOOL_RETURN_IF_ERROR(options.Validate());
  std::unique_ptr<EngineImpl> engine(new EngineImpl(std::move(options)));
  SPOOL_RETURN_IF_ERROR(engine->OpenDataDirs());
  SPOOL_RETURN_IF_ERROR(engine->OpenTables());
  int shards = engine->options_.shards;
  if (shards == 0) {
    shards = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  }
  const size_t files_per_shard = std::max<size_t>(
      8, static_cast<size_t>(engine->options_.max_open_files) / shards);
  for (int i = 0; i < shards; ++i) {
    engine->shards_.push_back(std::make_unique<Shard>(
        i, engine->fs_, engine->clock_, files_per_shard));
  }
  SPOOL_RETURN_IF_ERROR(engine->LoadProducerIds());
  SPOOL_RETURN_IF_ERROR(engine->OpenGroups());
  {
    MutexLock lock(&engine->admin_mu_);
    SPOOL_RETURN_IF_ERROR(engine->LoadCatalog());
  }
  SPOOL_RETURN_IF_ERROR(engine->OpenSubscriptions());
  engine->StartShards();
  return engine;
}

absl::Status EngineImpl::OpenDataDirs() {
  for (const std::string& path : options_.data_dirs) {
    if (!options_.create_if_missing) {
      absl::StatusOr<FileInfo> info = fs_->Stat(path);
      if (absl::IsNotFound(info.status())) {
        return absl::NotFoundError(absl::StrFormat(
            "data directory %s does not exist (create_if_missing is off)",
            path));
      }
    }
    SPOOL_ASSIGN_OR_RETURN(
        std::unique_ptr<LogDirectory> dir,
        LogDirectory::Open({.fs = fs_, .clock = clock_, .path = path}));
    dirs_.push_back(std::move(dir));
  }
  return absl::OkStatus();
}

absl::Status EngineImpl::OpenTables() {
  TableStoreOptions o;
  o.fs = fs_;
  o.path = JoinPath(options_.data_dirs[0], kTablesDir);
  SPOOL_ASSIGN_OR_RETURN(tables_, TableStore::Open(o));
  catalog_ = std::make_unique<Catalog>(tables_.get());
  return absl::OkStatus();
}

void EngineImpl::StartShards() {
  shards_[0]->AddPeriodicTask(options_.checkpoint_interval,
                              [this] { WriteCheckpoints(); });
  shards_[0]->AddPeriodicTask(ConsumerGroupsImpl::kMaintenanceInterval,
                              [this] { groups_->RunMaintenance(); });
  for (auto& shard : shards_) {
    const Shard* s = shard.get();
    shard->AddPeriodicTask(options_.retention_check_interval,
                           [this, s] { RunRetention(s); });
  }
  for (auto& shard : shards_) shard->Start();
  StartCleaner();
}

void EngineImpl::WriteCheckpoints() {
  for (auto& dir : dirs_) {
    // A failed checkpoint only costs scanning time after a crash; the next
    // round retries it.
    dir->WriteCheckpoints().IgnoreError();
  }
}

Shard* EngineImpl::ShardFor(const TopicPartition& tp) const {
  size_t h = absl::Hash<TopicPartition>()(tp);
  return shards_[h % shards_.size()].get();
}

void EngineImpl::Publish(std::shared_ptr<const TopicMap> map) {
  topics_.store(std::move(map));
}

absl::Status EngineImpl::CheckOpen() const {
  if (closed_.load()) {
    return absl::FailedPreconditionError("the engine is closed");
  }
  return absl::OkStatus();
}

int EngineImpl::PickDataDir(const std::vector<int>& extra_load) const {
  std::vector<int> load = extra_load;
  load.resize(dirs_.size(), 0);
  // Held for the loop: a range-for does not keep the temporary alive.
  const std::shared_ptr<const TopicMap> topic_map = topics();
  for (const auto& [name, topic] : *topic_map) {
    for (const auto& h : topic->partitions) ++load[h->dir_index];
  }
  return static_cast<int>(std::min_element(load.begin(), load.end()) -
                          load.begin());
}

int EngineImpl::LocatePartition(const TopicRecord& record, int32_t p,
                                std::vector<int>* extra_load) const {
  const std::string name = TopicPartition{record.name, p}.ToString();
  auto holds = [&](size_t d) {
    absl::StatusOr<bool> e = fs_->Exists(JoinPath(dirs_[d]->path(), name));
    return e.ok() && *e;
  };
  if (p < static_cast<int32_t>(record.partition_dirs.size())) {
    int d = record.partition_dirs[p];
    if (d >= 0 && d < static_cast<int>(dirs_.size()) && holds(d)) return d;
  }
  for (size_t d = 0; d < dirs_.size(); ++d) {
    if (holds(d)) return static_cast<int>(d);
  }
  int d = PickDataDir(*extra_load);
  extra_load->resize(dirs_.size(), 0);
  ++(*extra_load)[d];
  return d;
}

absl::StatusOr<std::shared_ptr<PartitionHandle>> EngineImpl::OpenPartition(
    const TopicRecord& record, const LogConfig& log_config, int32_t p,
    int dir_index) {
  auto h = std::make_shared<PartitionHandle>();
  h->tp = {record.name, p};
  h->dir_index = dir_index;
  h->shard = ShardFor(h->tp);
  RecoveryReport report;
  LogDirectory* dir = dirs_[dir_index].get();
  SPOOL_ASSIGN_OR_RETURN(
      h->log, dir->OpenPartition(h->tp, log_config, &report, h->shard->files(),
                                 &fsync_seconds_));
  PartitionRecovery r;
  r.tp = h->tp;
  r.data_dir = dir->path();
  r.clean_shutdown = report.clean_shutdown;
  r.segments_scanned = report.segments_scanned;
  r.bytes_scanned = report.bytes_scanned;
  r.log_end_offset = report.log_end_offset;
  for (const auto& t : report.truncations) {
    r.truncations.push_back(absl::StrFormat(
        "%s at byte %d: %d bytes from offset %d (%s)", t.file, t.position,
        t.bytes, t.first_lost_offset, t.zero_tail ? "zero-filled" : t.reason));
    // A zero-filled tail (preallocated space) is not data.
    if (!t.zero_tail) r.truncated_bytes += t.bytes;
  }
  r.data_dropped = report.data_dropped();
  r.summary = report.ToString();
  recoveries_.push_back(std::move(r));
  h->shard->AddPartition(h->log);
  return h;
}

// A partition recorded in a data directory beyond the ones the engine was
// opened with, and found in none of them: the engine was opened with too
// few directories (an operator tool given only the first one). Creating it
// afresh would hide its records.
absl::Status EngineImpl::CheckPartitionReachable(const TopicRecord& record,
                                                 int32_t p) const {
  if (p >= static_cast<int32_t>(record.partition_dirs.size()) ||
      record.partition_dirs[p] < static_cast<int>(dirs_.size())) {
    return absl::OkStatus();
  }
  const std::string name = TopicPartition{record.name, p}.ToString();
  for (const auto& dir : dirs_) {
    absl::StatusOr<bool> e = fs_->Exists(JoinPath(dir->path(), name));
    if (e.ok() && *e) return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrFormat(
      "partition %s is in data directory #%d of the engine, but it was "
      "opened with %d (%s) and none holds %s; open it with all its data "
      "directories, in order",
      name, record.partition_dirs[p] + 1, dirs_.size(),
      absl::StrJoin(options_.data_dirs, ", "), name));
}

absl::Status EngineImpl::LoadCatalog() {
  SPOOL_ASSIGN_OR_RETURN(std::vector<TopicRecord> records, catalog_->List());
  auto map = std::make_shared<TopicMap>();
  std::vector<int> extra_load;
  for (TopicRecord& record : records) {
    if (record.deleting) {
      // A deletion that a crash interrupted: finish it.
      SPOOL_RETURN_IF_ERROR(groups_->DropTopic(record.name));
      SPOOL_RETURN_IF_ERROR(RemoveTopicData(record));
      SPOOL_RETURN_IF_ERROR(catalog_->Delete(record.name));
      continue;
    }
    auto topic = std::make_shared<TopicState>();
    topic->log_config = ToLogConfig(record.config);
    bool moved = false;
    std::vector<int32_t> dirs(record.config.partitions);
    for (int32_t p = 0; p < record.config.partitions; ++p) {
      SPOOL_RETURN_IF_ERROR(CheckPartitionReachable(record, p));
      dirs[p] = LocatePartition(record, p, &extra_load);
      moved |= p >= static_cast<int32_t>(record.partition_dirs.size()) ||
               dirs[p] != record.partition_dirs[p];
    }
    if (moved) {
      record.partition_dirs = dirs;
      SPOOL_RETURN_IF_ERROR(catalog_->Put(record));
    }
    for (int32_t p = 0; p < record.config.partitions; ++p) {
      SPOOL_ASSIGN_OR_RETURN(
          auto h, OpenPartition(record, topic->log_config, p, dirs[p]));
      topic->partitions.push_back(std::move(h));
    }
    topic->record = std::move(record);
    (*map)[topic->record.name] = std::move(topic);
  }
  Publish(std::move(map));
  return absl::OkStatus();
}

absl::Status EngineImpl::Close() {
  if (closed_.exchange(true)) return absl::OkStatus();
  if (cleaner_ != nullptr) cleaner_->Stop();  // cancels cleanings
  for (auto& shard : shards_) shard->Stop();
  if (groups_ != nullptr) groups_->Close();
  if (subscriptions_ != nullptr) subscriptions_->Close();
  MutexLock lock(&admin_mu_);
  absl::Status status;
  for (auto& dir : dirs_) status.Update(dir->Close());
  if (tables_ != nullptr) status.Update(tables_->Close());
  Publish(std::make_shared<const TopicMap>());
  return status;
}

absl::StatusOr<std::shared_ptr<const TopicState>> EngineImpl::FindTopic(
    std::string_view name) const {
  SPOOL_RETURN_IF_ERROR(CheckOpen());
  std::shared_ptr<const TopicMap> map = topics();
  auto it = map->find(ToAbsl(name));
  if (it == map->end()) {
    return absl::NotFoundError(absl::StrFormat("unknown topic '%s'", name));
  }
  return it->second;
}

absl::StatusOr<const PartitionHandle*> EngineImpl::FindPartition(
    const TopicPartition& tp,
    std::shared_ptr<const TopicState>* topic_out) const {
  SPOOL_ASSIGN_OR_RETURN(*topic_out, FindTopic(tp.topic));
  const auto& parts = (*topic_out)->partitions;
  if (tp.partition < 0 || tp.partition >= static_cast<int32_t>(parts.size())) {
    return absl::NotFoundError(
        absl::StrFormat("topic '%s' has no partition %d (it has %d)", tp.topic,
                        tp.partition, parts.size()));
  }
  return parts[tp.partition].get();
}

absl::Status EngineImpl::CreateTopic(std::string_view name,
                                     const TopicConfig& config) {
  SPOOL_RETURN_IF_ERROR(CheckOpen());
  SPOOL_RETURN_IF_ERROR(ValidateTopicName(name));
  SPOOL_RETURN_IF_ERROR(config.Validate());
  MutexLock lock(&admin_mu_);
  std::shared_ptr<const TopicMap> current = topics();
  if (current->contains(ToAbsl(name))) {
    return absl::AlreadyExistsError(
        absl::StrFormat("topic '%s' already exists", name));
  }
  TopicRecord record;
  record.name = std::string(name);
  record.id = NewTopicId();
  record.config = config;
  record.created_ms = clock_->NowMillis();
  std::vector<int> extra_load;
  for (int32_t p = 0; p < config.partitions; ++p) {
    int d = PickDataDir(extra_load);
    extra_load.resize(dirs_.size(), 0);
    ++extra_load[d];
    record.partition_dirs.push_back(d);
  }
  SPOOL_RETURN_IF_ERROR(RemoveStaleTopicData(name, nullptr));
  // The catalog first: a crash before the directories exist just creates
  // them at the next Open.
  SPOOL_RETURN_IF_ERROR(catalog_->Put(record));
  auto topic = std::make_shared<TopicState>();
  topic->log_config = ToLogConfig(config);
  for (int32_t p = 0; p < config.partitions; ++p) {
    absl::StatusOr<std::shared_ptr<PartitionHandle>> h =
        OpenPartition(record, topic->log_config, p, record.partition_dirs[p]);
    if (!h.ok()) {
      // The caller is told the topic was not created: undo it. Should the
      // undo fail too, a later CreateTopic of the name removes what is
      // left (RemoveStaleTopicData), and the next Open either finishes
      // the deletion or opens the whole topic.
      record.deleting = true;
      if (catalog_->Put(record).ok() &&
          RemovePartitionData(name, 0, config.partitions).ok()) {
        catalog_->Delete(name).IgnoreError();
      }
      return h.status();
    }
    topic->partitions.push_back(*std::move(h));
  }
  topic->record = std::move(record);
  auto map = std::make_shared<TopicMap>(*current);
  (*map)[std::string(name)] = std::move(topic);
  Publish(std::move(map));
  return absl::OkStatus();
}

absl::Status EngineImpl::RemoveTopicData(const TopicRecord& record) {
  return RemovePartitionData(record.name, 0, record.config.partitions);
}

absl::Status EngineImpl::RemovePartitionData(std::string_view topic,
                                             int32_t from, int32_t to) {
  for (int32_t p = from; p < to; ++p) {
    TopicPartition tp{std::string(topic), p};
    for (auto& dir : dirs_) {
      if (std::shared_ptr<PartitionLog> log = dir->FindPartition(tp)) {
        for (auto& shard : shards_) shard->RemovePartition(log.get());
      }
      SPOOL_RETURN_IF_ERROR(dir->DeletePartition(tp));
    }
  }
  return absl::OkStatus();
}

absl::Status EngineImpl::RemoveStaleTopicData(std::string_view name,
                                              const TopicRecord* current) {
  SPOOL_ASSIGN_OR_RETURN(std::optional<TopicRecord> stored,
                         catalog_->Get(name));
  if (!stored.has_value()) return absl::OkStatus();
  if (current == nullptr) {
    // Not a topic in this engine: everything the record names goes, as a
    // deletion would (a failed DeleteTopic may have left group offsets).
    SPOOL_RETURN_IF_ERROR(groups_->DropTopic(name));
    SPOOL_RETURN_IF_ERROR(subscriptions_->DropTopic(name));
    return RemovePartitionData(name, 0, stored->config.partitions);
  }
  return RemovePartitionData(name, current->config.partitions,
                             stored->config.partitions);
}

absl::Status EngineImpl::DeleteTopic(std::string_view name) {
  SPOOL_ASSIGN_OR_RETURN(std::shared_ptr<const TopicState> topic,
                         FindTopic(name));
  MutexLock lock(&admin_mu_);
  std::shared_ptr<const TopicMap> current = topics();
  auto found = current->find(ToAbsl(name));
  if (found == current->end()) {
    return absl::NotFoundError(absl::StrFormat("unknown topic '%s'", name));
  }
  TopicRecord record = found->second->record;
  record.deleting = true;
  SPOOL_RETURN_IF_ERROR(catalog_->Put(record));
  auto map = std::make_shared<TopicMap>(*current);
  map->erase(std::string(name));
  Publish(std::move(map));
  SPOOL_RETURN_IF_ERROR(groups_->DropTopic(name));
  SPOOL_RETURN_IF_ERROR(subscriptions_->DropTopic(name));
  SPOOL_RETURN_IF_ERROR(RemoveTopicData(record));
  return catalog_->Delete(name);
}

absl::StatusOr<std::vector<std::string>> EngineImpl::ListTopics() const {
  SPOOL_RETURN_IF_ERROR(CheckOpen());
  std::vector<std::string> names;
  // Held for the loop: a range-for does not keep the temporary alive.
  const std::shared_ptr<const TopicMap> topic_map = topics();
  for (const auto& [name, topic] : *topic_map) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

absl::StatusOr<TopicDescription> EngineImpl::DescribeTopic(
    std::string_view name) const {
  SPOOL_ASSIGN_OR_RETURN(std::shared_ptr<const TopicState> topic,
                         FindTopic(name));
  TopicDescription d;
  d.name = topic->record.name;
  d.id = topic->record.id;
  d.config = topic->record.config;
  d.created = absl::FromUnixMillis(topic->record.created_ms);
  for (const auto& h : topic->partitions) {
    PartitionLogStats st = h->log->Stats();
    d.partitions.push_back({h->tp.partition, dirs_[h->dir_index]->path(),
                            st.log_start_offset, st.log_end_offset,
                            st.high_watermark, st.durable_offset, st.size_bytes,
                            st.segments});
  }
  return d;
}

absl::StatusOr<int32_t> EngineImpl::PartitionCount(
    std::string_view name) const {
  SPOOL_ASSIGN_OR_RETURN(std::shared_ptr<const TopicState> topic,
                         FindTopic(name));
  return static_cast<int32_t>(topic->partitions.size());
}

absl::Status EngineImpl::AddPartitions(std::string_view name,
                                       int32_t total_partitions) {
  SPOOL_ASSIGN_OR_RETURN(std::shared_ptr<const TopicState> topic,
                         FindTopic(name));
  MutexLock lock(&admin_mu_);
  std::shared_ptr<const TopicMap> current = topics();
  auto it = current->find(ToAbsl(name));
  if (it == current->end()) {
    return absl::NotFoundError(absl::StrFormat("unknown topic '%s'", name));
  }
  topic = it->second;
  const int32_t have = topic->record.config.partitions;
  if (total_partitions <= have) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "topic '%s' has %d partitions; the new total %d must be larger "
        "(partitions are never removed)",
        name, have, total_partitions));
  }
  TopicRecord record = topic->record;
  record.config.partitions = total_partitions;
  SPOOL_RETURN_IF_ERROR(record.config.Validate());
  std::vector<int> extra_load;
  for (int32_t p = have; p < total_partitions; ++p) {
    int d = PickDataDir(extra_load);
    extra_load.resize(dirs_.size(), 0);
    ++extra_load[d];
    record.partition_dirs.push_back(d);
  }
  SPOOL_RETURN_IF_ERROR(RemoveStaleTopicData(name, &topic->record));
  SPOOL_RETURN_IF_ERROR(catalog_->Put(record));
  auto grown = std::make_shared<TopicState>();
  grown->log_config = topic->log_config;
  grown->partitions = topic->partitions;
  for (int32_t p = have; p < total_partitions; ++p) {
    absl::StatusOr<std::shared_ptr<PartitionHandle>> h =
        OpenPartition(record, grown->log_config, p, record.partition_dirs[p]);
    if (!h.ok()) {
      // Undo, as in CreateTopic: the old record back, the new partitions
      // gone.
      if (catalog_->Put(topic->record).ok()) {
        RemovePartitionData(name, have, total_partitions).IgnoreError();
      }
      return h.status();
    }
    grown->partitions.push_back(*std::move(h));
  }
  grown->record = std::move(record);
  auto map = std::make_shared<TopicMap>(*current);
  (*map)[std::string(name)] = std::move(grown);
  Publish(std::move(map));
  return absl::OkStatus();
}

std::vector<PartitionRecovery> EngineImpl::RecoveryReports() const {
  MutexLock lock(&admin_mu_);
  return recoveries_;
}

}  // namespace spool
