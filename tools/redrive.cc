// spool redrive: moves dead-lettered records back to the topic and
// partition they came from, with Subscriptions::Redrive (docs/cli.md,
// docs/queues.md). The engine is opened on the data directory, so it must
// not be running.
//
// Before moving anything the dead-letter topic is read once to plan the
// move, with Redrive's rules: per dead-letter partition from its log start,
// records carrying the spool.dlq.topic / spool.dlq.partition headers go
// back; the first record without them stops that partition (it and what
// follows stay). The plan is what --dry-run prints, and a plan naming a
// topic or partition that does not exist stops the command before anything
// moves (Redrive would fail half-way).

#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "spool/engine.h"
#include "spool/subscriptions.h"
#include "tools/cli.h"
#include "tools/engine_command.h"
#include "tools/output.h"
#include "util/strings.h"

namespace spool::cli {
namespace {

constexpr char kCommand[] = "redrive";

// Records of one dead-letter partition going back to one destination.
struct Move {
  int32_t dlq_partition = 0;
  std::string topic;
  int32_t partition = 0;
  int64_t records = 0;
  bool exists = true;  // the destination topic and partition exist
};

// A dead-letter partition's records that stay: from `offset` (a record
// without origin headers) to the log end.
struct Stuck {
  int32_t dlq_partition = 0;
  int64_t offset = 0;
  int64_t records = 0;
};

struct Plan {
  std::vector<Move> moves;
  std::vector<Stuck> stuck;
  int64_t records = 0;  // to move
  int64_t depth = 0;    // records in the dead-letter topic now

