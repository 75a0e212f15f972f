#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "format/batch_internal.h"
#include "format/format_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spool/record.h"

namespace spool {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kTs = 1700000000000;

// Three batches of different sizes, concatenated as in a .log file.
std::string ThreeBatches(std::vector<size_t>* starts) {
  std::string log;
  int64_t offset = 0;
  for (int n : {1, 5, 2}) {
    BatchBuilderOptions options;
    options.base_offset = offset;
    RecordBatchBuilder builder(options);
    for (int i = 0; i < n; ++i) {
      builder.Add("key", std::string(10 * (i + 1), 'v'), {}, kTs + i);
    }
    starts->push_back(log.size());
    EXPECT_TRUE(builder.BuildInto(&log).ok());
    offset += n;
  }
  return log;
}

std::vector<uint64_t> ScanPositions(BatchScanner& scanner) {
  std::vector<uint64_t> positions;
  ScannedBatch b;
  while (scanner.Next(&b)) positions.push_back(b.position);
  return positions;
}

TEST(BatchScannerTest, ReturnsEachBatchWithItsAbsolutePosition) {
  std::vector<size_t> starts;
  std::string log = ThreeBatches(&starts);
  BatchScanner scanner(log, 1000);
  ScannedBatch b;
  std::vector<uint64_t> positions;
  std::vector<int64_t> base_offsets;
  while (scanner.Next(&b)) {
    positions.push_back(b.position);
    base_offsets.push_back(b.batch.header().base_offset);
    EXPECT_EQ(b.batch.bytes().data(), log.data() + (b.position - 1000));
  }
  EXPECT_EQ(positions,
            (std::vector<uint64_t>{1000 + starts[0], 1000 + starts[1],
                                   1000 + starts[2]}));
  EXPECT_EQ(base_offsets, (std::vector<int64_t>{0, 1, 6}));
  EXPECT_EQ(scanner.stop_reason(), ScanStop::kEnd);
  EXPECT_TRUE(scanner.status().ok());
  EXPECT_EQ(scanner.valid_end(), 1000 + log.size());
  EXPECT_FALSE(scanner.Next(&b));  // stays stopped
}

TEST(BatchScannerTest, EmptyDataEndsImmediately) {
  BatchScanner scanner("", 77);
  ScannedBatch b;
  EXPECT_FALSE(scanner.Next(&b));
  EXPECT_EQ(scanner.stop_reason(), ScanStop::kEnd);
  EXPECT_EQ(scanner.valid_end(), 77u);
}

TEST(BatchScannerTest, EveryCutInsideTheLastBatchIsAnIncompleteTail) {
  std::vector<size_t> starts;
  std::string log = ThreeBatches(&starts);
  for (size_t cut = starts[2] + 1; cut < log.size(); ++cut) {
    BatchScanner scanner(std::string_view(log).substr(0, cut));
    EXPECT_EQ(ScanPositions(scanner).size(), 2u) << cut;
    ASSERT_EQ(scanner.stop_reason(), ScanStop::kIncompleteTail)
        << "cut " << cut << ": " << scanner.status();
    EXPECT_EQ(scanner.valid_end(), starts[2]);
    EXPECT_EQ(scanner.status().code(), absl::StatusCode::kOutOfRange);
    EXPECT_THAT(std::string(scanner.status().message()),
                HasSubstr(absl::StrFormat("incomplete batch at position %u",
                                          starts[2])));
    size_t present = cut - starts[2];
    EXPECT_THAT(
        std::string(scanner.status().message()),
        HasSubstr(present < 12 ? absl::StrFormat("only %u bytes, fewer than "
                                                 "the 12-byte batch prefix",
                                                 present)
                               : absl::StrFormat("only %u present", present)));
  }
}

TEST(BatchScannerTest, IncompleteTailReportsTheClaimedLength) {
  std::vector<size_t> starts;
  std::string log = ThreeBatches(&starts);
  size_t last = log.size() - starts[2];
  BatchScanner scanner(std::string_view(log).substr(0, log.size() - 1));
  ScanPositions(scanner);
  EXPECT_THAT(std::string(scanner.status().message()),
              HasSubstr(absl::StrFormat("incomplete batch at position %u: "
                                        "batchLength %d claims %d bytes, only "
                                        "%d present",
                                        starts[2], last - 12, last, last - 1)));
}

TEST(BatchScannerTest, ZeroFilledTailIsCorrupt) {
  std::vector<size_t> starts;
  std::string log = ThreeBatches(&starts);
  size_t good = log.size();
  log.append(4096, '\0');
  BatchScanner scanner(log);
  EXPECT_EQ(ScanPositions(scanner).size(), 3u);
  EXPECT_EQ(scanner.stop_reason(), ScanStop::kCorrupt);
  EXPECT_EQ(scanner.valid_end(), good);
  EXPECT_EQ(scanner.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(scanner.status().message()),
              HasSubstr(absl::StrFormat("batch at position %u: batchLength 0 "
                                        "at byte 8 is below the minimum of 14",
                                        good)));
}

TEST(BatchScannerTest, FewerThanTwelveBytesLeftIsAnIncompleteTail) {
  std::vector<size_t> starts;
  std::string log = ThreeBatches(&starts);
  size_t good = log.size();
  log.append(11, '\0');
  BatchScanner scanner(log);
  ScanPositions(scanner);
  EXPECT_EQ(scanner.stop_reason(), ScanStop::kIncompleteTail);
  EXPECT_EQ(scanner.valid_end(), good);
  EXPECT_THAT(std::string(scanner.status().message()),
              HasSubstr(absl::StrFormat("incomplete batch at position %u: "
                                        "only 11 bytes, fewer than the "
                                        "12-byte batch prefix",
                                        good)));
}

TEST(BatchScannerTest, BadMagicMidFileIsCorruptAtThatBatch) {
  std::vector<size_t> starts;
  std::string log = ThreeBatches(&starts);
  log[starts[1] + 16] = 7;
  BatchScanner scanner(log, 4096);
  EXPECT_EQ(ScanPositions(scanner).size(), 1u);
  EXPECT_EQ(scanner.stop_reason(), ScanStop::kCorrupt);
  EXPECT_EQ(scanner.valid_end(), 4096 + starts[1]);
  EXPECT_THAT(
      std::string(scanner.status().message()),
      HasSubstr(absl::StrFormat("batch at position %u: bad magic 7 at byte 16",
                                4096 + starts[1])));
}

TEST(BatchScannerTest, CrcMismatchIsCorruptOnlyWhenVerifying) {
  std::vector<size_t> starts;
  std::string log = ThreeBatches(&starts);
  log[starts[1] + 70] ^= 0x20;  // inside the second batch's records
  BatchScanner verifying(log);
  EXPECT_EQ(ScanPositions(verifying).size(), 1u);
  EXPECT_EQ(verifying.stop_reason(), ScanStop::kCorrupt);
  EXPECT_EQ(verifying.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(verifying.status().message()),
              HasSubstr(absl::StrFormat("batch at position %u: CRC mismatch",
                                        starts[1])));

  BatchScanner trusting(log, 0, /*verify_crc=*/false);
  EXPECT_EQ(ScanPositions(trusting).size(), 3u);
  EXPECT_EQ(trusting.stop_reason(), ScanStop::kEnd);
}

// Segment recovery reads a file in chunks and, on an incomplete tail,
// continues from valid_end() with the next chunk appended. Whatever the
// chunk sizes, it must see the same batches at the same positions.
TEST(BatchScannerTest, ChunkedScanFindsTheSameBatchesAsAWholeScan) {
  std::vector<size_t> starts;
  std::string log;
  for (int i = 0; i < 4; ++i) log += ThreeBatches(&starts);
  BatchScanner whole(log);
  std::vector<uint64_t> expected = ScanPositions(whole);
  ASSERT_EQ(expected.size(), 12u);

  uint64_t seed = testing::TestSeed();
  SCOPED_TRACE(absl::StrFormat("seed=%d", seed));
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 50; ++round) {
    std::vector<uint64_t> got;
    uint64_t pos = 0;
    size_t available = 0;  // bytes "read from the file" so far
    for (;;) {
      available = std::min(log.size(), available + 1 + rng() % 200);
      BatchScanner scanner(std::string_view(log).substr(pos, available - pos),
                           pos);
      std::vector<uint64_t> found = ScanPositions(scanner);
      got.insert(got.end(), found.begin(), found.end());
      pos = scanner.valid_end();
      if (scanner.stop_reason() == ScanStop::kEnd && available == log.size()) {
        break;
      }
      ASSERT_NE(scanner.stop_reason(), ScanStop::kCorrupt) << scanner.status();
      if (available == log.size()) FAIL() << scanner.status();
    }
    ASSERT_EQ(got, expected) << "round " << round;
  }
}

TEST(BatchScannerTest, StopReasonsHaveNames) {
  EXPECT_EQ(ScanStopName(ScanStop::kEnd), "end");
  EXPECT_EQ(ScanStopName(ScanStop::kIncompleteTail), "incomplete-tail");
  EXPECT_EQ(ScanStopName(ScanStop::kCorrupt), "corrupt");
}

}  // namespace
}  // namespace spool
