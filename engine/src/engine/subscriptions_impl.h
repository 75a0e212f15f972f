// SubscriptionsImpl: the engine's shared subscriptions
// (spool/subscriptions.h; docs/queues.md).
//
// Structure: a registry (topic, name) -> Sub, guarded by mu_. A Sub holds
// one PartitionQueue per partition of its topic, each behind its own
// mutex, so consumers of different partitions never contend. The queue's
// rows are written to the tables under the partition's mutex (so a
// partition's writes are stored in the order its state changed) and
// unsynced; a call that must be durable then issues a synced write of the
// subscription's marker row outside the lock, which syncs the WAL up to and
// including its own rows (RocksDB's sync covers every earlier write; group
// commit shares the fdatasync among concurrent callers).
//
// Dead-lettering runs under the Sub's dlq_mu (one record at a time per
// subscription): write the intent row (synced), append to the dead-letter
// topic with the subscription's idempotent producer id and the intent's
// sequence (durability sync), then ack in the source and delete the intent
// in one synced batch. A crash at any point leaves an intent that the next
// attempt replays with the same sequence: the dead-letter partition sees a
// duplicate and answers with the first copy's offset (exactly once).
//
// Lock order: Sub::dlq_mu, then a partition's mu (ascending partition
// numbers when several are held); mu_ and Sub::wait_mu are leaves. No
// partition lock is held while calling into the engine's administration;
// the log is read (Fetch) under a partition's lock.
//
// Thread-safe.

#ifndef SPOOL_ENGINE_SUBSCRIPTIONS_IMPL_H_
#define SPOOL_ENGINE_SUBSCRIPTIONS_IMPL_H_

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/prometheus.h"
#include "engine/subscription_codec.h"
#include "engine/subscription_partition.h"
#include "spool/clock.h"
#include "spool/engine.h"
#include "spool/subscriptions.h"
#include "tables/table_store.h"
#include "util/mutex.h"

namespace spool {

class SubscriptionsImpl final : public Subscriptions {
 public:
  struct Options {
    TableStore* tables = nullptr;  // not owned
    Clock* clock = nullptr;        // not owned
    Engine* engine = nullptr;      // not owned; topics, fetch, append
  };

  // Loads every subscription's rows (no log reads; windows fill lazily).
  static absl::StatusOr<std::unique_ptr<SubscriptionsImpl>> Open(
      Options options);

  // Wakes long polls; later calls fail with kFailedPrecondition.
  void Close();

  // The engine appended to `tp`: wake long polls on its topic. Cheap when
  // nobody waits.
  void OnAppend(const TopicPartition& tp);

  // The topic is being deleted: drop every subscription on it.
  absl::Status DropTopic(std::string_view topic);

  void AppendMetrics(PrometheusWriter& w) const;

  // Subscriptions
  absl::Status CreateSubscription(std::string_view topic, std::string_view name,
                                  const SubscriptionConfig& config) override;
  absl::Status DeleteSubscription(std::string_view topic,
                                  std::string_view name) override;
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
  ListSubscriptions() const override;
  absl::StatusOr<SubscriptionDescription> DescribeSubscription(
      std::string_view topic, std::string_view name) const override;
  absl::StatusOr<std::vector<ReceivedRecord>> Receive(
      std::string_view topic, std::string_view name,
      const ReceiveOptions& options) override;
  absl::StatusOr<ReceivedBatch> ReceiveBatch(
      std::string_view topic, std::string_view name,
      const ReceiveOptions& options) override;
  absl::Status Ack(std::string_view topic, std::string_view name,
                   const std::vector<Delivery>& deliveries,
                   const AckOptions& options) override;
  absl::Status AckRanges(std::string_view topic, std::string_view name,
                         absl::Span<const DeliveryRange> ranges,
                         const AckOptions& options) override;
  absl::Status Nack(std::string_view topic, std::string_view name,
                    const Delivery& delivery,
                    std::optional<absl::Duration> delay,
                    std::string_view reason) override;
  absl::StatusOr<absl::Time> ExtendLease(std::string_view topic,
                                         std::string_view name,
                                         const Delivery& delivery,
                                         absl::Duration extension) override;
  absl::Status Reject(std::string_view topic, std::string_view name,
                      const Delivery& delivery,
                      std::string_view reason) override;
  absl::StatusOr<std::vector<ParkedRecord>> ListParked(
      std::string_view topic, std::string_view name) const override;
  absl::Status ResolveParked(std::string_view topic, std::string_view name,
                             int32_t partition, int64_t offset,
                             ParkedAction action) override;
  absl::StatusOr<RedriveResult> Redrive(std::string_view dead_letter_topic,
                                        const RedriveOptions& options) override;
  absl::StatusOr<std::optional<int64_t>> RetentionFloor(
      std::string_view topic, int32_t partition) const override;

