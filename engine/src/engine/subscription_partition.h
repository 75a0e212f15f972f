// PartitionQueue: the state machine of one partition of one shared
// subscription (docs/queues.md), in memory, with the rows that persist it
// (docs/tables.md, "Shared subscriptions").
//
// What it holds:
//   floor      every offset below is done;
//   ranges     runs [start, end) of done offsets above the floor (acked, or
//              offsets without a record: compaction gaps), disjoint, never
//              adjacent, never touching the floor;
//   entries    every record in [floor, cursor) that is not done, with its
//              state, attempt count and timer; cursor is the next offset to
//              read from the log. entries.size() <= max_unacked_records
//              bounds the memory (the "window").
// Entry states: kAvailable (may be handed out if eligible), kLeased (until
// its deadline), kWaiting (until its visible time: backoff, nack delay or
// not-before header), kParked (its key is blocked until an operator acts),
// kDeadLettering (being appended to the dead-letter topic).
// With ordered_by_key, a keyed record is eligible only while it is the
// oldest entry of its key, so at most one record per key is in flight and
// keys keep their order.
//
// Layout (subscription_window.h): entries live in a ring of slots in
// offset order (O(1) lookup while offsets are dense); available offsets
// and timers are min-queues with lazy deletion (an entry's flags say which
// queued item is current; stale ones are skipped and pruned). Nothing is
// allocated per record: an entry points into the LogChunk its record was
// read in until its first delivery, which hands the chunk to the consumer
// (a redelivery reads the log again). Entries that will not be handed out
// soon (waiting, parked, behind their key) hold a copy of their record
// instead, so that they do not keep a whole chunk alive.
//
// Every change that must persist adds its rows to a TableStore::Batch the
// caller writes (under the caller's lock, so a partition's writes reach the
// tables in the order the state changed). Rows are computed from the
// in-memory state, which is always at least as far along as the stored one
// (gaps are only in memory; they are found again after a restart).
//
// Thread-compatible: SubscriptionsImpl guards each queue with a mutex.

#ifndef SPOOL_ENGINE_SUBSCRIPTION_PARTITION_H_
#define SPOOL_ENGINE_SUBSCRIPTION_PARTITION_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "engine/log_chunk.h"
#include "engine/subscription_codec.h"
#include "engine/subscription_window.h"
#include "spool/record.h"
#include "spool/subscriptions.h"
#include "tables/table_store.h"

namespace spool {

class PartitionQueue {
 public:
  enum class State { kAvailable, kLeased, kWaiting, kParked, kDeadLettering };

  // A record in the window (a slot of an OffsetRing). The record's bytes
  // are held (chunk, encoded) from the read until its first delivery,
  // which hands them to the consumer; a redelivery reads them from the log
  // again.
  struct Entry {
    int64_t offset = 0;
    int64_t timestamp = -1;
    absl::Time time = absl::InfinitePast();  // deadline / visible / parked
    int32_t attempts = 0;
    State state = State::kAvailable;
    bool live = false;       // a slot of the window, not a dead one
    bool has_row = false;    // a delivery row was written
    bool available = false;  // counted in available()
    bool queued = false;     // has an item in available_ (maybe stale)
    bool timed = false;      // its (time, offset) item in timers_ is current
    // ordered_by_key only: the record's key (its claim in keys_).
    std::optional<std::string> key;
    std::string reason;
    // The record's encoded bytes inside *chunk, while held.
    std::shared_ptr<const LogChunk> chunk;
    std::string_view encoded;
  };

  // Counters since the engine opened.
  struct Stats {
    int64_t acked = 0;
    int64_t delivered = 0;
    int64_t redelivered = 0;  // deliveries with attempt > 1
    int64_t expired = 0;      // leases that ran out
    int64_t dead_lettered = 0;
    int64_t dropped = 0;  // exhausted or rejected without a DLQ
    int64_t parked = 0;
    int64_t lost_to_retention = 0;
  };

  // `config` must outlive the queue.
  PartitionQueue(const SubscriptionConfig* config, std::string prefix,
                 int32_t partition, std::string not_before_header,
                 int64_t floor);

