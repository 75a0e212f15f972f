#include "spool_runner.h"

#include <fcntl.h>
#include <unistd.h>

#include <limits>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "util/status_macros.h"
#include "util/strings.h"

namespace spool::bench {
namespace {

// Compiles against engines with and without producer ids.
template <typename E>
concept HasProducerIds = requires(E& e) {
  e.InitProducerId(std::string_view());
};

template <typename E>
absl::StatusOr<ProducerIdentity> InitProducer(E& engine) {
  if constexpr (HasProducerIds<E>) {
    auto id = engine.InitProducerId(std::string_view());
    if (!id.ok()) return id.status();
    return ProducerIdentity{id->id, id->epoch};
  } else {
    return absl::UnimplementedError("idempotence not available in this build");
  }
}

// Compiles against engines with and without log preallocation.
template <typename T>
concept HasPreallocation = requires(T& t) {
  t.preallocate_bytes = 0;
};

template <typename T>
void SetPreallocation(T& topic, int64_t bytes) {
  if constexpr (HasPreallocation<T>) {
    if (bytes >= 0) topic.preallocate_bytes = bytes;
  }
}

TopicConfig MakeTopicConfig(const RunConfig& c) {
  TopicConfig t;
  t.partitions = c.partitions;
  t.durability = c.durability;
  t.compression = c.compression;
  t.zstd_level = 3;
  // Interval durability is time based for every system in the run.
  t.flush_interval = absl::Milliseconds(c.flush_interval_ms);
  t.flush_records = std::numeric_limits<int64_t>::max();
  SetPreallocation(t, c.preallocate_bytes);
  return t;
}

}  // namespace

bool IdempotenceAvailable() { return HasProducerIds<Engine>; }
bool PreallocationAvailable() { return HasPreallocation<TopicConfig>; }

SpoolRunner::SpoolRunner(const Workload& workload,
                         const PrebuiltBatches& batches, std::string dir)
    : workload_(workload),
      config_(workload.config()),
      batches_(batches),
      dir_(std::move(dir)),
      latency_(workload.config().producers) {}

SpoolRunner::~SpoolRunner() {
  if (engine_ != nullptr) Close().IgnoreError();  // errors reported earlier
}

absl::Status SpoolRunner::Open() {
  EngineOptions options;
  options.data_dirs = {dir_};
  SPOOL_ASSIGN_OR_RETURN(engine_, Engine::Open(options));
  SPOOL_ASSIGN_OR_RETURN(std::vector<std::string> topics,
                         engine_->ListTopics());
  for (const std::string& t : topics) {
    if (t == kTopic) return absl::OkStatus();
  }
  return engine_->CreateTopic(kTopic, MakeTopicConfig(config_));
}

absl::Status SpoolRunner::Close() {
  if (engine_ == nullptr) return absl::OkStatus();
  absl::Status s = engine_->Close();
  engine_.reset();
  return s;
}

absl::StatusOr<PhaseStats> SpoolRunner::Produce(int round) {
  if (config_.idempotent && producer_ids_.empty()) {
    SPOOL_RETURN_IF_ERROR(InitProducerIds());
  }
  PhaseStats stats;
  auto produce = [&](int t) {
    switch (config_.api) {
      case Api::kAppend:
        return ProduceAppend(t, round);
      case Api::kProduce:
        return ProduceRecords(t, round);
      case Api::kPrebuilt:
        return ProducePrebuilt(t, round);
    }
    return absl::InternalError("unknown api");
  };
  SPOOL_RETURN_IF_ERROR(RunTimed(config_.producers, produce, &stats));
  return stats;
}

absl::StatusOr<int64_t> SpoolRunner::Fsyncs() const {
  if (engine_ == nullptr) return absl::FailedPreconditionError("not open");
  const std::string text = engine_->Metrics();
  constexpr std::string_view kName = "spool_partition_fsyncs_total{";
  const std::string topic_label = absl::StrFormat("topic=\"%s\"", kTopic);
  int64_t total = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, ToAbsl(kName))) continue;
    if (!absl::StrContains(line, topic_label)) continue;
    double v = 0;
    const size_t space = line.rfind(' ');
    if (space == absl::string_view::npos ||
        !absl::SimpleAtod(line.substr(space + 1), &v)) {
      return absl::InternalError(
          absl::StrFormat("cannot parse metrics line '%s'", line));
    }
    total += static_cast<int64_t>(v);
  }
  return total;
}

