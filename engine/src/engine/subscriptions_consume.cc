// SubscriptionsImpl: Receive, Ack, Nack, ExtendLease, Reject and parked
// keys (see subscriptions_impl.h).

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string_view>
#include <tuple>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/str_format.h"
#include "engine/log_chunk.h"
#include "engine/subscriptions_impl.h"
#include "util/status_macros.h"

namespace spool {
namespace {

constexpr int64_t kFillBytes = 256 << 10;
constexpr int kMaxFillRounds = 16;
constexpr int32_t kMaxReceiveRecords = 100000;
// Receives that ask for fewer records take them through the window, one
// entry each: a lease run costs a few allocations and a timer, which pays
// off over many records, and small runs would make many.
constexpr size_t kMinRunRecords = 16;
// A Receive whose acks ride on it, all of one partition that no other
// thread holds, starts at that partition, except every kStickyCalls-th
// such call, which starts at the next partition in turn (TryReceive).
constexpr uint32_t kStickyCalls = 16;

// Reads the records Take handed out without data (redeliveries: the
// first delivery handed the data to its consumer) back from the log into
// out->records[i], i in `unread` (ascending offsets), holding the chunks
// read in out->holds. Records the log no longer has (retention,
// compaction) are reported Lost and dropped from *out. On a read error,
// the records still without data are dropped from *out (they stay leased
// and come back when the lease ends) and the error is returned.
absl::Status ReadBack(Engine& engine, const TopicPartition& tp,
                      PartitionQueue& q, const std::vector<size_t>& unread,
                      TableStore::Batch* batch, ReceivedBatch* out) {
  if (unread.empty()) return absl::OkStatus();
  std::vector<ReceivedRecordView>& records = out->records;
  std::vector<bool> drop(records.size(), false);
  absl::Status status;
  size_t k = 0;
  auto offset_of = [&](size_t i) { return records[unread[i]].delivery.offset; };
  auto lose = [&](size_t i) {
    q.Lost(offset_of(i), batch);
    drop[unread[i]] = true;
  };
  while (k < unread.size()) {
    const int64_t from = offset_of(k);
    absl::StatusOr<std::shared_ptr<LogChunk>> chunk =
        LogChunk::FromFetch(engine.Fetch(tp, from, {.max_bytes = kFillBytes}));
    if (absl::IsOutOfRange(chunk.status())) {  // below the log start now
      lose(k++);
      continue;
    }
    if (!chunk.ok()) {
      status = chunk.status();
      break;
    }
    // Records found here, with their bytes in the chunk.
    std::vector<std::pair<size_t, std::string_view>> found;
    size_t found_bytes = 0;
    status = (*chunk)->ForEachRecord(
        [&](const RecordView& r, std::string_view encoded) {
          while (k < unread.size() && offset_of(k) < r.offset) lose(k++);
          if (k == unread.size()) return false;
          if (offset_of(k) == r.offset) {
            records[unread[k]].record = r;
            found.emplace_back(unread[k++], encoded);
            found_bytes += encoded.size();
          }
          return k < unread.size();
        });
    if (found_bytes * 4 >= (*chunk)->fetch().data.size()) {
      out->holds.push_back(*chunk);
    } else {
      // A few records of a large read (scattered redeliveries): hold
      // copies of them rather than the whole read.
      for (const auto& [i, encoded] : found) {
        RecordView& v = records[i].record;
        std::string_view copy;
        std::shared_ptr<const LogChunk> held = LogChunk::CopyOf(encoded, &copy);
        RecordView copied;
        if (DecodeEncodedRecord(copy, &copied).ok()) {
          copied.offset = v.offset;
          copied.timestamp = v.timestamp;
          v = std::move(copied);
        } else {
          held = *chunk;  // (cannot happen: it decoded above) keep the read
        }
        out->holds.push_back(std::move(held));
      }
    }
    if (!status.ok()) break;
    // Offsets below next_offset that were not seen have no record now;
    // an empty read means the log ends before them.
    const FetchResult& f = (*chunk)->fetch();
    const int64_t next = f.batches.empty() ? INT64_MAX : f.next_offset;
    while (k < unread.size() && offset_of(k) < std::max(next, from + 1)) {
      lose(k++);
    }
  }
  for (; k < unread.size(); ++k) drop[unread[k]] = true;  // after an error
  size_t w = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    if (drop[i]) continue;
    if (w != i) records[w] = std::move(records[i]);
    ++w;
  }
  records.resize(w);
  return status;
}

// Reads the log at the queue's cursor (up to kFillBytes), first skipping
// offsets that retention deleted before the subscription finished them.
// Null when there is nothing to read: the log ends at the cursor, or the
// cursor is past its end (a truncation: wait). `appends`: the engine's
// append count; a read that found the end is not repeated until it moves.
absl::StatusOr<std::shared_ptr<LogChunk>> ReadAtCursor(
    Engine& engine, const TopicPartition& tp,
    const std::atomic<uint64_t>& appends, PartitionQueue& q,
    TableStore::Batch* batch) {
  // Loaded before the read: an append after it moves the count.
  const uint64_t seen = appends.load(std::memory_order_acquire);
  if (q.AtEndSeen(seen)) return nullptr;
  for (;;) {
    absl::StatusOr<std::shared_ptr<LogChunk>> chunk = LogChunk::FromFetch(
        engine.Fetch(tp, q.cursor(),
                     {.max_bytes = kFillBytes, .end_at_indexed_batch = true}));
    if (absl::IsOutOfRange(chunk.status())) {
      SPOOL_ASSIGN_OR_RETURN(PartitionOffsets o, engine.Offsets(tp));
      if (q.cursor() >= o.log_start_offset) return nullptr;
      q.SkipTo(o.log_start_offset, batch);
      continue;
    }
    if (!chunk.ok()) return chunk.status();
    if ((*chunk)->fetch().batches.empty()) {
      q.SetEndSeen(seen);
      return nullptr;
    }
    return chunk;
  }
}

// Appends d to *out, as one more offset of the last range if it is the
// next offset of its partition at its attempt.
void AddDelivery(const Delivery& d, std::vector<DeliveryRange>* out) {
  if (!out->empty()) {
    DeliveryRange& last = out->back();
    if (last.partition == d.partition && last.attempt == d.attempt &&
        last.end_offset == d.offset) {
      ++last.end_offset;
      return;
    }
  }
  out->push_back({.partition = d.partition,
                  .first_offset = d.offset,
                  .end_offset = d.offset + 1,
                  .attempt = d.attempt});
}

// What to ack, from deliveries and ranges: ranges sorted by partition,
// first offset and attempt, consecutive ones of the same attempt merged
// (a batch's deliveries in order make one range per partition).
// kInvalidArgument for an empty range.
absl::StatusOr<std::vector<DeliveryRange>> AckRangesOf(
    absl::Span<const Delivery> deliveries,
    absl::Span<const DeliveryRange> ranges) {
  std::vector<DeliveryRange> out;
  out.reserve(ranges.size() + (deliveries.empty() ? 0 : 4));
  for (const DeliveryRange& r : ranges) {
    if (r.first_offset >= r.end_offset) {
      return absl::InvalidArgumentError(
          absl::StrFormat("ack: the range [%d, %d) of partition %d is empty",
                          r.first_offset, r.end_offset, r.partition));
    }
    out.push_back(r);
  }
  for (const Delivery& d : deliveries) AddDelivery(d, &out);
  auto less = [](const DeliveryRange& a, const DeliveryRange& b) {
    return std::tie(a.partition, a.first_offset, a.attempt) <
           std::tie(b.partition, b.first_offset, b.attempt);
  };
  if (std::is_sorted(out.begin(), out.end(), less)) return out;
  std::sort(out.begin(), out.end(), less);
  size_t w = 0;
  for (size_t i = 1; i < out.size(); ++i) {
    DeliveryRange& last = out[w];
    if (out[i].partition == last.partition && out[i].attempt == last.attempt &&
        out[i].first_offset <= last.end_offset) {
      last.end_offset = std::max(last.end_offset, out[i].end_offset);
    } else {
      out[++w] = out[i];
    }
  }
  out.resize(w + 1);
  return out;
}

// Appends an owned copy of a received record to *out.
void AppendCopy(const ReceivedRecordView& v, std::vector<ReceivedRecord>* out) {
  ReceivedRecord& c = out->emplace_back();
  c.delivery = v.delivery;
  if (v.record.key.has_value()) c.key.emplace(*v.record.key);
  if (v.record.value.has_value()) c.value.emplace(*v.record.value);
  if (!v.record.headers.empty()) c.headers = CopyHeaders(v.record);
  c.timestamp = v.record.timestamp;
  c.lease_deadline = v.lease_deadline;
}

}  // namespace