  // --- Loading stored rows (before the first AddRecord) ---------------
  void LoadRange(int64_t start, int64_t end);
  void LoadDelivery(int64_t offset, DeliveryRow row);
  void LoadIntent(int64_t offset, IntentRow row);
  // The delivery mark (of the floor row): offsets below `mark` without a
  // delivery row were delivered once, leased until at most `deadline_ms`.
  // `rewrite`: it came from a mark row of an earlier build, which the
  // caller deletes; it replaces a mark loaded from the floor row, and the
  // next FlushRows writes it there.
  void LoadMark(int64_t mark, int64_t deadline_ms, bool rewrite = false);
  // Merges overlapping stored ranges and deletes rows that are below the
  // floor or redundant. State at or past `log_end` (the partition's log end
  // now) is dropped: it is about records the log no longer has (a power
  // loss took appends that were not yet durable, or the log was
  // truncated), and records appended there later are new.
  void FinishLoad(int64_t log_end, TableStore::Batch* batch);

  // --- Reading the log into the window ---------------------------------
  int64_t floor() const { return floor_; }
  int64_t cursor() const { return cursor_; }
  bool WindowFull() const;
  // The log start moved past the floor (retention): offsets below
  // `log_start` are gone; forget them.
  void SkipTo(int64_t log_start, TableStore::Batch* batch);
  // Adds the record at r.offset >= cursor(); offsets skipped since the
  // cursor had no record (gaps). `encoded` is its bytes inside `chunk`.
  void AddRecord(const RecordView& r, std::string_view encoded,
                 const std::shared_ptr<const LogChunk>& chunk, absl::Time now,
                 TableStore::Batch* batch);
  // Offsets in [cursor, next) without a record are gaps.
  void AdvanceCursor(int64_t next);
  // Whether a read at the cursor found the log's end when the engine's
  // append count (SubscriptionsImpl::appends_) was `appends`, the cursor
  // being where it is now: nothing to read until the count moves.
  bool AtEndSeen(uint64_t appends) const {
    return end_seen_.has_value() && end_seen_->first == appends &&
           end_seen_->second == cursor_;
  }
  void SetEndSeen(uint64_t appends) { end_seen_.emplace(appends, cursor_); }

  // --- First deliveries straight from the log (lease runs) -------------
  // True if TakeFresh may hand out the records at cursor(): the
  // subscription is not ordered by key, the window has room, and every
  // offset below the cursor is done or was delivered at least once, so
  // that the delivery mark row stands for what TakeFresh hands out.
  bool FreshReady();
  // Whether a read left by an earlier TakeFresh remains.
  bool has_fresh() const { return fresh_ != nullptr; }
  // The read of the log at cursor() that TakeFresh hands records out of
  // (null: none).
  void SetFresh(std::shared_ptr<LogChunk> chunk) { fresh_ = std::move(chunk); }
  // Hands out up to n records of the read, first deliveries, with no entry
  // of their own: they form one lease run (one deadline, a bit per offset;
  // see Run). Stops at a record that needs state of its own (a row stored
  // before a restart, a not-before time still ahead), which goes into the
  // window as AddRecord puts it; FreshReady() is then false until the
  // slow path has delivered it. Drops the read once it is used up. Hands
  // out nothing unless FreshReady(). REQUIRES: has_fresh(). Errors are
  // decoding errors.
  absl::Status TakeFresh(int n, absl::Time now, absl::Duration lease,
                         TableStore::Batch* batch, ReceivedBatch* out);

  // --- Timers and dispatch --------------------------------------------
  // Ends leases and waits due at `now`. Records whose lease ran out on
  // their last allowed delivery are exhausted (see Exhaust).
  void Advance(absl::Time now, TableStore::Batch* batch);
  // The earliest pending timer, if any (drops stale timer items).
  std::optional<absl::Time> NextTimer();
  size_t available() const { return available_count_; }
  // Leases up to n available records, appending them to out->records in
  // offset order (with the chunks they point into in out->holds). Records
  // delivered before no longer hold their data: their indices in
  // out->records are appended to *unread, for the caller to read from the
  // log (or to report Lost).
  void Take(int n, absl::Time now, absl::Duration lease,
            TableStore::Batch* batch, ReceivedBatch* out,
            std::vector<size_t>* unread);
  // The record Take just handed out is no longer in the log (retention or
  // compaction removed it since it was read): it is done, counted as lost
  // to retention, not as delivered. REQUIRES: not yet returned to a
  // consumer.
  void Lost(int64_t offset, TableStore::Batch* batch);

