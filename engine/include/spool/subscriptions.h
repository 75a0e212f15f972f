// Shared subscriptions: work-queue semantics on top of a topic's log.
// Reached through Engine::subscriptions(); docs/queues.md has the full
// story and docs/tables.md the stored format.
//
//   spool::Subscriptions& subs = engine->subscriptions();
//   subs.CreateSubscription("jobs", "workers",
//                           {.max_deliveries = 5,
//                            .dead_letter_topic = "jobs.dlq"});
//   auto got = subs.Receive("jobs", "workers",
//                           {.max_records = 10, .max_wait = absl::Seconds(5)});
//   for (const spool::ReceivedRecord& r : *got) {
//     if (Process(r)) {
//       subs.Ack("jobs", "workers", {r.delivery});
//     } else {
//       subs.Nack("jobs", "workers", r.delivery);  // retried after backoff
//     }
//   }
//
// A subscription hands each record of its topic to one consumer at a time
// under a lease. A record is done once it is acknowledged (Ack), or
// dead-lettered (Reject, or max_deliveries reached). A lease that runs out,
// or a Nack, makes the record available again after a backoff.
//
// Guarantees: at-least-once. An Ack that returned OK with sync (the
// default) is never undone by any crash: the record is not delivered again.
// After a clean Close and reopen, acks, attempt counts and leases are as
// they were. After a crash, unacknowledged records come back (a lease held
// at the crash may end early); nothing is lost.
//
// Handles: Receive returns each record with a Delivery {partition, offset,
// attempt}. Ack / Nack / ExtendLease / Reject name a Delivery; the call is
// refused with kFailedPrecondition ("lease lost") if the record has been
// delivered again since (attempt no longer current) — its new holder owns
// it. Acking a record that is already done is OK (idempotent).
//
// Errors:
//   kInvalidArgument     bad names or config, max_records < 1, ...
//   kNotFound            unknown topic, subscription or partition
//   kAlreadyExists       creating a subscription that exists
//   kFailedPrecondition  "lease lost" (above); the record is not delivered
//                        at all ("not leased"); a closed engine
//   and the tables' / log's I/O codes (kUnavailable, kResourceExhausted).
//
// Thread safety: thread-safe. Partitions of a subscription are served in
// parallel; calls on one partition are serialized by its lock.

#ifndef SPOOL_SUBSCRIPTIONS_H_
#define SPOOL_SUBSCRIPTIONS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "spool/record.h"