absl::Status SubscriptionsImpl::Fill(const Sub& sub, PartitionQueue& q,
                                     int32_t partition, size_t want,
                                     absl::Time now,
                                     TableStore::Batch* batch) const {
  const TopicPartition tp{sub.stored.topic, partition};
  q.SetFresh(nullptr);  // this reads on from the cursor
  for (int round = 0;
       round < kMaxFillRounds && q.available() < want && !q.WindowFull();
       ++round) {
    SPOOL_ASSIGN_OR_RETURN(std::shared_ptr<LogChunk> chunk,
                           ReadAtCursor(*engine_, tp, appends_, q, batch));
    if (chunk == nullptr) return absl::OkStatus();
    const FetchResult& f = chunk->fetch();
    // Entries share the chunk: a const view of it, filled in by the loop
    // (the decompressed regions it keeps) before any consumer sees it.
    const std::shared_ptr<const LogChunk> shared = chunk;
    bool full = false;
    SPOOL_RETURN_IF_ERROR(chunk->ForEachRecord(
        [&](const RecordView& r, std::string_view encoded) {
          if (q.WindowFull()) {
            full = true;
            return false;
          }
          q.AddRecord(r, encoded, shared, now, batch);
          return true;
        }));
    if (full) break;
    q.AdvanceCursor(f.next_offset);
  }
  return absl::OkStatus();
}

