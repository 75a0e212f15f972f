// Message-id de-duplication for one partition (docs/idempotence.md): the
// ids (a record header named in the topic config) of records appended in
// the last `window`, with the offset each got, so that a record carrying an
// id seen within the window is not appended again and its sender learns the
// original offset — what NATS JetStream's Nats-Msg-Id and SQS FIFO's
// deduplication id give producers that are not Kafka clients.
//
// Bounded in time (ids older than the window are dropped) and in memory (at
// most `max_ids`, oldest dropped first). Not persisted on its own: on open
// the partition replays the records appended within the window.
//
// Thread-compatible: the partition's append lock guards it.

#ifndef SPOOL_LOG_DEDUP_WINDOW_H_
#define SPOOL_LOG_DEDUP_WINDOW_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"

namespace spool {

class DedupWindow {
 public:
  DedupWindow(absl::Duration window, int64_t max_ids)
      : window_ms_(absl::ToInt64Milliseconds(window)), max_ids_(max_ids) {}

  // The offset of the record that carried `id` within the window.
  std::optional<int64_t> Find(std::string_view id, int64_t now_ms);
  // Remembers `id` -> `offset`, appended at `time_ms` (which must not go
  // backwards by more than the window). A newer record with the same id
  // (appended after the window expired) replaces the old one.
  void Add(std::string_view id, int64_t offset, int64_t time_ms);
  // Drops ids older than the window.
  void Expire(int64_t now_ms);
  // Drops ids of records at or after `offset` (the log was truncated).
  void TruncateTo(int64_t offset);
  void Clear();

  size_t size() const { return ids_.size(); }
  int64_t window_ms() const { return window_ms_; }

 private:
  struct Entry {
    int64_t offset;
    int64_t time_ms;
  };
  void PopOldest();

  const int64_t window_ms_;
  const int64_t max_ids_;
  absl::flat_hash_map<std::string, Entry> ids_;
  // Insertion order, for expiry: (id, time) pairs; stale pairs (the id was
  // re-added since) are skipped when popped.
  std::deque<std::pair<std::string, int64_t>> order_;
};

}  // namespace spool

#endif  // SPOOL_LOG_DEDUP_WINDOW_H_
