// Per-codec decompressors behind Decompress() (compression.h). Same
// contract as Decompress: replace *out, kResourceExhausted beyond
// `max_output`, kDataLoss for a malformed stream.

#ifndef SPOOL_FORMAT_COMPRESSION_INTERNAL_H_
#define SPOOL_FORMAT_COMPRESSION_INTERNAL_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace spool::compression_internal {

// One or more concatenated zstd frames (skippable frames allowed).
absl::Status DecompressZstd(std::string_view input, size_t max_output,
                            std::string* out);
// One or more concatenated gzip (RFC 1952) members.
absl::Status DecompressGzip(std::string_view input, size_t max_output,
                            std::string* out);
// snappy-java ("xerial") framing, or a single raw snappy block.
absl::Status DecompressSnappy(std::string_view input, size_t max_output,
                              std::string* out);
// One or more concatenated LZ4 frames.
absl::Status DecompressLz4(std::string_view input, size_t max_output,
                           std::string* out);

absl::Status OutputLimitExceeded(std::string_view codec, size_t max_output);

}  // namespace spool::compression_internal

#endif  // SPOOL_FORMAT_COMPRESSION_INTERNAL_H_
