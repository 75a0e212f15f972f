// EngineImpl::Metrics: the Prometheus exposition. Names follow Prometheus
// conventions (docs/operations.md lists them all): counters end in _total,
// sizes in _bytes, durations in _seconds.

#include <string>

#include "absl/strings/str_format.h"
#include "engine/engine_impl.h"
#include "engine/prometheus.h"

namespace spool {
namespace {

// One per-partition metric: its kind, name, help and value.
struct PartitionMetric {
  bool counter;
  const char* name;
  const char* help;
  double (*value)(const PartitionLogStats&);
};

#define SPOOL_STAT(field) \
  [](const PartitionLogStats& st) { return static_cast<double>(st.field); }

constexpr PartitionMetric kLogMetrics[] = {
    {false, "spool_partition_log_start_offset",
     "First offset still readable in the partition.",
     SPOOL_STAT(log_start_offset)},
    {false, "spool_partition_log_end_offset",
     "Offset the next appended record will get.", SPOOL_STAT(log_end_offset)},
    {false, "spool_partition_high_watermark",
     "Offset below which records are visible to consumers.",
     SPOOL_STAT(high_watermark)},
    {false, "spool_partition_durable_offset",
     "Offset below which records are fsynced (the recovery point).",
     SPOOL_STAT(durable_offset)},
    {false, "spool_partition_size_bytes", "Bytes of log segments.",
     SPOOL_STAT(size_bytes)},
    {false, "spool_partition_segments", "Number of log segments.",
     SPOOL_STAT(segments)},
    {true, "spool_partition_appends_total", "Batches appended.",
     SPOOL_STAT(appends)},
    {true, "spool_partition_appended_records_total", "Records appended.",
     SPOOL_STAT(appended_records)},
    {true, "spool_partition_appended_bytes_total", "Bytes appended.",
     SPOOL_STAT(appended_bytes)},
    {true, "spool_partition_fetches_total", "Reads served.", SPOOL_STAT(reads)},
    {true, "spool_partition_fetched_bytes_total", "Bytes of batches served.",
     SPOOL_STAT(read_bytes)},
    {true, "spool_partition_fsyncs_total",
     "fdatasync calls for appends and flushes (group commit shares them).",
     SPOOL_STAT(syncs)},
    {true, "spool_partition_segment_rolls_total", "Segments rolled.",
     SPOOL_STAT(rolls)},
    {true, "spool_partition_deleted_segments_total",
     "Segments deleted by retention and log-start moves.",
     SPOOL_STAT(deleted_segments)},
    {true, "spool_partition_deleted_bytes_total",
     "Bytes of segments deleted by retention and log-start moves.",
     SPOOL_STAT(deleted_bytes)},
};

// Only for partitions the cleaner has looked at.
constexpr PartitionMetric kCleanerMetrics[] = {
    {false, "spool_partition_dirty_ratio",
     "Dirty bytes / cleanable bytes of a compacted partition, as last "
     "computed.",
     SPOOL_STAT(dirty_ratio)},
    {true, "spool_partition_cleaner_runs_total",
     "Compactions of the partition that swapped segments.",
     SPOOL_STAT(cleaner_runs)},
    {true, "spool_partition_cleaner_read_bytes_total",
     "Bytes the cleaner read (both passes).", SPOOL_STAT(cleaner_bytes_read)},
    {true, "spool_partition_cleaner_written_bytes_total",
     "Bytes of cleaned segments written.", SPOOL_STAT(cleaner_bytes_written)},
    {true, "spool_partition_cleaner_reclaimed_bytes_total",
     "Bytes freed by compaction.", SPOOL_STAT(cleaner_bytes_reclaimed)},
    {true, "spool_partition_cleaner_removed_records_total",
     "Records removed by compaction.", SPOOL_STAT(cleaner_records_removed)},
    {true, "spool_partition_cleaner_seconds_total",
     "Time spent compacting the partition (read bytes / this = throughput).",
     SPOOL_STAT(cleaner_seconds)},
};

constexpr PartitionMetric kProducerMetrics[] = {
    {false, "spool_partition_producers",
     "Idempotent producers with state in the partition.",
     SPOOL_STAT(producers)},
    {false, "spool_partition_dedup_ids",
     "Message ids in the de-duplication window.", SPOOL_STAT(dedup_ids)},
    {true, "spool_partition_duplicates_total",
     "Appends answered from an earlier copy instead of appended (producer "
     "retries, repeated message ids).",
     SPOOL_STAT(duplicates)},
};

#undef SPOOL_STAT

template <size_t N>
void Write(PrometheusWriter& w, const PartitionMetric (&metrics)[N],
           const PrometheusWriter::Labels& l, const PartitionLogStats& st) {
  for (const PartitionMetric& m : metrics) {
    if (m.counter) {
      w.Counter(m.name, m.help, l, m.value(st));
    } else {
      w.Gauge(m.name, m.help, l, m.value(st));
    }
  }
}

void PartitionMetrics(PrometheusWriter& w, const PartitionHandle& h) {
  const PartitionLogStats st = h.log->Stats();
  const PrometheusWriter::Labels l = {
      {"topic", h.tp.topic},
      {"partition", absl::StrFormat("%d", h.tp.partition)}};
  Write(w, kLogMetrics, l, st);
  if (st.cleaner_runs > 0 || st.dirty_ratio > 0) {
    Write(w, kCleanerMetrics, l, st);
  }
  Write(w, kProducerMetrics, l, st);
}

}  // namespace

std::string EngineImpl::Metrics() const {
  PrometheusWriter w;
  std::shared_ptr<const TopicMap> map = topics();
  int64_t partitions = 0;
  for (const auto& [name, topic] : *map) {
    for (const auto& h : topic->partitions) {
      PartitionMetrics(w, *h);
      ++partitions;
    }
  }
  {
    MutexLock lock(&admin_mu_);
    for (const PartitionRecovery& r : recoveries_) {
      const PrometheusWriter::Labels l = {
          {"topic", r.tp.topic},
          {"partition", absl::StrFormat("%d", r.tp.partition)}};
      w.Counter("spool_recovery_truncations_total",
                "Torn or corrupt log tails cut off when the partition was "
                "opened.",
                l, static_cast<double>(r.truncations.size()));
      w.Counter("spool_recovery_truncated_bytes_total",
                "Bytes cut off by recovery when the partition was opened.", l,
                static_cast<double>(r.truncated_bytes));
    }
  }
  w.Gauge("spool_topics", "Topics in the catalog.", {},
          static_cast<double>(map->size()));
  w.Gauge("spool_partitions", "Partitions open.", {},
          static_cast<double>(partitions));
  int64_t open_files = 0, errors = 0;
  for (const auto& shard : shards_) {
    open_files += static_cast<int64_t>(shard->files()->open_count());
    errors += shard->background_errors();
  }
  w.Gauge("spool_open_segment_files",
          "Segment files held open by the file caches.", {},
          static_cast<double>(open_files));
  w.Counter("spool_background_errors_total",
            "Failed background flushes and checkpoints.", {},
            static_cast<double>(errors));
  w.Counter("spool_append_errors_total", "Appends that returned an error.", {},
            static_cast<double>(append_errors_.load()));
  w.Counter("spool_retention_runs_total",
            "Retention passes (periodic per shard, and explicit calls).", {},
            static_cast<double>(retention_runs_.load()));
  w.Counter("spool_retention_errors_total",
            "Partitions whose retention failed (retried next pass).", {},
            static_cast<double>(retention_errors_.load()));
  if (cleaner_ != nullptr) {
    w.Counter("spool_cleaner_runs_total",
              "Compactions that swapped segments (background and requested).",
              {}, static_cast<double>(cleaner_->runs()));
    w.Counter("spool_cleaner_errors_total",
              "Compactions that failed (retried later).", {},
              static_cast<double>(cleaner_->errors()));
    w.Counter("spool_cleaner_read_bytes_total", "Bytes of segments cleaned.",
              {}, static_cast<double>(cleaner_->bytes_read()));
    w.Counter("spool_cleaner_reclaimed_bytes_total",
              "Bytes freed by compaction.", {},
              static_cast<double>(cleaner_->bytes_reclaimed()));
  }
  w.Histogram("spool_fsync_duration_seconds",
              "Latency of fdatasync calls made for appends and flushes.", {},
              fsync_seconds_);
  if (groups_ != nullptr) groups_->AppendMetrics(w);
  if (subscriptions_ != nullptr) subscriptions_->AppendMetrics(w);
  return w.Finish();
}

}  // namespace spool