  bool MissingDestination() const {
    for (const Move& m : moves) {
      if (!m.exists) return true;
    }
    return false;
  }
};

std::optional<std::pair<std::string, int32_t>> OriginOf(const RecordView& r) {
  std::optional<std::string> topic;
  std::optional<int32_t> partition;
  for (const HeaderView& h : r.headers) {
    if (!h.value.has_value()) continue;
    int32_t p = 0;
    if (h.key == kDlqTopicHeader) {
      topic = std::string(*h.value);
    } else if (h.key == kDlqPartitionHeader &&
               absl::SimpleAtoi(ToAbsl(*h.value), &p)) {
      partition = p;
    }
  }
  if (!topic.has_value() || !partition.has_value()) return std::nullopt;
  return std::make_pair(*topic, *partition);
}

// Plans one dead-letter partition; adds to `plan`, stops at `max_records`.
absl::Status PlanPartition(Engine& engine, const TopicPartition& dlq,
                           int64_t max_records, Plan& plan) {
  absl::StatusOr<PartitionOffsets> o = engine.Offsets(dlq);
  if (!o.ok()) return o.status();
  plan.depth += o->log_end_offset - o->log_start_offset;
  std::map<std::pair<std::string, int32_t>, int64_t> counts;
  int64_t pos = o->log_start_offset;
  bool stop = false;
  while (pos < o->log_end_offset && !stop) {
    absl::StatusOr<FetchResult> f = engine.Fetch(dlq, pos);
    if (!f.ok()) return f.status();
    if (f->batches.empty()) break;
    absl::Status s = f->ForEachRecord([&](const RecordView& r) {
      if (plan.records >= max_records) {
        stop = true;
        return false;
      }
      auto origin = OriginOf(r);
      if (!origin.has_value()) {
        plan.stuck.push_back(
            {dlq.partition, r.offset, o->log_end_offset - r.offset});
        stop = true;
        return false;
      }
      ++counts[*origin];
      ++plan.records;
      return true;
    });
    if (!s.ok()) return s;
    pos = f->next_offset;
  }
  for (const auto& [dest, n] : counts) {
    Move m{dlq.partition, dest.first, dest.second, n, true};
    absl::StatusOr<int32_t> count = engine.PartitionCount(dest.first);
    m.exists = count.ok() && dest.second >= 0 && dest.second < *count;
    plan.moves.push_back(std::move(m));
  }
  return absl::OkStatus();
}

absl::StatusOr<Plan> MakePlan(Engine& engine, const std::string& dlq_topic,
                              int64_t max_records) {
  absl::StatusOr<int32_t> n = engine.PartitionCount(dlq_topic);
  if (!n.ok()) return n.status();
  Plan plan;
  for (int32_t p = 0; p < *n; ++p) {
    absl::Status s = PlanPartition(engine, {dlq_topic, p}, max_records, plan);
    if (!s.ok()) return s;
  }
  return plan;
}

void PrintPlan(const std::string& dlq_topic, const Plan& plan, bool as_json,
               Output& out) {
  for (const Move& m : plan.moves) {
    if (as_json) {
      out.JsonLine({{"type", "move"},
                    {"deadLetterTopic", dlq_topic},
                    {"deadLetterPartition", m.dlq_partition},
                    {"topic", m.topic},
                    {"partition", m.partition},
                    {"records", m.records},
                    {"destinationExists", m.exists}});
    } else {
      out.Line(
          absl::StrFormat("%s-%d -> %s-%d: %d records%s", dlq_topic,
                          m.dlq_partition, m.topic, m.partition, m.records,
                          m.exists ? "" : " (no such topic or partition)"));
    }
  }
  for (const Stuck& s : plan.stuck) {
    if (as_json) {
      out.JsonLine({{"type", "stays"},
                    {"deadLetterTopic", dlq_topic},
                    {"deadLetterPartition", s.dlq_partition},
                    {"offset", s.offset},
                    {"records", s.records}});
    } else {
      out.Line(absl::StrFormat(
          "%s-%d: offset %d has no %s/%s headers: it and the %d records "
          "after it stay",
          dlq_topic, s.dlq_partition, s.offset, kDlqTopicHeader,
          kDlqPartitionHeader, s.records - 1));
    }
  }
}

int RunRedrive(int argc, char** argv) {
  Args args(kCommand,
            "[--dry-run] [--max-records N] [--json] [--data-dirs DIR,...] "
            "<data dir> <dead-letter topic>",
            "Moves records from a dead-letter topic back to the topic and\n"
            "partition named in their spool.dlq.* headers (without those\n"
            "headers; key, value, other headers and the original timestamp\n"
            "kept), from the dead-letter topic's log start, then deletes\n"
            "them from the dead-letter topic. A record without the headers\n"
            "stops its partition: it and the records after it stay.\n"
            "Opens the engine on <data dir>: it must not be running (the\n"
            "directory is locked). --dry-run shows what would move.\n"
            "Exits 1 if records stay behind, a destination does not exist\n"
            "(nothing is moved then) or the move failed.");
  args.AddFlag({"dry-run", "", "show what would move; change nothing"})
      .AddFlag({"max-records", "N", "move at most N records", "all"})
      .AddFlag({"json", "", "one JSON object per line"});
  AddEngineFlags(args);
  int exit = 0;
  if (!args.Parse(argc, argv, &exit)) return exit;
  const auto& pos = args.positional();
  if (pos.size() != 2) {
    return args.UsageError("expected <data dir> <dead-letter topic>");
  }
  int64_t max_records = INT64_MAX;
  if (args.Has("max-records")) {
    if (!absl::SimpleAtoi(args.Get("max-records"), &max_records) ||
        max_records < 1) {
      return args.UsageError("--max-records needs a number >= 1");
    }
  }
  const bool dry_run = args.Has("dry-run");
  const bool as_json = args.Has("json");
  std::unique_ptr<Engine> engine =
      OpenEngineCommand(kCommand, kCommand, pos[0], args, &exit);
  if (engine == nullptr) return exit;
  const std::string& dlq = pos[1];
  absl::StatusOr<Plan> plan = MakePlan(*engine, dlq, max_records);
  if (!plan.ok()) {
    return CloseEngineCommand(kCommand, *engine, Fail(kCommand, plan.status()));
  }
  Output out;
  PrintPlan(dlq, *plan, as_json, out);
  if (plan->MissingDestination()) {
    out.Flush();
    std::cerr << "spool redrive: records name a topic or partition that does "
                 "not exist; nothing was moved (create it, or move them "
                 "another way)\n";
    return CloseEngineCommand(kCommand, *engine, kExitProblems);
  }
  int64_t moved = plan->records;
  int64_t stuck = static_cast<int64_t>(plan->stuck.size());
  if (!dry_run) {
    absl::StatusOr<RedriveResult> r =
        engine->subscriptions().Redrive(dlq, {.max_records = max_records});
    if (!r.ok()) {
      out.Flush();
      return CloseEngineCommand(kCommand, *engine, Fail(kCommand, r.status()));
    }
    moved = r->moved;
    stuck = r->skipped;
  }
  const int64_t remaining = plan->depth - moved;
  if (as_json) {
    out.JsonLine({{"type", "summary"},
                  {"deadLetterTopic", dlq},
                  {"dryRun", dry_run},
                  {"moved", moved},
                  {"remaining", remaining}});
  } else {
    out.Line(absl::StrFormat(
        "%s %d records from %s back to their topics; %d records %s in %s%s",
        dry_run ? "would move" : "moved", moved, dlq, remaining,
        dry_run ? "would stay" : "stay", dlq,
        dry_run ? " (dry run: nothing changed)" : ""));
  }
  out.Flush();
  return CloseEngineCommand(kCommand, *engine,
                            stuck > 0 ? kExitProblems : kExitOk);
}

const bool kRegistered = RegisterCommand(
    {kCommand, "move dead-lettered records back to their topics", RunRedrive});

}  // namespace
}  // namespace spool::cli