absl::Status SubscriptionsImpl::TakeFresh(const Sub& sub, PartitionQueue& q,
                                          int32_t partition, size_t max_records,
                                          absl::Time now, absl::Duration lease,
                                          TableStore::Batch* batch,
                                          ReceivedBatch* out) const {
  const TopicPartition tp{sub.stored.topic, partition};
  for (int round = 0;
       round < kMaxFillRounds && out->size() < max_records && q.FreshReady();
       ++round) {
    if (!q.has_fresh()) {
      SPOOL_ASSIGN_OR_RETURN(std::shared_ptr<LogChunk> chunk,
                             ReadAtCursor(*engine_, tp, appends_, q, batch));
      if (chunk == nullptr) return absl::OkStatus();
      q.SetFresh(std::move(chunk));
    }
    SPOOL_RETURN_IF_ERROR(q.TakeFresh(
        static_cast<int>(max_records - out->size()), now, lease, batch, out));
  }
  return absl::OkStatus();
}

absl::StatusOr<ReceivedBatch> SubscriptionsImpl::TryReceive(
    Sub& sub, int32_t max_records, absl::Duration lease,
    absl::Span<const DeliveryRange> acks,
    std::optional<absl::Time>* next_timer) {
  SPOOL_ASSIGN_OR_RETURN(std::vector<PartPtr> parts, Parts(sub));
  // Partitions locked until `held_rows` is written: those of the acks,
  // and those visited meanwhile (taken with TryLock, never waiting while
  // holding locks, so no lock order is needed). One write for all.
  std::vector<PartPtr> held;
  TableStore::Batch held_rows;
  bool waited = false;
  if (!acks.empty()) {
    SPOOL_RETURN_IF_ERROR(LockAndAck(sub, acks, &held, &held_rows, &waited));
    for (const PartPtr& part : held) {
      part->busy.store(true, std::memory_order_relaxed);
    }
  }
  // A consumer whose acks are all of one partition, found free, goes on
  // there: the partition is locked already and one row carries the acks
  // and the new mark. One that had to wait for it starts at the next
  // partition in turn, so consumers staying with their partitions do not
  // queue behind each other. Every kStickyCalls-th such call of the
  // subscription starts at the next partition in turn too, so that a
  // partition no consumer stays with is served as well.
  const bool sticky =
      held.size() == 1 &&
      sub.riding_acks_calls.fetch_add(1, std::memory_order_relaxed) %
              kStickyCalls !=
          0 &&
      !waited;
  auto is_held = [&](const Part* part) {
    return std::any_of(held.begin(), held.end(),
                       [&](const PartPtr& h) { return h.get() == part; });
  };
  // Writes held_rows and unlocks the held partitions: once, after the
  // visits (also after a failed one: the acks are applied in memory).
  auto release = [&]() -> absl::Status {
    if (held.empty()) return absl::OkStatus();
    for (const PartPtr& part : held) part->queue.FlushRows(&held_rows);
    absl::Status s = WriteRows(sub, held_rows, /*sync=*/false);
    for (const PartPtr& part : held) {
      part->busy.store(false, std::memory_order_relaxed);
      part->mu.Unlock();
    }
    held.clear();
    if (!acks.empty() && sub.stored.config.ordered_by_key) Signal(sub);
    return s;
  };
  ReceivedBatch out;
  out.records.reserve(static_cast<size_t>(std::min(max_records, 1024)));
  std::vector<size_t> unread;
  const size_t n = parts.size();
  // (% n: `parts` may predate partitions the acks name.)
  size_t start = 0;
  if (n > 0) {
    start = sticky ? static_cast<size_t>(acks.front().partition) % n
                   : sub.next_part.fetch_add(1) % n;
  }
  bool dead_letters = false;
  absl::InlinedVector<size_t, 8> busy;  // visited last
  // One partition's turn, its lock held: expire its timers, read the log
  // into its window if it has too few records available, hand out what it
  // has. Its rows go to *batch. Returns the status of reading the log.
  auto take = [&](size_t idx, TableStore::Batch* batch) -> absl::Status {
    Part& part = *parts[idx];
    const int32_t p = static_cast<int32_t>(idx);
    PartitionQueue& q = part.queue;
    const absl::Time now = clock_->Now();
    q.Advance(now, batch);
    const size_t max = static_cast<size_t>(max_records);
    unread.clear();
    // Records in the window first (redeliveries, records read earlier),
    // then first deliveries straight from the log, and what is left from
    // the window again once the log has been read into it.
    q.Take(static_cast<int>(max - out.size()), now, lease, batch, &out,
           &unread);
    absl::Status fill;
    const bool runs = out.size() + kMinRunRecords <= max;
    if (runs) fill = TakeFresh(sub, q, p, max, now, lease, batch, &out);
    // (After TakeFresh, still FreshReady: the log has no more.)
    if (fill.ok() && out.size() < max && (!runs || !q.FreshReady())) {
      fill = Fill(sub, q, p, max - out.size(), now, batch);
      q.Take(static_cast<int>(max - out.size()), now, lease, batch, &out,
             &unread);
    }
    absl::Status read =
        ReadBack(*engine_, {sub.stored.topic, p}, q, unread, batch, &out);
    if (fill.ok()) fill = read;
    if (std::optional<absl::Time> t = q.NextTimer(); t.has_value()) {
      if (!next_timer->has_value() || *t < **next_timer) *next_timer = t;
    }
    dead_letters |= q.NextDeadLetter().has_value();
    return fill;
  };
  // A failed read of the log: reported unless records were handed out
  // (they must reach the caller; the next call reads again).
  auto report = [&](const absl::Status& fill) {
    return !fill.ok() && out.empty() ? fill : absl::OkStatus();
  };
  auto visit = [&](size_t idx) -> absl::Status {
    Part& part = *parts[idx];
    if (is_held(&part)) return report(take(idx, &held_rows));
    if (!held.empty()) {
      // Holding locks: only a free partition, kept until release(); a
      // locked one is visited after release(), as a busy one.
      if (!part.mu.TryLock()) {
        busy.push_back(idx);
        return absl::OkStatus();
      }
      part.busy.store(true, std::memory_order_relaxed);
      held.push_back(parts[idx]);
      return report(take(idx, &held_rows));
    }
    MutexLock lock(&part.mu);
    part.busy.store(true, std::memory_order_relaxed);
    absl::Cleanup idle = [&] {
      part.busy.store(false, std::memory_order_relaxed);
    };
    TableStore::Batch batch;
    const absl::Status fill = take(idx, &batch);
    part.queue.FlushRows(&batch);
    SPOOL_RETURN_IF_ERROR(WriteRows(sub, batch, /*sync=*/false));
    return report(fill);
  };
  // Partitions another consumer is busy with go last, and partitions are
  // visited only until max_records are handed out: a consumer seldom
  // waits for a lock, and takes one lock per call when one partition has
  // enough. (A partition left out has its timers expired by a later call:
  // calls that do not stay with their acks' partition start at the next
  // partition in turn, and at least every kStickyCalls-th call is one.)
  const size_t max = static_cast<size_t>(max_records);
  absl::Status visited;
  for (size_t i = 0; i < n && out.size() < max && visited.ok(); ++i) {
    const size_t idx = (start + i) % n;
    if (parts[idx]->busy.load(std::memory_order_relaxed) &&
        !is_held(parts[idx].get())) {
      busy.push_back(idx);
      continue;
    }
    visited = visit(idx);
  }
  const absl::Status released = release();
  SPOOL_RETURN_IF_ERROR(visited);
  SPOOL_RETURN_IF_ERROR(released);
  for (size_t i = 0; i < busy.size() && out.size() < max; ++i) {
    SPOOL_RETURN_IF_ERROR(visit(busy[i]));
  }
  if (dead_letters) {
    // Best effort here: a failure (the dead-letter topic is gone, a full
    // disk) leaves the records waiting, retried by the next call.
    ProcessDeadLetters(sub).IgnoreError();
  }
  if (!out.empty() && sub.stored.config.sync_deliveries) {
    SPOOL_RETURN_IF_ERROR(SyncRows(sub));
  }
  return out;
}

