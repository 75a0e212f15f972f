// spool recover: the engine's crash recovery, run offline on a closed data
// directory or partition, reporting every truncation (docs/cli.md).

#include "tools/recover.h"

#include <iostream>
#include <map>

#include "absl/strings/str_format.h"
#include "log/checkpoint_file.h"
#include "log/log_directory.h"
#include "tools/cli.h"
#include "tools/output.h"
#include "tools/path_kind.h"
#include "util/status_macros.h"

namespace spool::cli {
namespace {

bool DroppedData(const RecoveryReport& r) {
  if (!r.truncations.empty()) return true;
  for (const std::string& f : r.removed_files) {
    if (std::string_view(f).ends_with(".log")) return true;
  }
  return false;
}

json ReportJson(const RecoverTarget& t, const RecoveryReport& r, bool dry) {
  json truncations = json::array();
  for (const RecoveryReport::Truncation& tr : r.truncations) {
    truncations.push_back({{"file", tr.file},
                           {"position", tr.position},
                           {"bytes", tr.bytes},
                           {"firstLostOffset", tr.first_lost_offset},
                           {"reason", tr.reason},
                           {"zeroTail", tr.zero_tail}});
  }
  return {{"type", "partition"},
          {"dir", t.dir},
          {"dryRun", dry},
          {"recoveryPoint", r.recovery_point},
          {"segmentsLoaded", r.segments_loaded},
          {"segmentsScanned", r.segments_scanned},
          {"bytesScanned", r.bytes_scanned},
          {"logStartOffset", r.log_start_offset},
          {"logEndOffset", r.log_end_offset},
          {"truncations", std::move(truncations)},
          {"removedFiles", r.removed_files},
          {"dataDropped", DroppedData(r)}};
}

// Opens the partition as the engine does after an unclean shutdown, then
// closes it (sealing the active segment, syncing).
absl::StatusOr<RecoveryReport> Recover(FileSystem* fs, const RecoverTarget& t,
                                       const LogConfig& config,
                                       int64_t* durable_offset) {
  PartitionLogOptions options;
  options.fs = fs;
  options.dir = t.dir;
  options.config = config;
  options.recovery_point = t.recovery_point;
  options.log_start_offset = t.log_start_offset;
  options.clean_shutdown = false;
  RecoveryReport report;
  SPOOL_ASSIGN_OR_RETURN(std::unique_ptr<PartitionLog> log,
                         PartitionLog::Open(std::move(options), &report));
  SPOOL_RETURN_IF_ERROR(log->Close());
  *durable_offset = log->durable_offset();
  return report;
}

// Recovered partitions are synced to their end: record that in the
// checkpoints the way LogDirectory::WriteCheckpoints does, keeping every
// other partition's entry.
absl::Status UpdateCheckpoint(FileSystem* fs, const std::string& data_dir,
                              const std::map<TopicPartition, int64_t>& ends) {
  const std::string path = JoinPath(data_dir, kRecoveryPointCheckpoint);
  absl::StatusOr<OffsetCheckpoint> entries = ReadOffsetCheckpoint(fs, path);
  OffsetCheckpoint updated = entries.ok() ? *entries : OffsetCheckpoint();
  for (const auto& [tp, end] : ends) updated[tp] = end;
  return WriteOffsetCheckpoint(fs, path, updated);
}

struct RecoverFlags {
  bool dry_run = false;
  bool json = false;
  LogConfig config;
};

absl::StatusOr<bool> RecoverAll(FileSystem* fs, const ClassifiedPath& path,
                                const DataDirState& state,
                                const RecoverFlags& flags, Output& out) {
  std::map<TopicPartition, int64_t> rps, starts, ends;
  if (!state.dir.empty()) {
    for (auto [name, map] : {std::pair{kRecoveryPointCheckpoint, &rps},
                             std::pair{kLogStartCheckpoint, &starts}}) {
      absl::StatusOr<OffsetCheckpoint> c =
          ReadOffsetCheckpoint(fs, JoinPath(state.dir, name));
      if (!c.ok()) {
        std::cerr << "spool recover: note: " << c.status().message()
                  << "; using 0 (scan everything)\n";
        continue;
      }
      map->insert(c->begin(), c->end());
    }
  }
  SPOOL_ASSIGN_OR_RETURN(std::vector<std::string> dirs,
                         PartitionDirs(fs, path));
  bool dropped = false;
  for (const std::string& dir : dirs) {
    RecoverTarget t{dir, ParsePartitionDirName(BaseName(dir))};
    if (t.tp.has_value()) {
      t.recovery_point = rps.count(*t.tp) ? rps[*t.tp] : 0;
      t.log_start_offset = starts.count(*t.tp) ? starts[*t.tp] : 0;
    }
    int64_t durable = 0;
    absl::StatusOr<RecoveryReport> r =
        flags.dry_run ? DryRunRecovery(fs, t, flags.config)
                      : Recover(fs, t, flags.config, &durable);
    if (!r.ok()) return r.status();
    if (!flags.dry_run && t.tp.has_value()) ends[*t.tp] = durable;
    dropped = dropped || DroppedData(*r);
    if (flags.json) {
      out.JsonLine(ReportJson(t, *r, flags.dry_run));
    } else {
      out.Line(
          absl::StrFormat("%s: %s%s", BaseName(dir), r->ToString(),
                          flags.dry_run ? " (dry run: nothing changed)" : ""));
    }
  }
  if (!flags.dry_run && !state.dir.empty() && !ends.empty()) {
    SPOOL_RETURN_IF_ERROR(UpdateCheckpoint(fs, state.dir, ends));
  }
  return dropped;
}

int RunRecover(int argc, char** argv) {
  Args args("recover", "[--dry-run] [--json] <partition dir|data dir>",
            "Runs the engine's crash recovery offline: every partition is\n"
            "opened as after an unclean shutdown (scanned from its\n"
            "checkpointed recovery point, truncated at the first torn or\n"
            "corrupt batch, later segments removed, indexes rebuilt) and\n"
            "closed. Refuses while an engine holds the data directory. Exits\n"
            "1 if data was (or, with --dry-run, would be) dropped.");
  args.AddFlag({"dry-run", "", "only report; change nothing"})
      .AddFlag({"json", "", "one JSON object per partition"})
      .AddFlag({"max-batch-bytes", "N",
                "the topic's max_batch_bytes (batches over twice this, or 2 "
                "MiB, are corrupt)",
                "1048588"});
  int exit = 0;
  if (!args.Parse(argc, argv, &exit)) return exit;
  if (args.positional().size() != 1) {
    return args.UsageError("expected exactly one path");
  }
  RecoverFlags flags{args.Has("dry-run"), args.Has("json"), LogConfig()};
  flags.config.max_batch_bytes = static_cast<int32_t>(
      std::clamp<int64_t>(args.GetInt("max-batch-bytes"), 1, 1 << 30));
  FileSystem* fs = FileSystem::Default();
  absl::StatusOr<ClassifiedPath> path = ClassifyPath(fs, args.positional()[0]);
  if (path.ok() && path->kind != PathKind::kPartitionDir &&
      path->kind != PathKind::kDataDir) {
    path = absl::InvalidArgumentError(absl::StrFormat(
        "%s is a %s; recover takes a partition directory or a data directory",
        path->path, PathKindName(path->kind)));
  }
  if (!path.ok()) return FailPath("recover", path.status());
  const DataDirState state = ProbeDataDir(fs, *path);
  std::unique_ptr<FileLock> lock;
  if (!flags.dry_run && !state.dir.empty()) {
    absl::StatusOr<std::unique_ptr<FileLock>> l =
        fs->Lock(JoinPath(state.dir, kLockFile));
    if (!l.ok()) {
      return Fail("recover",
                  absl::FailedPreconditionError(absl::StrFormat(
                      "refusing to recover: an engine holds %s/.lock (stop it "
                      "first; --dry-run only reads)",
                      state.dir)));
    }
    lock = std::move(*l);
  } else if (flags.dry_run) {
    NoteIfRunning("recover", state);
  }
  Output out;
  absl::StatusOr<bool> dropped = RecoverAll(fs, *path, state, flags, out);
  out.Flush();
  if (!dropped.ok()) return Fail("recover", dropped.status());
  return *dropped ? kExitProblems : kExitOk;
}

const bool kRegistered = RegisterCommand(
    {"recover", "run crash recovery offline and report what it truncates",
     RunRecover});

}  // namespace
}  // namespace spool::cli
