// spool metrics: the Prometheus exposition of a closed data directory,
// computed from the files (no engine is opened, nothing is written). Uses
// the per-partition gauge names of Engine::Metrics; counters (appends,
// fetches, fsyncs, ...) count events of a running engine and are absent.

#include <iostream>
#include <map>
#include <set>

#include "absl/strings/str_format.h"
#include "engine/prometheus.h"
#include "format/batch_internal.h"
#include "log/checkpoint_file.h"
#include "log/file_batch_reader.h"
#include "tools/cli.h"
#include "tools/index_reader.h"
#include "tools/kafka_files.h"
#include "tools/path_kind.h"
#include "util/status_macros.h"

namespace spool::cli {
namespace {

// Where to start scanning for the end of a segment: its last offset-index
// entry, if the batch there ends at the entry's offset; else 0.
uint64_t LastIndexedPosition(FileSystem* fs, const SegmentFiles& seg,
                             const File& log) {
  if (seg.index.empty()) return 0;
  auto index = IndexReader::Open(fs, seg.index, kOffsetEntrySize);
  if (!index.ok()) return 0;
  std::string_view bytes;
  int64_t i;
  std::optional<OffsetEntry> last;
  while ((*index)->Next(&bytes, &i)) {
    last = DecodeOffsetEntry(bytes, seg.base_offset);
  }
  if (!last.has_value()) return 0;
  char header[kBatchHeaderSize];
  absl::StatusOr<size_t> n = log.Read(last->position, sizeof(header), header);
  if (!n.ok() || *n != sizeof(header)) return 0;
  auto h = ParseBatchHeader(std::string_view(header, sizeof(header)));
  return h.ok() && h->last_offset() == last->offset ? last->position : 0;
}

// The offset after the last valid batch of the segment.
absl::StatusOr<int64_t> SegmentEnd(FileSystem* fs, const SegmentFiles& seg) {
  SPOOL_ASSIGN_OR_RETURN(auto file, fs->Open(seg.log, {.read_only = true}));
  SPOOL_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  FileBatchReader reader(*file, LastIndexedPosition(fs, seg, *file), size,
                         {.verify_crc = false});
  int64_t end = seg.base_offset;
  ScannedBatch b;
  while (reader.Next(&b)) end = std::max(end, b.batch.header().next_offset());
  if (reader.stop() == FileBatchReader::Stop::kIoError) return reader.status();
  return end;
}

struct Gauges {
  TopicPartition tp;
  int64_t start = 0, end = 0, size = 0, segments = 0;
  std::optional<int64_t> durable;
};

absl::StatusOr<Gauges> PartitionGauges(
    FileSystem* fs, const std::string& dir, const TopicPartition& tp,
    const std::map<TopicPartition, int64_t>& rps,
    const std::map<TopicPartition, int64_t>& starts) {
  SPOOL_ASSIGN_OR_RETURN(PartitionListing l, ListPartition(fs, dir));
  Gauges g{tp};
  g.segments = static_cast<int64_t>(l.segments.size());
  for (const SegmentFiles& s : l.segments) {
    SPOOL_ASSIGN_OR_RETURN(FileInfo info, fs->Stat(s.log));
    g.size += static_cast<int64_t>(info.size);
  }
  if (!l.segments.empty()) {
    g.start = l.segments.front().base_offset;
    SPOOL_ASSIGN_OR_RETURN(g.end, SegmentEnd(fs, l.segments.back()));
  }
  if (auto it = starts.find(tp); it != starts.end()) {
    g.start = std::max(g.start, it->second);
  }
  if (l.segments.empty()) g.end = g.start;
  if (auto it = rps.find(tp); it != rps.end()) {
    g.durable = std::min(it->second, g.end);
  }
  return g;
}

void Write(PrometheusWriter& w, const Gauges& g) {
  const PrometheusWriter::Labels l = {
      {"topic", g.tp.topic},
      {"partition", absl::StrFormat("%d", g.tp.partition)}};
  auto d = [](int64_t v) { return static_cast<double>(v); };
  w.Gauge("spool_partition_log_start_offset",
          "First offset still readable in the partition.", l, d(g.start));
  w.Gauge("spool_partition_log_end_offset",
          "Offset the next appended record will get.", l, d(g.end));
  w.Gauge("spool_partition_high_watermark",
          "Offset below which records are visible to consumers.", l, d(g.end));
  if (g.durable.has_value()) {
    w.Gauge("spool_partition_durable_offset",
            "Offset below which records are fsynced (the recovery point).", l,
            d(*g.durable));
  }
  w.Gauge("spool_partition_size_bytes", "Bytes of log segments.", l, d(g.size));
  w.Gauge("spool_partition_segments", "Number of log segments.", l,
          d(g.segments));
}

std::map<TopicPartition, int64_t> Checkpoint(FileSystem* fs,
                                             const DataDirState& state,
                                             std::string_view name) {
  std::map<TopicPartition, int64_t> out;
  if (state.dir.empty()) return out;
  FindingSink ignore(nullptr, false);
  auto entries = ReadCheckpointFile(fs, JoinPath(state.dir, name), &ignore);
  if (entries.ok()) {
    for (const CheckpointOffset& e : *entries) out[e.tp] = e.offset;
  }
  return out;
}

int RunMetrics(int argc, char** argv) {
  Args args("metrics", "<data dir|partition dir>",
            "Prints the Prometheus exposition (text format 0.0.4) of a closed\n"
            "data directory, computed from its files: the per-partition\n"
            "gauges of Engine::Metrics (log start and end, high watermark,\n"
            "durable offset from the recovery-point checkpoint, bytes,\n"
            "segments) and spool_partitions / spool_topics. Counters exist\n"
            "only in a running engine and are absent.");
  int exit = 0;
  if (!args.Parse(argc, argv, &exit)) return exit;
  if (args.positional().size() != 1) {
    return args.UsageError("expected exactly one path");
  }
  FileSystem* fs = FileSystem::Default();
  absl::StatusOr<ClassifiedPath> path = ClassifyPath(fs, args.positional()[0]);
  if (path.ok() && path->kind != PathKind::kPartitionDir &&
      path->kind != PathKind::kDataDir) {
    path = absl::InvalidArgumentError(absl::StrFormat(
        "%s is a %s; metrics takes a data directory or a partition directory",
        path->path, PathKindName(path->kind)));
  }
  if (!path.ok()) return FailPath("metrics", path.status());
  const DataDirState state = ProbeDataDir(fs, *path);
  NoteIfRunning("metrics", state);
  auto rps = Checkpoint(fs, state, kRecoveryPointCheckpoint);
  auto starts = Checkpoint(fs, state, kLogStartCheckpoint);
  absl::StatusOr<std::vector<std::string>> dirs = PartitionDirs(fs, *path);
  if (!dirs.ok()) return Fail("metrics", dirs.status());
  PrometheusWriter w;
  std::set<std::string> topics;
  for (const std::string& dir : *dirs) {
    std::optional<TopicPartition> tp = ParsePartitionDirName(BaseName(dir));
    if (!tp.has_value()) {
      std::cerr << "spool metrics: note: skipped " << dir
                << " (not named <topic>-<partition>)\n";
      continue;
    }
    absl::StatusOr<Gauges> g = PartitionGauges(fs, dir, *tp, rps, starts);
    if (!g.ok()) return Fail("metrics", g.status());
    Write(w, *g);
    topics.insert(tp->topic);
  }
  w.Gauge("spool_topics",
          "Topics (here: distinct topics of the partition "
          "directories).",
          {}, static_cast<double>(topics.size()));
  w.Gauge("spool_partitions", "Partitions (here: partition directories).", {},
          static_cast<double>(topics.empty() ? 0 : dirs->size()));
  std::cout << w.Finish();
  return kExitOk;
}

const bool kRegistered = RegisterCommand(
    {"metrics", "Prometheus exposition of a closed data directory",
     RunMetrics});

}  // namespace
}  // namespace spool::cli
