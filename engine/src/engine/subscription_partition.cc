// PartitionQueue (see subscription_partition.h).

#include "engine/subscription_partition.h"

#include <algorithm>
#include <bit>
#include <iterator>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "util/status_macros.h"
#include "util/strings.h"

namespace spool {

PartitionQueue::PartitionQueue(const SubscriptionConfig* config,
                               std::string prefix, int32_t partition,
                               std::string not_before_header, int64_t floor)
    : config_(config),
      prefix_(std::move(prefix)),
      partition_(partition),
      not_before_header_(std::move(not_before_header)),
      floor_(floor),
      cursor_(floor),
      mark_(floor) {}

// --- Loading -----------------------------------------------------------

void PartitionQueue::LoadRange(int64_t start, int64_t end) {
  if (end <= start) return;
  auto [it, inserted] = ranges_.emplace(start, end);
  if (!inserted) it->second = std::max(it->second, end);
}

void PartitionQueue::LoadDelivery(int64_t offset, DeliveryRow row) {
  stored_deliveries_[offset] = std::move(row);
}

void PartitionQueue::LoadIntent(int64_t offset, IntentRow row) {
  stored_intents_[offset] = std::move(row);
}

void PartitionQueue::LoadMark(int64_t mark, int64_t deadline_ms, bool rewrite) {
  stored_mark_ = {mark, absl::FromUnixMillis(deadline_ms)};
  // A mark row is loaded after the floor row (keys sort so), and only an
  // earlier build writes one: it is newer than a mark in the floor row,
  // which that build left as it was (upgraded, downgraded, upgraded).
  mark_ = rewrite ? std::max(floor_, mark) : std::max(mark_, mark);
  mark_deadline_ = absl::FromUnixMillis(deadline_ms);
  mark_dirty_ |= rewrite;
}

void PartitionQueue::FlushRows(TableStore::Batch* batch) {
  // One row for both (an ack riding on a Receive moves both): one
  // memtable insert per call and partition instead of two.
  if (floor_dirty_ || mark_dirty_) {
    batch->Put(
        Table::kSubscriptions, SubRowKey(prefix_, kSubRowFloor, partition_),
        EncodeFloorRow(floor_, mark_, absl::ToUnixMillis(mark_deadline_)));
    floor_dirty_ = false;
    mark_dirty_ = false;
  }
}

void PartitionQueue::AdvanceMark() {
  while (mark_ < cursor_) {
    if (mark_ < floor_) {
      mark_ = floor_;
      continue;
    }
    // An offset in [floor, cursor) is an entry, in a run or done.
    if (const Entry* e = entries_.Find(mark_)) {
      if (e->attempts < 1) break;
      ++mark_;
      continue;
    }
    if (const Run* run = FindRun(mark_)) {
      mark_ = run->end;  // each offset delivered, done or an entry so
      continue;
    }
    auto range = ranges_.upper_bound(mark_);
    if (range == ranges_.begin() || std::prev(range)->second <= mark_) break;
    mark_ = std::prev(range)->second;
  }
}

void PartitionQueue::FinishLoad(int64_t log_end, TableStore::Batch* batch) {
  const int64_t stored_floor = floor_;
  // Nothing is known about offsets the log does not have.
  floor_ = std::min(floor_, log_end);
  if (stored_mark_.has_value() && stored_mark_->first > log_end) {
    stored_mark_->first = log_end;
  }
  if (mark_ > log_end) {
    mark_ = log_end;
    mark_dirty_ = true;
  }
  for (auto it = stored_deliveries_.lower_bound(log_end);
       it != stored_deliveries_.end();) {
    batch->Delete(Table::kSubscriptions,
                  SubRowKey(prefix_, kSubRowDelivery, partition_, it->first));
    it = stored_deliveries_.erase(it);
  }
  for (auto it = stored_intents_.lower_bound(log_end);
       it != stored_intents_.end();) {
    batch->Delete(Table::kSubscriptions,
                  SubRowKey(prefix_, kSubRowIntent, partition_, it->first));
    it = stored_intents_.erase(it);
  }
  // Stored ranges may overlap or reach below the floor (a gap found in
  // memory merged with them before a restart): normalize and rewrite.
  std::map<int64_t, int64_t> loaded;
  loaded.swap(ranges_);
  for (const auto& [start, stored_end] : loaded) {
    batch->Delete(Table::kSubscriptions,
                  SubRowKey(prefix_, kSubRowRange, partition_, start));
    const int64_t end = std::min(stored_end, log_end);
    if (end <= start) continue;
    if (end <= floor_) continue;
    if (start <= floor_) {
      floor_ = end;
      continue;
    }
    if (!ranges_.empty() && std::prev(ranges_.end())->second >= start) {
      auto& last = std::prev(ranges_.end())->second;
      last = std::max(last, end);
      continue;
    }
    ranges_[start] = end;
  }
  for (const auto& [start, end] : ranges_) {
    batch->Put(Table::kSubscriptions,
               SubRowKey(prefix_, kSubRowRange, partition_, start),
               EncodeInt64Row(end));
  }
  if (floor_ != stored_floor) floor_dirty_ = true;
  cursor_ = floor_;
  mark_ = std::max(mark_, floor_);
  for (auto it = stored_deliveries_.begin(); it != stored_deliveries_.end();) {
    if (!IsDone(it->first)) {
      ++it;
      continue;
    }
    batch->Delete(Table::kSubscriptions,
                  SubRowKey(prefix_, kSubRowDelivery, partition_, it->first));
    it = stored_deliveries_.erase(it);
  }
  for (auto it = stored_intents_.begin(); it != stored_intents_.end();) {
    if (!IsDone(it->first)) {
      ++it;
      continue;
    }
    batch->Delete(Table::kSubscriptions,
                  SubRowKey(prefix_, kSubRowIntent, partition_, it->first));
    it = stored_intents_.erase(it);
  }
}

// --- The window --------------------------------------------------------

bool PartitionQueue::WindowFull() const {
  return static_cast<int64_t>(entries_.live()) + run_pending_ >=
         static_cast<int64_t>(config_->max_unacked_records);
}

bool PartitionQueue::IsDone(int64_t offset) const {
  return DoneUntil(offset) > offset;
}

int64_t PartitionQueue::DoneUntil(int64_t offset) const {
  if (offset < floor_) return floor_;
  // Past the last range: the usual case of a record at the cursor.
  if (ranges_.empty() || offset >= std::prev(ranges_.end())->second) {
    return offset;
  }
  auto it = ranges_.upper_bound(offset);
  if (it == ranges_.begin()) return offset;
  --it;
  return std::max(it->second, offset);
}

void PartitionQueue::MarkDone(int64_t start, int64_t end,
                              TableStore::Batch* batch) {
  start = std::max(start, floor_);
  if (end <= start) return;
  // Every range overlapping or adjacent to [start, end) merges into it.
  auto it = ranges_.upper_bound(start);
  if (it != ranges_.begin() && std::prev(it)->second >= start) --it;
  int64_t new_start = start;
  int64_t new_end = end;
  std::vector<int64_t> merged;
  while (it != ranges_.end() && it->first <= end) {
    new_start = std::min(new_start, it->first);
    new_end = std::max(new_end, it->second);
    merged.push_back(it->first);
    it = ranges_.erase(it);
  }
  const bool to_floor = new_start <= floor_;
  if (to_floor) {
    floor_ = new_end;
    cursor_ = std::max(cursor_, floor_);
  } else {
    ranges_[new_start] = new_end;
  }
  if (batch == nullptr) return;
  for (int64_t s : merged) {
    if (!to_floor && s == new_start) continue;  // rewritten below
    batch->Delete(Table::kSubscriptions,
                  SubRowKey(prefix_, kSubRowRange, partition_, s));
  }
  if (to_floor) {
    floor_dirty_ = true;  // written once per call, by FlushRows
  } else {
    batch->Put(Table::kSubscriptions,
               SubRowKey(prefix_, kSubRowRange, partition_, new_start),
               EncodeInt64Row(new_end));
  }
}

void PartitionQueue::SkipTo(int64_t log_start, TableStore::Batch* batch) {
  if (log_start <= floor_) return;
  while (!entries_.empty() && entries_.Front().offset < log_start) {
    const int64_t o = entries_.Front().offset;
    RemoveEntry(entries_.Front());
    batch->Delete(Table::kSubscriptions,
                  SubRowKey(prefix_, kSubRowDelivery, partition_, o));
    batch->Delete(Table::kSubscriptions,
                  SubRowKey(prefix_, kSubRowIntent, partition_, o));
    ++stats_.lost_to_retention;
  }
  for (Run& run : runs_) {
    if (run.start >= log_start) break;
    for (int64_t o = run.start; o < std::min(run.end, log_start); ++o) {
      if (!run.Pending(o)) continue;
      ClearPending(run, o);
      ++stats_.lost_to_retention;
    }
  }
  DropEmptyRuns();
  for (auto it = stored_deliveries_.begin();
       it != stored_deliveries_.end() && it->first < log_start;) {
    batch->Delete(Table::kSubscriptions,
                  SubRowKey(prefix_, kSubRowDelivery, partition_, it->first));
    it = stored_deliveries_.erase(it);
  }
  for (auto it = stored_intents_.begin();
       it != stored_intents_.end() && it->first < log_start;) {
    batch->Delete(Table::kSubscriptions,
                  SubRowKey(prefix_, kSubRowIntent, partition_, it->first));
    it = stored_intents_.erase(it);
  }
  cursor_ = std::max(cursor_, log_start);
  MarkDone(floor_, log_start, batch);
}

void PartitionQueue::AdvanceCursor(int64_t next) {
  if (next <= cursor_) return;
  MarkDone(cursor_, next, nullptr);
  cursor_ = std::max(cursor_, next);
}

void PartitionQueue::AddRecord(const RecordView& r, std::string_view encoded,
                               const std::shared_ptr<const LogChunk>& chunk,
                               absl::Time now, TableStore::Batch* batch) {
  if (r.offset < cursor_) return;
  AdvanceCursor(r.offset);
  // (A gap may have joined stored ranges and moved the cursor further.)
  cursor_ = std::max(cursor_, r.offset + 1);
  if (IsDone(r.offset)) {
    stored_deliveries_.erase(r.offset);
    stored_intents_.erase(r.offset);
    return;
  }
  Entry& e = entries_.Insert(r.offset);
  e.timestamp = r.timestamp;
  const std::optional<int64_t> not_before = NotBefore(r);
  if (config_->ordered_by_key && r.key.has_value()) {
    e.key.emplace(*r.key);
    keys_[*e.key].push_back(r.offset);
  }
  Place(e, r.offset, now, not_before, batch);
  if (!e.live) return;  // done at once (exhausted without a DLQ)
  e.chunk = chunk;
  e.encoded = encoded;
  if (!e.available) Unpin(e);  // not handed out soon
}

std::optional<int64_t> PartitionQueue::NotBefore(const RecordView& r) const {
  std::optional<int64_t> not_before;
  if (not_before_header_.empty()) return not_before;
  for (const HeaderView& h : r.headers) {
    if (h.key != not_before_header_ || !h.value.has_value()) continue;
    int64_t ms = 0;
    if (absl::SimpleAtoi(ToAbsl(*h.value), &ms)) not_before = ms;
  }
  return not_before;
}

void PartitionQueue::Place(Entry& e, int64_t offset, absl::Time now,
                           std::optional<int64_t> not_before,
                           TableStore::Batch* batch) {
  if (auto it = stored_intents_.find(offset); it != stored_intents_.end()) {
    e.attempts = it->second.attempts;
    e.reason = it->second.reason;
    e.state = State::kDeadLettering;
    dead_letters_.insert(offset);
    stored_intents_.erase(it);
    e.has_row = stored_deliveries_.erase(offset) > 0;
    return;
  }
  if (auto it = stored_deliveries_.find(offset);
      it != stored_deliveries_.end()) {
    const DeliveryRow row = std::move(it->second);
    stored_deliveries_.erase(it);
    e.attempts = row.attempts;
    e.reason = row.reason;
    e.has_row = true;
    const absl::Time t = absl::FromUnixMillis(row.time_ms);
    switch (row.state) {
      case DeliveryState::kLeased:
        if (t > now) {
          e.state = State::kLeased;
          SetTimer(e, t);
        } else if (config_->max_deliveries > 0 &&
                   e.attempts >= config_->max_deliveries) {
          Exhaust(e, now, /*force_dlq=*/false, batch);
        } else {
          SetWaiting(e, t + config_->backoff.DelayAfter(e.attempts), now);
        }
        return;
      case DeliveryState::kWaiting:
        SetWaiting(e, t, now);
        return;
      case DeliveryState::kParked:
        e.state = State::kParked;
        e.time = t;
        return;
    }
  }
  if (stored_mark_.has_value() && offset < stored_mark_->first) {
    // Delivered once before the restart (the mark row stands for it),
    // leased until at most the mark's deadline.
    e.attempts = 1;
    const absl::Time t = stored_mark_->second;
    if (t > now) {
      e.state = State::kLeased;
      SetTimer(e, t);
    } else if (config_->max_deliveries == 1) {
      Exhaust(e, now, /*force_dlq=*/false, batch);
    } else {
      SetWaiting(e, t + config_->backoff.DelayAfter(1), now);
    }
    return;
  }
  if (not_before.has_value()) {
    SetWaiting(e, absl::FromUnixMillis(*not_before), now);
    return;
  }
  MakeAvailable(e);
}

// --- State transitions --------------------------------------------------

bool PartitionQueue::Eligible(const Entry& e) const {
  if (!config_->ordered_by_key || !e.key.has_value()) return true;
  auto it = keys_.find(*e.key);
  return it != keys_.end() && !it->second.empty() &&
         it->second.front() == e.offset;
}

void PartitionQueue::ClearTimer(Entry& e) {
  // Items left in available_ / timers_ go stale (skipped when popped).
  if (e.timed) {
    e.timed = false;
    --timer_count_;
  }
  if (e.available) {
    e.available = false;
    --available_count_;
    Unpin(e);  // leaves "available" without being taken (a nack, a reject)
  }
  if (e.state == State::kDeadLettering) dead_letters_.erase(e.offset);
}

void PartitionQueue::Unpin(Entry& e) {
  if (e.chunk == nullptr || e.chunk->is_copy()) return;
  e.chunk = LogChunk::CopyOf(e.encoded, &e.encoded);
}

void PartitionQueue::SetTimer(Entry& e, absl::Time t) {
  ClearTimer(e);
  e.time = t;
  e.timed = true;
  ++timer_count_;
  timers_.Push({t, e.offset});
  if (timers_.size() > 2 * timer_count_ + 1024) {
    // Leases held long keep stale items from reaching the front (see
    // PruneTimers): drop them all (amortized O(1) per push).
    timers_.Filter([this](const Timer& item) { return TimerCurrent(item); });
  }
}

bool PartitionQueue::TimerCurrent(const Timer& t) const {
  const Entry* e = entries_.Find(t.offset);
  return e != nullptr && e->timed && e->time == t.time;
}

void PartitionQueue::PruneTimers() {
  while (!timers_.empty() && !TimerCurrent(timers_.Top())) timers_.Pop();
}

void PartitionQueue::AddAvailable(Entry& e) {
  if (e.available) return;
  e.available = true;
  ++available_count_;
  if (e.queued) return;  // its item is still in the queue
  e.queued = true;
  available_.Push(e.offset);
  if (available_.size() > 2 * available_count_ + 1024) {
    available_.Filter([this](int64_t offset) {
      Entry* x = entries_.Find(offset);
      if (x == nullptr) return false;
      x->queued = x->available;
      return x->queued;
    });
  }
}

PartitionQueue::Entry* PartitionQueue::PopAvailable() {
  while (!available_.empty()) {
    const int64_t offset = available_.Top();
    available_.Pop();
    Entry* e = entries_.Find(offset);
    if (e == nullptr) continue;
    e->queued = false;
    if (!e->available) continue;
    e->available = false;
    --available_count_;
    return e;
  }
  return nullptr;
}

void PartitionQueue::MakeAvailable(Entry& e) {
  ClearTimer(e);
  e.state = State::kAvailable;
  e.time = absl::InfinitePast();
  if (Eligible(e)) AddAvailable(e);
}

void PartitionQueue::SetWaiting(Entry& e, absl::Time visible, absl::Time now) {
  if (visible <= now) {
    MakeAvailable(e);
    return;
  }
  e.state = State::kWaiting;
  SetTimer(e, visible);
}

void PartitionQueue::PutDeliveryRow(Entry& e, TableStore::Batch* batch) {
  DeliveryRow row;
  row.attempts = e.attempts;
  row.state = e.state == State::kLeased   ? DeliveryState::kLeased
              : e.state == State::kParked ? DeliveryState::kParked
                                          : DeliveryState::kWaiting;
  row.time_ms = e.time == absl::InfinitePast() ? 0 : absl::ToUnixMillis(e.time);
  row.reason = e.reason;
  batch->Put(Table::kSubscriptions,
             SubRowKey(prefix_, kSubRowDelivery, partition_, e.offset),
             EncodeDeliveryRow(row));
  e.has_row = true;
}

void PartitionQueue::Exhaust(Entry& e, absl::Time now, bool force_dlq,
                             TableStore::Batch* batch) {
  ClearTimer(e);
  if (!force_dlq && config_->ordered_by_key && e.key.has_value() &&
      config_->poison_policy == PoisonPolicy::kPark) {
    e.state = State::kParked;
    e.time = now;
    PutDeliveryRow(e, batch);
    ++stats_.parked;
    return;
  }
  if (!config_->dead_letter_topic.empty()) {
    e.state = State::kDeadLettering;
    dead_letters_.insert(e.offset);
    return;
  }
  ++stats_.dropped;
  Done(e.offset, batch);
}

void PartitionQueue::RemoveEntry(Entry& e) {
  const int64_t offset = e.offset;
  e.chunk.reset();  // (before ClearTimer, which would copy it)
  ClearTimer(e);
  if (config_->ordered_by_key && e.key.has_value()) {
    auto k = keys_.find(*e.key);
    if (k != keys_.end()) {
      std::deque<int64_t>& q = k->second;
      const bool was_head = !q.empty() && q.front() == offset;
      q.erase(std::remove(q.begin(), q.end(), offset), q.end());
      if (q.empty()) {
        keys_.erase(k);
      } else if (was_head) {
        Entry* next = entries_.Find(q.front());
        if (next != nullptr && next->state == State::kAvailable) {
          AddAvailable(*next);
        }
      }
    }
  }
  entries_.Erase(e);
}

// --- Dispatch -----------------------------------------------------------

void PartitionQueue::Advance(absl::Time now, TableStore::Batch* batch) {
  while (!timers_.empty() && timers_.Top().time <= now) {
    const Timer t = timers_.Top();
    timers_.Pop();
    if (!TimerCurrent(t)) continue;
    Entry& e = *entries_.Find(t.offset);
    e.timed = false;
    --timer_count_;
    if (e.state == State::kLeased) {
      ++stats_.expired;
      if (config_->max_deliveries > 0 &&
          e.attempts >= config_->max_deliveries) {
        Exhaust(e, now, /*force_dlq=*/false, batch);
      } else {
        // The stored row (leased, deadline t) already implies this wait:
        // a restart recomputes it the same way.
        SetWaiting(e, t.time + config_->backoff.DelayAfter(e.attempts), now);
      }
    } else {
      MakeAvailable(e);
    }
  }
  while (!run_timers_.empty() && run_timers_.Top().time <= now) {
    const Timer t = run_timers_.Top();
    run_timers_.Pop();
    if (!RunTimerCurrent(t)) continue;  // the run was acked, or left
    ExpireRun(*FindRun(t.offset), now, batch);
  }
}

std::optional<absl::Time> PartitionQueue::NextTimer() {
  PruneTimers();
  while (!run_timers_.empty() && !RunTimerCurrent(run_timers_.Top())) {
    run_timers_.Pop();
  }
  std::optional<absl::Time> next;
  if (!timers_.empty()) next = timers_.Top().time;
  if (!run_timers_.empty() &&
      (!next.has_value() || run_timers_.Top().time < *next)) {
    next = run_timers_.Top().time;
  }
  return next;
}

// --- Lease runs ---------------------------------------------------------

namespace {

// Sets bits [from, to) of `bits`, a word at a time, growing it to hold
// them.
void SetBits(std::vector<uint64_t>& bits, size_t from, size_t to) {
  if (to <= from) return;
  if (bits.size() < (to + 63) / 64) bits.resize((to + 63) / 64, 0);
  while (from < to) {
    const size_t b = from % 64;
    const size_t n = std::min<size_t>(64 - b, to - from);
    const uint64_t ones = n == 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
    bits[from / 64] |= ones << b;
    from += n;
  }
}

}  // namespace

PartitionQueue::Run* PartitionQueue::FindRun(int64_t offset) {
  if (runs_.empty() || offset < runs_.front().start ||
      offset >= runs_.back().end) {
    return nullptr;
  }
  // Calls come in offset order (a batch of acks or checks): try the run
  // found last first.
  if (run_hint_ < runs_.size()) {
    Run& hint = runs_[run_hint_];
    if (offset >= hint.start && offset < hint.end) return &hint;
  }
  auto it =
      std::upper_bound(runs_.begin(), runs_.end(), offset,
                       [](int64_t o, const Run& run) { return o < run.start; });
  --it;  // (runs_.front().start <= offset)
  if (offset >= it->end) return nullptr;
  run_hint_ = static_cast<size_t>(it - runs_.begin());
  return &*it;
}

const PartitionQueue::Run* PartitionQueue::FindRun(int64_t offset) const {
  return const_cast<PartitionQueue*>(this)->FindRun(offset);
}

bool PartitionQueue::RunTimerCurrent(const Timer& t) const {
  const Run* run = FindRun(t.offset);
  return run != nullptr && run->start == t.offset && run->deadline == t.time;
}

void PartitionQueue::ClearPending(Run& run, int64_t offset) {
  const uint64_t i = static_cast<uint64_t>(offset - run.start);
  run.bits[i / 64] &= ~(uint64_t{1} << (i % 64));
  --run.pending;
  --run_pending_;
}

void PartitionQueue::ClearPending(Run& run, int64_t from, int64_t to) {
  uint64_t i = static_cast<uint64_t>(from - run.start);
  const uint64_t n = static_cast<uint64_t>(to - run.start);
  while (i < n) {
    const uint64_t lo = i % 64;
    const uint64_t hi = std::min<uint64_t>(64, lo + (n - i));  // exclusive
    const uint64_t below_hi = hi == 64 ? ~uint64_t{0} : (uint64_t{1} << hi) - 1;
    run.bits[i / 64] &= ~(below_hi & (~uint64_t{0} << lo));
    i += hi - lo;
  }
  run.pending -= to - from;
  run_pending_ -= to - from;
}

int64_t PartitionQueue::Run::PendingUntil(int64_t from, int64_t to) const {
  uint64_t i = static_cast<uint64_t>(from - start);
  const uint64_t n = static_cast<uint64_t>(to - start);
  while (i < n) {
    const uint64_t lo = i % 64;
    // Ones from bit lo up (the shift brings in zeros at the top).
    const uint64_t ones =
        static_cast<uint64_t>(std::countr_one(bits[i / 64] >> lo));
    i += ones;
    if (lo + ones < 64) break;  // a bit that is not set
  }
  return start + static_cast<int64_t>(std::min(i, n));
}

void PartitionQueue::DropEmptyRuns() {
  runs_.erase(std::remove_if(runs_.begin(), runs_.end(),
                             [](const Run& run) { return run.pending == 0; }),
              runs_.end());
}

PartitionQueue::Entry& PartitionQueue::Materialize(Run& run, int64_t offset) {
  ClearPending(run, offset);
  Entry& e = entries_.Insert(offset);
  e.timestamp = run.timestamps[static_cast<size_t>(offset - run.start)];
  e.attempts = 1;
  e.state = State::kLeased;
  e.time = run.deadline;
  return e;
}

PartitionQueue::Entry* PartitionQueue::EntryAt(int64_t offset) {
  if (Entry* e = entries_.Find(offset)) return e;
  Run* run = FindRun(offset);
  if (run == nullptr || !run->Pending(offset)) return nullptr;
  Entry& e = Materialize(*run, offset);
  SetTimer(e, e.time);
  DropEmptyRuns();
  return &e;
}

void PartitionQueue::ExpireRun(Run& run, absl::Time now,
                               TableStore::Batch* batch) {
  const absl::Time deadline = run.deadline;
  for (int64_t o = run.start; o < run.end && run.pending > 0; ++o) {
    if (!run.Pending(o)) continue;
    Entry& e = Materialize(run, o);
    ++stats_.expired;
    // As Advance does for an entry whose lease ran out.
    if (config_->max_deliveries > 0 && e.attempts >= config_->max_deliveries) {
      Exhaust(e, now, /*force_dlq=*/false, batch);
    } else {
      SetWaiting(e, deadline + config_->backoff.DelayAfter(e.attempts), now);
    }
  }
  DropEmptyRuns();
}

bool PartitionQueue::FreshReady() {
  if (config_->ordered_by_key || WindowFull()) return false;
  AdvanceMark();
  return mark_ == cursor_;
}

absl::Status PartitionQueue::TakeFresh(int n, absl::Time now,
                                       absl::Duration lease,
                                       TableStore::Batch* batch,
                                       ReceivedBatch* out) {
  if (!FreshReady()) return absl::OkStatus();  // (a retention skip, say)
  const absl::Time deadline = now + lease;
  const std::shared_ptr<LogChunk> chunk = fresh_;
  Run* run = nullptr;
  // The run's bits and timestamps are written in stretches: [set, next)
  // are offsets (minus the run's start) handed out one after another whose
  // bits are not set yet, `stamps` their timestamps not yet appended.
  size_t set = 0, next = 0;
  int64_t stamps[64];
  size_t stamped = 0;
  auto flush = [&] {
    run->timestamps.insert(run->timestamps.end(), stamps, stamps + stamped);
    stamped = 0;
    SetBits(run->bits, set, next);
    set = next;
  };
  absl::Status status;
  // Plain: no stored row, not-before header or done range at or past the
  // cursor, so every record read is a first delivery with nothing to look
  // up (the loop adds none: gaps it marks done end below the next record).
  const bool plain =
      stored_deliveries_.empty() && stored_intents_.empty() &&
      (!stored_mark_.has_value() || stored_mark_->first <= cursor_) &&
      not_before_header_.empty() &&
      (ranges_.empty() || std::prev(ranges_.end())->second <= cursor_);
  while (n > 0 && fresh_ != nullptr && !WindowFull()) {
    ReceivedRecordView& slot = out->records.emplace_back();
    RecordView& r = slot.record;
    std::string_view encoded;
    if (!fresh_->Next(&r, &encoded, &status)) {
      out->records.pop_back();
      if (status.ok()) AdvanceCursor(fresh_->fetch().next_offset);
      fresh_.reset();
      break;
    }
    if (r.offset < cursor_) {
      out->records.pop_back();
      continue;
    }
    AdvanceCursor(r.offset);  // offsets skipped are gaps
    if (!plain) {
      const bool stored =
          (!stored_deliveries_.empty() &&
           stored_deliveries_.contains(r.offset)) ||
          (!stored_intents_.empty() && stored_intents_.contains(r.offset)) ||
          (stored_mark_.has_value() && r.offset < stored_mark_->first);
      const std::optional<int64_t> not_before =
          not_before_header_.empty() ? std::nullopt : NotBefore(r);
      if (r.offset < cursor_ || IsDone(r.offset) || stored ||
          (not_before.has_value() && absl::FromUnixMillis(*not_before) > now)) {
        // Done already, or it needs state of its own: into the window.
        const RecordView copy = r;
        out->records.pop_back();
        if (run != nullptr) flush();
        AddRecord(copy, encoded, chunk, now, batch);
        if (FreshReady()) continue;
        fresh_.reset();  // Fill reads on from the cursor
        break;
      }
    }
    if (run == nullptr) {
      Run& added = runs_.emplace_back();
      added.start = r.offset;
      // (Set before the sweep of stale timers below: FindRun looks for
      // offsets below the last run's end.)
      added.end = r.offset + 1;
      added.deadline = deadline;
      // Room for the records asked for, up to a bound: a run lives until
      // its records are done, and a long poll may ask for 100,000.
      constexpr int kRunReserve = 1024;
      const size_t room = static_cast<size_t>(std::min(n, kRunReserve));
      added.bits.reserve(room / 64 + 1);
      run_timers_.Push({deadline, r.offset});
      if (run_timers_.size() > 2 * runs_.size() + 1024) {
        // Runs acked before their deadline leave stale items (as in
        // SetTimer): drop them all, amortized O(1) per run.
        run_timers_.Filter(
            [this](const Timer& t) { return RunTimerCurrent(t); });
      }
      added.timestamps.reserve(room);
      run = &runs_.back();
    }
    const size_t i = static_cast<size_t>(r.offset - run->start);
    if (i != next) {  // offsets skipped: a gap, timestamp -1
      flush();
      run->timestamps.resize(i, -1);
      set = next = i;
    }
    // The timestamp is kept while the record is at hand (a pass over the
    // batch afterwards would read it again).
    stamps[stamped++] = r.timestamp;
    if (stamped == std::size(stamps)) {
      run->timestamps.insert(run->timestamps.end(), stamps, stamps + stamped);
      stamped = 0;
    }
    ++next;
    run->end = r.offset + 1;
    ++run->pending;
    ++run_pending_;
    cursor_ = r.offset + 1;
    mark_ = std::max(mark_, cursor_);  // (mark_ == cursor_ before)
    slot.delivery = {.partition = partition_, .offset = r.offset, .attempt = 1};
    slot.lease_deadline = deadline;
    ++stats_.delivered;
    --n;
  }
  if (run != nullptr) {
    flush();
    if (out->holds.empty() || out->holds.back().get() != chunk.get()) {
      out->holds.push_back(chunk);
    }
    mark_deadline_ = std::max(mark_deadline_, deadline);
    mark_dirty_ = true;
  }
  return status;
}

void PartitionQueue::Take(int n, absl::Time now, absl::Duration lease,
                          TableStore::Batch* batch, ReceivedBatch* out,
                          std::vector<size_t>* unread) {
  // First deliveries that the mark will cover need no row of their own.
  const int64_t old_mark = mark_;
  const absl::Time deadline = now + lease;
  std::vector<int64_t> maybe_covered;
  for (; n > 0; --n) {
    Entry* found = PopAvailable();
    if (found == nullptr) break;
    Entry& e = *found;
    ++e.attempts;
    e.state = State::kLeased;
    SetTimer(e, deadline);
    if (e.attempts == 1 && !e.has_row && e.offset >= old_mark) {
      maybe_covered.push_back(e.offset);
    } else {
      PutDeliveryRow(e, batch);
    }
    ++stats_.delivered;
    if (e.attempts > 1) ++stats_.redelivered;
    ReceivedRecordView& r = out->records.emplace_back();
    r.delivery = {
        .partition = partition_, .offset = e.offset, .attempt = e.attempts};
    r.lease_deadline = deadline;
    if (e.chunk != nullptr && DecodeEncodedRecord(e.encoded, &r.record).ok()) {
      // Handed over, not copied: a redelivery reads the log again.
      if (out->holds.empty() || out->holds.back().get() != e.chunk.get()) {
        out->holds.push_back(std::move(e.chunk));
      }
      e.chunk.reset();
      e.encoded = {};
    } else {
      // (A held record that does not decode is read again, and the log
      // reports what is wrong with it.)
      // Rebuilt in place: GCC's TSan build warns (falsely) about moving a
      // temporary's InlinedVector here.
      std::destroy_at(&r.record);
      std::construct_at(&r.record);
      e.chunk.reset();
      e.encoded = {};
      unread->push_back(out->records.size() - 1);
    }
    r.record.offset = e.offset;
    r.record.timestamp = e.timestamp;
  }
  // Leases acked before their deadline leave stale timer items, mostly at
  // the front (the oldest leases are usually acked first).
  PruneTimers();
  if (maybe_covered.empty()) return;
  AdvanceMark();
  for (int64_t offset : maybe_covered) {
    if (offset >= mark_) PutDeliveryRow(*entries_.Find(offset), batch);
  }
  if (mark_ != old_mark || maybe_covered.front() < mark_) {
    mark_deadline_ = std::max(mark_deadline_, deadline);
    mark_dirty_ = true;
  }
}

void PartitionQueue::Lost(int64_t offset, TableStore::Batch* batch) {
  Entry* e = entries_.Find(offset);
  if (e == nullptr) return;
  --stats_.delivered;
  if (e->attempts > 1) --stats_.redelivered;
  ++stats_.lost_to_retention;
  Done(offset, batch);
}

// --- Consumer calls -----------------------------------------------------

absl::Status PartitionQueue::CheckDelivery(const Delivery& d,
                                           bool* done) const {
  *done = false;
  // A pending offset of a run has no entry (Materialize clears the bit).
  if (const Run* run = FindRun(d.offset); run && run->Pending(d.offset)) {
    if (d.attempt == 1) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrFormat(
        "lease lost: partition %d offset %d is at delivery attempt 1, not %d",
        partition_, d.offset, d.attempt));
  }
  const Entry* e = entries_.Find(d.offset);  // entries are never done
  if (e == nullptr && IsDone(d.offset)) {
    *done = true;
    return absl::OkStatus();
  }
  if (e == nullptr || e->attempts == 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "partition %d offset %d is not delivered", partition_, d.offset));
  }
  if (e->attempts != d.attempt) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "lease lost: partition %d offset %d is at delivery attempt %d, not "
        "%d",
        partition_, d.offset, e->attempts, d.attempt));
  }
  if (e->state == State::kParked || e->state == State::kDeadLettering) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "partition %d offset %d is not leased (%s)", partition_, d.offset,
        e->state == State::kParked ? "parked" : "being dead-lettered"));
  }
  return absl::OkStatus();
}

