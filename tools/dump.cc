// spool dump: the contents of segment files, partition directories and
// data directories, kafka-dump-log style (docs/cli.md).

#include "tools/dump.h"

#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "tools/cli.h"
#include "util/status_macros.h"

namespace spool::cli {
namespace {

// Segments that can hold an offset in [from, ...): all but those wholly
// below `from` (the next segment's base offset is <= from).
size_t FirstSegmentFor(const PartitionListing& l, int64_t from) {
  size_t i = 0;
  while (i + 1 < l.segments.size() && l.segments[i + 1].base_offset <= from) {
    ++i;
  }
  return i;
}

absl::Status DumpSegmentFiles(FileSystem* fs, const SegmentFiles& seg,
                              const DumpOptions& options, Output& out,
                              Progress* progress, DumpStats* stats) {
  SPOOL_RETURN_IF_ERROR(
      DumpLogSegment(fs, seg.log, seg.index, options, out, progress, stats));
  if (!options.all_files) return absl::OkStatus();
  if (!seg.index.empty()) {
    SPOOL_RETURN_IF_ERROR(DumpOffsetIndex(fs, seg.index, options, out, stats));
  }
  if (!seg.time_index.empty()) {
    SPOOL_RETURN_IF_ERROR(
        DumpTimeIndex(fs, seg.time_index, options, out, stats));
  }
  if (!seg.txn_index.empty()) {
    SPOOL_RETURN_IF_ERROR(DumpTxnIndex(fs, seg.txn_index, options, out, stats));
  }
  return absl::OkStatus();
}

absl::Status DumpPartition(FileSystem* fs, const std::string& dir,
                           const DumpOptions& options, Output& out,
                           Progress* progress, DumpStats* stats) {
  SPOOL_ASSIGN_OR_RETURN(PartitionListing l, ListPartition(fs, dir));
  for (size_t i = FirstSegmentFor(l, options.from_offset);
       i < l.segments.size() && !stats->past_range; ++i) {
    SPOOL_RETURN_IF_ERROR(
        DumpSegmentFiles(fs, l.segments[i], options, out, progress, stats));
  }
  std::vector<std::string> skipped = l.snapshots;
  if (options.all_files) {
    for (const std::string& s : l.snapshots) {
      SPOOL_RETURN_IF_ERROR(DumpSnapshot(fs, s, options, out, stats));
    }
    skipped.clear();
  }
  skipped.insert(skipped.end(), l.leftovers.begin(), l.leftovers.end());
  skipped.insert(skipped.end(), l.orphan_indexes.begin(),
                 l.orphan_indexes.end());
  for (const std::string& s : skipped) {
    std::cerr << "spool dump: note: skipped " << s
              << (options.all_files ? ""
                                    : " (use --all-files or dump it "
                                      "directly)")
              << "\n";
  }
  return absl::OkStatus();
}

uint64_t TotalLogBytes(FileSystem* fs, const std::vector<std::string>& dirs) {
  uint64_t total = 0;
  for (const std::string& dir : dirs) {
    absl::StatusOr<PartitionListing> l = ListPartition(fs, dir);
    if (!l.ok()) continue;
    for (const SegmentFiles& s : l->segments) {
      absl::StatusOr<FileInfo> info = fs->Stat(s.log);
      if (info.ok()) total += info->size;
    }
  }
  return total;
}

}  // namespace

absl::Status DumpPath(FileSystem* fs, const ClassifiedPath& path,
                      const DumpOptions& options, Output& out,
                      DumpStats* stats) {
  switch (path.kind) {
    case PathKind::kLogSegment: {
      absl::StatusOr<FileInfo> info = fs->Stat(path.path);
      Progress progress("dump", info.ok() ? info->size : 0, true);
      std::string index = path.path.substr(0, path.path.size() - 4) + ".index";
      if (!fs->Exists(index).value_or(false)) index.clear();
      return DumpLogSegment(fs, path.path, index, options, out, &progress,
                            stats);
    }
    case PathKind::kOffsetIndex:
      return DumpOffsetIndex(fs, path.path, options, out, stats);
    case PathKind::kTimeIndex:
      return DumpTimeIndex(fs, path.path, options, out, stats);
    case PathKind::kSnapshot:
      return DumpSnapshot(fs, path.path, options, out, stats);
    case PathKind::kTxnIndex:
      return DumpTxnIndex(fs, path.path, options, out, stats);
    case PathKind::kPartitionDir:
    case PathKind::kDataDir:
      break;
  }
  SPOOL_ASSIGN_OR_RETURN(std::vector<std::string> dirs,
                         PartitionDirs(fs, path));
  Progress progress("dump", TotalLogBytes(fs, dirs), true);
  for (const std::string& dir : dirs) {
    stats->past_range = false;
    SPOOL_RETURN_IF_ERROR(
        DumpPartition(fs, dir, options, out, &progress, stats));
  }
  return absl::OkStatus();
}

namespace {

// Fills the options from the flags; returns false after a usage error.
bool ReadOptions(const Args& args, DumpOptions* o, int* exit) {
  o->records = args.Has("records");
  o->json = args.Has("json");
  o->all_files = args.Has("all-files");
  std::optional<DataFormat> data = ParseDataFormat(args.Get("data"));
  if (!data.has_value()) {
    *exit = args.UsageError("--data must be utf8, hex, base64 or none");
    return false;
  }
  o->data = *data;
  if (args.Has("from-offset")) o->from_offset = args.GetInt("from-offset");
  if (args.Has("to-offset")) o->to_offset = args.GetInt("to-offset");
  for (auto [flag, value] : {std::pair{"from-time", &o->from_time},
                             std::pair{"to-time", &o->to_time}}) {
    if (args.Has(flag) && !ParseTimeFlag(args.Get(flag), value)) {
      *exit = args.UsageError(absl::StrFormat(
          "--%s needs milliseconds since the epoch or an RFC 3339 time, got "
          "'%s'",
          flag, args.Get(flag)));
      return false;
    }
  }
  if (o->from_offset > o->to_offset || o->from_time > o->to_time) {
    *exit = args.UsageError("empty range: --from-* is after --to-*");
    return false;
  }
  return true;
}

int RunDump(int argc, char** argv) {
  Args args("dump", "[flags] <segment file|partition dir|data dir>",
            "Prints record batches (and with --records each record) of .log\n"
            "segments in kafka-dump-log's format, or the entries of .index,\n"
            ".timeindex, .snapshot and .txnindex files. A partition directory\n"
            "dumps its segments in order. Exits 1 if it met invalid data.");
  args.AddFlag({"records", "", "print each record"})
      .AddFlag({"data", "FORMAT",
                "keys, values and header values as utf8, hex, base64 or none",
                "utf8"})
      .AddFlag({"json", "", "one JSON object per line"})
      .AddFlag({"all-files", "",
                "partition directories: also the index, .txnindex and "
                ".snapshot files"})
      .AddFlag({"from-offset", "N", "first offset to show"})
      .AddFlag({"to-offset", "N", "last offset to show"})
      .AddFlag({"from-time", "TIME",
                "show records with timestamps >= TIME (ms or RFC 3339)"})
      .AddFlag({"to-time", "TIME", "show records with timestamps <= TIME"});
  int exit = 0;
  if (!args.Parse(argc, argv, &exit)) return exit;
  if (args.positional().size() != 1) {
    return args.UsageError("expected exactly one path");
  }
  DumpOptions options;
  if (!ReadOptions(args, &options, &exit)) return exit;
  FileSystem* fs = FileSystem::Default();
  absl::StatusOr<ClassifiedPath> path = ClassifyPath(fs, args.positional()[0]);
  if (!path.ok()) return FailPath("dump", path.status());
  NoteIfRunning("dump", ProbeDataDir(fs, *path));
  Output out;
  DumpStats stats;
  absl::Status s = DumpPath(fs, *path, options, out, &stats);
  out.Flush();
  if (!s.ok()) return Fail("dump", s);
  return stats.invalid > 0 ? kExitProblems : kExitOk;
}

const bool kRegistered = RegisterCommand(
    {"dump", "print batches, records and index entries (kafka-dump-log style)",
     RunDump});

}  // namespace
}  // namespace spool::cli