absl::StatusOr<std::vector<ReceivedRecord>> SubscriptionsImpl::Receive(
    std::string_view topic, std::string_view name,
    const ReceiveOptions& options) {
  SPOOL_ASSIGN_OR_RETURN(ReceivedBatch got, ReceiveBatch(topic, name, options));
  std::vector<ReceivedRecord> out;
  out.reserve(got.size());
  for (const ReceivedRecordView& v : got) AppendCopy(v, &out);
  return out;
}

absl::StatusOr<ReceivedBatch> SubscriptionsImpl::ReceiveBatch(
    std::string_view topic, std::string_view name,
    const ReceiveOptions& options) {
  if (options.max_records < 1 || options.max_records > kMaxReceiveRecords) {
    return absl::InvalidArgumentError(
        absl::StrFormat("receive: max_records must be in [1, %d], not %d",
                        kMaxReceiveRecords, options.max_records));
  }
  if (options.lease.has_value() && *options.lease <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("receive: lease must be positive, not %s",
                        absl::FormatDuration(*options.lease)));
  }
  SPOOL_ASSIGN_OR_RETURN(SubPtr sub, FindSub(topic, name));
  const absl::Duration lease = options.lease.value_or(sub->stored.config.lease);
  std::vector<DeliveryRange> ack_list;
  if (!options.ack.empty() || !options.ack_ranges.empty()) {
    SPOOL_ASSIGN_OR_RETURN(ack_list,
                           AckRangesOf(options.ack, options.ack_ranges));
  }
  absl::Span<const DeliveryRange> acks = ack_list;
  const absl::Time deadline =
      absl::Now() + std::max(options.max_wait, absl::ZeroDuration());
  // Registered before looking, so an append after the look signals us.
  const bool polls = options.max_wait > absl::ZeroDuration();
  if (polls) waiters_.fetch_add(1);
  absl::Cleanup unregister = [&] {
    if (polls) waiters_.fetch_sub(1);
  };
  for (;;) {
    uint64_t seen;
    {
      MutexLock lock(&sub->wait_mu);
      seen = sub->signal;
    }
    if (sub->deleted.load()) {
      return absl::NotFoundError(absl::StrFormat(
          "subscription \"%s\" on '%s' was deleted", name, topic));
    }
    SPOOL_RETURN_IF_ERROR(CheckOpen());
    std::optional<absl::Time> next_timer;
    SPOOL_ASSIGN_OR_RETURN(
        ReceivedBatch out,
        TryReceive(*sub, options.max_records, lease, acks, &next_timer));
    acks = {};  // (applied: a long poll's later looks have none)
    const absl::Time real_now = absl::Now();
    if (!out.empty() || real_now >= deadline) return out;
    absl::Time wake = deadline;
    if (next_timer.has_value()) {
      // Timers run on the engine clock; sleep the same span in real time.
      const absl::Duration until =
          std::max(*next_timer - clock_->Now(), absl::Milliseconds(1));
      wake = std::min(wake, real_now + until);
    }
    MutexLock lock(&sub->wait_mu);
    while (sub->signal == seen && !closed_.load() && !sub->deleted.load()) {
      if (sub->cv.WaitWithDeadline(&sub->wait_mu, wake)) break;
    }
  }
}

