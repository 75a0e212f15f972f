// A growable output area for decompressors that must not trust their input.

#ifndef SPOOL_FORMAT_OUTPUT_BUFFER_H_
#define SPOOL_FORMAT_OUTPUT_BUFFER_H_

#include <algorithm>
#include <cstddef>
#include <limits>
#include <string>

namespace spool {

// Hands out writable space in *out, growing it geometrically but never to
// more than limit + 1 bytes: a decompressor that fills the last byte has
// proven the output exceeds the limit, without any input being able to make
// the buffer larger than that. Finish() trims *out to the bytes committed.
// Single-threaded.
class OutputBuffer {
 public:
  // `expected` is a size hint (e.g. a content size claimed by the stream),
  // clamped to the limit.
  OutputBuffer(std::string* out, size_t limit, size_t expected)
      : out_(out),
        limit_(limit),
        hard_cap_(limit == std::numeric_limits<size_t>::max() ? limit
                                                              : limit + 1) {
    out_->clear();
    out_->resize(std::min(std::max<size_t>(expected, 1), hard_cap_));
  }
  OutputBuffer(const OutputBuffer&) = delete;
  OutputBuffer& operator=(const OutputBuffer&) = delete;

  // Makes sure at least one byte is writable. False if the buffer is already
  // at its hard cap, i.e. more than `limit` bytes have been committed.
  bool Reserve() {
    if (size_ < out_->size()) return true;
    if (out_->size() >= hard_cap_) return false;
    size_t grown = std::max<size_t>(out_->size() * 2, size_t{64} << 10);
    out_->resize(std::min(grown, hard_cap_));
    return true;
  }
  char* data() { return out_->data() + size_; }
  size_t available() const { return out_->size() - size_; }
  void Commit(size_t n) { size_ += n; }

  size_t size() const { return size_; }
  bool exceeded() const { return size_ > limit_; }
  void Finish() { out_->resize(size_); }

 private:
  std::string* out_;
  const size_t limit_;
  const size_t hard_cap_;
  size_t size_ = 0;
};

}  // namespace spool

#endif  // SPOOL_FORMAT_OUTPUT_BUFFER_H_
