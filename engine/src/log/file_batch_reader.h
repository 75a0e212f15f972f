// Reads the record batches of a byte range of a .log file, in chunks, in
// constant memory (a chunk, or one batch if it is larger).
//
// Thread-compatible; the File must stay open while the reader is used.

#ifndef SPOOL_LOG_FILE_BATCH_READER_H_
#define SPOOL_LOG_FILE_BATCH_READER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "format/batch_internal.h"
#include "spool/file_system.h"

namespace spool {

class FileBatchReader {
 public:
  enum class Stop {
    kNone,            // still reading
    kEnd,             // every byte of the range was a valid batch
    kIncompleteTail,  // the range ends inside a batch (a torn write)
    kCorrupt,         // a batch failed validation (status() says which)
    kIoError,         // reading the file failed (status() says how)
  };

  struct Options {
    bool verify_crc = true;
    size_t chunk_bytes = size_t{1} << 20;
    // A batch claiming to be larger than this is treated as corrupt (or as
    // an incomplete tail if it also runs past the end of the range), so a
    // garbage length never makes the reader allocate unboundedly.
    size_t max_batch_bytes = size_t{128} << 20;
  };

  FileBatchReader(const File& file, uint64_t start, uint64_t end,
                  Options options);
  FileBatchReader(const File& file, uint64_t start, uint64_t end)
      : FileBatchReader(file, start, end, Options()) {}

  // The next batch; its view is valid until the next call. False once
  // stopped.
  bool Next(ScannedBatch* out);

  Stop stop() const { return stop_; }
  // Why the reader stopped early (OK for kEnd).
  const absl::Status& status() const { return status_; }
  // Absolute position just after the last batch returned.
  uint64_t valid_end() const { return valid_end_; }

 private:
  bool Refill();
  bool StopWith(Stop stop, absl::Status status);

  const File& file_;
  const uint64_t end_;
  const Options options_;
  std::string buffer_;
  uint64_t buffer_start_ = 0;  // absolute position of buffer_[0]
  std::optional<BatchScanner> scanner_;
  uint64_t valid_end_;
  bool file_ended_ = false;  // a read came back short: the file ends here
  Stop stop_ = Stop::kNone;
  absl::Status status_;
};

}  // namespace spool

#endif  // SPOOL_LOG_FILE_BATCH_READER_H_