 private:
  struct Part {
    explicit Part(PartitionQueue q) : queue(std::move(q)) {}
    mutable Mutex mu;
    PartitionQueue queue ABSL_GUARDED_BY(mu);
    // A consumer holds mu to receive (a hint: others try elsewhere first).
    std::atomic<bool> busy{false};
  };
  using PartPtr = std::shared_ptr<Part>;

  struct OpenIntent {
    int32_t partition = 0;
    int64_t offset = 0;
    IntentRow row;
  };

  struct Sub {
    // Constant after Open / Create.
    StoredSubscription stored;
    std::string prefix;
    std::string not_before_header;

    mutable Mutex parts_mu;
    std::vector<PartPtr> parts ABSL_GUARDED_BY(parts_mu);
    std::atomic<uint32_t> next_part{0};
    // Receives whose acks ride on them, all of one partition (TryReceive):
    // every kStickyCalls-th starts at next_part.
    std::atomic<uint32_t> riding_acks_calls{0};
    std::atomic<bool> deleted{false};

    // Dead-lettering, one record at a time.
    Mutex dlq_mu;
    std::optional<std::map<int32_t, int32_t>> next_sequence
        ABSL_GUARDED_BY(dlq_mu);  // loaded on first use
    // Intents written and not finished (a crash, a failed append); the
    // front one owns the next sequence and is finished before any other.
    std::deque<OpenIntent> open_intents ABSL_GUARDED_BY(dlq_mu);

    // Long polls wait here; `signal` moves whenever records may have
    // become available.
    mutable Mutex wait_mu;
    CondVar cv;
    uint64_t signal ABSL_GUARDED_BY(wait_mu) = 0;
  };
  using SubPtr = std::shared_ptr<Sub>;
  using Registry = std::map<std::pair<std::string, std::string>, SubPtr>;

  explicit SubscriptionsImpl(Options options);

  absl::Status CheckOpen() const;
  absl::StatusOr<SubPtr> FindSub(std::string_view topic,
                                 std::string_view name) const;
  // A snapshot of the Sub's partitions, first adding partitions the topic
  // gained (AddPartitions) since.
  absl::StatusOr<std::vector<PartPtr>> Parts(Sub& sub) const;
  absl::StatusOr<PartPtr> PartOf(Sub& sub, int32_t partition) const;
  // Builds a Sub from its stored rows (sorted by key), writing cleanups.
  absl::StatusOr<SubPtr> LoadSub(
      const std::string& prefix,
      const std::vector<std::pair<std::string, std::string>>& rows);
  absl::StatusOr<SubPtr> NewSub(StoredSubscription stored) const;
  PartPtr NewPart(const Sub& sub, int32_t partition, int64_t floor) const;