namespace spool {

inline constexpr size_t kMaxSubscriptionNameBytes = 249;

// Headers a dead-lettered record carries in the dead-letter topic (values
// are decimal text except topic, subscription and reason), after the
// record's own headers.
inline constexpr char kDlqTopicHeader[] = "spool.dlq.topic";
inline constexpr char kDlqPartitionHeader[] = "spool.dlq.partition";
inline constexpr char kDlqOffsetHeader[] = "spool.dlq.offset";
inline constexpr char kDlqSubscriptionHeader[] = "spool.dlq.subscription";
inline constexpr char kDlqAttemptsHeader[] = "spool.dlq.attempts";
inline constexpr char kDlqReasonHeader[] = "spool.dlq.reason";
inline constexpr char kDlqTimestampHeader[] = "spool.dlq.timestamp";
inline constexpr char kDlqTimeHeader[] = "spool.dlq.dead_lettered_ms";

// Delay before a record whose lease ran out or that was nacked (without an
// explicit delay) becomes visible again. Attempt n (1-based: the delivery
// that failed) waits initial * multiplier^(n-1) for kExponential, initial
// for kFixed, never more than max.
struct BackoffPolicy {
  enum class Kind { kFixed, kExponential };
  Kind kind = Kind::kExponential;
  absl::Duration initial = absl::Seconds(1);
  absl::Duration max = absl::Minutes(5);
  double multiplier = 2.0;
  // The delay after the delivery numbered `attempt` (>= 1) failed.
  absl::Duration DelayAfter(int32_t attempt) const;
};

// What happens to a record of an ordered key (ordered_by_key) that used up
// max_deliveries. Records without a key, and every record of an unordered
// subscription, are always dead-lettered.
enum class PoisonPolicy {
  kDeadLetter,  // dead-letter it; the key's next record goes next
  kPark,        // keep it; the key's later records wait (other keys go on)
                // until ResolveParked retries or skips it
};

enum class StartPosition { kEarliest, kLatest };

struct SubscriptionConfig {
  // The lease Receive gives when ReceiveOptions::lease is not set.
  absl::Duration lease = absl::Seconds(30);
  // Deliveries before a record is dead-lettered (or parked); 0: unlimited.
  int32_t max_deliveries = 5;
  BackoffPolicy backoff;
  // At most one record per key in flight, in offset order (keys map to one
  // partition, so this is per-key order).
  bool ordered_by_key = false;
  PoisonPolicy poison_policy = PoisonPolicy::kDeadLetter;
  // Where exhausted and rejected records go; must exist at creation. Empty:
  // they are dropped (acknowledged and counted as dropped).
  std::string dead_letter_topic;
  // Where a new subscription starts on each existing partition. Partitions
  // added later start at their beginning.
  StartPosition start = StartPosition::kEarliest;
  // Per partition, the most unacknowledged records held in memory (the
  // window from the ack floor). A full window stops new records from being
  // read until the oldest are done.
  int32_t max_unacked_records = 10000;
  // Sync each delivery's row (attempt count, lease) before Receive
  // returns. Off: a power loss may lose attempt counts and leases, so a
  // record may be delivered more than max_deliveries times.
  bool sync_deliveries = false;

  absl::Status Validate() const;
};

// A record's delivery: what Ack & co. name.
struct Delivery {
  int32_t partition = 0;
  int64_t offset = 0;
  int32_t attempt = 0;  // 1 for the first delivery
};

// Consecutive offsets [first_offset, end_offset) of one partition, each
// delivered at `attempt`: many deliveries in compact form (see
// ReceivedBatch::Ranges). Acking a range acks each of its offsets as the
// Delivery {partition, offset, attempt} would; offsets already done (such
// as offsets without a record) are fine, as in Ack.
struct DeliveryRange {
  int32_t partition = 0;
  int64_t first_offset = 0;
  int64_t end_offset = 0;  // exclusive; > first_offset
  int32_t attempt = 0;
};

// The deliveries as ranges, in the order given: consecutive ones of one
// partition at the same attempt (offset after offset) form one range.
std::vector<DeliveryRange> RangesOf(absl::Span<const Delivery> deliveries);

struct ReceivedRecord {
  Delivery delivery;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<Header> headers;
  int64_t timestamp = -1;
  absl::Time lease_deadline;
};

// A record handed out by ReceiveBatch: key, value and headers are views
// into memory its ReceivedBatch holds. record.offset equals
// delivery.offset and record.timestamp is the record's timestamp.
struct ReceivedRecordView {
  // (Not value-initialized: every member has its own initializer, and
  // zero-filling all of it first would cost a pass over each record.)
  ReceivedRecordView() {}

  Delivery delivery;
  RecordView record;
  absl::Time lease_deadline;
};

// What ReceiveBatch returns. The views stay valid while the batch lives,
// also after it is moved. It holds the log bytes the records were read
// from (whole fetched reads of up to 256 KiB, shared with the subscription
// and other batches), so keep it no longer than the records are needed.
struct ReceivedBatch {
  std::vector<ReceivedRecordView> records;
  // What the views point into.
  std::vector<std::shared_ptr<const void>> holds;

  bool empty() const { return records.empty(); }
  size_t size() const { return records.size(); }
  auto begin() const { return records.begin(); }
  auto end() const { return records.end(); }

