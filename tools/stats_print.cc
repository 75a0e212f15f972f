// spool stats: the command and its table / JSON output.

#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tools/cli.h"
#include "tools/stats.h"

namespace spool::cli {
namespace {

std::string PartitionName(const PartitionStats& st) {
  return st.tp.has_value() ? st.tp->ToString() : std::string(BaseName(st.dir));
}

std::string Codecs(const PartitionStats& st) {
  std::vector<std::string> parts;
  for (const auto& [codec, n] : st.batches_by_codec) {
    parts.push_back(absl::StrCat(codec, ":", n));
  }
  return parts.empty() ? "-" : absl::StrJoin(parts, ",");
}

std::string ExtraValue(const json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

void PrintPartitionTable(const StatsReport& r, Output& out) {
  std::vector<std::string> header = {
      "partition", "segments",       "bytes",           "log start",
      "log end",   "recovery point", "batches",         "records",
      "codecs",    "ratio",          "first timestamp", "max timestamp"};
  if (!r.partitions.empty()) {
    for (const auto& [name, v] : r.partitions.front().extra) {
      header.push_back(name);
    }
  }
  Table t(header);
  for (const PartitionStats& st : r.partitions) {
    std::vector<std::string> row = {
        PartitionName(st),
        absl::StrCat(st.segments),
        absl::StrCat(st.size_bytes),
        absl::StrCat(st.log_start_offset),
        absl::StrCat(st.log_end_offset),
        st.recovery_point ? absl::StrCat(*st.recovery_point) : "-",
        absl::StrCat(st.batches),
        absl::StrCat(st.records),
        Codecs(st),
        absl::StrFormat("%.2f", st.compression_ratio()),
        FormatTimestamp(st.first_timestamp),
        FormatTimestamp(st.max_timestamp)};
    for (const auto& [name, v] : st.extra) row.push_back(ExtraValue(v));
    t.AddRow(std::move(row));
  }
  out.buffer() += t.ToString();
}

void PrintProducers(const StatsReport& r, Output& out) {
  Table t({"partition", "snapshot", "producerId", "epoch", "lastSequence",
           "lastOffset", "lastTimestamp", "txnFirstOffset"});
  for (const PartitionStats& st : r.partitions) {
    for (const SnapshotEntry& e : st.producers) {
      t.AddRow({PartitionName(st), std::string(BaseName(st.snapshot)),
                absl::StrCat(e.producer_id), absl::StrCat(e.producer_epoch),
                absl::StrCat(e.last_sequence), absl::StrCat(e.last_offset),
                FormatTimestamp(e.timestamp),
                e.current_txn_first_offset < 0
                    ? "-"
                    : absl::StrCat(e.current_txn_first_offset)});
    }
  }
  out.buffer() += "\nproducer state (newest valid .snapshot per partition):\n";
  out.buffer() += t.empty() ? "  no producer snapshots\n" : t.ToString();
}

void PrintText(const StatsContext& ctx, const StatsReport& r, Output& out) {
  if (!ctx.state.dir.empty()) {
    out.Line(absl::StrFormat(
        "data directory %s: %s", ctx.state.dir,
        ctx.state.engine_running
            ? "engine running (the active segments may still grow)"
            : (ctx.state.clean_shutdown ? "clean shutdown"
                                        : "no clean shutdown marker")));
  }
  PrintPartitionTable(r, out);
  for (const PartitionStats& st : r.partitions) {
    if (!st.scan_stop.empty()) {
      out.Line(absl::StrCat("note: ", PartitionName(st),
                            ": scan stopped early at ", st.scan_stop,
                            " (run spool verify)"));
    }
  }
  PrintProducers(r, out);
  for (const StatsSection& s : r.sections) {
    Table t(s.columns);
    for (const auto& row : s.rows) t.AddRow(row);
    out.buffer() += absl::StrCat("\n", s.title, ":\n", t.ToString());
  }
}

json PartitionJson(const PartitionStats& st) {
  json producers = json::array();
  for (const SnapshotEntry& e : st.producers) {
    producers.push_back(
        {{"producerId", e.producer_id},
         {"producerEpoch", e.producer_epoch},
         {"lastSequence", e.last_sequence},
         {"lastOffset", e.last_offset},
         {"offsetDelta", e.offset_delta},
         {"lastTimestamp", e.timestamp},
         {"coordinatorEpoch", e.coordinator_epoch},
         {"currentTxnFirstOffset", e.current_txn_first_offset < 0
                                       ? json(nullptr)
                                       : json(e.current_txn_first_offset)}});
  }
  json j = {
      {"type", "partition"},
      {"dir", st.dir},
      {"topic", st.tp ? json(st.tp->topic) : json(nullptr)},
      {"partition", st.tp ? json(st.tp->partition) : json(nullptr)},
      {"segments", st.segments},
      {"sizeBytes", st.size_bytes},
      {"logStartOffset", st.log_start_offset},
      {"logEndOffset", st.log_end_offset},
      {"recoveryPoint",
       st.recovery_point ? json(*st.recovery_point) : json(nullptr)},
      {"batches", st.batches},
      {"records", st.records},
      {"controlBatches", st.control_batches},
      {"batchesByCodec", st.batches_by_codec},
      {"storedBytes", st.stored_bytes},
      {"uncompressedBytes", st.uncompressed_bytes},
      {"compressionRatio", st.compression_ratio()},
      {"firstTimestamp", st.first_timestamp},
      {"maxTimestamp", st.max_timestamp},
      {"scanStop", st.scan_stop.empty() ? json(nullptr) : json(st.scan_stop)},
      {"snapshot", st.snapshot.empty() ? json(nullptr) : json(st.snapshot)},
      {"producers", std::move(producers)}};
  for (const auto& [name, v] : st.extra) j[name] = v;
  return j;
}

void PrintJson(const StatsContext& ctx, const StatsReport& r, Output& out) {
  if (!ctx.state.dir.empty()) {
    out.JsonLine({{"type", "data-dir"},
                  {"dir", ctx.state.dir},
                  {"engineRunning", ctx.state.engine_running},
                  {"cleanShutdown", ctx.state.clean_shutdown}});
  }
  for (const PartitionStats& st : r.partitions) out.JsonLine(PartitionJson(st));
  for (const StatsSection& s : r.sections) {
    out.JsonLine({{"type", "section"}, {"section", s.name}, {"data", s.data}});
  }
}

int RunStats(int argc, char** argv) {
  Args args(
      "stats", "[--json] [--now TIME] <partition dir|data dir>",
      "Per partition: segments, bytes, log start and end offsets, the\n"
      "checkpointed recovery point, batches and records, codecs and\n"
      "compression ratio, timestamps, and the producer state of the\n"
      "newest .snapshot. Reads every batch header (and decompresses\n"
      "compressed batches to measure them); checks nothing (see verify).\n"
      "Where the data directory holds the engine's tables, also each\n"
      "consumer group's lag and each subscription's backlog on these\n"
      "partitions.");
  args.AddFlag({"json", "", "one JSON object per partition and section"})
      .AddFlag({"now", "TIME",
                "measure lag in seconds against TIME (ms or RFC 3339)",
                "the current time"});
  int exit = 0;
  if (!args.Parse(argc, argv, &exit)) return exit;
  if (args.positional().size() != 1) {
    return args.UsageError("expected exactly one path");
  }
  StatsContext ctx;
  ctx.fs = FileSystem::Default();
  ctx.now = absl::Now();
  if (args.Has("now")) {
    int64_t millis = 0;
    if (!ParseTimeFlag(args.Get("now"), &millis)) {
      return args.UsageError(
          "--now needs milliseconds since the epoch or an RFC 3339 time, "
          "got '" +
          args.Get("now") + "'");
    }
    ctx.now = absl::FromUnixMillis(millis);
  }
  absl::StatusOr<ClassifiedPath> path =
      ClassifyPath(ctx.fs, args.positional()[0]);
  if (path.ok() && path->kind != PathKind::kPartitionDir &&
      path->kind != PathKind::kDataDir) {
    path = absl::InvalidArgumentError(absl::StrFormat(
        "%s is a %s; stats takes a partition directory or a data directory",
        path->path, PathKindName(path->kind)));
  }
  if (!path.ok()) return FailPath("stats", path.status());
  ctx.path = *path;
  ctx.state = ProbeDataDir(ctx.fs, ctx.path);
  NoteIfRunning("stats", ctx.state);
  absl::StatusOr<StatsReport> report = CollectStats(ctx);
  if (!report.ok()) return Fail("stats", report.status());
  Output out;
  if (args.Has("json")) {
    PrintJson(ctx, *report, out);
  } else {
    PrintText(ctx, *report, out);
  }
  return kExitOk;
}

const bool kRegistered = RegisterCommand(
    {"stats", "per-partition offsets, sizes, records, compression, producers",
     RunStats});

}  // namespace
}  // namespace spool::cli