absl::StatusOr<int64_t> SpoolRunner::LogBytes() const {
  int64_t bytes = 0;
  for (int32_t p = 0; p < config_.partitions; ++p) {
    SPOOL_ASSIGN_OR_RETURN(DiskUsage log,
                           MeasureDisk(PartitionDir(p), {".log"}));
    bytes += log.bytes;
  }
  return bytes;
}

absl::Status SpoolRunner::InitProducerIds() {
  producer_ids_.clear();
  for (int t = 0; t < config_.producers; ++t) {
    SPOOL_ASSIGN_OR_RETURN(ProducerIdentity id, InitProducer(*engine_));
    producer_ids_.push_back(id);
    sequences_.emplace_back(workload_.Plan(t).partitions.size(), 0);
  }
  return absl::OkStatus();
}

absl::Status SpoolRunner::ProduceAppend(int producer, int round) {
  const ProducerPlan plan = workload_.Plan(producer);
  const int b = config_.batch;
  LatencyHistogram* latency = latency_.at(producer);
  RecordBatchBuilder builder;
  BatchBuilderOptions options{.compression = config_.compression,
                              .zstd_level = 3};
  if (config_.idempotent) {
    options.producer_id = producer_ids_[producer].id;
    options.producer_epoch = producer_ids_[producer].epoch;
  }
  const auto [first, end] = plan.Round(round, config_.rounds, b);
  for (int64_t k = first; k < end; ++k) {
    const int64_t n = plan.count_of(k, b);
    if (config_.idempotent) {
      int32_t& seq = sequences_[producer][k % plan.partitions.size()];
      options.base_sequence = seq;
      seq += static_cast<int32_t>(n);
    }
    builder.Reset(options);
    workload_.AddRecords(&builder, plan.first_of(k, b), n, NowMillis());
    SPOOL_ASSIGN_OR_RETURN(std::string batch, builder.Build());
    const TopicPartition tp{kTopic, plan.partition_of(k)};
    const uint64_t t0 = MonoNanos();
    absl::StatusOr<AppendResult> r = engine_->Append(tp, std::move(batch));
    latency->Record(MonoNanos() - t0);
    if (!r.ok()) return r.status();
  }
  return absl::OkStatus();
}

absl::Status SpoolRunner::PrepareOwnedBatches() {
  owned_.assign(static_cast<size_t>(config_.producers), {});
  for (int t = 0; t < config_.producers; ++t) {
    const ProducerPlan plan = workload_.Plan(t);
    std::vector<std::string>& out = owned_[static_cast<size_t>(t)];
    out.reserve(static_cast<size_t>(plan.batches(config_.batch)));
    for (int64_t k = 0; k < plan.batches(config_.batch); ++k) {
      out.emplace_back(batches_.At(t, k));
    }
  }
  return absl::OkStatus();
}

absl::Status SpoolRunner::ProducePrebuilt(int producer, int round) {
  const ProducerPlan plan = workload_.Plan(producer);
  LatencyHistogram* latency = latency_.at(producer);
  std::vector<std::string>& owned = owned_[static_cast<size_t>(producer)];
  const auto [first, end] = plan.Round(round, config_.rounds, config_.batch);
  for (int64_t k = first; k < end; ++k) {
    std::string batch = std::move(owned[static_cast<size_t>(k)]);
    const TopicPartition tp{kTopic, plan.partition_of(k)};
    const uint64_t t0 = MonoNanos();
    absl::StatusOr<AppendResult> r = engine_->Append(tp, std::move(batch));
    latency->Record(MonoNanos() - t0);
    if (!r.ok()) return r.status();
  }
  return absl::OkStatus();
}

