// LogChunk: log bytes a shared subscription read, shared between the
// in-flight window (records not yet delivered point into it) and the
// ReceivedBatch values handed to consumers (their views point into it).
// A chunk is one Fetch (up to the read size, 256 KiB for subscriptions,
// or one whole batch if that is larger) without its file regions, plus the
// decompressed records of its compressed batches (each up to the batch
// size limit), or a copy of a single record (CopyOf).
//
// Immutable once built; shared with std::shared_ptr<const LogChunk>.

#ifndef SPOOL_ENGINE_LOG_CHUNK_H_
#define SPOOL_ENGINE_LOG_CHUNK_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "spool/engine.h"
#include "spool/record.h"

namespace spool {

class LogChunk {
 public:
  // Takes the result of a Fetch (not zero-copy). kInternal if the batch
  // views no longer point into the fetch's buffer after the move (they
  // always do for a heap-held std::string; checked, not assumed).
  static absl::StatusOr<std::shared_ptr<LogChunk>> FromFetch(
      absl::StatusOr<FetchResult>&& fetch);
  // A chunk holding a copy of one record's encoded bytes; *copy views it.
  static std::shared_ptr<const LogChunk> CopyOf(std::string_view encoded,
                                                std::string_view* copy);

  // The fetch's data, batches and offsets; `regions` is emptied (a chunk
  // holds no file open).
  const FetchResult& fetch() const { return fetch_; }
  // Made by CopyOf.
  bool is_copy() const { return is_copy_; }

  // Calls fn(record, encoded) for every record at or after the fetch's
  // requested offset, in offset order, where `encoded` is the record's
  // bytes (length varint to last header) inside this chunk; stops early if
  // fn returns false. Decompressed regions are kept in the chunk, so views
  // into them live as long as it. Errors are decoding errors. Not
  // thread-safe: the caller serializes it with every other use of the
  // chunk (subscriptions call it under the partition's lock, or on a
  // chunk nobody else has yet).
  template <typename Fn>
  absl::Status ForEachRecord(Fn fn) {
    for (const RecordBatchView& batch : fetch_.batches) {
      if (batch.header().is_control()) continue;
      // Uncompressed records are views into fetch_.data: the iterator
      // need not outlive the loop. Compressed ones live in the iterator.
      std::unique_ptr<RecordIterator> kept;
      std::optional<RecordIterator> local;
      if (batch.header().compression() != Compression::kNone) {
        kept = std::make_unique<RecordIterator>(batch);
      } else {
        local.emplace(batch);
      }
      RecordIterator& it = kept != nullptr ? *kept : *local;
      if (kept != nullptr) iterators_.push_back(std::move(kept));
      RecordView r;
      while (it.Next(&r)) {
        if (r.offset < fetch_.requested_offset) continue;
        if (!fn(r, it.region().substr(r.position, r.size_bytes))) {
          return absl::OkStatus();
        }
      }
      if (!it.status().ok()) return it.status();
    }
    return absl::OkStatus();
  }

  // Resumable iteration, for a reader that hands records out a few at a
  // time (shared subscriptions' first deliveries): the next record at or
  // after the fetch's requested offset, as ForEachRecord would pass it.
  // False at the end, or on a decoding error (*status says which; it is
  // set only when false is returned). The
  // same contract as ForEachRecord: one reader, serialized by the caller,
  // and not mixed with ForEachRecord on the same chunk.
  bool Next(RecordView* r, std::string_view* encoded, absl::Status* status);

 private:
  LogChunk() = default;

  FetchResult fetch_;
  // One per compressed batch visited: their records live in them.
  std::vector<std::unique_ptr<RecordIterator>> iterators_;
  // Next(): the batch after the one being read, and its iterator (in
  // iterators_ when compressed, else plain_).
  size_t next_batch_ = 0;
  RecordIterator* current_ = nullptr;
  std::string_view region_;  // current_->region(), once known
  std::optional<RecordIterator> plain_;
  std::string copy_;  // CopyOf
  bool is_copy_ = false;
};

// Decodes a record from the bytes ForEachRecord passed as `encoded`; the
// views point into `encoded`. Offset and timestamp are left to the caller
// (they need the batch header). kDataLoss if the bytes are not one record.
absl::Status DecodeEncodedRecord(std::string_view encoded, RecordView* out);

// An owned copy of a record's key, value, headers and timestamp.
Record CopyRecord(const RecordView& r);
// Owned copies of a record's headers.
std::vector<Header> CopyHeaders(const RecordView& r);

}  // namespace spool

#endif  // SPOOL_ENGINE_LOG_CHUNK_H_
