// `spool dump`: batches and records of .log segments in the spirit of
// Kafka's kafka-dump-log, plus the contents of .index, .timeindex,
// .snapshot and .txnindex files (docs/cli.md). Exposed for tests and
// bench/cli_bench.cc.

#ifndef SPOOL_TOOLS_DUMP_H_
#define SPOOL_TOOLS_DUMP_H_

#include <cstdint>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "spool/file_system.h"
#include "tools/output.h"
#include "tools/path_kind.h"
#include "tools/progress.h"

namespace spool::cli {

struct DumpOptions {
  bool records = false;  // a line per record
  DataFormat data = DataFormat::kUtf8;
  bool json = false;       // one JSON object per line
  bool all_files = false;  // partition directories: index, snapshot files too
  // Inclusive ranges; a batch is shown if it holds an offset (and, with a
  // time range, a record timestamp) in range.
  int64_t from_offset = std::numeric_limits<int64_t>::min();
  int64_t to_offset = std::numeric_limits<int64_t>::max();
  int64_t from_time = std::numeric_limits<int64_t>::min();
  int64_t to_time = std::numeric_limits<int64_t>::max();
  bool time_range() const {
    return from_time != std::numeric_limits<int64_t>::min() ||
           to_time != std::numeric_limits<int64_t>::max();
  }
};

struct DumpStats {
  int64_t batches = 0;  // shown
  int64_t records = 0;  // shown
  int64_t bytes_scanned = 0;
  int64_t invalid = 0;  // bad CRCs, corrupt or torn data, undecodable batches
  bool past_range = false;  // a batch beyond to_offset was reached
};

// Dumps one .log file. `index_path` (may be empty) is used only to start
// near from_offset (after checking the entry against the log).
absl::Status DumpLogSegment(FileSystem* fs, const std::string& path,
                            const std::string& index_path,
                            const DumpOptions& options, Output& out,
                            Progress* progress, DumpStats* stats);

// Index, snapshot and transaction-index files. Index files are checked
// against their segment's .log when it exists; mismatches are printed after
// the entries and counted in stats->invalid.
absl::Status DumpOffsetIndex(FileSystem* fs, const std::string& path,
                             const DumpOptions& options, Output& out,
                             DumpStats* stats);
absl::Status DumpTimeIndex(FileSystem* fs, const std::string& path,
                           const DumpOptions& options, Output& out,
                           DumpStats* stats);
absl::Status DumpSnapshot(FileSystem* fs, const std::string& path,
                          const DumpOptions& options, Output& out,
                          DumpStats* stats);
absl::Status DumpTxnIndex(FileSystem* fs, const std::string& path,
                          const DumpOptions& options, Output& out,
                          DumpStats* stats);

// Dumps whatever `path` is: a file by its kind, a partition directory's
// segments in order, every partition of a data directory.
absl::Status DumpPath(FileSystem* fs, const ClassifiedPath& path,
                      const DumpOptions& options, Output& out,
                      DumpStats* stats);

}  // namespace spool::cli

#endif  // SPOOL_TOOLS_DUMP_H_
