// SubscriptionsImpl: opening, administration, retention floor (see
// subscriptions_impl.h). Consuming is in subscriptions_consume.cc,
// dead letters in subscriptions_dlq.cc, metrics in
// subscriptions_metrics.cc.

#include "engine/subscriptions_impl.h"

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "util/status_macros.h"
#include "util/strings.h"

namespace spool {

SubscriptionsImpl::SubscriptionsImpl(Options options)
    : tables_(options.tables), clock_(options.clock), engine_(options.engine) {}

absl::StatusOr<std::unique_ptr<SubscriptionsImpl>> SubscriptionsImpl::Open(
    Options options) {
  std::unique_ptr<SubscriptionsImpl> impl(
      new SubscriptionsImpl(std::move(options)));
  // Rows sorted by key: each subscription's rows are contiguous.
  std::vector<
      std::pair<std::string, std::vector<std::pair<std::string, std::string>>>>
      groups;
  absl::Status split;
  SPOOL_RETURN_IF_ERROR(impl->tables_->Scan(
      Table::kSubscriptions, "",
      [&](std::string_view key, std::string_view value) {
        std::string topic, name;
        split = SplitSubscriptionKey(key, &topic, &name);
        if (!split.ok()) return false;
        std::string prefix = SubscriptionPrefix(topic, name);
        if (groups.empty() || groups.back().first != prefix) {
          groups.emplace_back(
              prefix, std::vector<std::pair<std::string, std::string>>());
        }
        groups.back().second.emplace_back(std::string(key), std::string(value));
        return true;
      }));
  SPOOL_RETURN_IF_ERROR(split);
  for (const auto& [prefix, rows] : groups) {
    SPOOL_ASSIGN_OR_RETURN(SubPtr sub, impl->LoadSub(prefix, rows));
    if (sub == nullptr) continue;
    MutexLock lock(&impl->mu_);
    impl->subs_[{sub->stored.topic, sub->stored.name}] = std::move(sub);
  }
  return impl;
}

absl::StatusOr<SubscriptionsImpl::SubPtr> SubscriptionsImpl::LoadSub(
    const std::string& prefix,
    const std::vector<std::pair<std::string, std::string>>& rows) {
  std::optional<StoredSubscription> stored;
  for (const auto& [key, value] : rows) {
    if (key.size() == prefix.size() + 1 && key.back() == kSubRowRecord) {
      absl::StatusOr<StoredSubscription> s = DecodeSubscription(value);
      if (!s.ok()) {
        return absl::DataLossError(absl::StrFormat(
            "subscription \"%s\": %s", absl::CHexEscape(ToAbsl(prefix)),
            s.status().message()));
      }
      stored = std::move(*s);
    }
  }
  // Rows without a record (written by a call racing the subscription's
  // deletion) or of a topic that is gone: remove them.
  if (!stored.has_value() || !engine_->PartitionCount(stored->topic).ok()) {
    SPOOL_RETURN_IF_ERROR(
        tables_->DeletePrefix(Table::kSubscriptions, prefix, /*sync=*/false));
    return SubPtr();
  }
  std::map<int32_t, FloorRow> floors;
  for (const auto& [key, value] : rows) {
    SPOOL_ASSIGN_OR_RETURN(DecodedSubRowKey k, DecodeSubRowKey(prefix, key));
    if (k.kind == kSubRowFloor) {
      SPOOL_ASSIGN_OR_RETURN(floors[k.partition], DecodeFloorRow(value));
    }
  }
  SPOOL_ASSIGN_OR_RETURN(SubPtr sub, NewSub(std::move(*stored)));
  SPOOL_ASSIGN_OR_RETURN(int32_t count,
                         engine_->PartitionCount(sub->stored.topic));
  std::vector<PartPtr> parts;
  for (int32_t p = 0; p < count; ++p) {
    int64_t floor;
    if (auto it = floors.find(p); it != floors.end()) {
      floor = it->second.floor;
    } else {
      SPOOL_ASSIGN_OR_RETURN(PartitionOffsets o,
                             engine_->Offsets({sub->stored.topic, p}));
      floor = o.log_start_offset;
    }
    parts.push_back(NewPart(*sub, p, floor));
  }
  TableStore::Batch cleanup;
  for (const auto& [key, value] : rows) {
    SPOOL_ASSIGN_OR_RETURN(DecodedSubRowKey k, DecodeSubRowKey(prefix, key));
    if (k.partition < 0 || k.partition >= count || k.kind == kSubRowSequence) {
      continue;
    }
    Part& part = *parts[k.partition];
    MutexLock lock(&part.mu);
    if (k.kind == kSubRowFloor) {
      const FloorRow& f = floors[k.partition];
      if (f.mark.has_value()) part.queue.LoadMark(*f.mark, f.mark_deadline_ms);
    } else if (k.kind == kSubRowRange) {
      SPOOL_ASSIGN_OR_RETURN(int64_t end, DecodeInt64Row(value));
      part.queue.LoadRange(k.offset, end);
    } else if (k.kind == kSubRowDelivery) {
      SPOOL_ASSIGN_OR_RETURN(DeliveryRow row, DecodeDeliveryRow(value));
      part.queue.LoadDelivery(k.offset, std::move(row));
    } else if (k.kind == kSubRowMark) {
      // An earlier build's own row for the mark: moved into the floor row
      // (in the same write as this delete).
      int64_t mark = 0, deadline_ms = 0;
      SPOOL_RETURN_IF_ERROR(DecodeMarkRow(value, &mark, &deadline_ms));
      part.queue.LoadMark(mark, deadline_ms, /*rewrite=*/true);
      cleanup.Delete(Table::kSubscriptions, key);
    } else if (k.kind == kSubRowIntent) {
      SPOOL_ASSIGN_OR_RETURN(IntentRow row, DecodeIntentRow(value));
      part.queue.LoadIntent(k.offset, std::move(row));
    }
  }
  for (int32_t p = 0; p < count; ++p) {
    SPOOL_ASSIGN_OR_RETURN(PartitionOffsets o,
                           engine_->Offsets({sub->stored.topic, p}));
    PartPtr& part = parts[p];
    MutexLock lock(&part->mu);
    part->queue.FinishLoad(o.log_end_offset, &cleanup);
    part->queue.FlushRows(&cleanup);
  }
  SPOOL_RETURN_IF_ERROR(tables_->Write(cleanup, /*sync=*/false));
  {
    MutexLock lock(&sub->parts_mu);
    sub->parts = std::move(parts);
  }
  return sub;
}

absl::StatusOr<SubscriptionsImpl::SubPtr> SubscriptionsImpl::NewSub(
    StoredSubscription stored) const {
  auto sub = std::make_shared<Sub>();
  SPOOL_ASSIGN_OR_RETURN(TopicDescription d,
                         engine_->DescribeTopic(stored.topic));
  sub->not_before_header = d.config.not_before_header;
  sub->prefix = SubscriptionPrefix(stored.topic, stored.name);
  sub->stored = std::move(stored);
  return sub;
}

SubscriptionsImpl::PartPtr SubscriptionsImpl::NewPart(const Sub& sub,
                                                      int32_t partition,
                                                      int64_t floor) const {
  return std::make_shared<Part>(PartitionQueue(
      &sub.stored.config, sub.prefix, partition, sub.not_before_header, floor));
}

void SubscriptionsImpl::Close() {
  closed_.store(true);
  std::vector<SubPtr> subs;
  {
    MutexLock lock(&mu_);
    for (auto& [key, sub] : subs_) subs.push_back(sub);
  }
  for (const SubPtr& sub : subs) Signal(*sub);
}

absl::Status SubscriptionsImpl::CheckOpen() const {
  if (closed_.load()) {
    return absl::FailedPreconditionError("subscriptions: engine is closed");
  }
  return absl::OkStatus();
}

absl::StatusOr<SubscriptionsImpl::SubPtr> SubscriptionsImpl::FindSub(
    std::string_view topic, std::string_view name) const {
  SPOOL_RETURN_IF_ERROR(CheckOpen());
  MutexLock lock(&mu_);
  auto it = subs_.find({std::string(topic), std::string(name)});
  if (it == subs_.end()) {
    return absl::NotFoundError(
        absl::StrFormat("topic '%s' has no subscription \"%s\"", topic, name));
  }
  return it->second;
}

absl::StatusOr<std::vector<SubscriptionsImpl::PartPtr>>
SubscriptionsImpl::Parts(Sub& sub) const {
  SPOOL_ASSIGN_OR_RETURN(int32_t count,
                         engine_->PartitionCount(sub.stored.topic));
  MutexLock lock(&sub.parts_mu);
  // Partitions added to the topic start at their beginning.
  for (int32_t p = static_cast<int32_t>(sub.parts.size()); p < count; ++p) {
    SPOOL_ASSIGN_OR_RETURN(PartitionOffsets o,
                           engine_->Offsets({sub.stored.topic, p}));
    sub.parts.push_back(NewPart(sub, p, o.log_start_offset));
  }
  return sub.parts;
}

absl::StatusOr<SubscriptionsImpl::PartPtr> SubscriptionsImpl::PartOf(
    Sub& sub, int32_t partition) const {
  {
    // Partitions are never removed: a known one needs no catalog lookup.
    MutexLock lock(&sub.parts_mu);
    if (partition >= 0 && partition < static_cast<int32_t>(sub.parts.size())) {
      return sub.parts[partition];
    }
  }
  SPOOL_ASSIGN_OR_RETURN(std::vector<PartPtr> parts, Parts(sub));
  if (partition < 0 || partition >= static_cast<int32_t>(parts.size())) {
    return absl::NotFoundError(
        absl::StrFormat("topic '%s' has no partition %d (it has %d)",
                        sub.stored.topic, partition, parts.size()));
  }
  return parts[partition];
}

absl::Status SubscriptionsImpl::WriteRows(const Sub& sub,
                                          const TableStore::Batch& batch,
                                          bool sync) const {
  if (batch.empty()) return absl::OkStatus();
  if (sub.deleted.load()) {
    return absl::NotFoundError(
        absl::StrFormat("subscription \"%s\" on '%s' was deleted",
                        sub.stored.name, sub.stored.topic));
  }
  return tables_->Write(batch, sync);
}

absl::Status SubscriptionsImpl::SyncRows(const Sub& sub) const {
  TableStore::Batch b;
  b.Delete(Table::kSubscriptions, SubRowKey(sub.prefix, kSubRowSync));
  return tables_->Write(b, /*sync=*/true);
}

void SubscriptionsImpl::Signal(Sub& sub) const {
  MutexLock lock(&sub.wait_mu);
  ++sub.signal;
  sub.cv.SignalAll();
}

void SubscriptionsImpl::OnAppend(const TopicPartition& tp) {
  // After the append: a reader that loads the count before its read and
  // finds it unchanged later knows its read saw every append since.
  appends_.fetch_add(1, std::memory_order_acq_rel);
  if (waiters_.load() == 0) return;
  std::vector<SubPtr> subs;
  {
    MutexLock lock(&mu_);
    for (auto it = subs_.lower_bound({tp.topic, std::string()});
         it != subs_.end() && it->first.first == tp.topic; ++it) {
      subs.push_back(it->second);
    }
  }
  for (const SubPtr& sub : subs) Signal(*sub);
}

// --- Administration -----------------------------------------------------

absl::Status SubscriptionsImpl::CreateSubscription(
    std::string_view topic, std::string_view name,
    const SubscriptionConfig& config) {
  SPOOL_RETURN_IF_ERROR(CheckOpen());
  SPOOL_RETURN_IF_ERROR(ValidateSubscriptionName(name));
  SPOOL_RETURN_IF_ERROR(config.Validate());
  SPOOL_ASSIGN_OR_RETURN(int32_t count, engine_->PartitionCount(topic));
  if (!config.dead_letter_topic.empty()) {
    if (config.dead_letter_topic == topic) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "subscription \"%s\" on '%s': the dead-letter topic must be "
          "another topic",
          name, topic));
    }
    absl::StatusOr<int32_t> dlq =
        engine_->PartitionCount(config.dead_letter_topic);
    if (!dlq.ok()) {
      return absl::Status(
          dlq.status().code(),
          absl::StrFormat("dead-letter topic: %s", dlq.status().message()));
    }
  }
  MutexLock lock(&mu_);
  if (subs_.count({std::string(topic), std::string(name)}) > 0) {
    return absl::AlreadyExistsError(absl::StrFormat(
        "topic '%s' already has a subscription \"%s\"", topic, name));
  }
  StoredSubscription stored;
  stored.topic = std::string(topic);
  stored.name = std::string(name);
  stored.created_ms = clock_->NowMillis();
  stored.config = config;
  if (!config.dead_letter_topic.empty()) {
    SPOOL_ASSIGN_OR_RETURN(ProducerId pid, engine_->InitProducerId(""));
    stored.producer_id = pid.id;
    stored.producer_epoch = pid.epoch;
  }
  const std::string prefix = SubscriptionPrefix(topic, name);
  TableStore::Batch batch;
  batch.Put(Table::kSubscriptions, SubRowKey(prefix, kSubRowRecord),
            EncodeSubscription(stored));
  std::vector<int64_t> floors;
  for (int32_t p = 0; p < count; ++p) {
    SPOOL_ASSIGN_OR_RETURN(PartitionOffsets o,
                           engine_->Offsets({std::string(topic), p}));
    floors.push_back(config.start == StartPosition::kLatest
                         ? o.log_end_offset
                         : o.log_start_offset);
    batch.Put(Table::kSubscriptions, SubRowKey(prefix, kSubRowFloor, p),
              EncodeInt64Row(floors.back()));
  }
  SPOOL_ASSIGN_OR_RETURN(SubPtr sub, NewSub(std::move(stored)));
  {
    MutexLock parts_lock(&sub->parts_mu);
    for (int32_t p = 0; p < count; ++p) {
      sub->parts.push_back(NewPart(*sub, p, floors[p]));
    }
  }
  SPOOL_RETURN_IF_ERROR(tables_->Write(batch, /*sync=*/true));
  subs_[{std::string(topic), std::string(name)}] = std::move(sub);
  return absl::OkStatus();
}

