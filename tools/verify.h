// `spool verify`: checks segments, indexes, checkpoints and leftovers of a
// segment file, partition directory or data directory and reports every
// finding with file and byte position (docs/cli.md lists the checks).
// Exposed for `spool dump` (index mismatches), tests and
// bench/cli_bench.cc.

#ifndef SPOOL_TOOLS_VERIFY_H_
#define SPOOL_TOOLS_VERIFY_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "spool/file_system.h"
#include "tools/findings.h"
#include "tools/path_kind.h"
#include "tools/progress.h"

namespace spool::cli {

struct VerifyOptions {
  bool deep = false;    // decompress and decode every record
  bool strict = false;  // offset gaps between batches are problems
  bool json = false;
};

// One segment to check and how much to trust its tail.
struct SegmentCheck {
  SegmentFiles files;
  // Non-empty: findings about the end of the .log (torn or zero tail) are
  // notes with this reason (an engine is writing it).
  std::string tail_reason;
  // Non-empty: findings about the indexes are notes with this reason
  // (recovery rebuilds them, or an engine is writing them).
  std::string index_reason;
  // The segment was sealed: its indexes must be trimmed and the time index
  // must end with the segment's largest timestamp.
  bool sealed = true;
  // The previous segment's next offset, or nullopt for the first one.
  std::optional<int64_t> previous_next_offset;
};

struct SegmentResult {
  int64_t first_offset = -1;  // -1: no batches
  int64_t next_offset = 0;    // after the last valid batch (base if none)
  int64_t batches = 0;
  int64_t records = 0;
  uint64_t size = 0;
  uint64_t valid_bytes = 0;
  int64_t max_timestamp = -1;
};

// Checks one segment: every batch's header and CRC (and records with
// options.deep), offsets, and its .index / .timeindex against the log.
absl::StatusOr<SegmentResult> VerifySegment(FileSystem* fs,
                                            const SegmentCheck& check,
                                            const VerifyOptions& options,
                                            FindingSink* sink,
                                            Progress* progress);

// The check of segment `i` of a partition: the last segment's tail and
// indexes are trusted only after a clean shutdown with no engine running.
SegmentCheck MakeSegmentCheck(const PartitionListing& listing, size_t i,
                              const DataDirState& state);
// The check of the segment a .log, .index or .timeindex file belongs to.
absl::StatusOr<SegmentCheck> SegmentCheckFor(FileSystem* fs,
                                             const std::string& file);

struct VerifySummary {
  int64_t partitions = 0;
  int64_t segments = 0;
  int64_t batches = 0;
  int64_t records = 0;
  uint64_t bytes = 0;
};

// Verifies whatever `path` is. Findings go to `sink`; the returned status
// is an error only when the checks could not run (I/O errors).
absl::StatusOr<VerifySummary> VerifyPath(FileSystem* fs,
                                         const ClassifiedPath& path,
                                         const VerifyOptions& options,
                                         FindingSink* sink);

}  // namespace spool::cli

#endif  // SPOOL_TOOLS_VERIFY_H_
