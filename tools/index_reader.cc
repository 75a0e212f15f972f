#include "tools/index_reader.h"

#include <algorithm>

#include "format/coding.h"
#include "util/status_macros.h"

namespace spool::cli {
namespace {

constexpr uint64_t kChunkBytes = 64 * 1024;

}  // namespace

OffsetEntry DecodeOffsetEntry(std::string_view bytes, int64_t base_offset) {
  OffsetEntry e;
  e.relative = static_cast<int32_t>(DecodeFixed32BE(bytes.data()));
  e.offset = base_offset + e.relative;
  e.position = DecodeFixed32BE(bytes.data() + 4);
  return e;
}

TimeEntry DecodeTimeEntry(std::string_view bytes, int64_t base_offset) {
  TimeEntry e;
  e.timestamp = static_cast<int64_t>(DecodeFixed64BE(bytes.data()));
  e.relative = static_cast<int32_t>(DecodeFixed32BE(bytes.data() + 8));
  e.offset = base_offset + e.relative;
  return e;
}

absl::StatusOr<std::unique_ptr<IndexReader>> IndexReader::Open(
    FileSystem* fs, const std::string& path, int entry_size) {
  SPOOL_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                         fs->Open(path, {.read_only = true}));
  SPOOL_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  std::unique_ptr<IndexReader> reader(
      new IndexReader(std::move(file), path, entry_size, size));
  SPOOL_RETURN_IF_ERROR(reader->FindZeroTail());
  return reader;
}

// Reads backwards from the end of the whole entries to the last non-zero
// byte.
absl::Status IndexReader::FindZeroTail() {
  const uint64_t whole = static_cast<uint64_t>(entries()) * entry_size_;
  std::string buf;
  uint64_t end = whole;
  while (end > 0) {
    uint64_t start = end > kChunkBytes ? end - kChunkBytes : 0;
    buf.resize(end - start);
    SPOOL_ASSIGN_OR_RETURN(size_t n,
                           file_->Read(start, buf.size(), buf.data()));
    buf.resize(n);
    size_t i = buf.size();
    while (i > 0 && buf[i - 1] == 0) --i;
    if (i > 0) {
      uint64_t last_nonzero = start + i - 1;
      zero_tail_start_ = static_cast<int64_t>(last_nonzero / entry_size_) + 1;
      return absl::OkStatus();
    }
    end = start;
  }
  zero_tail_start_ = 0;
  return absl::OkStatus();
}

bool IndexReader::Next(std::string_view* entry, int64_t* index) {
  if (next_ >= zero_tail_start_ || !status_.ok()) return false;
  const int64_t buffered = static_cast<int64_t>(buffer_.size()) / entry_size_;
  if (next_ < buffer_first_ || next_ >= buffer_first_ + buffered) {
    const int64_t count =
        std::min<int64_t>(zero_tail_start_ - next_, kChunkBytes / entry_size_);
    buffer_.resize(static_cast<size_t>(count) * entry_size_);
    absl::StatusOr<size_t> n =
        file_->Read(static_cast<uint64_t>(next_) * entry_size_, buffer_.size(),
                    buffer_.data());
    if (!n.ok()) {
      status_ = n.status();
      return false;
    }
    buffer_.resize(*n - *n % entry_size_);
    buffer_first_ = next_;
    if (buffer_.empty()) return false;  // the file shrank under us
  }
  const size_t at = static_cast<size_t>(next_ - buffer_first_) * entry_size_;
  *entry = std::string_view(buffer_).substr(at, entry_size_);
  *index = next_++;
  return true;
}

}  // namespace spool::cli