absl::Status PartitionQueue::CheckAcks(
    absl::Span<const DeliveryRange> ranges) const {
  for (const DeliveryRange& r : ranges) {
    int64_t o = r.first_offset;
    while (o < r.end_offset) {
      if (const Run* run = r.attempt == 1 ? FindRun(o) : nullptr) {
        const int64_t p =
            run->PendingUntil(o, std::min(r.end_offset, run->end));
        if (p > o) {
          o = p;
          continue;
        }
      }
      if (entries_.Find(o) == nullptr) {  // entries are never done
        if (const int64_t done = DoneUntil(o); done > o) {
          o = done;
          continue;
        }
      }
      bool done;
      SPOOL_RETURN_IF_ERROR(CheckDelivery(
          {.partition = partition_, .offset = o, .attempt = r.attempt}, &done));
      ++o;
    }
  }
  return absl::OkStatus();
}

void PartitionQueue::Ack(absl::Span<const DeliveryRange> ranges,
                         TableStore::Batch* batch) {
  // As Done() for each offset, but a range is marked done at once: one
  // range row per range rather than one rewrite per record.
  bool emptied = false;
  for (const DeliveryRange& r : ranges) {
    int64_t o = r.first_offset;
    while (o < r.end_offset) {
      if (Run* run = FindRun(o)) {
        const int64_t p =
            run->PendingUntil(o, std::min(r.end_offset, run->end));
        if (p > o) {
          ClearPending(*run, o, p);
          stats_.acked += p - o;
          emptied |= run->pending == 0;
          o = p;
          continue;
        }
      }
      if (Entry* e = entries_.Find(o)) {
        if (e->has_row) {
          batch->Delete(Table::kSubscriptions,
                        SubRowKey(prefix_, kSubRowDelivery, partition_, o));
        }
        RemoveEntry(*e);
        ++stats_.acked;
        ++o;
        continue;
      }
      o = std::max(o + 1, DoneUntil(o));  // done already
    }
    MarkDone(r.first_offset, r.end_offset, batch);
  }
  if (emptied) DropEmptyRuns();
}