absl::Status SubscriptionsImpl::LockAndAck(
    Sub& sub, absl::Span<const DeliveryRange> ranges,
    std::vector<PartPtr>* locked, TableStore::Batch* batch, bool* waited) {
  // By partition (ranges are sorted by it; usually all are of one).
  struct Group {
    PartPtr part;
    absl::Span<const DeliveryRange> ranges;
  };
  absl::InlinedVector<Group, 4> groups;
  for (size_t i = 0; i < ranges.size();) {
    size_t j = i + 1;
    while (j < ranges.size() && ranges[j].partition == ranges[i].partition) {
      ++j;
    }
    SPOOL_ASSIGN_OR_RETURN(PartPtr part, PartOf(sub, ranges[i].partition));
    groups.push_back({std::move(part), ranges.subspan(i, j - i)});
    i = j;
  }
  // Ascending partitions (the lock order); all checked before any changes.
  for (const Group& group : groups) {
    if (group.part->mu.TryLock()) continue;
    group.part->mu.Lock();
    if (waited != nullptr) *waited = true;
  }
  absl::Cleanup unlock = [&] {
    for (const Group& group : groups) group.part->mu.Unlock();
  };
  for (const Group& group : groups) {
    absl::Status s = group.part->queue.CheckAcks(group.ranges);
    if (!s.ok()) {
      return absl::Status(
          s.code(),
          absl::StrFormat("ack on '%s' subscription \"%s\": %s",
                          sub.stored.topic, sub.stored.name, s.message()));
    }
  }
  locked->clear();
  for (const Group& group : groups) {
    group.part->queue.Ack(group.ranges, batch);
    locked->push_back(group.part);
  }
  std::move(unlock).Cancel();
  return absl::OkStatus();
}

