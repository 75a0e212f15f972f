// spool verify: every batch's CRC and structure, offsets, indexes against
// the log, checkpoints, leftovers. Prints each finding with file and byte
// position; exit 1 if any is a problem.

#include "tools/verify.h"

#include <iostream>

#include "absl/strings/str_format.h"
#include "log/segment.h"
#include "tools/cli.h"

namespace spool::cli {

SegmentCheck MakeSegmentCheck(const PartitionListing& listing, size_t i,
                              const DataDirState& state) {
  SegmentCheck c;
  c.files = listing.segments[i];
  if (i + 1 < listing.segments.size()) return c;  // rolled: sealed
  if (state.engine_running) {
    c.tail_reason = "engine running: the tail may still be moving";
    c.index_reason = "engine running: the active segment's index is in memory";
    c.sealed = false;
  } else if (!state.clean_shutdown) {
    c.index_reason =
        state.dir.empty()
            ? "shutdown state unknown (no data directory around it): "
              "recovery would rebuild the last segment's indexes"
            : "no clean shutdown: recovery rebuilds the last segment's "
              "indexes";
    c.sealed = false;
  }
  return c;
}

absl::StatusOr<SegmentCheck> SegmentCheckFor(FileSystem* fs,
                                             const std::string& file) {
  ClassifiedPath path{file, PathKind::kLogSegment};
  absl::StatusOr<PartitionListing> listing =
      ListPartition(fs, PartitionDirOf(path));
  if (!listing.ok()) return listing.status();
  const int64_t base = ParseSegmentBaseOffset(BaseName(file)).value_or(-1);
  const DataDirState state = ProbeDataDir(fs, path);
  for (size_t i = 0; i < listing->segments.size(); ++i) {
    if (listing->segments[i].base_offset == base) {
      return MakeSegmentCheck(*listing, i, state);
    }
  }
  // An index without a .log: checked on its own.
  SegmentCheck c;
  c.files.base_offset = base;
  return c;
}

namespace {

void PrintSummary(const std::string& path, const VerifySummary& s,
                  const FindingSink& sink, bool as_json, Output& out) {
  if (as_json) {
    out.JsonLine({{"type", "summary"},
                  {"path", path},
                  {"partitions", s.partitions},
                  {"segments", s.segments},
                  {"batches", s.batches},
                  {"records", s.records},
                  {"bytes", s.bytes},
                  {"problems", sink.problems()},
                  {"notes", sink.notes()}});
    return;
  }
  out.Line(absl::StrFormat(
      "verified %s: %d partitions, %d segments, %d batches, %d records, %d "
      "bytes: %d problems, %d notes",
      path, s.partitions, s.segments, s.batches, s.records, s.bytes,
      sink.problems(), sink.notes()));
}

int RunVerify(int argc, char** argv) {
  Args args("verify",
            "[--deep] [--strict] [--json] <segment|partition dir|"
            "data dir>",
            "Checks every batch's CRC and structure, that offsets increase\n"
            "within and across segments, that .index and .timeindex agree\n"
            "with the log, that checkpoints are plausible, and reports\n"
            "leftover files. Prints each finding with file and byte position\n"
            "and exits 1 if any is a problem (notes do not count).");
  args.AddFlag({"deep", "", "also decompress and decode every record"})
      .AddFlag({"strict", "",
                "report offset gaps between batches as problems (compaction "
                "leaves them legitimately)"})
      .AddFlag({"json", "", "one JSON object per finding, then a summary"});
  int exit = 0;
  if (!args.Parse(argc, argv, &exit)) return exit;
  if (args.positional().size() != 1) {
    return args.UsageError("expected exactly one path");
  }
  FileSystem* fs = FileSystem::Default();
  absl::StatusOr<ClassifiedPath> path = ClassifyPath(fs, args.positional()[0]);
  if (!path.ok()) return FailPath("verify", path.status());
  if (path->kind == PathKind::kSnapshot || path->kind == PathKind::kTxnIndex) {
    return FailPath("verify", absl::InvalidArgumentError(absl::StrFormat(
                                  "%s is a %s; verify takes a segment, a "
                                  "partition directory or a data directory",
                                  path->path, PathKindName(path->kind))));
  }
  NoteIfRunning("verify", ProbeDataDir(fs, *path));
  VerifyOptions options{.deep = args.Has("deep"),
                        .strict = args.Has("strict"),
                        .json = args.Has("json")};
  Output out;
  FindingSink sink(&out, options.json);
  absl::StatusOr<VerifySummary> summary = VerifyPath(fs, *path, options, &sink);
  if (!summary.ok()) {
    out.Flush();
    return Fail("verify", summary.status());
  }
  PrintSummary(path->path, *summary, sink, options.json, out);
  return sink.problems() > 0 ? kExitProblems : kExitOk;
}

const bool kRegistered = RegisterCommand(
    {"verify", "check CRCs, offsets, indexes and checkpoints", RunVerify});

}  // namespace
}  // namespace spool::cli
