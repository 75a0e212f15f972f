// spool parked: lists the parked records of a subscription (ordered keys
// whose record used up its deliveries under PoisonPolicy::kPark) and
// resolves them, with Subscriptions::ListParked / ResolveParked
// (docs/cli.md, docs/queues.md). The engine is opened on the data
// directory, so it must not be running; `spool subscriptions` shows the
// parked counts read-only while it runs.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "spool/engine.h"
#include "spool/subscriptions.h"
#include "tools/cli.h"
#include "tools/engine_command.h"
#include "tools/output.h"

namespace spool::cli {
namespace {

constexpr char kCommand[] = "parked";

std::optional<ParkedAction> ParseAction(const std::string& name) {
  static const auto* kActions = new std::map<std::string, ParkedAction>{
      {"retry", ParkedAction::kRetry},
      {"skip", ParkedAction::kSkip},
      {"dead-letter", ParkedAction::kDeadLetter}};
  auto it = kActions->find(name);
  if (it == kActions->end()) return std::nullopt;
  return it->second;
}

std::string KeyText(const std::optional<std::string>& key) {
  if (!key.has_value()) return "-";
  std::string out;
  AppendData(&out, *key, DataFormat::kUtf8);
  return out;
}

void PrintParked(const std::vector<ParkedRecord>& parked, bool as_json,
                 Output& out) {
  if (as_json) {
    for (const ParkedRecord& p : parked) {
      out.JsonLine({{"type", "parked"},
                    {"partition", p.partition},
                    {"offset", p.offset},
                    {"key", DataJson(p.key, DataFormat::kUtf8)},
                    {"attempts", p.attempts},
                    {"reason", p.reason},
                    {"parkedMs", absl::ToUnixMillis(p.parked_at)},
                    {"blockedRecords", p.blocked_records}});
    }
    return;
  }
  if (parked.empty()) {
    out.Line("no parked records");
    return;
  }
  Table t({"partition", "offset", "key", "attempts", "parked at", "blocked",
           "reason"});
  for (const ParkedRecord& p : parked) {
    t.AddRow({absl::StrCat(p.partition), absl::StrCat(p.offset), KeyText(p.key),
              absl::StrCat(p.attempts),
              absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", p.parked_at,
                               absl::UTCTimeZone()),
              absl::StrCat(p.blocked_records), p.reason});
  }
  out.buffer() += t.ToString();
}

int RunParked(int argc, char** argv) {
  Args args(kCommand,
            "(list | retry | skip | dead-letter) [--json] [--data-dirs "
            "DIR,...] <data dir> <topic> <subscription> [<partition> "
            "<offset>]",
            "Parked records are records of an ordered key (ordered_by_key,\n"
            "poison policy park) that used up their deliveries: the key's\n"
            "later records wait behind them until an operator acts.\n"
            "  list         the subscription's parked records\n"
            "  retry        deliver the record at <partition> <offset> again\n"
            "               with a fresh attempt count\n"
            "  skip         acknowledge it unprocessed; the key goes on\n"
            "  dead-letter  move it to the dead-letter topic; the key goes on\n"
            "Opens the engine on <data dir>: it must not be running (the\n"
            "directory is locked); `spool subscriptions` shows parked counts\n"
            "while it runs. Exits 1 if nothing is parked at <partition>\n"
            "<offset> or the operation failed.");
  args.AddFlag({"json", "", "one JSON object per line (list)"});
  AddEngineFlags(args);
  int exit = 0;
  if (!args.Parse(argc, argv, &exit)) return exit;
  const auto& pos = args.positional();
  if (pos.empty()) return args.UsageError("missing action");
  const bool list = pos[0] == "list";
  std::optional<ParkedAction> action = ParseAction(pos[0]);
  if (!list && !action.has_value()) {
    return args.UsageError(absl::StrFormat(
        "unknown action '%s' (list, retry, skip or dead-letter)", pos[0]));
  }
  int32_t partition = 0;
  int64_t offset = 0;
  if (list && pos.size() != 4) {
    return args.UsageError("expected list <data dir> <topic> <subscription>");
  }
  if (!list) {
    if (pos.size() != 6) {
      return args.UsageError(absl::StrFormat(
          "expected %s <data dir> <topic> <subscription> <partition> "
          "<offset>",
          pos[0]));
    }
    if (!absl::SimpleAtoi(pos[4], &partition) || partition < 0 ||
        !absl::SimpleAtoi(pos[5], &offset) || offset < 0) {
      return args.UsageError(absl::StrFormat(
          "<partition> <offset> must be non-negative numbers, got '%s' '%s'",
          pos[4], pos[5]));
    }
  }
  std::unique_ptr<Engine> engine = OpenEngineCommand(
      kCommand, absl::StrCat(pos[0], " parked records"), pos[1], args, &exit);
  if (engine == nullptr) return exit;
  const std::string& topic = pos[2];
  const std::string& name = pos[3];
  Subscriptions& subs = engine->subscriptions();
  if (list) {
    absl::StatusOr<std::vector<ParkedRecord>> parked =
        subs.ListParked(topic, name);
    if (!parked.ok()) {
      return CloseEngineCommand(kCommand, *engine,
                                Fail(kCommand, parked.status()));
    }
    Output out;
    PrintParked(*parked, args.Has("json"), out);
    out.Flush();
    return CloseEngineCommand(kCommand, *engine, kExitOk);
  }
  absl::Status s = subs.ResolveParked(topic, name, partition, offset, *action);
  if (!s.ok()) return CloseEngineCommand(kCommand, *engine, Fail(kCommand, s));
  absl::PrintF("%s-%d offset %d (subscription %s): %s\n", topic, partition,
               offset, name,
               pos[0] == "retry"  ? "will be delivered again"
               : pos[0] == "skip" ? "acknowledged without processing"
                                  : "dead-lettered");
  return CloseEngineCommand(kCommand, *engine, kExitOk);
}

const bool kRegistered = RegisterCommand(
    {kCommand, "list, retry, skip or dead-letter parked records", RunParked});

}  // namespace
}  // namespace spool::cli