  // The deliveries of `records` as ranges: consecutive records of one
  // partition at the same attempt form one range (a first-delivery batch
  // usually makes one range per partition). For a consumer that acks a
  // whole batch: AckRanges or ReceiveOptions::ack_ranges.
  std::vector<DeliveryRange> Ranges() const;
};

struct ReceiveOptions {
  int32_t max_records = 1;
  // Lease length; default the subscription's.
  std::optional<absl::Duration> lease;
  // Long poll: wait up to this long (real time) for a record to become
  // available when none is. No busy waiting: woken by appends to the topic
  // and by records released (nack, ack of an ordered key, lease expiry).
  absl::Duration max_wait = absl::ZeroDuration();
  // Records to acknowledge first, as Ack with sync = false would: a
  // consumer loop's Ack and its next Receive in one call (as Kafka's share
  // fetch carries acknowledgements). Every one is checked before anything
  // changes; if one is refused, the call fails with Ack's error and
  // neither acknowledges nor receives anything. The acks' rows are written
  // together with the rows of the records received, in one table write.
  // An error after the checks (a failed write or read) may leave the acks
  // applied, as a failed Ack may. The span must stay valid during the call.
  absl::Span<const Delivery> ack;
  // As `ack`, as ranges (AckRanges); both may be given.
  absl::Span<const DeliveryRange> ack_ranges;
};

struct AckOptions {
  // true: durable when Ack returns (survives any crash). false: survives a
  // process crash; a power loss may redeliver it.
  bool sync = true;
};

struct SubscriptionPartitionState {
  int32_t partition = 0;
  int64_t ack_floor = 0;  // every offset below is done
  int64_t log_end_offset = 0;
  int64_t acked_above_floor = 0;  // offsets in acked ranges
  int64_t acked_ranges = 0;       // rows
  int64_t backlog = 0;            // log end - floor - acked_above_floor
  int64_t in_flight = 0;          // leased now
  int64_t waiting = 0;            // waiting for a backoff / not-before
  int64_t parked = 0;
};

struct SubscriptionDescription {
  std::string topic;
  std::string name;
  SubscriptionConfig config;
  absl::Time created;
  std::vector<SubscriptionPartitionState> partitions;
};

struct ParkedRecord {
  int32_t partition = 0;
  int64_t offset = 0;
  std::optional<std::string> key;
  int32_t attempts = 0;
  std::string reason;
  absl::Time parked_at;
  int64_t blocked_records = 0;  // later records of the key held in memory
};

enum class ParkedAction {
  kRetry,       // deliver it again with a fresh attempt count
  kSkip,        // acknowledge it without processing; the key goes on
  kDeadLetter,  // dead-letter it; the key goes on
};

struct RedriveOptions {
  // Move at most this many records (over all partitions).
  int64_t max_records = INT64_MAX;
};

struct RedriveResult {
  int64_t moved = 0;
  int64_t skipped = 0;  // records without the dlq headers, left behind
};

// The work-queue subscriptions of one engine. See the top of this file.
class Subscriptions {
 public:
  virtual ~Subscriptions() = default;

  // --- Administration ---------------------------------------------------
  // Creates a subscription on an existing topic (durable on return).
  // kAlreadyExists if it exists; kNotFound for an unknown topic or dead-
  // letter topic; kInvalidArgument for a bad name or config.
  virtual absl::Status CreateSubscription(std::string_view topic,
                                          std::string_view name,
                                          const SubscriptionConfig& config) = 0;
  // Deletes it and all its state (one synced batch). kNotFound if unknown.
  virtual absl::Status DeleteSubscription(std::string_view topic,
                                          std::string_view name) = 0;
  // (topic, name) pairs, sorted.
  virtual absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
  ListSubscriptions() const = 0;
  virtual absl::StatusOr<SubscriptionDescription> DescribeSubscription(
      std::string_view topic, std::string_view name) const = 0;

