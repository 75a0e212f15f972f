// The acknowledgement model of spool crashtest and its invariant checks
// (crashtest.h, docs/crash-testing.md).

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "crashtest.h"
#include "spool/record.h"
#include "util/strings.h"

namespace spool::crashtest {
namespace {

constexpr int64_t kBaseTimestamp = 1700000000000;

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

absl::Status Violation(const std::string& what) {
  return absl::DataLossError(absl::StrCat("invariant violated: ", what));
}

}  // namespace

// --- Acks ----------------------------------------------------------------

std::string Ack::Encode() const {
  return absl::StrFormat("%c %s %d %d %d %u %d %d %d %d %s",
                         static_cast<char>(kind), topic.empty() ? "-" : topic,
                         partition, offset, count, op_id, durable ? 1 : 0,
                         producer_id, producer_epoch, sequence,
                         group.empty() ? "-" : group);
}

std::optional<Ack> Ack::Decode(std::string_view line) {
  std::vector<std::string> f = absl::StrSplit(ToAbsl(line), ' ');
  if (f.size() != 11 || f[0].size() != 1) return std::nullopt;
  Ack a;
  a.kind = static_cast<Kind>(f[0][0]);
  a.topic = f[1] == "-" ? "" : f[1];
  int durable = 0, epoch = 0;
  if (!absl::SimpleAtoi(f[2], &a.partition) ||
      !absl::SimpleAtoi(f[3], &a.offset) || !absl::SimpleAtoi(f[4], &a.count) ||
      !absl::SimpleAtoi(f[5], &a.op_id) || !absl::SimpleAtoi(f[6], &durable) ||
      !absl::SimpleAtoi(f[7], &a.producer_id) ||
      !absl::SimpleAtoi(f[8], &epoch) || !absl::SimpleAtoi(f[9], &a.sequence)) {
    return std::nullopt;
  }
  a.durable = durable != 0;
  a.producer_epoch = static_cast<int16_t>(epoch);
  a.group = f[10] == "-" ? "" : f[10];
  return a;
}

// --- Record contents -------------------------------------------------------

ExpectedRecord MakeRecord(const std::string& topic, int32_t partition,
                          uint64_t op_id, int32_t i) {
  const uint64_t h = Mix(op_id * 1000003 + static_cast<uint64_t>(i));
  ExpectedRecord r;
  r.key = absl::StrFormat("k%d", h % 64);
  r.value = absl::StrFormat("%s/%d/%x/%d/", topic, partition, op_id, i);
  const size_t filler = h % 160;
  for (size_t j = 0; j < filler; ++j) {
    r.value.push_back(static_cast<char>('a' + (Mix(h + j) % 26)));
  }
  r.timestamp = kBaseTimestamp + static_cast<int64_t>(op_id % 100000);
  return r;
}

std::string MakeIdempotentBatch(const Ack& ack) {
  RecordBatchBuilder b({.producer_id = ack.producer_id,
                        .producer_epoch = ack.producer_epoch,
                        .base_sequence = ack.sequence});
  for (int32_t i = 0; i < ack.count; ++i) {
    ExpectedRecord r = MakeRecord(ack.topic, ack.partition, ack.op_id, i);
    b.Add(r.key, r.value, {}, r.timestamp);
  }
  auto bytes = b.Build();
  return bytes.ok() ? *std::move(bytes) : std::string();
}

TopicConfig CrashTopicConfig(int32_t partitions, Durability durability) {
  TopicConfig c;
  c.partitions = partitions;
  c.segment_bytes = 32 * 1024;
  c.segment_index_bytes = 4096;
  c.index_interval_bytes = 512;
  c.max_batch_bytes = 16 * 1024;
  c.durability = durability;
  c.flush_interval = absl::Milliseconds(20);
  c.flush_records = 50;
  // The workload's timestamps are fixed in the past: no time retention.
  c.retention = absl::InfiniteDuration();
  return c;
}

TopicKind KindOfTopic(std::string_view topic) {
  if (topic == kDeadLetterTopic) return TopicKind::kDeadLetter;
  if (topic.starts_with('c')) return TopicKind::kCompacted;
  if (topic.starts_with('r')) return TopicKind::kRetention;
  return TopicKind::kPlain;
}

TopicConfig CrashTopicConfigFor(std::string_view topic, int32_t partitions,
                                Durability durability) {
  TopicConfig c = CrashTopicConfig(partitions, durability);
  switch (KindOfTopic(topic)) {
    case TopicKind::kCompacted:
      c.cleanup_policy = CleanupPolicy::kCompact;
      c.segment_bytes = 4096;
      c.max_batch_bytes = 4096;
      c.min_cleanable_dirty_ratio = 0.1;
      break;
    case TopicKind::kRetention:
      c.segment_bytes = 4096;
      c.max_batch_bytes = 4096;
      c.retention_bytes = 8192;
      break;
    case TopicKind::kDeadLetter:
    case TopicKind::kPlain:
      break;
  }
  return c;
}

// --- Model -----------------------------------------------------------------

void Model::Apply(const Ack& ack) {
  switch (ack.kind) {
    case Ack::Kind::kTopic:
      topics_[ack.topic] = ack.count;
      for (int32_t p = 0; p < ack.count; ++p) partitions_[{ack.topic, p}];
      break;
    case Ack::Kind::kRecords: {
      Partition& part = partitions_[{ack.topic, ack.partition}];
      for (int32_t i = 0; i < ack.count; ++i) {
        part.records[ack.offset + i] = {ack.op_id, i, ack.durable};
      }
      if (ack.producer_id >= 0) part.last_idempotent = ack;
      acked_records_ += ack.count;
      break;
    }
    case Ack::Kind::kCommit: {
      Commit& c = commits_[{ack.group, {ack.topic, ack.partition}}];
      c.last = ack.offset;
      if (ack.durable) c.last_synced = ack.offset;
      break;
    }
    case Ack::Kind::kFlush:
      for (auto& [tp, part] : partitions_) {
        for (auto& [offset, placed] : part.records) placed.durable = true;
      }
      break;
    case Ack::Kind::kSubscription:
      queue_acks_[{ack.topic, ack.group}];
      break;
    case Ack::Kind::kQueueAck:
      queue_acks_[{ack.topic, ack.group}][{ack.topic, ack.partition}]
                 [ack.offset] = ack.durable;
      break;
    case Ack::Kind::kDeadLetter:
      // Reject is durable on return: done for good, and in the dlq.
      queue_acks_[{ack.topic, ack.group}][{ack.topic, ack.partition}]
                 [ack.offset] = true;
      dead_lettered_.insert({ack.partition, ack.offset});
      break;
    case Ack::Kind::kDurable: {
      Partition& part = partitions_[{ack.topic, ack.partition}];
      for (auto it = part.records.begin();
           it != part.records.end() && it->first < ack.offset; ++it) {
        it->second.durable = true;
      }
      break;
    }
  }
}

absl::Status Model::Verify(Engine& engine, bool power_lost,
                           const std::vector<std::string>& data_dirs,
                           FileSystem* fs, VerifyStats* stats) {
  absl::Status s = VerifyTopics(engine, data_dirs, fs);
  if (!s.ok()) return s;
  for (auto& [tp, part] : partitions_) {
    s = VerifyPartition(engine, tp, part, power_lost, stats);
    if (!s.ok()) return s;
  }
  s = VerifyCommits(engine, power_lost, stats);
  if (!s.ok()) return s;
  s = VerifyDeadLetters(engine, stats);
  if (!s.ok()) return s;
  return VerifyQueues(engine, power_lost, stats);
}

// Every topic acknowledged exists with its partition count, and the
// catalog and the partition directories agree both ways.
absl::Status Model::VerifyTopics(Engine& engine,
                                 const std::vector<std::string>& data_dirs,
                                 FileSystem* fs) {
  auto listed = engine.ListTopics();
  if (!listed.ok()) return listed.status();
  std::set<std::string> expected_dirs;
  for (const std::string& name : *listed) {
    auto d = engine.DescribeTopic(name);
    if (!d.ok()) return d.status();
    auto it = topics_.find(name);
    if (it != topics_.end() &&
        static_cast<int32_t>(d->partitions.size()) != it->second) {
      return Violation(
          absl::StrFormat("topic %s has %d partitions, %d were created", name,
                          d->partitions.size(), it->second));
    }
    for (const PartitionInfo& p : d->partitions) {
      const std::string dir =
          JoinPath(p.data_dir, absl::StrFormat("%s-%d", name, p.partition));
      auto info = fs->Stat(dir);
      if (!info.ok() || !info->is_directory) {
        return Violation(absl::StrFormat(
            "catalog has %s-%d in %s but the directory %s is missing", name,
            p.partition, p.data_dir, dir));
      }
      expected_dirs.insert(dir);
    }
  }
  for (const auto& [name, partitions] : topics_) {
    if (std::find(listed->begin(), listed->end(), name) == listed->end()) {
      return Violation(absl::StrFormat(
          "topic %s (%d partitions) was created but is not in the catalog",
          name, partitions));
    }
  }
  // Partition directories ("<topic>-<n>") the catalog does not know.
  for (const std::string& data_dir : data_dirs) {
    auto entries = fs->ListDir(data_dir);
    if (!entries.ok()) return entries.status();
    for (const std::string& e : *entries) {
      const size_t dash = e.rfind('-');
      int32_t n = 0;
      if (dash == std::string::npos || e.find('.') != std::string::npos ||
          !absl::SimpleAtoi(ToAbsl(std::string_view(e).substr(dash + 1)), &n)) {
        continue;
      }
      const std::string dir = JoinPath(data_dir, e);
      auto info = fs->Stat(dir);
      if (!info.ok() || !info->is_directory) continue;
      if (!expected_dirs.contains(dir)) {
        return Violation(absl::StrFormat(
            "partition directory %s is not in the catalog (topics: %s)", dir,
            absl::StrJoin(*listed, ", ")));
      }
    }
  }
  return absl::OkStatus();
}

// Reads the whole partition back: every batch validates, offsets increase
// from the log start (densely, except where compaction removed records),
// every record is one the workload wrote (byte for byte) and appears once;
// every acknowledged record below the log end is at its offset, or, in a
// compacted topic, superseded by a record of its key at a higher offset
// that is present; nothing promised durable is beyond the log end. The log
// start is 0 except in retention topics, where acknowledged records below
// it are gone legitimately.
absl::Status Model::VerifyPartition(Engine& engine, const TopicPartition& tp,
                                    Partition& part, bool power_lost,
                                    VerifyStats* stats) {
  const TopicKind kind = KindOfTopic(tp.topic);
  if (kind == TopicKind::kDeadLetter) return absl::OkStatus();
  const bool compacted = kind == TopicKind::kCompacted;
  auto offsets = engine.Offsets(tp);
  if (!offsets.ok()) return offsets.status();
  const int64_t start = offsets->log_start_offset;
  const int64_t end = offsets->log_end_offset;
  if ((start != 0 && kind != TopicKind::kRetention) || start > end) {
    return Violation(
        absl::StrFormat("%s: log start %d (log end %d), expected "
                        "0: no retention on this topic",
                        tp.ToString(), start, end));
  }
  // Retention took what is below the log start.
  for (auto it = part.records.begin();
       it != part.records.end() && it->first < start;) {
    ++stats->records_retention_allowed;
    it = part.records.erase(it);
  }
  std::set<std::pair<uint64_t, int32_t>> seen;
  std::map<std::string, int64_t> last_of_key;  // compacted: highest present
  std::vector<int64_t> missing;                // acknowledged offsets not found
  // A record after the last acknowledged idempotent batch that was never
  // acknowledged (the crash came between the append and its report) may
  // be a later batch of the same producer: then the retry is no longer of
  // the producer's last batch, and the engine rightly answers it out of
  // order (as Kafka does once only the last batch is known).
  bool unacked_after_idempotent = false;
  auto acked_next = part.records.lower_bound(start);
  int64_t next = start;
  while (next < end) {
    auto f = engine.Fetch(tp, next, {.max_bytes = 256 * 1024});
    if (!f.ok()) {
      return Violation(absl::StrFormat("%s: fetch at %d of [%d, %d): %s",
                                       tp.ToString(), next, start, end,
                                       f.status().ToString()));
    }
    if (f->batches.empty()) {
      // Compaction may have removed everything up to the log end.
      if (compacted) break;
      return Violation(
          absl::StrFormat("%s: fetch at %d returned nothing, log end %d",
                          tp.ToString(), next, end));
    }
    for (const RecordBatchView& batch : f->batches) {
      absl::Status v = batch.Validate();
      if (!v.ok()) {
        return Violation(absl::StrFormat(
            "%s: corrupt batch at %d returned: %s", tp.ToString(),
            batch.header().base_offset, v.ToString()));
      }
    }
    const int64_t before = next;
    absl::Status bad;
    absl::Status it = f->ForEachRecord([&](const RecordView& r) {
      if (r.offset < next || (r.offset > next && !compacted)) {
        bad = Violation(absl::StrFormat("%s: offset %d follows %d",
                                        tp.ToString(), r.offset, next - 1));
        return false;
      }
      for (; acked_next != part.records.end() && acked_next->first < r.offset;
           ++acked_next) {
        missing.push_back(acked_next->first);
      }
      const std::string value(r.value.value_or(""));
      std::vector<std::string> f5 =
          absl::StrSplit(value, absl::MaxSplits('/', 4));
      uint64_t op = 0;
      int32_t idx = 0, p = 0;
      if (f5.size() != 5 || f5[0] != tp.topic || !absl::SimpleAtoi(f5[1], &p) ||
          p != tp.partition || !absl::SimpleHexAtoi(f5[2], &op) ||
          !absl::SimpleAtoi(f5[3], &idx)) {
        bad = Violation(absl::StrFormat(
            "%s: record at %d is not one written "
            "to this partition: value \"%s\"",
            tp.ToString(), r.offset, absl::CHexEscape(value.substr(0, 80))));
        return false;
      }
      ExpectedRecord want = MakeRecord(tp.topic, tp.partition, op, idx);
      if (value != want.value || r.key != std::string_view(want.key) ||
          r.timestamp != want.timestamp) {
        bad = Violation(absl::StrFormat(
            "%s: record at %d (op %x #%d) differs from what was written",
            tp.ToString(), r.offset, op, idx));
        return false;
      }
      if (!seen.insert({op, idx}).second) {
        bad = Violation(
            absl::StrFormat("%s: record op %x #%d appears twice (again at %d)",
                            tp.ToString(), op, idx, r.offset));
        return false;
      }
      const bool is_acked =
          acked_next != part.records.end() && acked_next->first == r.offset;
      if (!is_acked && part.last_idempotent &&
          r.offset >= part.last_idempotent->offset) {
        unacked_after_idempotent = true;
      }
      if (is_acked) {
        const Placed& acked = acked_next->second;
        if (acked.op_id != op || acked.index != idx) {
          bad = Violation(absl::StrFormat(
              "%s: offset %d holds op %x #%d but op %x #%d was acknowledged "
              "there",
              tp.ToString(), r.offset, op, idx, acked.op_id, acked.index));
          return false;
        }
        ++stats->records_checked;
        ++acked_next;
      }
      if (compacted) last_of_key[want.key] = r.offset;
      ++stats->records_scanned;
      next = r.offset + 1;
      return true;
    });
    if (!bad.ok()) return bad;
    if (!it.ok()) {
      return Violation(absl::StrFormat("%s: decoding at %d: %s", tp.ToString(),
                                       next, it.ToString()));
    }
    if (next == before) {
      if (compacted && f->next_offset > next) {
        next = f->next_offset;  // batches emptied by compaction
        continue;
      }
      return Violation(absl::StrFormat("%s: fetch did not advance at %d",
                                       tp.ToString(), next));
    }
  }
  for (; acked_next != part.records.end() && acked_next->first < end;
       ++acked_next) {
    missing.push_back(acked_next->first);
  }
  // Acknowledged records below the log end that are not there: only
  // compaction may remove them, and only for a later record of their key.
  for (int64_t offset : missing) {
    const Placed& placed = part.records.at(offset);
    const std::string key =
        MakeRecord(tp.topic, tp.partition, placed.op_id, placed.index).key;
    auto later = last_of_key.find(key);
    if (!compacted || later == last_of_key.end() || later->second <= offset) {
      return Violation(absl::StrFormat(
          "%s: acknowledged%s record op %x #%d at offset %d is missing (log "
          "[%d, %d)%s)",
          tp.ToString(), placed.durable ? " durable" : "", placed.op_id,
          placed.index, offset, start, end,
          compacted ? absl::StrFormat(", no later record of key %s", key)
                    : ""));
    }
    ++stats->records_compacted_allowed;
    part.records.erase(offset);
  }
  // Acknowledged records beyond the log end were lost: allowed only for
  // unsynced ones after a power loss.
  for (auto it = part.records.lower_bound(end); it != part.records.end();) {
    if (!power_lost || it->second.durable) {
      return Violation(absl::StrFormat(
          "%s: acknowledged%s record op %x #%d at offset %d lost (log end "
          "%d after %s)",
          tp.ToString(), it->second.durable ? " durable" : "", it->second.op_id,
          it->second.index, it->first, end,
          power_lost ? "power loss" : "process crash"));
    }
    ++stats->records_lost_allowed;
    it = part.records.erase(it);
  }
  if (part.last_idempotent &&
      (part.last_idempotent->offset + part.last_idempotent->count > end ||
       part.last_idempotent->offset < start || unacked_after_idempotent)) {
    part.last_idempotent.reset();
  }
  return absl::OkStatus();
}

// Every acknowledged commit (after a power loss: every synced one) holds:
// the committed offset is at least it. Commits only grow in the workload.
absl::Status Model::VerifyCommits(Engine& engine, bool power_lost,
                                  VerifyStats* stats) {
  for (auto& [key, c] : commits_) {
    const auto& [group, tp] = key;
    auto got = engine.groups().FetchCommitted(group, {{tp}});
    if (!got.ok()) return got.status();
    auto it = got->find(tp);
    const int64_t have = it == got->end() ? -1 : it->second.offset;
    const int64_t need = power_lost ? c.last_synced : c.last;
    if (have < need) {
      return Violation(absl::StrFormat(
          "group %s %s: committed offset %d, but %s commit of %d was "
          "acknowledged",
          group, tp.ToString(), have, power_lost ? "a synced" : "a", need));
    }
    if (have >= 0 && it->second.metadata != absl::StrFormat("%d", have)) {
      return Violation(absl::StrFormat(
          "group %s %s: offset %d with metadata \"%s\" of another commit",
          group, tp.ToString(), have, it->second.metadata));
    }
    c.last = have;
    ++stats->commits_checked;
  }
  return absl::OkStatus();
}

absl::Status Model::RetryLastIdempotent(Engine& engine, VerifyStats* stats) {
  for (auto& [tp, part] : partitions_) {
    if (!part.last_idempotent) continue;
    const Ack& a = *part.last_idempotent;
    auto r = engine.Append(tp, MakeIdempotentBatch(a));
    if (!r.ok()) {
      return Violation(absl::StrFormat(
          "%s: retry of idempotent batch (producer %d epoch %d seq %d) at "
          "%d failed: %s",
          tp.ToString(), a.producer_id, a.producer_epoch, a.sequence, a.offset,
          r.status().ToString()));
    }
    if (!r->duplicate || r->base_offset != a.offset ||
        r->last_offset != a.offset + a.count - 1) {
      return Violation(absl::StrFormat(
          "%s: retry of idempotent batch (producer %d seq %d) acknowledged "
          "at [%d, %d] came back %s at [%d, %d]",
          tp.ToString(), a.producer_id, a.sequence, a.offset,
          a.offset + a.count - 1, r->duplicate ? "a duplicate" : "appended",
          r->base_offset, r->last_offset));
    }
    ++stats->retries_checked;
  }
  return absl::OkStatus();
}

}  // namespace spool::crashtest