void SubscriptionsImpl::Retire(Sub& sub) const {
  // Calls that may still write the subscription's rows check `deleted`
  // under the dlq lock or a partition's lock: once each was taken here,
  // none will write again.
  sub.deleted.store(true);
  { MutexLock dlq(&sub.dlq_mu); }
  std::vector<PartPtr> parts;
  {
    MutexLock lock(&sub.parts_mu);
    parts = sub.parts;
  }
  for (const PartPtr& part : parts) {
    MutexLock lock(&part->mu);
  }
  Signal(sub);
}

absl::Status SubscriptionsImpl::DeleteSubscription(std::string_view topic,
                                                   std::string_view name) {
  SPOOL_RETURN_IF_ERROR(CheckOpen());
  SubPtr sub;
  {
    MutexLock lock(&mu_);
    auto it = subs_.find({std::string(topic), std::string(name)});
    if (it == subs_.end()) {
      return absl::NotFoundError(absl::StrFormat(
          "topic '%s' has no subscription \"%s\"", topic, name));
    }
    sub = it->second;
    subs_.erase(it);
  }
  Retire(*sub);
  return tables_->DeletePrefix(Table::kSubscriptions, sub->prefix,
                               /*sync=*/true);
}

absl::Status SubscriptionsImpl::DropTopic(std::string_view topic) {
  std::vector<SubPtr> subs;
  {
    MutexLock lock(&mu_);
    for (auto it = subs_.lower_bound({std::string(topic), std::string()});
         it != subs_.end() && it->first.first == topic;) {
      subs.push_back(it->second);
      it = subs_.erase(it);
    }
  }
  for (const SubPtr& sub : subs) {
    Retire(*sub);
  }
  return tables_->DeletePrefix(Table::kSubscriptions,
                               TopicSubscriptionsPrefix(topic),
                               /*sync=*/true);
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
SubscriptionsImpl::ListSubscriptions() const {
  SPOOL_RETURN_IF_ERROR(CheckOpen());
  MutexLock lock(&mu_);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [key, sub] : subs_) out.push_back(key);
  return out;
}

