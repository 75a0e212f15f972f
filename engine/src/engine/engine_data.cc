// EngineImpl: the data path (append, produce, fetch, offsets) and the
// replication primitives. No engine-wide lock: one atomic load of the topic
// map, then the partition's own synchronization.

#include <map>
#include <utility>

#include "absl/strings/str_format.h"
#include "engine/engine_impl.h"
#include "util/status_macros.h"

namespace spool {
namespace {

// The same code, with the topic-partition in front of the message.
absl::Status WithPartition(const absl::Status& s, const TopicPartition& tp) {
  if (s.ok()) return s;
  return absl::Status(s.code(),
                      absl::StrFormat("%s: %s", tp.ToString(), s.message()));
}

}  // namespace

absl::StatusOr<AppendResult> EngineImpl::AppendToPartition(
    const PartitionHandle& h, std::string batch, const AppendOptions& options) {
  if (options.assign_offsets) {
    if (absl::Status s = CheckProducerEpoch(batch); !s.ok()) {
      append_errors_.fetch_add(1);
      return s;
    }
  }
  LogAppendOptions o;
  o.durability = options.durability;
  o.leader_epoch = options.leader_epoch;
  o.assign_offsets = options.assign_offsets;
  absl::StatusOr<LogAppendResult> r = h.log->Append(std::move(batch), o);
  if (!r.ok()) {
    append_errors_.fetch_add(1);
    return r.status();
  }
  if (subscriptions_ != nullptr) subscriptions_->OnAppend(h.tp);
  AppendResult out;
  out.partition = h.tp.partition;
  out.base_offset = r->base_offset;
  out.last_offset = r->last_offset;
  out.log_append_time = r->log_append_time;
  out.durable = r->durable;
  out.duplicate = r->duplicate;
  out.record_offsets = std::move(r->record_offsets);
  return out;
}

absl::StatusOr<AppendResult> EngineImpl::Append(const TopicPartition& tp,
                                                std::string batch,
                                                const AppendOptions& options) {
  std::shared_ptr<const TopicState> topic;
  SPOOL_ASSIGN_OR_RETURN(const PartitionHandle* h, FindPartition(tp, &topic));
  return AppendToPartition(*h, std::move(batch), options);
}

absl::StatusOr<ProduceResult> EngineImpl::ProduceBatch(
    std::string_view topic_name, const std::vector<Record>& records,
    const ProduceOptions& options) {
  SPOOL_ASSIGN_OR_RETURN(std::shared_ptr<const TopicState> topic,
                         FindTopic(topic_name));
  if (records.empty()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("produce to '%s' with no records", topic_name));
  }
  const int32_t n = static_cast<int32_t>(topic->partitions.size());
  if (options.partition.has_value() &&
      (*options.partition < 0 || *options.partition >= n)) {
    return absl::NotFoundError(
        absl::StrFormat("topic '%s' has no partition %d (it has %d)",
                        topic_name, *options.partition, n));
  }
  // Placement: explicit, by key, or per the null-key policy.
  const uint32_t sticky = topic->next_partition.fetch_add(1);
  std::map<int32_t, std::vector<size_t>> by_partition;
  for (size_t i = 0; i < records.size(); ++i) {
    int32_t p;
    if (options.partition.has_value()) {
      p = *options.partition;
    } else if (records[i].key.has_value()) {
      p = PartitionForKey(*records[i].key, n);
    } else if (options.null_keys == NullKeyPartitioning::kSticky) {
      p = static_cast<int32_t>(sticky % n);
    } else {
      p = static_cast<int32_t>(topic->next_partition.fetch_add(1) % n);
    }
    by_partition[p].push_back(i);
  }
  ProduceResult result;
  result.records.resize(records.size());
  const TopicConfig& config = topic->record.config;
  const int64_t now = clock_->NowMillis();
  for (const auto& [p, indexes] : by_partition) {
    RecordBatchBuilder builder(
        {.compression = config.compression, .zstd_level = config.zstd_level});
    for (size_t i : indexes) {
      const Record& r = records[i];
      std::vector<HeaderView> headers;
      headers.reserve(r.headers.size());
      for (const Header& hd : r.headers) {
        headers.push_back(
            {hd.key, hd.value.has_value()
                         ? std::optional<std::string_view>(*hd.value)
                         : std::nullopt});
      }
      builder.Add(r.key, r.value, headers,
                  r.timestamp >= 0 ? r.timestamp : now);
    }
    SPOOL_ASSIGN_OR_RETURN(std::string batch, builder.Build());
    absl::StatusOr<AppendResult> a =
        AppendToPartition(*topic->partitions[p], std::move(batch),
                          {.durability = options.durability});
    if (!a.ok()) {
      return absl::Status(
          a.status().code(),
          absl::StrFormat("%s-%d: %s (%d earlier partitions of this call "
                          "were appended)",
                          topic_name, p, a.status().message(),
                          result.appends.size()));
    }
    for (size_t k = 0; k < indexes.size(); ++k) {
      result.records[indexes[k]] = {p,
                                    a->base_offset + static_cast<int64_t>(k)};
    }
    result.appends.push_back(*a);
  }
  return result;
}

