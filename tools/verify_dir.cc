// VerifyPath: partition directories (segments in order, leftovers,
// transaction indexes, snapshots, leader epochs, checkpoint entries) and
// data directories (checkpoint files, every partition).

#include <map>

#include "absl/strings/str_format.h"
#include "log/checkpoint_file.h"
#include "log/log_directory.h"
#include "tools/kafka_files.h"
#include "tools/verify.h"
#include "util/status_macros.h"

namespace spool::cli {
namespace {

// Checkpoint entries of a data directory, by partition.
struct Checkpoints {
  std::string recovery_file, start_file;
  std::map<TopicPartition, CheckpointOffset> recovery, start;
};

absl::StatusOr<Checkpoints> ReadCheckpoints(FileSystem* fs,
                                            const std::string& data_dir,
                                            FindingSink* sink) {
  Checkpoints c;
  if (data_dir.empty()) return c;
  c.recovery_file = JoinPath(data_dir, kRecoveryPointCheckpoint);
  c.start_file = JoinPath(data_dir, kLogStartCheckpoint);
  for (auto [file, map] : {std::pair{&c.recovery_file, &c.recovery},
                           std::pair{&c.start_file, &c.start}}) {
    SPOOL_ASSIGN_OR_RETURN(auto entries, ReadCheckpointFile(fs, *file, sink));
    for (CheckpointOffset& e : entries) (*map)[e.tp] = e;
  }
  for (const char* other :
       {"replication-offset-checkpoint", "cleaner-offset-checkpoint"}) {
    SPOOL_RETURN_IF_ERROR(
        ReadCheckpointFile(fs, JoinPath(data_dir, other), sink).status());
  }
  return c;
}

std::string_view LeftoverMeaning(std::string_view name) {
  if (name.ends_with(".swap")) {
    return "an interrupted compaction swap; the engine completes it at open";
  }
  if (name.ends_with(".cleaned")) {
    return "output of an interrupted compaction; the engine removes it at "
           "open";
  }
  if (name.ends_with(".deleted")) {
    return "a segment being deleted; the engine removes it at open";
  }
  return "a temporary file; the engine removes it at open";
}

class PartitionVerifier {
 public:
  PartitionVerifier(FileSystem* fs, const DataDirState& state,
                    const Checkpoints& checkpoints,
                    const VerifyOptions& options, FindingSink* sink,
                    Progress* progress, VerifySummary* summary)
      : fs_(fs),
        state_(state),
        checkpoints_(checkpoints),
        options_(options),
        sink_(sink),
        progress_(progress),
        summary_(summary) {}

  absl::Status Verify(const std::string& dir);

 private:
  void CheckFiles(const PartitionListing& l);
  absl::Status CheckTxnIndex(const SegmentFiles& files);
  absl::Status CheckSnapshots(const PartitionListing& l, int64_t end);
  void CheckCheckpoints(const PartitionListing& l, int64_t end);