absl::Status SpoolRunner::ProduceRecords(int producer, int round) {
  const ProducerPlan plan = workload_.Plan(producer);
  const int b = config_.batch;
  LatencyHistogram* latency = latency_.at(producer);
  std::vector<Record> records;
  const auto [first, end] = plan.Round(round, config_.rounds, b);
  for (int64_t k = first; k < end; ++k) {
    const int64_t i = plan.first_of(k, b);
    const int64_t n = plan.count_of(k, b);
    records.resize(static_cast<size_t>(n));
    const int64_t ts = NowMillis();
    for (int64_t j = 0; j < n; ++j) {
      Record& r = records[static_cast<size_t>(j)];
      r.key.emplace(workload_.Key(i + j));
      r.value.emplace(workload_.Value(i + j));
      r.timestamp = ts;
    }
    ProduceOptions options;
    options.partition = plan.partition_of(k);
    const uint64_t t0 = MonoNanos();
    absl::StatusOr<ProduceResult> r =
        engine_->ProduceBatch(kTopic, records, options);
    latency->Record(MonoNanos() - t0);
    if (!r.ok()) return r.status();
  }
  return absl::OkStatus();
}

absl::Status SpoolRunner::ConsumePartition(int32_t partition, bool zero_copy,
                                           int sink_fd,
                                           PhaseStats* stats) const {
  const TopicPartition tp{kTopic, partition};
  SPOOL_ASSIGN_OR_RETURN(PartitionOffsets offsets, engine_->Offsets(tp));
  FetchOptions options;
  options.max_bytes = config_.fetch_bytes;
  options.zero_copy = zero_copy;
  for (int64_t offset = 0; offset < offsets.log_end_offset;) {
    SPOOL_ASSIGN_OR_RETURN(FetchResult f, engine_->Fetch(tp, offset, options));
    if (f.next_offset <= offset) {
      return absl::InternalError(absl::StrFormat(
          "%s: fetch at %d made no progress", tp.ToString(), offset));
    }
    ++stats->calls;
    stats->io_bytes += f.bytes;
    offset = f.next_offset;
    if (!zero_copy) {
      SPOOL_RETURN_IF_ERROR(f.ForEachRecord([&](const RecordView& r) {
        TouchRecord(r, stats);
        return true;
      }));
      continue;
    }
    for (const FileRegion& region : f.regions) {
      SPOOL_RETURN_IF_ERROR(region.SendTo(sink_fd).status());
    }
  }
  if (zero_copy) stats->records += offsets.log_end_offset;
  return absl::OkStatus();
}

absl::StatusOr<PhaseStats> SpoolRunner::ConsumeAll(bool zero_copy,
                                                   int sink_fd) {
  return RunConsumers(
      workload_.consumers(), [&](int c, PhaseStats* st) -> absl::Status {
        for (int32_t p : workload_.ConsumerPartitions(c)) {
          SPOOL_RETURN_IF_ERROR(ConsumePartition(p, zero_copy, sink_fd, st));
        }
        return absl::OkStatus();
      });
}

absl::StatusOr<PhaseStats> SpoolRunner::ConsumeDecoded() {
  return ConsumeAll(/*zero_copy=*/false, /*sink_fd=*/-1);
}

absl::StatusOr<PhaseStats> SpoolRunner::ConsumeZeroCopy() {
  const int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null_fd < 0) return absl::UnavailableError("open /dev/null failed");
  absl::StatusOr<PhaseStats> stats = ConsumeAll(/*zero_copy=*/true, null_fd);
  close(null_fd);
  if (stats.ok()) stats->payload_bytes = stats->records * config_.record_size;
  return stats;
}

std::string SpoolRunner::PartitionDir(int32_t partition) const {
  return JoinPath(dir_, TopicPartition{kTopic, partition}.ToString());
}

absl::StatusOr<std::vector<std::string>> SpoolRunner::LogFiles(
    int consumer) const {
  std::vector<std::string> out;
  for (int32_t p : workload_.ConsumerPartitions(consumer)) {
    SPOOL_ASSIGN_OR_RETURN(std::vector<std::string> files,
                           ListFiles(PartitionDir(p), {".log"}));
    out.insert(out.end(), files.begin(), files.end());
  }
  return out;
}

absl::StatusOr<DiskUsage> SpoolRunner::Disk() const {
  DiskUsage total;
  for (int32_t p = 0; p < config_.partitions; ++p) {
    SPOOL_ASSIGN_OR_RETURN(
        DiskUsage d,
        MeasureDisk(PartitionDir(p), {".log", ".index", ".timeindex"}));
    total.bytes += d.bytes;
    total.allocated += d.allocated;
    total.files += d.files;
  }
  return total;
}

}  // namespace spool::bench