absl::StatusOr<FetchResult> EngineImpl::Fetch(
    const TopicPartition& tp, int64_t offset,
    const FetchOptions& options) const {
  std::shared_ptr<const TopicState> topic;
  SPOOL_ASSIGN_OR_RETURN(const PartitionHandle* h, FindPartition(tp, &topic));
  const PartitionLog& log = *h->log;
  if (options.max_wait > absl::ZeroDuration() &&
      offset >= log.high_watermark() && offset <= log.log_end_offset()) {
    log.WaitForData(offset, absl::Now() + options.max_wait);
  }
  LogReadOptions ro;
  ro.max_bytes = options.max_bytes;
  ro.durable_only = options.durable_only;
  ro.end_at_indexed_batch = options.end_at_indexed_batch;
  FetchResult out;
  out.tp = tp;
  out.requested_offset = offset;
  if (!options.zero_copy) {
    // One pass: the batches are read into memory as their headers are
    // walked.
    absl::StatusOr<LogBatches> read = log.ReadBatches(offset, ro);
    if (!read.ok()) return WithPartition(read.status(), tp);
    out.next_offset = read->next_offset;
    out.log_start_offset = read->log_start_offset;
    out.log_end_offset = read->log_end_offset;
    out.high_watermark = read->high_watermark;
    out.bytes = read->bytes;
    out.regions = std::move(read->regions);
    out.data = std::move(read->data);
    // Parsed again (headers only): the views must point into out.data.
    std::string_view rest(out.data);
    out.batches.reserve(read->batches.size());
    while (!rest.empty()) {
      SPOOL_ASSIGN_OR_RETURN(RecordBatchView b, RecordBatchView::Parse(rest));
      rest.remove_prefix(static_cast<size_t>(b.size_bytes()));
      out.batches.push_back(b);
    }
    return out;
  }
  absl::StatusOr<LogReadResult> read = log.Read(offset, ro);
  if (!read.ok()) return WithPartition(read.status(), tp);
  out.next_offset = read->next_offset;
  out.log_start_offset = read->log_start_offset;
  out.log_end_offset = read->log_end_offset;
  out.high_watermark = read->high_watermark;
  out.bytes = read->bytes;
  out.regions = std::move(read->regions);
  return out;
}

absl::StatusOr<PartitionOffsets> EngineImpl::Offsets(
    const TopicPartition& tp) const {
  std::shared_ptr<const TopicState> topic;
  SPOOL_ASSIGN_OR_RETURN(const PartitionHandle* h, FindPartition(tp, &topic));
  return PartitionOffsets{h->log->log_start_offset(), h->log->log_end_offset(),
                          h->log->high_watermark(), h->log->durable_offset()};
}

absl::StatusOr<std::optional<int64_t>> EngineImpl::OffsetForTimestamp(
    const TopicPartition& tp, int64_t timestamp_ms) const {
  std::shared_ptr<const TopicState> topic;
  SPOOL_ASSIGN_OR_RETURN(const PartitionHandle* h, FindPartition(tp, &topic));
  absl::StatusOr<std::optional<int64_t>> r =
      h->log->OffsetForTimestamp(timestamp_ms);
  if (!r.ok()) return WithPartition(r.status(), tp);
  return r;
}

absl::StatusOr<int64_t> EngineImpl::TruncateTo(const TopicPartition& tp,
                                               int64_t offset) {
  std::shared_ptr<const TopicState> topic;
  SPOOL_ASSIGN_OR_RETURN(const PartitionHandle* h, FindPartition(tp, &topic));
  if (offset < 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: cannot truncate to negative offset %d", tp.ToString(), offset));
  }
  absl::StatusOr<int64_t> r = h->log->TruncateTo(offset);
  if (!r.ok()) return WithPartition(r.status(), tp);
  return r;
}

absl::Status EngineImpl::SetHighWatermark(const TopicPartition& tp,
                                          int64_t offset) {
  std::shared_ptr<const TopicState> topic;
  SPOOL_ASSIGN_OR_RETURN(const PartitionHandle* h, FindPartition(tp, &topic));
  return WithPartition(h->log->SetHighWatermark(offset), tp);
}

absl::Status EngineImpl::DeleteRecordsBefore(const TopicPartition& tp,
                                             int64_t offset) {
  std::shared_ptr<const TopicState> topic;
  SPOOL_ASSIGN_OR_RETURN(const PartitionHandle* h, FindPartition(tp, &topic));
  return WithPartition(h->log->AdvanceLogStart(offset), tp);
}

absl::Status EngineImpl::Flush() {
  SPOOL_RETURN_IF_ERROR(CheckOpen());
  absl::Status status;
  // Held for the loop: a range-for does not keep the temporary alive.
  const std::shared_ptr<const TopicMap> topic_map = topics();
  for (const auto& [name, topic] : *topic_map) {
    for (const auto& h : topic->partitions) {
      status.Update(WithPartition(h->log->Flush(), h->tp));
    }
  }
  WriteCheckpoints();
  return status;
}

}  // namespace spool
