// spool index rebuild: rebuilds a segment's .index and .timeindex from its
// .log with the engine's rule (an entry pair before a batch once more than
// index_interval_bytes were written since the previous entry, plus the
// final time-index entry of a sealed segment; docs/format/segments.md).
// The .log is only read. The new files replace the old ones atomically.

#include <iostream>
#include <limits>

#include "absl/strings/str_format.h"
#include "format/coding.h"
#include "log/file_batch_reader.h"
#include "log/log_directory.h"
#include "log/segment.h"
#include "tools/cli.h"
#include "tools/path_kind.h"
#include "util/status_macros.h"

namespace spool::cli {
namespace {

struct BuiltIndexes {
  std::string offset_index;  // encoded entries
  std::string time_index;
  int64_t batches = 0;
  uint64_t valid_bytes = 0;
  uint64_t size = 0;
  std::string stop_reason;  // empty if the whole log was valid
};

class IndexBuilder {
 public:
  IndexBuilder(int64_t base, int64_t interval)
      : base_(base), interval_(interval), offset_of_max_(base) {}

  // Segment::AddIndexEntriesBefore.
  void Before(uint64_t position, const BatchHeader& h) {
    if (h.max_timestamp > max_ts_) {
      max_ts_ = h.max_timestamp;
      offset_of_max_ = h.last_offset();
    }
    if (since_entry_ > interval_) {
      PutFixed32BE(&out_.offset_index,
                   static_cast<uint32_t>(h.last_offset() - base_));
      PutFixed32BE(&out_.offset_index, static_cast<uint32_t>(position));
      MaybeAppendTime();
      since_entry_ = 0;
    }
    since_entry_ += h.size_bytes();
  }
  // Segment::Seal: the final time-index entry.
  BuiltIndexes Finish() {
    if (max_ts_ >= 0) MaybeAppendTime();
    return std::move(out_);
  }
  BuiltIndexes& result() { return out_; }

 private:
  void MaybeAppendTime() {
    if (max_ts_ <= last_time_) return;
    PutFixed64BE(&out_.time_index, static_cast<uint64_t>(max_ts_));
    PutFixed32BE(&out_.time_index,
                 static_cast<uint32_t>(offset_of_max_ - base_));
    last_time_ = max_ts_;
  }