  // Reads records from the log into the window until `want` are available
  // or the window is full or the log has no more.
  absl::Status Fill(const Sub& sub, PartitionQueue& q, int32_t partition,
                    size_t want, absl::Time now,
                    TableStore::Batch* batch) const;
  // Hands out first deliveries straight from the log (PartitionQueue::
  // TakeFresh) until out holds max_records or the queue is not FreshReady
  // or the log has no more.
  absl::Status TakeFresh(const Sub& sub, PartitionQueue& q, int32_t partition,
                         size_t max_records, absl::Time now,
                         absl::Duration lease, TableStore::Batch* batch,
                         ReceivedBatch* out) const;
  // Locks the partitions of `ranges` (sorted by partition, as AckRangesOf
  // makes them; ascending is the lock order), checks every offset and acks
  // them into *batch (rows not yet flushed). On success the partitions stay
  // locked, listed in *locked: the caller flushes, writes *batch and
  // unlocks them. On a refusal (the error Ack returns) nothing changed and
  // nothing stays locked. *waited (if given) is set to true if another
  // thread held one of the locks.
  absl::Status LockAndAck(Sub& sub, absl::Span<const DeliveryRange> ranges,
                          std::vector<PartPtr>* locked,
                          TableStore::Batch* batch, bool* waited = nullptr);
  // Ack and AckRanges: LockAndAck, write, unlock, sync if asked.
  absl::Status AckList(Sub& sub, absl::Span<const DeliveryRange> ranges,
                       const AckOptions& options);
  // One look for records. `acks`: what to ack first (ReceiveOptions::ack
  // and ack_ranges, as AckRangesOf makes them), whose rows are written with
  // the rows of the partitions visited while their locks are held.
  absl::StatusOr<ReceivedBatch> TryReceive(
      Sub& sub, int32_t max_records, absl::Duration lease,
      absl::Span<const DeliveryRange> acks,
      std::optional<absl::Time>* next_timer);
  // Writes `batch`; kNotFound once the subscription is deleted. Call with
  // the lock that guards the state the rows describe.
  absl::Status WriteRows(const Sub& sub, const TableStore::Batch& batch,
                         bool sync) const;
  // Marks a Sub deleted and waits until no call can write its rows.
  void Retire(Sub& sub) const;
  // Makes every row written so far durable.
  absl::Status SyncRows(const Sub& sub) const;
  void Signal(Sub& sub) const;

  // Dead-letters every record waiting for it (subscription_dlq.cc).
  absl::Status ProcessDeadLetters(Sub& sub);
  // Writes an intent for the record and finishes it.
  absl::Status DeadLetterOne(Sub& sub, const std::vector<PartPtr>& parts,
                             int32_t partition, int64_t offset)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(sub.dlq_mu);
  // Appends the intent's record with its sequence, then marks it done.
  absl::Status FinishIntent(Sub& sub, const std::vector<PartPtr>& parts,
                            const OpenIntent& open)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(sub.dlq_mu);
  // The dead-letter batch of `record` for `intent` (its sequence).
  absl::StatusOr<std::string> EncodeDeadLetter(const Sub& sub,
                                               const OpenIntent& open,
                                               const IntentRow& intent,
                                               const Record& record) const;
  // Whether the record at `offset` of the dead-letter partition is the
  // dead letter of `open` with `intent` (its headers name the same
  // subscription, topic, partition, offset and intent time; same key and
  // value as `record`).
  absl::StatusOr<bool> IsDeadLetterOf(const Sub& sub, const OpenIntent& open,
                                      const IntentRow& intent,
                                      const Record& record,
                                      const TopicPartition& dlq_tp,
                                      int64_t offset) const;
  // The record an intent names, from the window or the log; nullopt if
  // retention deleted it.
  absl::StatusOr<std::optional<Record>> DeadLetterRecord(
      const Sub& sub, Part& part, const OpenIntent& open) const;
  absl::Status LoadSequences(Sub& sub)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(sub.dlq_mu);

  // Constant after construction.
  TableStore* const tables_;
  Clock* const clock_;
  Engine* const engine_;

  std::atomic<bool> closed_{false};
  std::atomic<int> waiters_{0};  // long polls waiting, over all Subs
  // Appends to any partition so far (OnAppend): a read at a cursor that
  // found the log's end need not be repeated while it stays the same
  // (PartitionQueue::AtEndSeen), which keeps idle polls cheap.
  std::atomic<uint64_t> appends_{0};

  mutable Mutex mu_;
  Registry subs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace spool

#endif  // SPOOL_ENGINE_SUBSCRIPTIONS_IMPL_H_