absl::StatusOr<SubscriptionDescription> SubscriptionsImpl::DescribeSubscription(
    std::string_view topic, std::string_view name) const {
  SPOOL_ASSIGN_OR_RETURN(SubPtr sub, FindSub(topic, name));
  SPOOL_ASSIGN_OR_RETURN(std::vector<PartPtr> parts, Parts(*sub));
  SubscriptionDescription d;
  d.topic = sub->stored.topic;
  d.name = sub->stored.name;
  d.config = sub->stored.config;
  d.created = absl::FromUnixMillis(sub->stored.created_ms);
  for (size_t p = 0; p < parts.size(); ++p) {
    SPOOL_ASSIGN_OR_RETURN(
        PartitionOffsets o,
        engine_->Offsets({sub->stored.topic, static_cast<int32_t>(p)}));
    MutexLock lock(&parts[p]->mu);
    d.partitions.push_back(parts[p]->queue.Describe(o.log_end_offset));
  }
  return d;
}

absl::StatusOr<std::optional<int64_t>> SubscriptionsImpl::RetentionFloor(
    std::string_view topic, int32_t partition) const {
  SPOOL_RETURN_IF_ERROR(CheckOpen());
  SPOOL_ASSIGN_OR_RETURN(int32_t count, engine_->PartitionCount(topic));
  if (partition < 0 || partition >= count) {
    return absl::NotFoundError(absl::StrFormat(
        "topic '%s' has no partition %d (it has %d)", topic, partition, count));
  }
  std::vector<SubPtr> subs;
  {
    MutexLock lock(&mu_);
    for (auto it = subs_.lower_bound({std::string(topic), std::string()});
         it != subs_.end() && it->first.first == topic; ++it) {
      subs.push_back(it->second);
    }
  }
  std::optional<int64_t> floor;
  for (const SubPtr& sub : subs) {
    SPOOL_ASSIGN_OR_RETURN(std::vector<PartPtr> parts, Parts(*sub));
    int64_t f;
    {
      MutexLock lock(&parts[partition]->mu);
      f = parts[partition]->queue.floor();
    }
    floor = floor.has_value() ? std::min(*floor, f) : f;
  }
  return floor;
}

}  // namespace spool
