// The randomized workload of spool crashtest (crashtest.h).
//
// Operations and their weights (out of 100):
//   34 produce: 1-8 records to a random partition, durability none,
//      interval or sync at random (per call)
//   20 idempotent append: a batch with this workload's producer id and the
//      partition's next sequence; a third of them are sent twice at once
//      (an in-process retry), which must come back as a duplicate
//   15 commit: a random group commits a random offset in (committed, log
//      end] on a random partition, synced or not
//    8 observe the durable offset of a random partition
//    4 flush everything
//    3 create a topic (up to max_topics): t0, c1, r2, t3, c4, ... (the
//      letter is the kind: KindOfTopic)
//    5 advance the manual clock (power mode), else another produce
//    8 queue: subscription "s" on t0 (unlimited deliveries, dead letters
//      to "dlq"): receive 1-5 records under a one-hour lease, then of what
//      is held ack half (synced or not, in one call, a third of the calls
//      as ranges through AckRanges; a third of the unsynced ones instead
//      ride on the next Receive, ReceiveOptions::ack),
//      nack a fifth (redelivered at once), reject a tenth (dead-lettered),
//      keep the rest
//    3 maintenance: retention on a retention topic, or Compact on a
//      partition of a compacted topic (the cleaner and the retention
//      thread also run in the background)
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "crashtest.h"

