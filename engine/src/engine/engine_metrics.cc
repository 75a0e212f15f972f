// EngineImpl::Metrics: the Prometheus exposition. Names follow Prometheus
// conventions (docs/operations.md lists them all): counters end in _total,
// sizes in _bytes, durations in _seconds.

#include <string>

#include "absl/strings/str_format.h"
#include "engine/engine_impl.h"
#include "engine/prometheus.h"

namespace spool {
namespace {

void PartitionMetrics(PrometheusWriter& w, const PartitionHandle& h) {
  const PartitionLogStats st = h.log->Stats();
  const PrometheusWriter::Labels l = {
      {"topic", h.tp.topic},
      {"partition", absl::StrFormat("%d", h.tp.partition)}};
  w.Gauge("spool_partition_log_start_offset",
          "First offset still readable in the partition.", l,
          static_cast<double>(st.log_start_offset));
  w.Gauge("spool_partition_log_end_offset",
          "Offset the next appended record will get.", l,
          static_cast<double>(st.log_end_offset));
  w.Gauge("spool_partition_high_watermark",
          "Offset below which records are visible to consumers.", l,
          static_cast<double>(st.high_watermark));
  w.Gauge("spool_partition_durable_offset",
          "Offset below which records are fsynced (the recovery point).", l,
          static_cast<double>(st.durable_offset));
  w.Gauge("spool_partition_size_bytes", "Bytes of log segments.", l,
          static_cast<double>(st.size_bytes));
  w.Gauge("spool_partition_segments", "Number of log segments.", l,
          static_cast<double>(st.segments));
  w.Counter("spool_partition_appends_total", "Batches appended.", l,
            static_cast<double>(st.appends));
  w.Counter("spool_partition_appended_records_total", "Records appended.", l,
            static_cast<double>(st.appended_records));
  w.Counter("spool_partition_appended_bytes_total", "Bytes appended.", l,
            static_cast<double>(st.appended_bytes));
  w.Counter("spool_partition_fetches_total", "Reads served.", l,
            static_cast<double>(st.reads));
  w.Counter("spool_partition_fetched_bytes_total", "Bytes of batches served.",
            l, static_cast<double>(st.read_bytes));
  w.Counter("spool_partition_fsyncs_total",
            "fdatasync calls for appends and flushes (group commit shares "
            "them).",
            l, static_cast<double>(st.syncs));
  w.Counter("spool_partition_segment_rolls_total", "Segments rolled.", l,
            static_cast<double>(st.rolls));
  w.Counter("spool_partition_deleted_segments_total",
            "Segments deleted by retention and log-start moves.", l,
            static_cast<double>(st.deleted_segments));
  w.Counter("spool_partition_deleted_bytes_total",
            "Bytes of segments deleted by retention and log-start moves.", l,
            static_cast<double>(st.deleted_bytes));
  if (st.cleaner_runs > 0 || st.dirty_ratio > 0) {
    w.Gauge("spool_partition_dirty_ratio",
            "Dirty bytes / cleanable bytes of a compacted partition, as "
            "last computed.",
            l, st.dirty_ratio);
    w.Counter("spool_partition_cleaner_runs_total",
              "Compactions of the partition that swapped segments.", l,
              static_cast<double>(st.cleaner_runs));
    w.Counter("spool_partition_cleaner_read_bytes_total",
              "Bytes the cleaner read (both passes).", l,
              static_cast<double>(st.cleaner_bytes_read));
    w.Counter("spool_partition_cleaner_written_bytes_total",
              "Bytes of cleaned segments written.", l,
              static_cast<double>(st.cleaner_bytes_written));
    w.Counter("spool_partition_cleaner_reclaimed_bytes_total",
              "Bytes freed by compaction.", l,
              static_cast<double>(st.cleaner_bytes_reclaimed));
    w.Counter("spool_partition_cleaner_removed_records_total",
              "Records removed by compaction.", l,
              static_cast<double>(st.cleaner_records_removed));
    w.Counter("spool_partition_cleaner_seconds_total",
              "Time spent compacting the partition (read bytes / this = "
              "throughput).",
              l, st.cleaner_seconds);
  }
  w.Gauge("spool_partition_producers",
          "Idempotent producers with state in the partition.", l,
          static_cast<double>(st.producers));
  w.Gauge("spool_partition_dedup_ids",
          "Message ids in the de-duplication window.", l,
          static_cast<double>(st.dedup_ids));
  w.Counter("spool_partition_duplicates_total",
            "Appends answered from an earlier copy instead of appended "
            "(producer retries, repeated message ids).",
            l, static_cast<double>(st.duplicates));
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