  FileSystem* fs_;
  const DataDirState& state_;
  const Checkpoints& checkpoints_;
  const VerifyOptions& options_;
  FindingSink* sink_;
  Progress* progress_;
  VerifySummary* summary_;
};

void PartitionVerifier::CheckFiles(const PartitionListing& l) {
  const Severity leftover =
      state_.engine_running ? Severity::kNote : Severity::kProblem;
  for (const std::string& f : l.leftovers) {
    sink_->Add({leftover, f, -1, "leftover",
                absl::StrFormat("leftover file: %s", LeftoverMeaning(f)), "",
                ""});
  }
  for (const std::string& f : l.orphan_indexes) {
    sink_->Add({leftover, f, -1, "orphan-index",
                "index file without its .log; the engine removes it at open",
                "", ""});
  }
  for (const std::string& f : l.unknown) {
    sink_->Note(f, -1, "unknown-file", "not a file Spool or Kafka writes here");
  }
  if (l.segments.empty()) {
    sink_->Note(l.dir, -1, "no-segments",
                "the partition has no segments (the engine creates one at "
                "open)");
  }
}

absl::Status PartitionVerifier::CheckTxnIndex(const SegmentFiles& files) {
  if (files.txn_index.empty()) return absl::OkStatus();
  SPOOL_ASSIGN_OR_RETURN(std::string data, fs_->ReadFile(files.txn_index));
  int64_t prev_last = -1;
  for (size_t pos = 0; pos + kAbortedTxnSize <= data.size();
       pos += kAbortedTxnSize) {
    AbortedTxn t = DecodeAbortedTxn(std::string_view(data).substr(pos));
    if (t.version != 0 || t.last_offset < files.base_offset ||
        t.last_offset <= prev_last || t.first_offset > t.last_offset) {
      sink_->Problem(
          files.txn_index, static_cast<int64_t>(pos), "txnindex",
          absl::StrFormat("implausible aborted transaction "
                          "(version %d, offsets %d..%d, after %d)",
                          t.version, t.first_offset, t.last_offset, prev_last));
    }
    prev_last = t.last_offset;
  }
  if (data.size() % kAbortedTxnSize != 0) {
    sink_->Problem(
        files.txn_index,
        static_cast<int64_t>(data.size() - data.size() % kAbortedTxnSize),
        "txnindex", "the length is not a whole number of 34-byte entries");
  }
  return absl::OkStatus();
}

absl::Status PartitionVerifier::CheckSnapshots(const PartitionListing& l,
                                               int64_t end) {
  for (const std::string& path : l.snapshots) {
    SPOOL_ASSIGN_OR_RETURN(std::string data, fs_->ReadFile(path));
    absl::StatusOr<ProducerSnapshot> s = ParseProducerSnapshot(data);
    if (!s.ok()) {
      sink_->Problem(path, 0, "snapshot", std::string(s.status().message()));
    } else if (!s->crc_ok()) {
      sink_->Problem(path, 2, "snapshot",
                     "the snapshot's CRC-32C does not match its bytes",
                     absl::StrFormat("%d", s->computed_crc),
                     absl::StrFormat("%d", s->crc));
    }
    int64_t offset = ParseSegmentBaseOffset(BaseName(path)).value_or(0);
    if (offset > end) {
      sink_->Note(path, -1, "snapshot",
                  absl::StrFormat("snapshot offset %d is beyond the log end "
                                  "%d; Kafka deletes it at load",
                                  offset, end));
    }
  }
  const std::string epochs = JoinPath(l.dir, "leader-epoch-checkpoint");
  SPOOL_ASSIGN_OR_RETURN(auto entries, ReadLeaderEpochFile(fs_, epochs, sink_));
  for (const LeaderEpoch& e : entries) {
    if (e.start_offset > end) {
      sink_->Note(epochs, e.position, "checkpoint-offset",
                  absl::StrFormat("epoch %d starts at %d, beyond the log end "
                                  "%d; Kafka truncates it at load",
                                  e.epoch, e.start_offset, end));
    }
  }
  return absl::OkStatus();
}

void PartitionVerifier::CheckCheckpoints(const PartitionListing& l,
                                         int64_t end) {
  if (!l.tp.has_value()) return;
  if (auto it = checkpoints_.recovery.find(*l.tp);
      it != checkpoints_.recovery.end() && it->second.offset > end) {
    sink_->Problem(checkpoints_.recovery_file, it->second.position,
                   "checkpoint-offset",
                   absl::StrFormat("recovery point of %s is beyond its log "
                                   "end",
                                   l.tp->ToString()),
                   absl::StrFormat("<= %d", end),
                   absl::StrFormat("%d", it->second.offset));
  }
  if (auto it = checkpoints_.start.find(*l.tp);
      it != checkpoints_.start.end() && it->second.offset > end) {
    sink_->Problem(checkpoints_.start_file, it->second.position,
                   "checkpoint-offset",
                   absl::StrFormat("log start offset of %s is beyond its log "
                                   "end (the engine would drop every segment)",
                                   l.tp->ToString()),
                   absl::StrFormat("<= %d", end),
                   absl::StrFormat("%d", it->second.offset));
  }
}

absl::Status PartitionVerifier::Verify(const std::string& dir) {
  SPOOL_ASSIGN_OR_RETURN(PartitionListing l, ListPartition(fs_, dir));
  ++summary_->partitions;
  CheckFiles(l);
  std::optional<int64_t> prev_next;
  int64_t end = 0;
  for (size_t i = 0; i < l.segments.size(); ++i) {
    SegmentCheck check = MakeSegmentCheck(l, i, state_);
    check.previous_next_offset = prev_next;
    if (prev_next.has_value() && check.files.base_offset < *prev_next) {
      sink_->Problem(check.files.log, -1, "base-offset",
                     "the segment's base offset is below the previous "
                     "segment's end",
                     absl::StrFormat(">= %d", *prev_next),
                     absl::StrFormat("%d", check.files.base_offset));
    }
    SPOOL_ASSIGN_OR_RETURN(
        SegmentResult r, VerifySegment(fs_, check, options_, sink_, progress_));
    SPOOL_RETURN_IF_ERROR(CheckTxnIndex(check.files));
    prev_next = r.next_offset;
    end = r.next_offset;
    ++summary_->segments;
    summary_->batches += r.batches;
    summary_->records += r.records;
    summary_->bytes += r.size;
  }
  SPOOL_RETURN_IF_ERROR(CheckSnapshots(l, end));
  if (!l.segments.empty()) CheckCheckpoints(l, end);
  return absl::OkStatus();
}

void NoteState(const DataDirState& state, FindingSink* sink) {
  if (state.dir.empty()) return;
  if (state.engine_running) {
    sink->Note(state.dir, -1, "engine-running",
               "engine running; the active segment's tail may still be "
               "moving");
  } else if (!state.clean_shutdown) {
    sink->Note(state.dir, -1, "unclean-shutdown",
               "no .kafka_cleanshutdown: the last shutdown was not clean; "
               "the engine recovers each partition from its recovery point");
  }
}

uint64_t LogBytes(FileSystem* fs, const std::vector<std::string>& dirs) {
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

absl::StatusOr<VerifySummary> VerifyPath(FileSystem* fs,
                                         const ClassifiedPath& path,
                                         const VerifyOptions& options,
                                         FindingSink* sink) {
  VerifySummary summary;
  const DataDirState state = ProbeDataDir(fs, path);
  NoteState(state, sink);
  if (path.kind != PathKind::kPartitionDir && path.kind != PathKind::kDataDir) {
    SPOOL_ASSIGN_OR_RETURN(SegmentCheck check, SegmentCheckFor(fs, path.path));
    if (check.files.log.empty()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s has no .log next to it to verify", path.path));
    }
    Progress progress("verify", 0);
    SPOOL_ASSIGN_OR_RETURN(SegmentResult r,
                           VerifySegment(fs, check, options, sink, &progress));
    summary.segments = 1;
    summary.batches = r.batches;
    summary.records = r.records;
    summary.bytes = r.size;
    return summary;
  }
  SPOOL_ASSIGN_OR_RETURN(Checkpoints checkpoints,
                         ReadCheckpoints(fs, state.dir, sink));
  SPOOL_ASSIGN_OR_RETURN(std::vector<std::string> dirs,
                         PartitionDirs(fs, path));
  Progress progress("verify", LogBytes(fs, dirs));
  PartitionVerifier verifier(fs, state, checkpoints, options, sink, &progress,
                             &summary);
  for (const std::string& dir : dirs)
    SPOOL_RETURN_IF_ERROR(verifier.Verify(dir));
  if (path.kind == PathKind::kDataDir) {
    SPOOL_ASSIGN_OR_RETURN(DataDirListing listing, ListDataDir(fs, path.path));
    for (const std::string& name : listing.skipped) {
      if (!std::string_view(name).ends_with("-delete")) continue;
      sink->Add({state.engine_running ? Severity::kNote : Severity::kProblem,
                 JoinPath(path.path, name), -1, "leftover",
                 "leftover of an interrupted partition deletion; the engine "
                 "removes it at open",
                 "", ""});
    }
    for (const auto* map : {&checkpoints.recovery, &checkpoints.start}) {
      for (const auto& [tp, e] : *map) {
        auto found = fs->Exists(JoinPath(path.path, tp.ToString()));
        if (found.ok() && !*found) {
          sink->Note(map == &checkpoints.recovery ? checkpoints.recovery_file
                                                  : checkpoints.start_file,
                     e.position, "checkpoint-offset",
                     absl::StrFormat("entry for %s, which has no partition "
                                     "directory",
                                     tp.ToString()));
        }
      }
    }
  }
  return summary;
}

}  // namespace spool::cli
