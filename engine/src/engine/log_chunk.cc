#include "engine/log_chunk.h"

#include <utility>

#include "absl/strings/str_format.h"
#include "format/record_codec.h"

namespace spool {

absl::StatusOr<std::shared_ptr<LogChunk>> LogChunk::FromFetch(
    absl::StatusOr<FetchResult>&& fetch) {
  if (!fetch.ok()) return fetch.status();
  const char* const buffer = fetch->data.data();
  std::shared_ptr<LogChunk> chunk(new LogChunk());
  chunk->fetch_ = *std::move(fetch);
  // The regions hold the segment files open (file-cache handles); a chunk
  // may outlive the read by far (a consumer's batch), and even the engine.
  chunk->fetch_.regions.clear();
  chunk->fetch_.regions.shrink_to_fit();
  if (!chunk->fetch_.batches.empty() && chunk->fetch_.data.data() != buffer) {
    return absl::InternalError(absl::StrFormat(
        "reading %s partition %d at offset %d: the fetched batches moved "
        "in memory",
        chunk->fetch_.tp.topic, chunk->fetch_.tp.partition,
        chunk->fetch_.requested_offset));
  }
  return chunk;
}

std::shared_ptr<const LogChunk> LogChunk::CopyOf(std::string_view encoded,
                                                 std::string_view* copy) {
  std::shared_ptr<LogChunk> chunk(new LogChunk());
  chunk->copy_.assign(encoded);
  chunk->is_copy_ = true;
  *copy = chunk->copy_;
  return chunk;
}

bool LogChunk::Next(RecordView* r, std::string_view* encoded,
                    absl::Status* status) {
  for (;;) {
    if (current_ != nullptr) {
      while (current_->Next(r)) {
        if (r->offset < fetch_.requested_offset) continue;
        // (The region of a compressed batch exists after its first Next.)
        if (region_.data() == nullptr) region_ = current_->region();
        *encoded = region_.substr(r->position, r->size_bytes);
        return true;
      }
      *status = current_->status();
      current_ = nullptr;
      region_ = {};
      if (!status->ok()) {
        next_batch_ = fetch_.batches.size();  // no further records
        return false;
      }
    }
    *status = absl::OkStatus();
    if (next_batch_ >= fetch_.batches.size()) return false;
    const RecordBatchView& batch = fetch_.batches[next_batch_++];
    if (batch.header().is_control()) continue;
    if (batch.header().compression() != Compression::kNone) {
      iterators_.push_back(std::make_unique<RecordIterator>(batch));
      current_ = iterators_.back().get();
    } else {
      plain_.emplace(batch);
      current_ = &*plain_;
    }
  }
}

absl::Status DecodeEncodedRecord(std::string_view encoded, RecordView* out) {
  size_t pos = 0;
  const RecordRegion region{.bytes = encoded};
  absl::Status s = DecodeRecord(region, &pos, out);
  if (s.ok() && pos != encoded.size()) {
    return absl::DataLossError(absl::StrFormat(
        "a held record has %d bytes after its end", encoded.size() - pos));
  }
  return s;
}

std::vector<Header> CopyHeaders(const RecordView& r) {
  std::vector<Header> out;
  out.reserve(r.headers.size());
  for (const HeaderView& h : r.headers) {
    Header& copy = out.emplace_back();
    copy.key = std::string(h.key);
    if (h.value.has_value()) copy.value.emplace(*h.value);
  }
  return out;
}

Record CopyRecord(const RecordView& r) {
  Record rec;
  if (r.key.has_value()) rec.key.emplace(*r.key);
  if (r.value.has_value()) rec.value.emplace(*r.value);
  rec.headers = CopyHeaders(r);
  rec.timestamp = r.timestamp;
  return rec;
}

}  // namespace spool