  const int64_t base_;
  const int64_t interval_;
  int64_t since_entry_ = 0;
  int64_t max_ts_ = -1;
  int64_t offset_of_max_;
  int64_t last_time_ = -1;
  BuiltIndexes out_;
};

// Scans the log with Segment::Recover's checks and builds the indexes of
// its valid prefix.
absl::StatusOr<BuiltIndexes> Build(FileSystem* fs, const std::string& log,
                                   int64_t base, int64_t interval) {
  SPOOL_ASSIGN_OR_RETURN(auto file, fs->Open(log, {.read_only = true}));
  SPOOL_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  FileBatchReader reader(*file, 0, size);
  IndexBuilder builder(base, interval);
  int64_t next = base;
  ScannedBatch b;
  std::string stop;
  while (reader.Next(&b)) {
    const BatchHeader& h = b.batch.header();
    if (h.base_offset < next ||
        h.last_offset() - base > std::numeric_limits<int32_t>::max()) {
      stop = absl::StrFormat(
          "batch at position %d: offsets [%d, %d] go back "
          "or do not fit the segment",
          b.position, h.base_offset, h.last_offset());
      break;
    }
    builder.Before(b.position, h);
    builder.result().valid_bytes = b.position + b.batch.size_bytes();
    ++builder.result().batches;
    next = h.next_offset();
  }
  if (reader.stop() == FileBatchReader::Stop::kIoError) return reader.status();
  if (stop.empty() && reader.stop() != FileBatchReader::Stop::kEnd) {
    stop = std::string(reader.status().message());
  }
  BuiltIndexes out = builder.Finish();
  out.size = size;
  out.stop_reason = stop;
  return out;
}

std::string Describe(FileSystem* fs, const std::string& path, int entry) {
  absl::StatusOr<FileInfo> info = fs->Stat(path);
  if (!info.ok()) return "did not exist";
  return absl::StrFormat("was %d bytes, %d entries", info->size,
                         info->size / entry);
}

int RunRebuild(int argc, char** argv) {
  Args args("index rebuild",
            "[--dry-run] [--index-interval-bytes N] "
            "<segment .log>",
            "Rebuilds the segment's .index and .timeindex from its .log (read\n"
            "only), as the engine's recovery does, and replaces them\n"
            "atomically. Refuses while an engine holds the data directory.");
  args.AddFlag({"index-interval-bytes", "N",
                "bytes between index entries (the topic's setting)", "4096"})
      .AddFlag({"dry-run", "", "only report what would be written"});
  int exit = 0;
  if (!args.Parse(argc, argv, &exit)) return exit;
  if (args.positional().size() != 1) {
    return args.UsageError("expected exactly one segment .log");
  }
  FileSystem* fs = FileSystem::Default();
  absl::StatusOr<ClassifiedPath> path = ClassifyPath(fs, args.positional()[0]);
  if (path.ok() && path->kind != PathKind::kLogSegment) {
    path = absl::InvalidArgumentError(
        absl::StrFormat("%s is a %s; index rebuild takes a segment's .log file",
                        path->path, PathKindName(path->kind)));
  }
  if (!path.ok()) return FailPath("index rebuild", path.status());
  const DataDirState state = ProbeDataDir(fs, *path);
  std::unique_ptr<FileLock> lock;
  if (!args.Has("dry-run") && !state.dir.empty()) {
    absl::StatusOr<std::unique_ptr<FileLock>> l =
        fs->Lock(JoinPath(state.dir, kLockFile));
    if (!l.ok()) {
      return Fail(
          "index rebuild",
          absl::FailedPreconditionError(absl::StrFormat(
              "refusing to rebuild: an engine holds %s/.lock", state.dir)));
    }
    lock = std::move(*l);
  }
  const std::string& log = path->path;
  const int64_t base = ParseSegmentBaseOffset(BaseName(log)).value_or(0);
  absl::StatusOr<BuiltIndexes> built =
      Build(fs, log, base, args.GetInt("index-interval-bytes"));
  if (!built.ok()) return Fail("index rebuild", built.status());
  const std::string stem = log.substr(0, log.size() - kLogSuffix.size());
  const bool dry = args.Has("dry-run");
  for (auto [suffix, bytes, entry] :
       {std::tuple{kIndexSuffix, &built->offset_index, 8},
        std::tuple{kTimeIndexSuffix, &built->time_index, 12}}) {
    const std::string file = stem + std::string(suffix);
    std::cout << absl::StrFormat(
        "%s %s: %d entries (%s)\n", dry ? "would rebuild" : "rebuilt", file,
        bytes->size() / entry, Describe(fs, file, entry));
    if (dry) continue;
    absl::Status s = fs->WriteFileAtomic(file, *bytes);
    if (!s.ok()) return Fail("index rebuild", s);
  }
  std::cout << absl::StrFormat("from %s: %d batches, %d of %d bytes valid\n",
                               log, built->batches, built->valid_bytes,
                               built->size);
  if (!built->stop_reason.empty()) {
    std::cerr << absl::StrFormat(
        "spool index rebuild: %s: invalid data from byte %d (%s); indexed up "
        "to there; `spool recover` truncates it\n",
        log, built->valid_bytes, built->stop_reason);
    return kExitProblems;
  }
  return kExitOk;
}

int RunIndex(int argc, char** argv) {
  const char* kUsage =
      "usage: spool index rebuild [flags] <segment .log>\n\n"
      "subcommands:\n"
      "  rebuild   rebuild a segment's .index and .timeindex from its .log\n"
      "\nrun 'spool index rebuild --help' for its flags.\n";
  if (argc >= 1 && std::string(argv[0]) == "rebuild") {
    return RunRebuild(argc - 1, argv + 1);
  }
  if (argc >= 1 &&
      (std::string(argv[0]) == "--help" || std::string(argv[0]) == "-h")) {
    std::cout << kUsage;
    return kExitOk;
  }
  std::cerr << "spool index: "
            << (argc == 0 ? std::string("missing subcommand")
                          : "unknown subcommand '" + std::string(argv[0]) + "'")
            << "\n"
            << kUsage;
  return kExitUsage;
}

const bool kRegistered = RegisterCommand(
    {"index", "rebuild a segment's index files (index rebuild <segment>)",
     RunIndex});

}  // namespace
}  // namespace spool::cli
