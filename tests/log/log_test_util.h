// Shared helpers for the partition-log tests.

#ifndef SPOOL_TESTS_LOG_LOG_TEST_UTIL_H_
#define SPOOL_TESTS_LOG_LOG_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "log/log_config.h"
#include "log/partition_log.h"
#include "spool/record.h"

namespace spool::testing_util {

// A batch of `records` records with `value_bytes`-byte values derived from
// `seed`; keys "k<seed>-<i>". Timestamps start at `timestamp` and grow by
// one per record.
std::string MakeBatch(int records, int value_bytes, int64_t timestamp,
                      uint64_t seed,
                      Compression compression = Compression::kNone);

// Small segments and indexes, so tests roll and index often. Index files
// stay small because the fault-injecting file system keeps them in memory.
LogConfig SmallConfig();

// Every batch of the log from its start, read back with ReadBatches. Fails
// the current test on an error.
struct ReadBack {
  int64_t base_offset;
  int64_t last_offset;
  std::string bytes;
};
std::vector<ReadBack> ReadAll(const PartitionLog& log);

// A temporary directory removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace spool::testing_util

#endif  // SPOOL_TESTS_LOG_LOG_TEST_UTIL_H_
