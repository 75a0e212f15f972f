// Engine-internal operations on whole record batches: writing a header over
// an assembled batch, in-place header rewrites, and scanning the batches of
// a .log file. See docs/format/record-batch.md for the layout.

#ifndef SPOOL_FORMAT_BATCH_INTERNAL_H_
#define SPOOL_FORMAT_BATCH_INTERNAL_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "spool/record.h"

namespace spool {

// Byte positions of the header fields within a batch.
inline constexpr size_t kBaseOffsetPos = 0;
inline constexpr size_t kBatchLengthPos = 8;
inline constexpr size_t kPartitionLeaderEpochPos = 12;
inline constexpr size_t kMagicPos = 16;
inline constexpr size_t kCrcPos = 17;
inline constexpr size_t kAttributesPos = 21;  // the CRC covers [21, end)
inline constexpr size_t kLastOffsetDeltaPos = 23;
inline constexpr size_t kBaseTimestampPos = 27;
inline constexpr size_t kMaxTimestampPos = 35;
inline constexpr size_t kProducerIdPos = 43;
inline constexpr size_t kProducerEpochPos = 51;
inline constexpr size_t kBaseSequencePos = 53;
inline constexpr size_t kRecordsCountPos = 57;
inline constexpr int8_t kMagicV2 = 2;

// ------------------------------------------------------------ writing

// Writes the 61-byte header of the batch occupying batch[0, size), whose
// records region (compressed or not) is already in place at batch + 61.
// Every field comes from `header` except batchLength (size - 12), magic (2)
// and crc (computed last, over [21, size)).
// REQUIRES: 61 <= size, size - 12 <= INT32_MAX.
void EncodeBatchHeader(const BatchHeader& header, char* batch, size_t size);

// Appends a complete batch: the header as EncodeBatchHeader writes it, then
// `records_region` verbatim. For tools and tests that need exact control of
// every field (e.g. record counts or timestamps a builder would not write).
// REQUIRES: records_region.size() <= INT32_MAX - 49.
void AppendRawBatch(const BatchHeader& header, std::string_view records_region,
                    std::string* out);

// ------------------------------------------------------------ in place
// In-place rewrites of a complete batch's header. REQUIRES: `batch` points
// at a whole batch of `size` >= 61 bytes (size == 12 + batchLength).

// baseOffset and partitionLeaderEpoch are outside the CRC: no recompute.
void SetBaseOffset(char* batch, int64_t base_offset);
void SetPartitionLeaderEpoch(char* batch, int32_t epoch);
// Sets the LogAppendTime attribute bit and maxTimestamp, recomputes the CRC.
void SetLogAppendTime(char* batch, size_t size, int64_t timestamp_ms);
// Sets maxTimestamp, recomputes the CRC.
void SetMaxTimestamp(char* batch, size_t size, int64_t ts);

// ------------------------------------------------------------ scanning

struct ScannedBatch {
  RecordBatchView batch;  // views the scanner's input
  uint64_t position = 0;  // absolute position of the batch's first byte
};

enum class ScanStop {
  kEnd,             // the data ended exactly after the last good batch
  kIncompleteTail,  // the data ends inside a batch (torn write, or read more)
  kCorrupt,         // bytes at valid_end() are not a valid batch
};
std::string_view ScanStopName(ScanStop s);  // "end", "incomplete-tail", ...

// Walks the batches concatenated in `data`, as in a .log file (no file
// header, no padding), the way Kafka's FileLogInputStream does but stricter:
//
//   0 bytes left                          -> kEnd
//   1..11 bytes left (no full prefix)     -> kIncompleteTail
//   batchLength < 14 (e.g. a zeroed tail) -> kCorrupt
//   magic != 2 (checked if byte 16 is present)        -> kCorrupt
//   batchLength < 49, or, once the 61 header bytes are present, any header
//   field ParseBatchHeader rejects                    -> kCorrupt
//   the batch runs past the end of `data`             -> kIncompleteTail
//   CRC mismatch (when verify_crc)                    -> kCorrupt
//
// Kafka stops silently when fewer than 18 bytes are left and only reports
// batchLength < 14 as corrupt; this scanner looks at whatever header bytes
// are present so that garbage is called corrupt as early as possible, while a
// prefix of a valid batch is always an incomplete tail. A caller feeding a
// file in chunks reads more from valid_end() on kIncompleteTail; a true tail
// is one that is still incomplete at end of file.
//
// Positions are absolute: `base_position` + offset in `data`. status() is
// OK for kEnd, kOutOfRange for kIncompleteTail (how many bytes are present,
// what batchLength claimed) and kDataLoss for kCorrupt (which check failed,
// at which absolute position). The records of scanned batches are not
// decoded; use RecordIterator for that. Single-threaded; `data` must outlive
// the scanner and the batches it returns.
class BatchScanner {
 public:
  explicit BatchScanner(std::string_view data, uint64_t base_position = 0,
                        bool verify_crc = true);

  // Stores the next batch in *out and returns true, or returns false once
  // stopped (then and ever after).
  bool Next(ScannedBatch* out);

  // Meaningful once Next() has returned false.
  ScanStop stop_reason() const { return stop_; }
  const absl::Status& status() const { return status_; }
  // Absolute position just after the last good batch (base_position if
  // none): the length to truncate a segment to.
  uint64_t valid_end() const { return base_ + pos_; }

 private:
  bool Stop(ScanStop reason, absl::Status status);

  std::string_view data_;
  uint64_t base_;
  bool verify_crc_;
  size_t pos_ = 0;
  bool stopped_ = false;
  ScanStop stop_ = ScanStop::kEnd;
  absl::Status status_;
};

}  // namespace spool

#endif  // SPOOL_FORMAT_BATCH_INTERNAL_H_