absl::Status SubscriptionsImpl::AckList(Sub& sub,
                                        absl::Span<const DeliveryRange> ranges,
                                        const AckOptions& options) {
  if (ranges.empty()) return absl::OkStatus();
  std::vector<PartPtr> locked;
  TableStore::Batch batch;
  SPOOL_RETURN_IF_ERROR(LockAndAck(sub, ranges, &locked, &batch));
  absl::Cleanup unlock = [&] {
    for (const PartPtr& part : locked) part->mu.Unlock();
  };
  for (const PartPtr& part : locked) part->queue.FlushRows(&batch);
  SPOOL_RETURN_IF_ERROR(WriteRows(sub, batch, /*sync=*/false));
  std::move(unlock).Invoke();
  if (sub.stored.config.ordered_by_key) Signal(sub);
  if (options.sync) return SyncRows(sub);
  return absl::OkStatus();
}

absl::Status SubscriptionsImpl::Ack(std::string_view topic,
                                    std::string_view name,
                                    const std::vector<Delivery>& deliveries,
                                    const AckOptions& options) {
  SPOOL_ASSIGN_OR_RETURN(SubPtr sub, FindSub(topic, name));
  SPOOL_ASSIGN_OR_RETURN(std::vector<DeliveryRange> ranges,
                         AckRangesOf(deliveries, {}));
  return AckList(*sub, ranges, options);
}

