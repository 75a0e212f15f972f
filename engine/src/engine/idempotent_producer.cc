#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "spool/producer.h"
#include "util/mutex.h"
#include "util/status_macros.h"

namespace spool {

class IdempotentProducer::Impl {
 public:
  Impl(Engine* engine, Options options, ProducerId id)
      : engine_(engine), options_(std::move(options)), id_(id) {}

  ProducerId id() const { return id_; }

  absl::StatusOr<ProduceResult> Send(std::string_view topic,
                                     const std::vector<Record>& records,
                                     const ProduceOptions& options);

 private:
  struct PartitionState {
    int32_t next_sequence = 0;
    std::string pending;  // a batch whose outcome is unknown
  };

  absl::StatusOr<AppendResult> AppendWithRetries(const TopicPartition& tp,
                                                 const std::string& batch,
                                                 const ProduceOptions& o);
  absl::StatusOr<AppendResult> SendToPartition(
      const TopicPartition& tp, const std::vector<const Record*>& records,
      const ProduceOptions& o) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Engine* const engine_;
  const Options options_;
  const ProducerId id_;
  Mutex mu_;
  absl::flat_hash_map<TopicPartition, PartitionState> partitions_
      ABSL_GUARDED_BY(mu_);
  uint32_t next_null_key_ ABSL_GUARDED_BY(mu_) = 0;
};

namespace {

bool Retryable(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsResourceExhausted(s);
}

}  // namespace

absl::StatusOr<AppendResult> IdempotentProducer::Impl::AppendWithRetries(
    const TopicPartition& tp, const std::string& batch,
    const ProduceOptions& o) {
  absl::Status last;
  for (int attempt = 0; attempt <= options_.max_retries; ++attempt) {
    if (attempt > 0) absl::SleepFor(options_.retry_backoff * attempt);
    absl::StatusOr<AppendResult> r =
        engine_->Append(tp, batch, {.durability = o.durability});
    if (r.ok() || !Retryable(r.status())) return r;
    last = r.status();
  }
  return last;
}

absl::StatusOr<AppendResult> IdempotentProducer::Impl::SendToPartition(
    const TopicPartition& tp, const std::vector<const Record*>& records,
    const ProduceOptions& o) {
  PartitionState& st = partitions_[tp];
  if (!st.pending.empty()) {
    // An earlier batch may or may not have landed: resend it first so the
    // sequence stays gap-free (a landed one is answered as a duplicate).
    SPOOL_RETURN_IF_ERROR(AppendWithRetries(tp, st.pending, o).status());
    st.pending.clear();
  }
  RecordBatchBuilder builder({.producer_id = id_.id,
                              .producer_epoch = id_.epoch,
                              .base_sequence = st.next_sequence});
  for (const Record* r : records) builder.Add(*r);
  SPOOL_ASSIGN_OR_RETURN(std::string batch, builder.Build());
  absl::StatusOr<AppendResult> r = AppendWithRetries(tp, batch, o);
  // The sequence moves on if the batch landed or may have landed; a batch
  // the engine rejected outright never took its sequence numbers.
  if (r.ok() || Retryable(r.status())) {
    st.next_sequence = static_cast<int32_t>(
        (int64_t{st.next_sequence} + static_cast<int64_t>(records.size())) %
        (int64_t{1} << 31));
  }
  if (!r.ok() && Retryable(r.status())) st.pending = std::move(batch);
  return r;
}

absl::StatusOr<ProduceResult> IdempotentProducer::Impl::Send(
    std::string_view topic, const std::vector<Record>& records,
    const ProduceOptions& options) {
  SPOOL_ASSIGN_OR_RETURN(int32_t n, engine_->PartitionCount(topic));
  MutexLock lock(&mu_);
  std::map<int32_t, std::vector<size_t>> by_partition;
  for (size_t i = 0; i < records.size(); ++i) {
    int32_t p;
    if (options.partition.has_value()) {
      p = *options.partition;
    } else if (records[i].key.has_value()) {
      p = PartitionForKey(*records[i].key, n);
    } else {
      p = static_cast<int32_t>(next_null_key_++ % static_cast<uint32_t>(n));
    }
    by_partition[p].push_back(i);
  }
  ProduceResult result;
  result.records.resize(records.size());
  for (const auto& [p, indexes] : by_partition) {
    std::vector<const Record*> part;
    for (size_t i : indexes) part.push_back(&records[i]);
    TopicPartition tp{std::string(topic), p};
    SPOOL_ASSIGN_OR_RETURN(AppendResult a, SendToPartition(tp, part, options));
    for (size_t k = 0; k < indexes.size(); ++k) {
      result.records[indexes[k]] = {p, a.base_offset + static_cast<int64_t>(k)};
    }
    result.appends.push_back(std::move(a));
  }
  return result;
}

IdempotentProducer::IdempotentProducer(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
IdempotentProducer::~IdempotentProducer() = default;

absl::StatusOr<std::unique_ptr<IdempotentProducer>> IdempotentProducer::Create(
    Engine* engine, Options options) {
  SPOOL_ASSIGN_OR_RETURN(ProducerId id, engine->InitProducerId(options.name));
  return std::unique_ptr<IdempotentProducer>(new IdempotentProducer(
      std::make_unique<Impl>(engine, std::move(options), id)));
}

absl::StatusOr<ProduceResult> IdempotentProducer::Send(
    std::string_view topic, const std::vector<Record>& records,
    const ProduceOptions& options) {
  return impl_->Send(topic, records, options);
}

ProducerId IdempotentProducer::id() const { return impl_->id(); }

}  // namespace spool
