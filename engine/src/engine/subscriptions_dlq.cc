// SubscriptionsImpl: dead-lettering exactly once, and redrive (see
// subscriptions_impl.h and docs/queues.md).

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/subscriptions_impl.h"
#include "util/status_macros.h"
#include "util/strings.h"

namespace spool {
namespace {

int32_t NextSequence(int32_t seq) {
  return seq == INT32_MAX ? 0 : seq + 1;  // Kafka's wrap-around
}

bool IsDlqHeader(std::string_view key) {
  return key.substr(0, 10) == "spool.dlq.";
}

}  // namespace

absl::Status SubscriptionsImpl::LoadSequences(Sub& sub) {
  if (sub.next_sequence.has_value()) return absl::OkStatus();
  std::map<int32_t, int32_t> seqs;
  std::vector<OpenIntent> intents;
  absl::Status bad;
  SPOOL_RETURN_IF_ERROR(tables_->Scan(
      Table::kSubscriptions, sub.prefix,
      [&](std::string_view key, std::string_view value) {
        absl::StatusOr<DecodedSubRowKey> k = DecodeSubRowKey(sub.prefix, key);
        if (!k.ok()) {
          bad = k.status();
          return false;
        }
        if (k->kind == kSubRowSequence) {
          absl::StatusOr<int32_t> v = DecodeInt32Row(value);
          if (!v.ok()) {
            bad = v.status();
            return false;
          }
          seqs[k->partition] = *v;
        } else if (k->kind == kSubRowIntent) {
          absl::StatusOr<IntentRow> row = DecodeIntentRow(value);
          if (!row.ok()) {
            bad = row.status();
            return false;
          }
          intents.push_back({k->partition, k->offset, *row});
        }
        return true;
      }));
  SPOOL_RETURN_IF_ERROR(bad);
  // Intents left by a crash are finished first, in the order their
  // sequences were handed out (normally there is at most one).
  std::sort(intents.begin(), intents.end(),
            [](const OpenIntent& a, const OpenIntent& b) {
              return a.row.sequence < b.row.sequence;
            });
  sub.open_intents.assign(intents.begin(), intents.end());
  sub.next_sequence = std::move(seqs);
  return absl::OkStatus();
}

absl::Status SubscriptionsImpl::ProcessDeadLetters(Sub& sub) {
  if (sub.stored.config.dead_letter_topic.empty()) return absl::OkStatus();
  MutexLock dlq(&sub.dlq_mu);
  if (sub.deleted.load()) return absl::OkStatus();
  SPOOL_RETURN_IF_ERROR(LoadSequences(sub));
  SPOOL_ASSIGN_OR_RETURN(std::vector<PartPtr> parts, Parts(sub));
  // An open intent owns the next sequence: nothing else may go first.
  while (!sub.open_intents.empty()) {
    SPOOL_RETURN_IF_ERROR(FinishIntent(sub, parts, sub.open_intents.front()));
    sub.open_intents.pop_front();
  }
  for (size_t p = 0; p < parts.size(); ++p) {
    for (;;) {
      std::optional<int64_t> offset;
      {
        MutexLock lock(&parts[p]->mu);
        offset = parts[p]->queue.NextDeadLetter();
      }
      if (!offset.has_value()) break;
      SPOOL_RETURN_IF_ERROR(
          DeadLetterOne(sub, parts, static_cast<int32_t>(p), *offset));
    }
  }
  return absl::OkStatus();
}

absl::Status SubscriptionsImpl::DeadLetterOne(Sub& sub,
                                              const std::vector<PartPtr>& parts,
                                              int32_t partition,
                                              int64_t offset) {
  Part& part = *parts[partition];
  OpenIntent open{partition, offset, {}};
  {
    MutexLock lock(&part.mu);
    const PartitionQueue::Entry* e = part.queue.Find(offset);
    if (e == nullptr || e->state != PartitionQueue::State::kDeadLettering) {
      return absl::OkStatus();
    }
    open.row.attempts = e->attempts;
    open.row.reason = e->reason;
  }
  // Decide the sequence and make it durable before the append, so a
  // retry after a crash reuses it.
  SPOOL_ASSIGN_OR_RETURN(
      int32_t dlq_partitions,
      engine_->PartitionCount(sub.stored.config.dead_letter_topic));
  open.row.dlq_partition = partition % dlq_partitions;
  open.row.sequence = (*sub.next_sequence)[open.row.dlq_partition];
  open.row.time_ms = clock_->NowMillis();
  {
    MutexLock lock(&part.mu);
    TableStore::Batch batch;
    batch.Put(Table::kSubscriptions,
              SubRowKey(sub.prefix, kSubRowIntent, partition, offset),
              EncodeIntentRow(open.row));
    SPOOL_RETURN_IF_ERROR(WriteRows(sub, batch, /*sync=*/true));
  }
  sub.open_intents.push_back(open);
  SPOOL_RETURN_IF_ERROR(FinishIntent(sub, parts, open));
  sub.open_intents.pop_front();
  return absl::OkStatus();
}

absl::StatusOr<std::optional<Record>> SubscriptionsImpl::DeadLetterRecord(
    const Sub& sub, Part& part, const OpenIntent& open) const {
  {
    MutexLock lock(&part.mu);
    const PartitionQueue::Entry* e = part.queue.Find(open.offset);
    RecordView held;
    if (e != nullptr && part.queue.HeldRecord(*e, &held)) {
      return std::optional<Record>(CopyRecord(held));
    }
  }
  // Not in the window (an intent found after a restart), or delivered
  // before (the window handed its data to the consumer): read the log.
  const TopicPartition tp{sub.stored.topic, open.partition};
  absl::StatusOr<FetchResult> f = engine_->Fetch(tp, open.offset);
  if (absl::IsOutOfRange(f.status())) {
    return std::optional<Record>();  // deleted by retention meanwhile
  }
  if (!f.ok()) return f.status();
  std::optional<Record> found;
  SPOOL_RETURN_IF_ERROR(f->ForEachRecord([&](const RecordView& r) {
    if (r.offset != open.offset) return r.offset < open.offset;
    found = CopyRecord(r);
    return false;
  }));
  return found;
}

absl::StatusOr<std::string> SubscriptionsImpl::EncodeDeadLetter(
    const Sub& sub, const OpenIntent& open, const IntentRow& intent,
    const Record& record) const {
  RecordBatchBuilder builder({.producer_id = sub.stored.producer_id,
                              .producer_epoch = sub.stored.producer_epoch,
                              .base_sequence = intent.sequence});
  std::vector<HeaderView> headers;
  for (const Header& h : record.headers) {
    if (IsDlqHeader(h.key)) continue;  // a record dead-lettered again
    headers.push_back({h.key, h.value.has_value()
                                  ? std::optional<std::string_view>(*h.value)
                                  : std::nullopt});
  }
  const std::string p_text = absl::StrCat(open.partition);
  const std::string o_text = absl::StrCat(open.offset);
  const std::string a_text = absl::StrCat(intent.attempts);
  const std::string ts_text = absl::StrCat(record.timestamp);
  const std::string t_text = absl::StrCat(intent.time_ms);
  headers.push_back({kDlqTopicHeader, sub.stored.topic});
  headers.push_back({kDlqPartitionHeader, p_text});
  headers.push_back({kDlqOffsetHeader, o_text});
  headers.push_back({kDlqSubscriptionHeader, sub.stored.name});
  headers.push_back({kDlqAttemptsHeader, a_text});
  headers.push_back({kDlqReasonHeader, intent.reason});
  headers.push_back({kDlqTimestampHeader, ts_text});
  headers.push_back({kDlqTimeHeader, t_text});
  std::optional<std::string_view> key, value;
  if (record.key.has_value()) key = *record.key;
  if (record.value.has_value()) value = *record.value;
  builder.Add(key, value, headers, intent.time_ms);
  return builder.Build();
}

absl::StatusOr<bool> SubscriptionsImpl::IsDeadLetterOf(
    const Sub& sub, const OpenIntent& open, const IntentRow& intent,
    const Record& record, const TopicPartition& dlq_tp, int64_t offset) const {
  SPOOL_ASSIGN_OR_RETURN(FetchResult f, engine_->Fetch(dlq_tp, offset));
  bool ours = false;
  SPOOL_RETURN_IF_ERROR(f.ForEachRecord([&](const RecordView& r) {
    if (r.offset < offset) return true;
    if (r.offset > offset) return false;
    int matched = 0;
    for (const HeaderView& h : r.headers) {
      const std::string_view v = h.value.value_or("");
      if ((h.key == kDlqTopicHeader && v == sub.stored.topic) ||
          (h.key == kDlqSubscriptionHeader && v == sub.stored.name) ||
          (h.key == kDlqPartitionHeader && v == absl::StrCat(open.partition)) ||
          (h.key == kDlqOffsetHeader && v == absl::StrCat(open.offset)) ||
          (h.key == kDlqTimeHeader && v == absl::StrCat(intent.time_ms))) {
        ++matched;
      }
    }
    // The offset alone does not say: a power loss may have taken the
    // record it named and the offset been reused.
    ours = matched == 5 && r.key == record.key && r.value == record.value;
    return false;
  }));
  return ours;
}

absl::Status SubscriptionsImpl::FinishIntent(Sub& sub,
                                             const std::vector<PartPtr>& parts,
                                             const OpenIntent& open) {
  const std::string& dlq_topic = sub.stored.config.dead_letter_topic;
  if (open.partition < 0 ||
      open.partition >= static_cast<int32_t>(parts.size())) {
    return absl::DataLossError(absl::StrFormat(
        "subscription \"%s\" on '%s': dead-letter intent for partition %d, "
        "which the topic does not have",
        sub.stored.name, sub.stored.topic, open.partition));
  }
  Part& part = *parts[open.partition];
  IntentRow intent = open.row;  // its sequence may move on (below)
  SPOOL_ASSIGN_OR_RETURN(std::optional<Record> record,
                         DeadLetterRecord(sub, part, open));
  // Nothing appended (retention deleted the record): the sequence stays
  // free for the next dead letter.
  int32_t next = intent.sequence;
  if (record.has_value()) {
    const TopicPartition dlq_tp{dlq_topic, intent.dlq_partition};
    for (int tries = 0;; ++tries) {
      SPOOL_ASSIGN_OR_RETURN(std::string bytes,
                             EncodeDeadLetter(sub, open, intent, *record));
      absl::StatusOr<AppendResult> appended = engine_->Append(
          dlq_tp, std::move(bytes), {.durability = Durability::kSync});
      if (!appended.ok()) {
        return absl::Status(
            appended.status().code(),
            absl::StrFormat("dead-lettering '%s'-%d offset %d (subscription "
                            "\"%s\") to '%s'-%d: %s",
                            sub.stored.topic, open.partition, open.offset,
                            sub.stored.name, dlq_topic, intent.dlq_partition,
                            appended.status().message()));
      }
      if (!appended->duplicate) break;
      SPOOL_ASSIGN_OR_RETURN(bool ours,
                             IsDeadLetterOf(sub, open, intent, *record, dlq_tp,
                                            appended->base_offset));
      if (ours) break;  // a retry of this intent after a crash
      // The sequence went to another dead letter whose intent was lost
      // with the record it named (a power loss took the record before it
      // was durable, and loading dropped the state past the log end), or
      // whose record retention deleted before a retry: take the next one,
      // durably, as DeadLetterOne does.
      if (tries >= 1000) {
        return absl::InternalError(absl::StrFormat(
            "dead-lettering '%s'-%d offset %d (subscription \"%s\") to "
            "'%s'-%d: sequence %d and the next 1000 are taken by other "
            "records",
            sub.stored.topic, open.partition, open.offset, sub.stored.name,
            dlq_topic, intent.dlq_partition, open.row.sequence));
      }
      intent.sequence = NextSequence(intent.sequence);
      MutexLock lock(&part.mu);
      TableStore::Batch batch;
      batch.Put(
          Table::kSubscriptions,
          SubRowKey(sub.prefix, kSubRowIntent, open.partition, open.offset),
          EncodeIntentRow(intent));
      SPOOL_RETURN_IF_ERROR(WriteRows(sub, batch, /*sync=*/true));
    }
    next = NextSequence(intent.sequence);
  }

  {
    MutexLock lock(&part.mu);
    TableStore::Batch batch;
    part.queue.CompleteDeadLetter(open.offset, &batch);
    part.queue.FlushRows(&batch);
    batch.Put(Table::kSubscriptions,
              SubRowKey(sub.prefix, kSubRowSequence, intent.dlq_partition),
              EncodeInt32Row(next));
    SPOOL_RETURN_IF_ERROR(WriteRows(sub, batch, /*sync=*/true));
  }
  (*sub.next_sequence)[intent.dlq_partition] = next;
  Signal(sub);  // the key's next record may go now
  return absl::OkStatus();
}

// --- Redrive --------------------------------------------------------------

namespace {

struct Original {
  std::string topic;
  int32_t partition = -1;
  int64_t timestamp = -1;
};

std::optional<Original> OriginOf(const RecordView& r) {
  Original o;
  bool have_topic = false, have_partition = false;
  for (const HeaderView& h : r.headers) {
    if (!h.value.has_value()) continue;
    if (h.key == kDlqTopicHeader) {
      o.topic = std::string(*h.value);
      have_topic = true;
    } else if (h.key == kDlqPartitionHeader) {
      have_partition = absl::SimpleAtoi(ToAbsl(*h.value), &o.partition);
    } else if (h.key == kDlqTimestampHeader) {
      if (!absl::SimpleAtoi(ToAbsl(*h.value), &o.timestamp)) o.timestamp = -1;
    }
  }
  if (!have_topic || !have_partition) return std::nullopt;
  return o;
}

}  // namespace

absl::StatusOr<RedriveResult> SubscriptionsImpl::Redrive(
    std::string_view dead_letter_topic, const RedriveOptions& options) {
  SPOOL_RETURN_IF_ERROR(CheckOpen());
  SPOOL_ASSIGN_OR_RETURN(int32_t count,
                         engine_->PartitionCount(dead_letter_topic));
  RedriveResult result;
  for (int32_t p = 0; p < count && result.moved < options.max_records; ++p) {
    const TopicPartition tp{std::string(dead_letter_topic), p};
    SPOOL_ASSIGN_OR_RETURN(PartitionOffsets o, engine_->Offsets(tp));
    int64_t pos = o.log_start_offset;
    bool blocked = false;
    while (pos < o.log_end_offset && !blocked &&
           result.moved < options.max_records) {
      SPOOL_ASSIGN_OR_RETURN(FetchResult f, engine_->Fetch(tp, pos));
      if (f.batches.empty()) break;
      // Group consecutive records by their origin; stop at a record that
      // has none (it stays, and so does everything after it).
      std::map<std::pair<std::string, int32_t>, std::vector<Record>> out;
      int64_t next = pos;
      bool any = false;
      SPOOL_RETURN_IF_ERROR(f.ForEachRecord([&](const RecordView& r) {
        any = true;
        if (result.moved + 1 > options.max_records) return false;
        std::optional<Original> origin = OriginOf(r);
        if (!origin.has_value()) {
          ++result.skipped;
          blocked = true;
          return false;
        }
        Record rec;
        if (r.key.has_value()) rec.key = std::string(*r.key);
        if (r.value.has_value()) rec.value = std::string(*r.value);
        for (const HeaderView& h : r.headers) {
          if (IsDlqHeader(h.key)) continue;
          Header copy{std::string(h.key), std::nullopt};
          if (h.value.has_value()) copy.value = std::string(*h.value);
          rec.headers.push_back(std::move(copy));
        }
        rec.timestamp = origin->timestamp;
        out[{origin->topic, origin->partition}].push_back(std::move(rec));
        ++result.moved;
        next = r.offset + 1;
        return true;
      }));
      for (const auto& [dest, records] : out) {
        absl::StatusOr<ProduceResult> produced = engine_->ProduceBatch(
            dest.first, records,
            {.durability = Durability::kSync, .partition = dest.second});
        if (!produced.ok()) {
          return absl::Status(
              produced.status().code(),
              absl::StrFormat("redrive from '%s'-%d to '%s'-%d: %s",
                              dead_letter_topic, p, dest.first, dest.second,
                              produced.status().message()));
        }
      }
      if (!any) next = f.next_offset;  // only control batches
      if (next > pos) {
        SPOOL_RETURN_IF_ERROR(engine_->DeleteRecordsBefore(tp, next));
        pos = next;
      }
    }
  }
  return result;
}

}  // namespace spool