  // --- Consumer calls ---------------------------------------------------
  // OK if `d` is the record's current delivery; kFailedPrecondition
  // otherwise. *done: the record is already done (OK is returned).
  absl::Status CheckDelivery(const Delivery& d, bool* done) const;
  // CheckDelivery of every offset of each range (of this partition; done
  // ones are OK): the first error, else OK. Pending offsets of a lease
  // run are checked a word of bits at a time.
  absl::Status CheckAcks(absl::Span<const DeliveryRange> ranges) const;
  // Marks every offset of the ranges done, one range row per range.
  // REQUIRES: CheckAcks(ranges) OK.
  void Ack(absl::Span<const DeliveryRange> ranges, TableStore::Batch* batch);
  // REQUIRES: CheckDelivery OK and not done.
  void Nack(int64_t offset, absl::Time now, std::optional<absl::Duration> delay,
            std::string_view reason, TableStore::Batch* batch);
  absl::Status Extend(int64_t offset, absl::Time deadline,
                      TableStore::Batch* batch);
  // Dead-letters (or drops, without a DLQ) the record now.
  void Reject(int64_t offset, absl::Time now, std::string_view reason,
              TableStore::Batch* batch);

  // --- Parked keys and dead letters ------------------------------------
  std::vector<ParkedRecord> Parked() const;
  absl::Status Resolve(int64_t offset, ParkedAction action, absl::Time now,
                       TableStore::Batch* batch);
  // The next record waiting to be dead-lettered, if any.
  std::optional<int64_t> NextDeadLetter() const;
  const Entry* Find(int64_t offset) const;
  // The record an entry holds (Entry::chunk set), decoded; false if it
  // holds none.
  bool HeldRecord(const Entry& e, RecordView* out) const;
  // The record is in the dead-letter topic: done, intent row deleted.
  void CompleteDeadLetter(int64_t offset, TableStore::Batch* batch);

  // Adds the floor and mark rows if they changed since the last call.
  // Every batch built from this queue's calls goes through here before it
  // is written (the floor moves once per call, not once per record).
  void FlushRows(TableStore::Batch* batch);

  // --- Figures ---------------------------------------------------------
  SubscriptionPartitionState Describe(int64_t log_end) const;
  // Timestamp of the oldest entry (-1 if none).
  int64_t OldestTimestamp() const;
  const Stats& stats() const { return stats_; }
  Stats& mutable_stats() { return stats_; }

 private:
  struct Timer {
    absl::Time time;
    int64_t offset;
    bool operator<(const Timer& o) const {
      return time < o.time || (time == o.time && offset < o.offset);
    }
  };

  // A lease run: records TakeFresh handed out in one call, each at its
  // first delivery, leased until `deadline`, with no row of their own
  // (the mark row stands for them). Every offset in [start, end) is
  // pending here, done, or an entry (one that left the run, see
  // Materialize). Empty runs are dropped.
  struct Run {
    int64_t start = 0;
    int64_t end = 0;
    absl::Time deadline;
    int64_t pending = 0;
    std::vector<uint64_t> bits;       // bit i: offset start + i is pending
    std::vector<int64_t> timestamps;  // by offset - start
    bool Pending(int64_t offset) const {
      const uint64_t i = static_cast<uint64_t>(offset - start);
      return offset >= start && offset < end &&
             (bits[i / 64] >> (i % 64) & 1) != 0;
    }
    // The first offset in [from, to) that is not pending, or `to`.
    // REQUIRES: start <= from <= to <= end.
    int64_t PendingUntil(int64_t from, int64_t to) const;
  };

