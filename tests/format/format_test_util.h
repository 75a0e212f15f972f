// Helpers shared by the tests of engine/src/format.

#ifndef SPOOL_TESTS_FORMAT_FORMAT_TEST_UTIL_H_
#define SPOOL_TESTS_FORMAT_FORMAT_TEST_UTIL_H_

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "spool/record.h"

namespace spool::testing {

// Path of a file under tests/data (SPOOL_TEST_DATA_DIR) or the source tree.
std::string TestDataPath(std::string_view relative);
std::string SourcePath(std::string_view relative);

absl::StatusOr<std::string> ReadFile(const std::string& path);

// "00 0a ff" / "000aff" -> bytes. Whitespace is ignored; anything else that
// is not a hex digit pair makes the result empty and sets *ok false.
std::string HexToBytes(std::string_view hex, bool* ok = nullptr);
std::string BytesToHex(std::string_view bytes);

// Test-side compressors for the codecs Spool only reads, written with the
// codec libraries directly.
std::string GzipCompress(std::string_view input);
std::string SnappyRawCompress(std::string_view input);
// snappy-java framing with chunks of at most `chunk` input bytes.
std::string SnappyXerialCompress(std::string_view input, size_t chunk);
struct Lz4FrameOptions {
  bool content_size = false;  // record the content size in the header
  bool content_checksum = false;
  bool block_checksum = false;
  bool linked_blocks = false;  // blocks may reference earlier blocks
  int block_size_id = 4;       // 4: 64 KiB ... 7: 4 MiB
};
std::string Lz4FrameCompress(std::string_view input,
                             const Lz4FrameOptions& options = {});
// A zstd frame without a content size (as a streaming compressor writes).
std::string ZstdStreamCompress(std::string_view input, int level = 3);

// Random test data.
std::string RandomBytes(std::mt19937_64& rng, size_t n);
// Records with random null/empty/short/long keys and values, headers with
// null values, timestamps around `base_ts` (deltas of either sign).
std::vector<Record> RandomRecords(std::mt19937_64& rng, int count,
                                  int64_t base_ts);

// The seed for a randomized test: $SPOOL_TEST_SEED if set, else random.
uint64_t TestSeed();

// Builds a batch from `records` with `options`; fails the test on error.
std::string BuildBatch(const std::vector<Record>& records,
                       const BatchBuilderOptions& options = {});

// The timestamps the reader reports: each record's own for CreateTime, the
// batch maxTimestamp for LogAppendTime.
std::vector<Record> ExpectedAsRead(std::vector<Record> records,
                                   TimestampType type, int64_t max_ts);

// Record equality with a readable failure message.
std::string DescribeRecord(const Record& r);
bool RecordsEqual(const std::vector<Record>& a, const std::vector<Record>& b,
                  std::string* why);

}  // namespace spool::testing

#endif  // SPOOL_TESTS_FORMAT_FORMAT_TEST_UTIL_H_
