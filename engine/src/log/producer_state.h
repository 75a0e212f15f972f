// Idempotent-producer state of one partition (docs/idempotence.md): for
// every producer id seen, its epoch and the sequence numbers and offsets of
// its last five batches, so that a retried batch is recognised and answered
// with the offsets of the first copy instead of being appended twice.
//
// Persisted as Kafka's producer snapshot files, `<20-digit offset>.snapshot`
// in the partition directory (version 1, kafka-format.md §8.3): the state
// after every batch below that offset. Like Kafka's, a snapshot keeps only
// the newest batch per producer; batches after the snapshot are replayed
// from the log on open, so a retry of any of them is still caught.
//
// Thread-compatible: the partition's append lock guards it.

#ifndef SPOOL_LOG_PRODUCER_STATE_H_
#define SPOOL_LOG_PRODUCER_STATE_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/statusor.h"
#include "spool/record.h"

namespace spool {

inline constexpr std::string_view kSnapshotSuffix = ".snapshot";

struct ProducerBatch {
  int32_t first_seq = 0;
  int32_t last_seq = 0;
  int64_t first_offset = 0;
  int64_t last_offset = 0;
  int64_t timestamp = -1;  // ms; when the batch was appended
};

struct ProducerEntry {
  int64_t producer_id = kNoProducerId;
  int16_t epoch = kNoProducerEpoch;
  std::deque<ProducerBatch> batches;  // oldest first, at most 5
  int64_t last_timestamp = -1;        // ms; for expiration
  int32_t coordinator_epoch = -1;
  int64_t current_txn_first_offset = -1;
};

// What to do with a client batch that carries a producer id.
struct ProducerCheck {
  bool duplicate = false;
  // For a duplicate: the offsets the first copy got.
  int64_t first_offset = 0;
  int64_t last_offset = 0;
};

class ProducerStateManager {
 public:
  static constexpr int kBatchesToRetain = 5;

  // Checks a batch a client produced (batch.producer_id >= 0):
  //   duplicate: same epoch and the same sequence range as one of the last
  //     five batches -> {duplicate, original offsets};
  //   an older epoch -> kFailedPrecondition, ErrorKind::kProducerFenced;
  //   a new epoch that does not start at sequence 0, or a sequence that
  //     does not follow the last batch's -> kFailedPrecondition,
  //     ErrorKind::kOutOfOrderSequence.
  // A producer with no state (new, or expired) may start at any sequence.
  absl::StatusOr<ProducerCheck> Check(const BatchHeader& batch) const;

  // Records a batch that was appended (offsets assigned). For client and
  // replicated batches alike; control batches close the open transaction.
  void Update(const BatchHeader& batch, int64_t timestamp_ms);

  // Forgets producers idle since before `now_ms - expiration_ms` (and with
  // no open transaction). Returns how many.
  int RemoveExpired(int64_t now_ms, int64_t expiration_ms);
  void Clear() { producers_.clear(); }

  size_t size() const { return producers_.size(); }
  const ProducerEntry* Find(int64_t producer_id) const;
  std::vector<ProducerEntry> Entries() const;

  // Kafka snapshot format, version 1.
  std::string EncodeSnapshot() const;
  // Replaces the state with the snapshot's. kDataLoss naming `source` for
  // a bad version, CRC or length.
  absl::Status DecodeSnapshot(std::string_view bytes, std::string_view source);

 private:
  absl::btree_map<int64_t, ProducerEntry> producers_;
};

// a + 1, wrapping from INT32_MAX to 0 (Kafka's sequence arithmetic).
int32_t NextSequence(int32_t seq);

}  // namespace spool

#endif  // SPOOL_LOG_PRODUCER_STATE_H_
