// LogChunk: log bytes a shared subscription read, shared between the
// in-flight window (records not yet delivered point into it) and the
// ReceivedBatch values handed to consumers (their views point into it).
// A chunk is one Fetch, plus the decompressed records of its compressed
// batches, or a copy of a single record (CopyOf).
//
// Immutable once built; shared with std::shared_ptr<const LogChunk>.

#ifndef SPOOL_ENGINE_LOG_CHUNK_H_
#define SPOOL_ENGINE_LOG_CHUNK_H_

#include <memory>
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

  const FetchResult& fetch() const { return fetch_; }

  // Calls fn(record, encoded) for every record at or after the fetch's
  // requested offset, in offset order, where `encoded` is the record's
  // bytes (length varint to last header) inside this chunk; stops early if
  // fn returns false. Decompressed regions are kept in the chunk, so views
  // into them live as long as it. Errors are decoding errors. Call before
  // sharing the chunk (it keeps the decompressed regions).
  template <typename Fn>
  absl::Status ForEachRecord(Fn fn) {
    for (const RecordBatchView& batch : fetch_.batches) {
      if (batch.header().is_control()) continue;
      iterators_.push_back(std::make_unique<RecordIterator>(batch));
      RecordIterator& it = *iterators_.back();
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

 private:
  LogChunk() = default;

  FetchResult fetch_;
  // One per batch visited: compressed batches' records live in them.
  std::vector<std::unique_ptr<RecordIterator>> iterators_;
  std::string copy_;  // CopyOf
};

// Decodes a record from the bytes ForEachRecord passed as `encoded`; the
// views point into `encoded`. Offset and timestamp are left to the caller
// (they need the batch header). kDataLoss if the bytes are not one record.
absl::Status DecodeEncodedRecord(std::string_view encoded, RecordView* out);

// An owned copy of a record's key, value, headers and timestamp.
Record CopyRecord(const RecordView& r);

}  // namespace spool

#endif  // SPOOL_ENGINE_LOG_CHUNK_H_
