// Records and record batches in Apache Kafka's RecordBatch v2 (magic 2)
// format, which is also Spool's on-disk format. See
// docs/format/record-batch.md for the byte layout.
//
// Building: RecordBatchBuilder turns records into the bytes of one batch.
// Reading: RecordBatchView wraps the bytes of one batch without copying;
// RecordIterator walks its records. Keys, values and headers of an
// uncompressed batch are views into the batch bytes; for a compressed batch
// they point into the iterator's decompression buffer.
//
// Errors from decoding are kDataLoss (corrupt bytes: bad magic, CRC
// mismatch, malformed record, decompression failure), kOutOfRange (the
// input ends before the batch does) or kResourceExhausted (a batch that
// decompresses to more than DecodeOptions::max_decompressed_bytes). Each
// message names the check that failed and the byte position, relative to the
// start of the batch, where it failed.

#ifndef SPOOL_RECORD_H_
#define SPOOL_RECORD_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace spool {

enum class Compression : uint8_t {
  kNone = 0,
  kGzip = 1,    // read only
  kSnappy = 2,  // read only (xerial framing or a raw block)
  kLz4 = 3,     // read only (LZ4 frame)
  kZstd = 4,
};
std::string_view CompressionName(Compression c);  // "none", "gzip", ...

enum class TimestampType : uint8_t { kCreateTime = 0, kLogAppendTime = 1 };

inline constexpr int kLogOverhead = 12;      // baseOffset + batchLength
inline constexpr int kBatchHeaderSize = 61;  // RECORD_BATCH_OVERHEAD
inline constexpr int kMinBatchLength = 14;   // smaller is corruption
inline constexpr int64_t kNoProducerId = -1;
inline constexpr int16_t kNoProducerEpoch = -1;
inline constexpr int32_t kNoSequence = -1;
inline constexpr int32_t kNoPartitionLeaderEpoch = -1;
inline constexpr int64_t kNoTimestamp = -1;

// Attribute bits of a batch.
inline constexpr int16_t kAttrCompressionMask = 0x07;
inline constexpr int16_t kAttrTimestampType = 0x08;
inline constexpr int16_t kAttrTransactional = 0x10;
inline constexpr int16_t kAttrControl = 0x20;
inline constexpr int16_t kAttrDeleteHorizon = 0x40;

// A record header: the key is never null, the value may be.
struct Header {
  std::string key;
  std::optional<std::string> value;
};

// A record to be written. Null key / value (std::nullopt) differ from empty.
struct Record {
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<Header> headers;
  int64_t timestamp = kNoTimestamp;  // ms since epoch; -1: "now" at build
};

struct HeaderView {
  std::string_view key;
  std::optional<std::string_view> value;
};

// One decoded record. Views are valid while the batch bytes (uncompressed)
// or the RecordIterator (compressed) are alive and unchanged.
// (Members ordered for size: 176 bytes rather than 184 with padding.)
struct RecordView {
  int64_t offset = 0;     // base offset + offset delta
  int64_t timestamp = 0;  // effective: LogAppendTime batches use maxTimestamp
  int64_t timestamp_delta = 0;
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  absl::InlinedVector<HeaderView, 2> headers;
  int32_t offset_delta = 0;
  // Position of the record's first byte within the (decompressed) records
  // region, and its encoded size including the length varint.
  uint32_t position = 0;
  uint32_t size_bytes = 0;
  int8_t attributes = 0;
};

// The 61-byte header of a v2 batch, decoded field by field.
struct BatchHeader {
  int64_t base_offset = 0;
  int32_t batch_length = 0;  // bytes after this field: size_bytes() - 12
  int32_t partition_leader_epoch = kNoPartitionLeaderEpoch;
  int8_t magic = 2;
  uint32_t crc = 0;
  int16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t base_timestamp = kNoTimestamp;
  int64_t max_timestamp = kNoTimestamp;
  int64_t producer_id = kNoProducerId;
  int16_t producer_epoch = kNoProducerEpoch;
  int32_t base_sequence = kNoSequence;
  int32_t records_count = 0;

  Compression compression() const {
    return static_cast<Compression>(attributes & kAttrCompressionMask);
  }
  TimestampType timestamp_type() const {
    return (attributes & kAttrTimestampType) ? TimestampType::kLogAppendTime
                                             : TimestampType::kCreateTime;
  }
  bool is_transactional() const { return attributes & kAttrTransactional; }
  bool is_control() const { return attributes & kAttrControl; }
  bool has_delete_horizon() const { return attributes & kAttrDeleteHorizon; }
  int64_t last_offset() const { return base_offset + last_offset_delta; }
  int64_t next_offset() const { return last_offset() + 1; }
  int64_t size_bytes() const { return kLogOverhead + int64_t{batch_length}; }
  // baseSequence + lastOffsetDelta, wrapping past INT32_MAX to 0; -1 if
  // the batch has no sequence.
  int32_t last_sequence() const;
};

struct DecodeOptions {
  // A compressed batch that inflates beyond this is rejected with
  // kResourceExhausted (decompression bomb). Default 64 MiB.
  size_t max_decompressed_bytes = size_t{64} << 20;
  // Check the CRC before decoding records.
  bool verify_crc = true;
};

// Reads the fixed header at the start of `data`. kDataLoss if batchLength
// is below 14, the magic is not 2 or batchLength is below 49 (each checked
// as soon as its bytes are present, even in a short input); then
// kOutOfRange if fewer than 61 bytes are present; then kDataLoss for an
// unknown codec, a negative lastOffsetDelta, a recordsCount outside
// [0, lastOffsetDelta + 1] or baseOffset + lastOffsetDelta overflowing.
// Does not check the CRC or that the whole batch is present.
absl::StatusOr<BatchHeader> ParseBatchHeader(std::string_view data);