namespace spool::crashtest {

Workload::Workload(Engine* engine, uint64_t seed, uint64_t op_base,
                   Options options, std::function<void(const Ack&)> on_ack)
    : engine_(engine),
      rng_(seed),
      next_op_(op_base),
      options_(options),
      on_ack_(std::move(on_ack)) {}

absl::Status Workload::Init() {
  auto topics = engine_->ListTopics();
  if (!topics.ok()) return topics.status();
  for (const std::string& t : *topics) {
    if (t == kDeadLetterTopic) continue;  // written by the engine only
    auto n = engine_->PartitionCount(t);
    if (!n.ok()) return n.status();
    topics_[t] = *n;
  }
  for (int g = 0; g < options_.groups; ++g) {
    const std::string group = absl::StrFormat("g%d", g);
    auto c = engine_->groups().FetchCommitted(group);
    if (!c.ok()) return c.status();
    for (const auto& [tp, off] : *c) committed_[{group, tp}] = off.offset;
  }
  if (topics_.empty()) return CreateTopic();
  return absl::OkStatus();
}

absl::Status Workload::Step() {
  ++ops_;
  const int r = static_cast<int>(rng_() % 100);
  if (r < 3) return Maintain();
  if (r < 37) return Produce();
  if (r < 45) return options_.queues ? QueueStep() : Produce();
  if (r < 65) return IdempotentAppend();
  if (r < 80) return CommitOffset();
  if (r < 88) return ObserveDurable();
  if (r < 92) return Flush();
  if (r < 95) {
    if (static_cast<int>(topics_.size()) < options_.max_topics) {
      return CreateTopic();
    }
    return Produce();
  }
  if (options_.clock != nullptr) {
    options_.clock->Advance(absl::Milliseconds(rng_() % 50));
    return absl::OkStatus();
  }
  return Produce();
}

TopicPartition Workload::RandomPartition() {
  auto it = topics_.begin();
  std::advance(it, rng_() % topics_.size());
  return {it->first, static_cast<int32_t>(rng_() % it->second)};
}

absl::Status Workload::CreateTopic() {
  static constexpr char kKinds[] = {'t', 'c', 'r'};
  std::string name =
      absl::StrFormat("%c%d", kKinds[topics_.size() % 3], topics_.size());
  while (topics_.contains(name)) name += "x";
  const int32_t partitions =
      1 + static_cast<int32_t>(rng_() % options_.max_partitions);
  const Durability d = static_cast<Durability>(rng_() % 3);
  absl::Status s =
      engine_->CreateTopic(name, CrashTopicConfigFor(name, partitions, d));
  if (!s.ok()) return s;
  topics_[name] = partitions;
  Ack a;
  a.kind = Ack::Kind::kTopic;
  a.topic = name;
  a.count = partitions;
  on_ack_(a);
  return absl::OkStatus();
}

absl::Status Workload::Produce() {
  const TopicPartition tp = RandomPartition();
  const uint64_t op = next_op_++;
  const int32_t n = 1 + static_cast<int32_t>(rng_() % 8);
  std::vector<Record> records;
  for (int32_t i = 0; i < n; ++i) {
    ExpectedRecord e = MakeRecord(tp.topic, tp.partition, op, i);
    records.push_back({.key = e.key,
                       .value = e.value,
                       .headers = {},
                       .timestamp = e.timestamp});
  }
  const Durability d = static_cast<Durability>(rng_() % 3);
  auto r = engine_->ProduceBatch(tp.topic, records,
                                 {.durability = d, .partition = tp.partition});
  if (!r.ok()) return r.status();
  if (r->appends.size() != 1 ||
      r->appends[0].last_offset - r->appends[0].base_offset + 1 != n) {
    return absl::InternalError(
        absl::StrFormat("produce of %d records to %s gave %d appends", n,
                        tp.ToString(), r->appends.size()));
  }
  Ack a;
  a.kind = Ack::Kind::kRecords;
  a.topic = tp.topic;
  a.partition = tp.partition;
  a.offset = r->appends[0].base_offset;
  a.count = n;
  a.op_id = op;
  a.durable = r->appends[0].durable;
  if (d == Durability::kSync && !a.durable) {
    return absl::InternalError(
        absl::StrFormat("sync produce to %s at %d returned without durable",
                        tp.ToString(), a.offset));
  }
  on_ack_(a);
  return absl::OkStatus();
}

absl::Status Workload::IdempotentAppend() {
  if (!producer_) {
    auto id = engine_->InitProducerId();
    if (!id.ok()) return id.status();
    producer_ = *id;
  }
  const TopicPartition tp = RandomPartition();
  Ack a;
  a.kind = Ack::Kind::kRecords;
  a.topic = tp.topic;
  a.partition = tp.partition;
  a.count = 1 + static_cast<int32_t>(rng_() % 5);
  a.op_id = next_op_++;
  a.producer_id = producer_->id;
  a.producer_epoch = producer_->epoch;
  a.sequence = next_sequence_[tp];
  const Durability d = static_cast<Durability>(rng_() % 3);
  const std::string batch = MakeIdempotentBatch(a);
  auto r = engine_->Append(tp, batch, {.durability = d});
  if (!r.ok()) {
    // The batch may or may not be in the log: this producer cannot go on
    // with its sequence, as a Kafka producer would not; start a new one.
    producer_.reset();
    next_sequence_.clear();
    return r.status();
  }
  a.offset = r->base_offset;
  a.durable = r->durable;
  if (r->duplicate) {
    return absl::InternalError(absl::StrFormat(
        "%s: first send of producer %d seq %d answered as a duplicate",
        tp.ToString(), a.producer_id, a.sequence));
  }
  next_sequence_[tp] += a.count;
  if (rng_() % 3 == 0) {
    auto again = engine_->Append(tp, batch, {.durability = d});
    if (!again.ok()) return again.status();
    if (!again->duplicate || again->base_offset != a.offset) {
      return absl::InternalError(absl::StrFormat(
          "%s: retry of producer %d seq %d (at %d) was not a duplicate: "
          "appended at %d",
          tp.ToString(), a.producer_id, a.sequence, a.offset,
          again->base_offset));
    }
  }
  on_ack_(a);
  return absl::OkStatus();
}

absl::Status Workload::CommitOffset() {
  const TopicPartition tp = RandomPartition();
  const std::string group =
      absl::StrFormat("g%d", rng_() % std::max(1, options_.groups));
  auto offsets = engine_->Offsets(tp);
  if (!offsets.ok()) return offsets.status();
  auto it = committed_.find({group, tp});
  const int64_t cur = it == committed_.end() ? 0 : it->second;
  const int64_t end = offsets->log_end_offset;
  if (end <= cur) return absl::OkStatus();
  const int64_t offset =
      cur + 1 + static_cast<int64_t>(rng_() % static_cast<uint64_t>(end - cur));
  const bool sync = rng_() % 2 == 0;
  absl::Status s = engine_->groups().Commit(
      group,
      {{.tp = tp, .offset = offset, .metadata = absl::StrFormat("%d", offset)}},
      {.sync = sync});
  if (!s.ok()) return s;
  committed_[{group, tp}] = offset;
  Ack a;
  a.kind = Ack::Kind::kCommit;
  a.topic = tp.topic;
  a.partition = tp.partition;
  a.offset = offset;
  a.durable = sync;
  a.group = group;
  on_ack_(a);
  return absl::OkStatus();
}

absl::Status Workload::Flush() {
  absl::Status s = engine_->Flush();
  if (!s.ok()) return s;
  Ack a;
  a.kind = Ack::Kind::kFlush;
  on_ack_(a);
  return absl::OkStatus();
}

absl::Status Workload::ObserveDurable() {
  const TopicPartition tp = RandomPartition();
  auto offsets = engine_->Offsets(tp);
  if (!offsets.ok()) return offsets.status();
  Ack a;
  a.kind = Ack::Kind::kDurable;
  a.topic = tp.topic;
  a.partition = tp.partition;
  a.offset = offsets->durable_offset;
  on_ack_(a);
  return absl::OkStatus();
}

}  // namespace spool::crashtest