void PartitionQueue::Done(int64_t offset, TableStore::Batch* batch) {
  Entry* e = entries_.Find(offset);
  if (e == nullptr) return;
  // Only rows that were written: first deliveries the mark covers have
  // none, and deleting a missing key would still write a tombstone.
  const bool had_row = e->has_row;
  RemoveEntry(*e);
  MarkDone(offset, offset + 1, batch);
  if (had_row) {
    batch->Delete(Table::kSubscriptions,
                  SubRowKey(prefix_, kSubRowDelivery, partition_, offset));
  }
}

void PartitionQueue::Nack(int64_t offset, absl::Time now,
                          std::optional<absl::Duration> delay,
                          std::string_view reason, TableStore::Batch* batch) {
  Entry& e = *EntryAt(offset);
  ClearTimer(e);
  e.reason = std::string(reason);
  if (config_->max_deliveries > 0 && e.attempts >= config_->max_deliveries) {
    Exhaust(e, now, /*force_dlq=*/false, batch);
    return;
  }
  const absl::Time visible =
      now + (delay.has_value() ? std::max(*delay, absl::ZeroDuration())
                               : config_->backoff.DelayAfter(e.attempts));
  e.state = State::kWaiting;
  e.time = visible;
  PutDeliveryRow(e, batch);
  SetWaiting(e, visible, now);
}

