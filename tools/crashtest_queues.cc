// The queue checks of the spool crashtest model (crashtest.h): queue acks
// that had to hold are not redelivered, deliveries match the log, and the
// dead-letter topic holds exactly the rejected records.

#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "crashtest.h"
#include "spool/record.h"
#include "spool/subscriptions.h"

namespace spool::crashtest {
namespace {

absl::Status Violation(const std::string& what) {
  return absl::DataLossError(absl::StrCat("invariant violated: ", what));
}

}  // namespace

// Receives everything a subscription has available: no record whose ack
// had to survive may come back, and every record is the log's, byte for
// byte. Then releases them all again (nack without delay). After a power
// loss, unsynced acks that were undone are forgotten.
absl::Status Model::VerifyQueues(Engine& engine, bool power_lost,
                                 VerifyStats* stats) {
  for (auto& [key, acked] : queue_acks_) {
    const auto& [topic, name] = key;
    Subscriptions& subs = engine.subscriptions();
    if (power_lost) {
      // Acks of records the power loss took (appended unsynced) are moot:
      // the offsets are free again, and records appended there later are
      // new ones to deliver (crashtest power seed 1: an idempotent retry
      // refilled offset 0 after the loss).
      for (auto& [tp, offsets] : acked) {
        auto o = engine.Offsets(tp);
        if (!o.ok()) return o.status();
        for (auto it = offsets.lower_bound(o->log_end_offset);
             it != offsets.end();) {
          ++stats->queue_acks_lost_allowed;
          it = offsets.erase(it);
        }
      }
    }
    std::vector<Delivery> got;
    for (;;) {
      auto r = subs.Receive(topic, name,
                            {.max_records = 500, .lease = absl::Hours(2)});
      if (!r.ok()) {
        return Violation(absl::StrFormat("subscription %s/%s: receive: %s",
                                         topic, name, r.status().ToString()));
      }
      if (r->empty()) break;
      for (const ReceivedRecord& rec : *r) {
        const TopicPartition tp{topic, rec.delivery.partition};
        auto p = acked.find(tp);
        if (p != acked.end()) {
          auto it = p->second.find(rec.delivery.offset);
          if (it != p->second.end()) {
            if (!power_lost || it->second) {
              return Violation(absl::StrFormat(
                  "subscription %s/%s: %s offset %d redelivered (attempt "
                  "%d) after its %sack was acknowledged",
                  topic, name, tp.ToString(), rec.delivery.offset,
                  rec.delivery.attempt, it->second ? "synced " : ""));
            }
            ++stats->queue_acks_lost_allowed;
            p->second.erase(it);
          }
        }
        auto f = engine.Fetch(tp, rec.delivery.offset, {.max_bytes = 1});
        bool same = false;
        if (f.ok()) {
          f->ForEachRecord([&](const RecordView& v) {
             same = v.offset == rec.delivery.offset &&
                    v.value == std::optional<std::string_view>(rec.value) &&
                    v.key == std::optional<std::string_view>(rec.key);
             return false;
           }).IgnoreError();  // a decoding error leaves `same` false
        }
        if (!same) {
          return Violation(absl::StrFormat(
              "subscription %s/%s: delivered %s offset %d differs from the "
              "log",
              topic, name, tp.ToString(), rec.delivery.offset));
        }
        ++stats->queue_deliveries_checked;
        got.push_back(rec.delivery);
      }
    }
    for (const Delivery& d : got) {
      absl::Status s = subs.Nack(topic, name, d, absl::ZeroDuration());
      if (!s.ok()) return s;
    }
    for (const auto& [tp, offsets] : acked) {
      for (const auto& [offset, synced] : offsets) {
        if (!power_lost || synced) ++stats->queue_acks_checked;
      }
    }
  }
  return absl::OkStatus();
}

// The dead-letter topic holds copies of records of kQueueTopic (key and
// value byte for byte, headers naming where they came from), each at most
// once, and every rejection that was acknowledged.
absl::Status Model::VerifyDeadLetters(Engine& engine, VerifyStats* stats) {
  if (!topics_.contains(kDeadLetterTopic)) return absl::OkStatus();
  const TopicPartition tp{kDeadLetterTopic, 0};
  auto offsets = engine.Offsets(tp);
  if (!offsets.ok()) return offsets.status();
  std::set<std::pair<int32_t, int64_t>> seen;  // partition, offset
  std::set<std::tuple<int32_t, uint64_t, int32_t>> records;  // p, op, index
  int64_t next = offsets->log_start_offset;
  while (next < offsets->log_end_offset) {
    auto f = engine.Fetch(tp, next, {.max_bytes = 256 * 1024});
    if (!f.ok() || f->batches.empty()) {
      return Violation(absl::StrFormat(
          "%s: fetch at %d of log end %d: %s", tp.ToString(), next,
          offsets->log_end_offset, f.ok() ? "nothing" : f.status().ToString()));
    }
    absl::Status bad;
    absl::Status it = f->ForEachRecord([&](const RecordView& r) {
      if (r.offset != next) {
        bad = Violation(absl::StrFormat("%s: offset %d follows %d",
                                        tp.ToString(), r.offset, next - 1));
        return false;
      }
      std::string topic;
      int32_t partition = -1;
      int64_t offset = -1;
      for (const HeaderView& h : r.headers) {
        const std::string v(h.value.value_or(""));
        if (h.key == kDlqTopicHeader) topic = v;
        if (h.key == kDlqPartitionHeader && !absl::SimpleAtoi(v, &partition)) {
          partition = -1;
        }
        if (h.key == kDlqOffsetHeader && !absl::SimpleAtoi(v, &offset)) {
          offset = -1;
        }
      }
      const std::string value(r.value.value_or(""));
      std::vector<std::string> f5 =
          absl::StrSplit(value, absl::MaxSplits('/', 4));
      uint64_t op = 0;
      int32_t idx = 0, p = -1;
      if (topic != kQueueTopic || f5.size() != 5 || f5[0] != kQueueTopic ||
          !absl::SimpleAtoi(f5[1], &p) || p != partition ||
          !absl::SimpleHexAtoi(f5[2], &op) || !absl::SimpleAtoi(f5[3], &idx)) {
        bad = Violation(absl::StrFormat(
            "%s: record at %d is no dead letter of %s (topic header "
            "\"%s\", partition %d, value \"%s\")",
            tp.ToString(), r.offset, kQueueTopic, topic, partition,
            absl::CHexEscape(value.substr(0, 80))));
        return false;
      }
      const ExpectedRecord want = MakeRecord(kQueueTopic, p, op, idx);
      // Not compared with what the model has at that offset now: a record
      // delivered and rejected before it was durable may be lost in a power
      // loss and its offset reused (docs/crash-testing.md, Findings).
      if (value != want.value || r.key != std::string_view(want.key)) {
        bad = Violation(absl::StrFormat(
            "%s: dead letter at %d of %s-%d offset %d differs from the "
            "record it names",
            tp.ToString(), r.offset, kQueueTopic, partition, offset));
        return false;
      }
      // Once per record (an offset may name two records if the first was
      // lost in a power loss and the offset reused).
      if (!records.insert({p, op, idx}).second) {
        bad = Violation(absl::StrFormat(
            "%s: %s-%d offset %d (op %x #%d) dead-lettered twice (again at "
            "%d)",
            tp.ToString(), kQueueTopic, partition, offset, op, idx, r.offset));
        return false;
      }
      seen.insert({partition, offset});
      ++next;
      return true;
    });
    if (!bad.ok()) return bad;
    if (!it.ok()) {
      return Violation(absl::StrFormat("%s: decoding at %d: %s", tp.ToString(),
                                       next, it.ToString()));
    }
  }
  for (const auto& [partition, offset] : dead_lettered_) {
    if (!seen.contains({partition, offset})) {
      return Violation(absl::StrFormat(
          "%s-%d offset %d: its rejection was acknowledged but it is not in "
          "the dead-letter topic %s",
          kQueueTopic, partition, offset, kDeadLetterTopic));
    }
    ++stats->dead_letters_checked;
  }
  return absl::OkStatus();
}

}  // namespace spool::crashtest