absl::Status SubscriptionsImpl::AckRanges(
    std::string_view topic, std::string_view name,
    absl::Span<const DeliveryRange> ranges, const AckOptions& options) {
  SPOOL_ASSIGN_OR_RETURN(SubPtr sub, FindSub(topic, name));
  SPOOL_ASSIGN_OR_RETURN(std::vector<DeliveryRange> sorted,
                         AckRangesOf({}, ranges));
  return AckList(*sub, sorted, options);
}

std::vector<DeliveryRange> RangesOf(absl::Span<const Delivery> deliveries) {
  std::vector<DeliveryRange> out;
  for (const Delivery& d : deliveries) AddDelivery(d, &out);
  return out;
}

std::vector<DeliveryRange> ReceivedBatch::Ranges() const {
  std::vector<DeliveryRange> out;
  for (const ReceivedRecordView& r : records) AddDelivery(r.delivery, &out);
  return out;
}

namespace {

absl::Status Refuse(std::string_view call, std::string_view topic,
                    std::string_view name, const absl::Status& s) {
  return absl::Status(
      s.code(), absl::StrFormat("%s on '%s' subscription \"%s\": %s", call,
                                topic, name, s.message()));
}

absl::Status AlreadyDone(std::string_view call, std::string_view topic,
                         std::string_view name, const Delivery& d) {
  return absl::FailedPreconditionError(absl::StrFormat(
      "%s on '%s' subscription \"%s\": partition %d offset %d is already "
      "done",
      call, topic, name, d.partition, d.offset));
}

}  // namespace

absl::Status SubscriptionsImpl::Nack(std::string_view topic,
                                     std::string_view name,
                                     const Delivery& delivery,
                                     std::optional<absl::Duration> delay,
                                     std::string_view reason) {
  SPOOL_ASSIGN_OR_RETURN(SubPtr sub, FindSub(topic, name));
  SPOOL_ASSIGN_OR_RETURN(PartPtr part, PartOf(*sub, delivery.partition));
  bool dead_letter;
  {
    MutexLock lock(&part->mu);
    bool done;
    absl::Status s = part->queue.CheckDelivery(delivery, &done);
    if (!s.ok()) return Refuse("nack", topic, name, s);
    if (done) return AlreadyDone("nack", topic, name, delivery);
    TableStore::Batch batch;
    part->queue.Nack(delivery.offset, clock_->Now(), delay, reason, &batch);
    part->queue.FlushRows(&batch);
    SPOOL_RETURN_IF_ERROR(WriteRows(*sub, batch, /*sync=*/false));
    dead_letter = part->queue.NextDeadLetter().has_value();
  }
  Signal(*sub);
  if (dead_letter) return ProcessDeadLetters(*sub);
  return absl::OkStatus();
}

absl::StatusOr<absl::Time> SubscriptionsImpl::ExtendLease(
    std::string_view topic, std::string_view name, const Delivery& delivery,
    absl::Duration extension) {
  if (extension <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("extend lease: extension must be positive, not %s",
                        absl::FormatDuration(extension)));
  }
  SPOOL_ASSIGN_OR_RETURN(SubPtr sub, FindSub(topic, name));
  SPOOL_ASSIGN_OR_RETURN(PartPtr part, PartOf(*sub, delivery.partition));
  MutexLock lock(&part->mu);
  bool done;
  absl::Status s = part->queue.CheckDelivery(delivery, &done);
  if (!s.ok()) return Refuse("extend lease", topic, name, s);
  if (done) return AlreadyDone("extend lease", topic, name, delivery);
  const absl::Time deadline = clock_->Now() + extension;
  TableStore::Batch batch;
  s = part->queue.Extend(delivery.offset, deadline, &batch);
  if (!s.ok()) return Refuse("extend lease", topic, name, s);
  part->queue.FlushRows(&batch);
  SPOOL_RETURN_IF_ERROR(WriteRows(*sub, batch, /*sync=*/false));
  return deadline;
}