absl::Status PartitionQueue::Extend(int64_t offset, absl::Time deadline,
                                    TableStore::Batch* batch) {
  Entry& e = *EntryAt(offset);
  if (e.state != State::kLeased) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "partition %d offset %d: the lease has expired", partition_, offset));
  }
  SetTimer(e, deadline);
  PutDeliveryRow(e, batch);
  return absl::OkStatus();
}

void PartitionQueue::Reject(int64_t offset, absl::Time now,
                            std::string_view reason, TableStore::Batch* batch) {
  Entry& e = *EntryAt(offset);
  e.reason = std::string(reason);
  Exhaust(e, now, /*force_dlq=*/true, batch);
}

// --- Parked keys and dead letters ---------------------------------------

std::vector<ParkedRecord> PartitionQueue::Parked() const {
  std::vector<ParkedRecord> out;
  entries_.ForEach([&](const Entry& e) {
    if (e.state != State::kParked) return;
    ParkedRecord p;
    p.partition = partition_;
    p.offset = e.offset;
    p.key = e.key;
    p.attempts = e.attempts;
    p.reason = e.reason;
    p.parked_at = e.time;
    if (e.key.has_value()) {
      auto k = keys_.find(*e.key);
      if (k != keys_.end()) {
        p.blocked_records = static_cast<int64_t>(k->second.size()) - 1;
      }
    }
    out.push_back(std::move(p));
  });
  return out;
}