namespace spool::crashtest {

absl::Status Workload::Subscribe() {
  // The dead-letter topic first: the subscription names it.
  absl::Status s = engine_->CreateTopic(
      kDeadLetterTopic,
      CrashTopicConfigFor(kDeadLetterTopic, 1, Durability::kNone));
  if (!s.ok() && !absl::IsAlreadyExists(s)) return s;
  Ack t;
  t.kind = Ack::Kind::kTopic;
  t.topic = kDeadLetterTopic;
  t.count = 1;
  on_ack_(t);
  SubscriptionConfig c;
  c.lease = absl::Hours(1);
  c.max_deliveries = 0;
  c.dead_letter_topic = kDeadLetterTopic;
  s = engine_->subscriptions().CreateSubscription(kQueueTopic,
                                                  kSubscriptionName, c);
  if (!s.ok() && !absl::IsAlreadyExists(s)) return s;
  subscribed_ = true;
  Ack a;
  a.kind = Ack::Kind::kSubscription;
  a.topic = kQueueTopic;
  // (Not `a.group = kSubscriptionName`: GCC 12 at -O3 warns, wrongly,
  // -Wrestrict on assigning this one-character literal.)
  a.group = std::string(kSubscriptionName);
  on_ack_(a);
  return absl::OkStatus();
}

absl::Status Workload::QueueStep() {
  Subscriptions& subs = engine_->subscriptions();
  if (!subscribed_) {
    if (!topics_.contains(kQueueTopic)) return absl::OkStatus();
    absl::Status s = Subscribe();
    if (!s.ok()) return s;
  }
  // Mostly a few records (each an entry of the window), sometimes many
  // (first deliveries then go out as lease runs).
  const int32_t n = rng_() % 4 == 0 ? 16 + static_cast<int32_t>(rng_() % 48)
                                    : 1 + static_cast<int32_t>(rng_() % 5);
  // Acks riding on this Receive: acked if it returns OK; after an error
  // their state is unknown, so they are dropped (as a failed Nack's).
  const std::vector<Delivery> riding = std::move(riding_acks_);
  riding_acks_.clear();
  auto got = subs.Receive(kQueueTopic, kSubscriptionName,
                          {.max_records = n, .ack = riding});
  if (!got.ok()) return got.status();
  ReportQueueAcks(riding, /*durable=*/false);
  for (const ReceivedRecord& r : *got) held_.push_back(r.delivery);
  std::vector<Delivery> keep, ack;
  std::vector<Delivery> held = std::move(held_);
  held_.clear();
  absl::Status failed;
  for (const Delivery& d : held) {
    const int what = static_cast<int>(rng_() % 10);
    if (!failed.ok() || what >= 8) {
      keep.push_back(d);
    } else if (what < 5) {
      ack.push_back(d);
    } else if (what < 7) {
      failed =
          subs.Nack(kQueueTopic, kSubscriptionName, d, absl::ZeroDuration());
    } else {
      failed = subs.Reject(kQueueTopic, kSubscriptionName, d, "crashtest");
      if (failed.ok()) {
        Ack a;
        a.kind = Ack::Kind::kDeadLetter;
        a.topic = kQueueTopic;
        a.partition = d.partition;
        a.offset = d.offset;
        a.durable = true;
        a.group = std::string(kSubscriptionName);
        on_ack_(a);
      }
    }
  }
  // A delivery whose Nack or Reject failed is in an unknown state: dropped.
  held_ = std::move(keep);
  if (!failed.ok()) return failed;
  if (ack.empty()) return absl::OkStatus();
  const bool sync = rng_() % 2 == 0;
  if (!sync && rng_() % 3 == 0) {
    riding_acks_ = std::move(ack);
    return absl::OkStatus();
  }
  // A third as ranges (AckRanges), which must ack exactly the same.
  absl::Status s =
      rng_() % 3 == 0
          ? subs.AckRanges(kQueueTopic, kSubscriptionName, RangesOf(ack),
                           {.sync = sync})
          : subs.Ack(kQueueTopic, kSubscriptionName, ack, {.sync = sync});
  if (!s.ok()) return s;
  ReportQueueAcks(ack, sync);
  return absl::OkStatus();
}

void Workload::ReportQueueAcks(const std::vector<Delivery>& acked,
                               bool durable) {
  for (const Delivery& d : acked) {
    Ack a;
    a.kind = Ack::Kind::kQueueAck;
    a.topic = kQueueTopic;
    a.partition = d.partition;
    a.offset = d.offset;
    a.durable = durable;
    a.group = std::string(kSubscriptionName);
    on_ack_(a);
  }
}

absl::Status Workload::Maintain() {
  std::vector<std::string> compacted, retained;
  for (const auto& [name, partitions] : topics_) {
    if (KindOfTopic(name) == TopicKind::kCompacted) compacted.push_back(name);
    if (KindOfTopic(name) == TopicKind::kRetention) retained.push_back(name);
  }
  if (rng_() % 2 == 0 && !retained.empty()) {
    auto r = engine_->ApplyRetention(retained[rng_() % retained.size()]);
    return r.ok() ? absl::OkStatus() : r.status();
  }
  if (compacted.empty()) return absl::OkStatus();
  const std::string& topic = compacted[rng_() % compacted.size()];
  const TopicPartition tp{topic,
                          static_cast<int32_t>(rng_() % topics_.at(topic))};
  auto r = engine_->Compact(tp);
  // kAborted: retention changed the log meanwhile; a caller retries.
  if (!r.ok() && !absl::IsAborted(r.status())) return r.status();
  return absl::OkStatus();
}

}  // namespace spool::crashtest
