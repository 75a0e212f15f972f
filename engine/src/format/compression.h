// Compression codecs of record batch records regions.
//
// Spool writes uncompressed or zstd batches and reads every codec Kafka
// writes: gzip, snappy (snappy-java's "xerial" framing or one raw snappy
// block), LZ4 (the LZ4 frame format) and zstd (one or more frames).
//
// Decompression treats its input as untrusted: sizes claimed by a stream are
// checked against the output limit before anything is allocated, and output
// never grows beyond the limit (plus a constant), whatever the input says.
// All functions are thread-safe.

#ifndef SPOOL_FORMAT_COMPRESSION_H_
#define SPOOL_FORMAT_COMPRESSION_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "spool/record.h"

namespace spool {

// Replaces *out with the decompression of `input` under `codec`.
//
// Errors:
//   kResourceExhausted  the output would exceed `max_output` bytes (also when
//                       a stream merely claims a larger size or needs a
//                       window larger than the limit allows).
//   kDataLoss           the input is not a valid stream of that codec
//                       (message names the codec and what was wrong).
//   kInvalidArgument    `codec` is not a known codec id.
// For Compression::kNone the input is copied (still subject to the limit).
absl::Status Decompress(Compression codec, std::string_view input,
                        size_t max_output, std::string* out);

// Appends one zstd frame holding `input` (content size recorded in the
// frame header) to *out. `level` is a zstd level (1..22, negative levels for
// faster modes; 0 means zstd's default). Errors: kInvalidArgument for a level
// outside zstd's range, kInternal if the compressor fails.
absl::Status CompressZstd(std::string_view input, int level, std::string* out);

}  // namespace spool

#endif  // SPOOL_FORMAT_COMPRESSION_H_