absl::Status PartitionQueue::Resolve(int64_t offset, ParkedAction action,
                                     absl::Time now, TableStore::Batch* batch) {
  Entry* found = entries_.Find(offset);
  if (found == nullptr || found->state != State::kParked) {
    return absl::NotFoundError(absl::StrFormat(
        "nothing is parked at partition %d offset %d", partition_, offset));
  }
  Entry& e = *found;
  switch (action) {
    case ParkedAction::kRetry:
      // A row with no attempts (not a delete: below the delivery mark, no
      // row would mean "delivered once").
      e.attempts = 0;
      e.reason.clear();
      MakeAvailable(e);
      PutDeliveryRow(e, batch);
      break;
    case ParkedAction::kSkip:
      ++stats_.dropped;
      Done(offset, batch);
      break;
    case ParkedAction::kDeadLetter:
      Exhaust(e, now, /*force_dlq=*/true, batch);
      break;
  }
  return absl::OkStatus();
}

std::optional<int64_t> PartitionQueue::NextDeadLetter() const {
  if (dead_letters_.empty()) return std::nullopt;
  return *dead_letters_.begin();
}

bool PartitionQueue::HeldRecord(const Entry& e, RecordView* out) const {
  if (e.chunk == nullptr || !DecodeEncodedRecord(e.encoded, out).ok()) {
    return false;
  }
  out->offset = e.offset;
  out->timestamp = e.timestamp;
  return true;
}