// Computes the CRC-32C a batch should carry: over bytes [21, size).
uint32_t ComputeBatchCrc(std::string_view batch);

// A view of exactly one complete v2 batch. Cheap to copy; does not own the
// bytes.
class RecordBatchView {
 public:
  RecordBatchView() = default;

  // Wraps the batch at the start of `data` (which may hold more after it).
  // Fails with kOutOfRange if `data` ends before the batch, kDataLoss if the
  // header is invalid. Does not verify the CRC.
  static absl::StatusOr<RecordBatchView> Parse(std::string_view data);

  const BatchHeader& header() const { return header_; }
  // The whole batch, header included.
  std::string_view bytes() const { return bytes_; }
  // The records region after the 61-byte header (compressed or not).
  std::string_view records_region() const {
    return bytes_.substr(kBatchHeaderSize);
  }
  int64_t size_bytes() const { return static_cast<int64_t>(bytes_.size()); }

  // OK if the stored CRC matches; else kDataLoss naming both values.
  absl::Status VerifyCrc() const;

  // Full validation: the CRC, then every record decodes, the count matches,
  // offset deltas increase and stay within lastOffsetDelta, nothing is left
  // over. Decompresses compressed batches (within the options' limit).
  absl::Status Validate(const DecodeOptions& options = {}) const;

 private:
  BatchHeader header_;
  std::string_view bytes_;
};

// Iterates the records of one batch, validating as it goes.
//
//   RecordIterator it(batch);
//   RecordView r;
//   while (it.Next(&r)) { ... }
//   if (!it.status().ok()) { ... }
//
// Thread-compatible. The batch bytes must outlive the iterator.
class RecordIterator {
 public:
  explicit RecordIterator(const RecordBatchView& batch,
                          const DecodeOptions& options = {});

  // Decodes the next record into `*out`. Returns false at the end or on
  // error; status() tells which.
  bool Next(RecordView* out);
  const absl::Status& status() const { return status_; }
  // The records being iterated, which the views point into: the batch's
  // records region, or (compressed batches, after the first Next()) the
  // iterator's own decompressed copy. RecordView::position and size_bytes
  // locate a record in it.
  std::string_view region() const;

 private:
  bool Start();  // CRC check and decompression, on the first Next()
  bool Fail(absl::Status s);

  RecordBatchView batch_;
  DecodeOptions options_;
  std::string decompressed_;
  size_t pos_ = 0;
  int32_t index_ = 0;
  int32_t prev_delta_ = -1;
  bool started_ = false;
  absl::Status status_;
};

// Decodes every record of a batch. Convenience for tests and tools; owns
// the strings.
absl::StatusOr<std::vector<Record>> DecodeRecords(
    const RecordBatchView& batch, const DecodeOptions& options = {});

struct BatchBuilderOptions {
  Compression compression = Compression::kNone;  // kNone or kZstd
  int zstd_level = 3;
  TimestampType timestamp_type = TimestampType::kCreateTime;
  int64_t base_offset = 0;
  int32_t partition_leader_epoch = kNoPartitionLeaderEpoch;
  int64_t producer_id = kNoProducerId;
  int16_t producer_epoch = kNoProducerEpoch;
  int32_t base_sequence = kNoSequence;
  bool transactional = false;
  bool control = false;
};

// Builds the bytes of one batch. Thread-compatible; reusable after Build()
// via Reset().
class RecordBatchBuilder {
 public:
  explicit RecordBatchBuilder(BatchBuilderOptions options = {});

  // Appends a record with the next offset delta. A timestamp of -1 means the
  // wall-clock time of the first such Add().
  void Add(std::optional<std::string_view> key,
           std::optional<std::string_view> value,
           const std::vector<HeaderView>& headers = {},
           int64_t timestamp = kNoTimestamp);
  void Add(const Record& record);

  int32_t num_records() const { return num_records_; }
  // Bytes of the batch if built now without compression.
  size_t uncompressed_size() const {
    return kBatchHeaderSize + records_.size();
  }
  const BatchBuilderOptions& options() const { return options_; }

  // Produces the batch. Fails with kInvalidArgument for an unsupported
  // write codec (anything but kNone and kZstd), a zstd level out of range or
  // a batch over 2 GiB, kInternal if the compressor fails. A builder with no
  // records produces an empty batch as Kafka writes them: recordsCount 0,
  // lastOffsetDelta 0, base and max timestamp -1, no records region and no
  // compression.
  absl::StatusOr<std::string> Build();
  // Same, appending to `out`.
  absl::Status BuildInto(std::string* out);

  void Reset();
  void Reset(BatchBuilderOptions options);

 private:
  BatchBuilderOptions options_;
  std::string records_;  // encoded records, uncompressed
  int32_t num_records_ = 0;
  int64_t base_timestamp_ = kNoTimestamp;
  int64_t max_timestamp_ = kNoTimestamp;
  int64_t default_timestamp_ = kNoTimestamp;
};

// Kafka's default partitioner: murmur2 of the key bytes (Kafka's seed and
// mixing, bit-compatible), made positive with & 0x7fffffff, modulo the
// partition count.
int32_t Murmur2(std::string_view key);
// Returns 0 when num_partitions <= 0.
int32_t PartitionForKey(std::string_view key, int32_t num_partitions);

}  // namespace spool

#endif  // SPOOL_RECORD_H_
