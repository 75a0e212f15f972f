// spool subscriptions: the shared subscriptions (work queues) in the
// tables: per subscription and partition the ack floor, backlog, in-flight,
// waiting and parked records, and the dead-letter topic's depth
// (docs/cli.md; definitions in tools/subscription_report.h).

#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/cli.h"
#include "tools/subscription_report.h"
#include "tools/tables_command.h"

namespace spool::cli {
namespace {

using P = SubPartitionState;

json PartitionJson(const P& p) {
  auto v = [&](int64_t x) { return p.found ? json(x) : json(nullptr); };
  return {{"partition", p.partition},
          {"logStartOffset", v(p.log_start_offset)},
          {"logEndOffset", v(p.log_end_offset)},
          {"ackFloor", p.ack_floor},
          {"deliveryMark", p.delivery_mark},
          {"ackedRanges", p.acked_ranges},
          {"ackedAboveFloor", p.acked_above_floor},
          {"backlog", v(p.backlog)},
          {"inFlight", p.in_flight},
          {"expiredLeases", p.expired_leases},
          {"waiting", p.waiting},
          {"parked", p.parked},
          {"deadLetterIntents", p.dlq_intents}};
}

json SubscriptionJson(const SubscriptionReport& r) {
  const SubscriptionConfig& c = r.sub.config;
  json partitions = json::array();
  for (const P& p : r.partitions) partitions.push_back(PartitionJson(p));
  return {
      {"type", "subscription"},
      {"topic", r.sub.topic},
      {"subscription", r.sub.name},
      {"createdMs", r.sub.created_ms},
      {"leaseMs", absl::ToInt64Milliseconds(c.lease)},
      {"maxDeliveries", c.max_deliveries},
      {"orderedByKey", c.ordered_by_key},
      {"deadLetterTopic",
       c.dead_letter_topic.empty() ? json(nullptr) : json(c.dead_letter_topic)},
      {"backlog", r.Total(&P::backlog)},
      {"inFlight", r.Total(&P::in_flight)},
      {"expiredLeases", r.Total(&P::expired_leases)},
      {"waiting", r.Total(&P::waiting)},
      {"parked", r.Total(&P::parked)},
      {"deadLetterIntents", r.Total(&P::dlq_intents)},
      {"dlqDepth", r.dlq_depth ? json(*r.dlq_depth) : json(nullptr)},
      {"partitions", std::move(partitions)}};
}

void PrintText(const std::vector<SubscriptionReport>& subs, Output& out) {
  if (subs.empty()) {
    out.Line("no subscriptions");
    return;
  }
  Table summary({"topic", "subscription", "backlog", "in flight",
                 "expired leases", "waiting", "parked", "dlq intents",
                 "dead-letter topic", "dlq depth"});
  Table parts({"topic", "subscription", "partition", "log start", "log end",
               "ack floor", "acked ranges", "backlog", "in flight", "waiting",
               "parked"});
  for (const SubscriptionReport& r : subs) {
    const std::string& dlq = r.sub.config.dead_letter_topic;
    summary.AddRow(
        {r.sub.topic, r.sub.name, absl::StrCat(r.Total(&P::backlog)),
         absl::StrCat(r.Total(&P::in_flight)),
         absl::StrCat(r.Total(&P::expired_leases)),
         absl::StrCat(r.Total(&P::waiting)), absl::StrCat(r.Total(&P::parked)),
         absl::StrCat(r.Total(&P::dlq_intents)), dlq.empty() ? "-" : dlq,
         r.dlq_depth ? absl::StrCat(*r.dlq_depth) : "-"});
    for (const P& p : r.partitions) {
      auto v = [&](int64_t x) { return p.found ? absl::StrCat(x) : "-"; };
      parts.AddRow({r.sub.topic, r.sub.name, absl::StrCat(p.partition),
                    v(p.log_start_offset), v(p.log_end_offset),
                    absl::StrCat(p.ack_floor), absl::StrCat(p.acked_ranges),
                    v(p.backlog), absl::StrCat(p.in_flight),
                    absl::StrCat(p.waiting), absl::StrCat(p.parked)});
    }
  }
  out.buffer() += summary.ToString();
  out.buffer() += "\nper partition:\n";
  out.buffer() += parts.ToString();
}

int RunSubscriptions(int argc, char** argv) {
  Args args(
      "subscriptions",
      "[--topic T] [--subscription S] [--json] [--now TIME] <data dir>",
      "Reads the shared subscriptions (work queues) from the engine's\n"
      "tables (<data dir>/spool-tables, opened read-only: works while an\n"
      "engine runs) and shows per subscription and partition the ack\n"
      "floor, the backlog (records not done), records in flight (leased\n"
      "at --now), leases that ran out, records waiting for redelivery and\n"
      "parked, dead-letter intents, and the dead-letter topic's depth.\n"
      "Exits 1 if a row does not decode.");
  args.AddFlag({"topic", "T", "only subscriptions on this topic"})
      .AddFlag({"subscription", "S", "only subscriptions with this name"});
  AddTablesFlags(args);
  int exit = 0;
  if (!args.Parse(argc, argv, &exit)) return exit;
  std::optional<TablesCommand> c =
      OpenTablesCommand("subscriptions", args, &exit);
  if (!c.has_value()) return exit;
  Output out;
  FindingSink problems(&out, c->json);
  absl::StatusOr<std::vector<SubscriptionReport>> subs =
      CollectSubscriptionReports(
          c->fs, *c->tables,
          {args.Get("topic"), args.Get("subscription"), c->data_dirs, c->now},
          &problems);
  if (!subs.ok()) {
    out.Flush();
    return Fail("subscriptions", subs.status());
  }
  if (c->json) {
    for (const SubscriptionReport& r : *subs) out.JsonLine(SubscriptionJson(r));
  } else {
    PrintText(*subs, out);
  }
  return problems.problems() > 0 ? kExitProblems : kExitOk;
}

const bool kRegistered = RegisterCommand(
    {"subscriptions",
     "shared subscriptions: backlog, in flight, dead letters (tables)",
     RunSubscriptions});

}  // namespace
}  // namespace spool::cli