absl::Status SubscriptionsImpl::Reject(std::string_view topic,
                                       std::string_view name,
                                       const Delivery& delivery,
                                       std::string_view reason) {
  SPOOL_ASSIGN_OR_RETURN(SubPtr sub, FindSub(topic, name));
  SPOOL_ASSIGN_OR_RETURN(PartPtr part, PartOf(*sub, delivery.partition));
  {
    MutexLock lock(&part->mu);
    bool done;
    absl::Status s = part->queue.CheckDelivery(delivery, &done);
    if (!s.ok()) return Refuse("reject", topic, name, s);
    if (done) return AlreadyDone("reject", topic, name, delivery);
    TableStore::Batch batch;
    part->queue.Reject(delivery.offset, clock_->Now(), reason, &batch);
    part->queue.FlushRows(&batch);
    SPOOL_RETURN_IF_ERROR(WriteRows(*sub, batch, /*sync=*/false));
  }
  Signal(*sub);
  if (!sub->stored.config.dead_letter_topic.empty()) {
    return ProcessDeadLetters(*sub);
  }
  return SyncRows(*sub);
}

absl::StatusOr<std::vector<ParkedRecord>> SubscriptionsImpl::ListParked(
    std::string_view topic, std::string_view name) const {
  SPOOL_ASSIGN_OR_RETURN(SubPtr sub, FindSub(topic, name));
  SPOOL_ASSIGN_OR_RETURN(std::vector<PartPtr> parts, Parts(*sub));
  std::vector<ParkedRecord> out;
  for (size_t i = 0; i < parts.size(); ++i) {
    Part& part = *parts[i];
    MutexLock lock(&part.mu);
    // After a restart a parked record is only known once the window has
    // read it from the log (its row is applied then): read it first.
    TableStore::Batch batch;
    SPOOL_RETURN_IF_ERROR(Fill(*sub, part.queue, static_cast<int32_t>(i),
                               SIZE_MAX, clock_->Now(), &batch));
    part.queue.FlushRows(&batch);
    SPOOL_RETURN_IF_ERROR(WriteRows(*sub, batch, /*sync=*/false));
    std::vector<ParkedRecord> p = part.queue.Parked();
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

absl::Status SubscriptionsImpl::ResolveParked(std::string_view topic,
                                              std::string_view name,
                                              int32_t partition, int64_t offset,
                                              ParkedAction action) {
  SPOOL_ASSIGN_OR_RETURN(SubPtr sub, FindSub(topic, name));
  SPOOL_ASSIGN_OR_RETURN(PartPtr part, PartOf(*sub, partition));
  {
    MutexLock lock(&part->mu);
    TableStore::Batch batch;
    // As in ListParked: the window must have read the record.
    SPOOL_RETURN_IF_ERROR(
        Fill(*sub, part->queue, partition, SIZE_MAX, clock_->Now(), &batch));
    absl::Status s = part->queue.Resolve(offset, action, clock_->Now(), &batch);
    if (!s.ok()) return Refuse("resolve parked", topic, name, s);
    part->queue.FlushRows(&batch);
    SPOOL_RETURN_IF_ERROR(WriteRows(*sub, batch, /*sync=*/false));
  }
  Signal(*sub);
  if (action == ParkedAction::kDeadLetter &&
      !sub->stored.config.dead_letter_topic.empty()) {
    return ProcessDeadLetters(*sub);
  }
  return SyncRows(*sub);
}

}  // namespace spool