  // --- Consuming ----------------------------------------------------------
  // Up to max_records records that are neither done, leased, waiting for a
  // backoff or not-before time, nor (ordered_by_key) behind an unfinished
  // record of their key; each leased until now + lease. Partitions are
  // served round robin, except that a call whose acks (ReceiveOptions::
  // ack, ack_ranges) are all of one partition, found unlocked, starts
  // there, but for every 16th such call of the subscription
  // (docs/queues.md). Empty if none became available within max_wait.
  virtual absl::StatusOr<std::vector<ReceivedRecord>> Receive(
      std::string_view topic, std::string_view name,
      const ReceiveOptions& options = {}) = 0;
  // As Receive, without copying the records: their key, value and headers
  // are views into the returned batch (see ReceivedBatch). The fast path
  // for consumers that process records in place.
  virtual absl::StatusOr<ReceivedBatch> ReceiveBatch(
      std::string_view topic, std::string_view name,
      const ReceiveOptions& options = {}) = 0;

  // Marks the records done. Checks every delivery first (nothing changes if
  // one is refused); stale or unknown ones fail the call.
  virtual absl::Status Ack(std::string_view topic, std::string_view name,
                           const std::vector<Delivery>& deliveries,
                           const AckOptions& options = {}) = 0;
  // As Ack, for every offset of each range: the cheap way to ack a whole
  // batch (ReceivedBatch::Ranges). kInvalidArgument for an empty range.
  virtual absl::Status AckRanges(std::string_view topic, std::string_view name,
                                 absl::Span<const DeliveryRange> ranges,
                                 const AckOptions& options = {}) = 0;

  // Ends the lease now. The record is available again after `delay`, or
  // after the backoff if nullopt; if this was its last allowed delivery it
  // is dead-lettered (or parked). `reason` is kept for the dead-letter
  // headers.
  virtual absl::Status Nack(std::string_view topic, std::string_view name,
                            const Delivery& delivery,
                            std::optional<absl::Duration> delay = std::nullopt,
                            std::string_view reason = "") = 0;

  // Moves the lease deadline to now + extension. Returns the new deadline.
  virtual absl::StatusOr<absl::Time> ExtendLease(std::string_view topic,
                                                 std::string_view name,
                                                 const Delivery& delivery,
                                                 absl::Duration extension) = 0;

  // Dead-letters the record now with `reason` (or drops it, without a
  // dead-letter topic), whatever its attempt count. Durable on return.
  virtual absl::Status Reject(std::string_view topic, std::string_view name,
                              const Delivery& delivery,
                              std::string_view reason) = 0;

  // --- Parked keys and dead letters ----------------------------------------
  virtual absl::StatusOr<std::vector<ParkedRecord>> ListParked(
      std::string_view topic, std::string_view name) const = 0;
  // Unblocks the key whose parked record is at (partition, offset).
  // kNotFound if nothing is parked there.
  virtual absl::Status ResolveParked(std::string_view topic,
                                     std::string_view name, int32_t partition,
                                     int64_t offset, ParkedAction action) = 0;

  // Moves records from a dead-letter topic back to the topic and partition
  // named in their headers (without the dlq headers), from the dead-letter
  // topic's log start, and then deletes them from the dead-letter topic
  // (DeleteRecordsBefore). At-least-once: a crash in between may move a
  // record twice.
  virtual absl::StatusOr<RedriveResult> Redrive(
      std::string_view dead_letter_topic,
      const RedriveOptions& options = {}) = 0;

  // --- Work-queue retention -----------------------------------------------
  // The smallest ack floor of any subscription on (topic, partition):
  // segments below it are done for every subscription. nullopt: no
  // subscription on the topic. kNotFound for an unknown topic or partition.
  virtual absl::StatusOr<std::optional<int64_t>> RetentionFloor(
      std::string_view topic, int32_t partition) const = 0;
};

}  // namespace spool

#endif  // SPOOL_SUBSCRIPTIONS_H_
