// spool metrics: the Prometheus exposition of a closed data directory,
// computed from the files (no engine is opened, nothing is written). Uses
// the per-partition gauge names of Engine::Metrics; counters (appends,
// fetches, fsyncs, ...) count events of a running engine and are absent.

#include <iostream>
#include <map>
#include <set>

#include "absl/strings/str_format.h"
#include "engine/prometheus.h"
#include "log/checkpoint_file.h"
#include "tools/cli.h"
#include "tools/group_lag.h"
#include "tools/log_seek.h"
#include "tools/path_kind.h"
#include "util/status_macros.h"

namespace spool::cli {
namespace {

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
  std::optional<int64_t> start;
  if (auto it = starts.find(tp); it != starts.end()) start = it->second;
  SPOOL_ASSIGN_OR_RETURN(PartitionBounds b, ReadPartitionBounds(fs, l, start));
  Gauges g{tp};
  g.start = b.log_start_offset;
  g.end = b.log_end_offset;
  g.size = b.size_bytes;
  g.segments = b.segments;
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

int RunMetrics(int argc, char** argv) {
  Args args("metrics", "<data dir|partition dir>",
            "Prints the Prometheus exposition (text format 0.0.4) of a closed\n"
            "data directory, computed from its files: the per-partition\n"
            "gauges of Engine::Metrics (log start and end, high watermark,\n"
            "durable offset from the recovery-point checkpoint, bytes,\n"
            "segments) and spool_partitions / spool_topics; for a data\n"
            "directory holding the engine's tables also the consumer-group\n"
            "gauges (committed offset, lag in records, bytes and seconds,\n"
            "members and generation as last stored). Counters exist only in\n"
            "a running engine and are absent.");
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
  auto rps = ReadCheckpointOffsets(fs, state.dir, kRecoveryPointCheckpoint);
  auto starts = ReadCheckpointOffsets(fs, state.dir, kLogStartCheckpoint);
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
  if (path->kind == PathKind::kDataDir) {
    absl::Status groups = AppendGroupMetrics(w, fs, state.dir, absl::Now());
    if (!groups.ok()) {
      std::cerr << "spool metrics: note: consumer-group gauges left out: "
                << groups << "\n";
    }
  }
  std::cout << w.Finish();
  return kExitOk;
}

const bool kRegistered = RegisterCommand(
    {"metrics", "Prometheus exposition of a closed data directory",
     RunMetrics});

}  // namespace
}  // namespace spool::cli