  bool IsDone(int64_t offset) const;
  // The end of the stretch of done offsets that holds `offset` (the floor
  // or a range's end), or `offset` if it is not done.
  int64_t DoneUntil(int64_t offset) const;
  // The run whose [start, end) holds offset, or null.
  Run* FindRun(int64_t offset);
  const Run* FindRun(int64_t offset) const;
  // Whether a run_timers_ item is its run's (not stale).
  bool RunTimerCurrent(const Timer& t) const;
  // Takes a pending offset out of its run (not yet dropped if empty).
  void ClearPending(Run& run, int64_t offset);
  // Takes [from, to), all pending, out of the run.
  void ClearPending(Run& run, int64_t from, int64_t to);
  void DropEmptyRuns();
  // The pending offset leaves its run as an entry of its own: leased,
  // first delivery, no row, no timer. Call DropEmptyRuns after.
  Entry& Materialize(Run& run, int64_t offset);
  // The entry at offset, made from its run if it is pending in one (then
  // with its lease timer), or null.
  Entry* EntryAt(int64_t offset);
  // Ends the run's lease: each pending offset becomes an entry whose lease
  // ran out.
  void ExpireRun(Run& run, absl::Time now, TableStore::Batch* batch);
  // The record's not-before time in ms, from the configured header.
  std::optional<int64_t> NotBefore(const RecordView& r) const;
  bool Eligible(const Entry& e) const;
  // Marks [start, end) done; rows into batch unless null (gaps).
  void MarkDone(int64_t start, int64_t end, TableStore::Batch* batch);
  // Takes the entry off the available queue, its timer or the dead-letter
  // set, as its state says.
  void ClearTimer(Entry& e);
  void SetTimer(Entry& e, absl::Time t);
  bool TimerCurrent(const Timer& t) const;
  // Drops stale items from the front of timers_.
  void PruneTimers();
  void AddAvailable(Entry& e);
  // An entry that holds a shared chunk takes a copy of its record instead,
  // so that it does not keep the whole chunk alive while it waits.
  void Unpin(Entry& e);
  // The available entry with the lowest offset (taken off the queue), or
  // null.
  Entry* PopAvailable();
  void SetWaiting(Entry& e, absl::Time visible, absl::Time now);
  void MakeAvailable(Entry& e);
  // The record failed its last allowed delivery, or was rejected:
  // park / dead-letter / drop it.
  void Exhaust(Entry& e, absl::Time now, bool force_dlq,
               TableStore::Batch* batch);
  void PutDeliveryRow(Entry& e, TableStore::Batch* batch);
  // Gives a new entry its state: from its stored rows, the delivery mark,
  // its not-before time, or available.
  void Place(Entry& e, int64_t offset, absl::Time now,
             std::optional<int64_t> not_before, TableStore::Batch* batch);
  // Removes the entry and its key's claim; the key's next record may
  // become eligible.
  void RemoveEntry(Entry& e);
  // Moves mark_ over offsets that are done or delivered at least once.
  void AdvanceMark();
  // Marks an entry done (Ack without counting it).
  void Done(int64_t offset, TableStore::Batch* batch);

  const SubscriptionConfig* const config_;
  const std::string prefix_;
  const int32_t partition_;
  const std::string not_before_header_;

  int64_t floor_;
  int64_t cursor_;
  std::optional<std::pair<uint64_t, int64_t>> end_seen_;  // (appends, cursor)
  // Delivery mark: every offset below it is done or was delivered at least
  // once; first deliveries below it need no delivery row (the mark row
  // stands for them, with the latest lease deadline handed out).
  int64_t mark_;
  absl::Time mark_deadline_ = absl::InfinitePast();
  bool floor_dirty_ = false;
  bool mark_dirty_ = false;
  std::optional<std::pair<int64_t, absl::Time>> stored_mark_;
  std::map<int64_t, int64_t> ranges_;  // start -> end
  OffsetTable<Entry> entries_;
  // Offsets of kAvailable, eligible entries (Entry::available), with stale
  // items skipped when popped; available_count_ counts the current ones.
  LazyMinQueue<int64_t> available_;
  size_t available_count_ = 0;
  // Deadlines of kLeased and visible times of kWaiting entries
  // (Entry::timed), with stale items skipped when popped.
  LazyMinQueue<Timer> timers_;
  size_t timer_count_ = 0;
  absl::flat_hash_map<std::string, std::deque<int64_t>> keys_;  // ordered
  std::set<int64_t> dead_letters_;  // kDeadLettering
  // Stored rows of offsets not yet read into the window.
  std::map<int64_t, DeliveryRow> stored_deliveries_;
  std::map<int64_t, IntentRow> stored_intents_;
  // Lease runs in ascending offset order, below the cursor, and the
  // offsets pending in them.
  // (A vector: FindRun indexes it on every ack and check. Run references
  // are not kept across an insertion or an erase.)
  std::vector<Run> runs_;
  int64_t run_pending_ = 0;
  // The index in runs_ FindRun found last (a guess, checked before use).
  mutable size_t run_hint_ = 0;
  // (deadline, start) of each run, stale ones skipped when popped.
  LazyMinQueue<Timer> run_timers_;
  // The read TakeFresh hands records out of, positioned at the cursor.
  std::shared_ptr<LogChunk> fresh_;
  Stats stats_;
};

}  // namespace spool

#endif  // SPOOL_ENGINE_SUBSCRIPTION_PARTITION_H_