const PartitionQueue::Entry* PartitionQueue::Find(int64_t offset) const {
  return entries_.Find(offset);
}

void PartitionQueue::CompleteDeadLetter(int64_t offset,
                                        TableStore::Batch* batch) {
  if (entries_.Find(offset) == nullptr && !IsDone(offset)) {
    // Not read into the window yet (an intent found after a restart).
    MarkDone(offset, offset + 1, batch);
    stored_intents_.erase(offset);
    stored_deliveries_.erase(offset);
    batch->Delete(Table::kSubscriptions,
                  SubRowKey(prefix_, kSubRowDelivery, partition_, offset));
  }
  Done(offset, batch);
  ++stats_.dead_lettered;
  batch->Delete(Table::kSubscriptions,
                SubRowKey(prefix_, kSubRowIntent, partition_, offset));
}

// --- Figures ------------------------------------------------------------

SubscriptionPartitionState PartitionQueue::Describe(int64_t log_end) const {
  SubscriptionPartitionState s;
  s.partition = partition_;
  s.ack_floor = floor_;
  s.log_end_offset = log_end;
  for (const auto& [start, end] : ranges_) {
    if (start >= log_end) break;
    s.acked_above_floor += std::min(end, log_end) - start;
  }
  s.acked_ranges = static_cast<int64_t>(ranges_.size());
  s.backlog = std::max<int64_t>(0, log_end - floor_ - s.acked_above_floor);
  s.in_flight = run_pending_;
  entries_.ForEach([&](const Entry& e) {
    switch (e.state) {
      case State::kLeased:
        ++s.in_flight;
        break;
      case State::kWaiting:
        ++s.waiting;
        break;
      case State::kParked:
        ++s.parked;
        break;
      default:
        break;
    }
  });
  return s;
}

int64_t PartitionQueue::OldestTimestamp() const {
  const Entry* front = entries_.empty() ? nullptr : &entries_.Front();
  if (!runs_.empty() &&
      (front == nullptr || runs_.front().start < front->offset)) {
    // The first pending offset of the first run (runs are never empty).
    const Run& run = runs_.front();
    for (size_t w = 0; w < run.bits.size(); ++w) {
      if (run.bits[w] == 0) continue;
      const size_t i =
          w * 64 + static_cast<size_t>(std::countr_zero(run.bits[w]));
      if (front == nullptr ||
          run.start + static_cast<int64_t>(i) < front->offset) {
        return run.timestamps[i];
      }
      break;
    }
  }
  return front == nullptr ? -1 : front->timestamp;
}

}  // namespace spool
