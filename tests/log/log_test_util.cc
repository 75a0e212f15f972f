#include "log/log_test_util.h"

#include <stdlib.h>

#include <filesystem>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"

namespace spool::testing_util {

std::string MakeBatch(int records, int value_bytes, int64_t timestamp,
                      uint64_t seed, Compression compression) {
  RecordBatchBuilder builder({.compression = compression});
  for (int i = 0; i < records; ++i) {
    std::string key = absl::StrFormat("k%d-%d", seed, i);
    std::string value(static_cast<size_t>(value_bytes), '\0');
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(i);
    for (char& c : value) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      c = static_cast<char>('a' + x % 26);
    }
    builder.Add(key, value, {}, timestamp + i);
  }
  absl::StatusOr<std::string> batch = builder.Build();
  EXPECT_TRUE(batch.ok()) << batch.status();
  return batch.ok() ? *batch : std::string();
}

LogConfig SmallConfig() {
  LogConfig c;
  c.segment_bytes = 8 * 1024;
  c.segment_index_bytes = 1024;
  c.index_interval_bytes = 512;
  c.max_batch_bytes = 4 * 1024;
  return c;
}

std::vector<ReadBack> ReadAll(const PartitionLog& log) {
  std::vector<ReadBack> out;
  int64_t offset = log.log_start_offset();
  while (offset < log.log_end_offset()) {
    absl::StatusOr<LogBatches> got =
        log.ReadBatches(offset, {.max_bytes = 64 * 1024});
    EXPECT_TRUE(got.ok()) << got.status();
    if (!got.ok() || got->batches.empty()) break;
    for (const RecordBatchView& b : got->batches) {
      out.push_back({b.header().base_offset, b.header().last_offset(),
                     std::string(b.bytes())});
    }
    offset = got->next_offset;
  }
  return out;
}

TempDir::TempDir() {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "spool-test-XXXXXX").string();
  char* made = mkdtemp(tmpl.data());
  EXPECT_NE(made, nullptr);
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace spool::testing_util
