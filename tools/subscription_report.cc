#include "tools/subscription_report.h"

#include <algorithm>
#include <limits>
#include <map>

#include "absl/strings/str_format.h"
#include "tables/catalog.h"
#include "tools/tables_reader.h"
#include "util/status_macros.h"

namespace spool::cli {
namespace {

// The rows of one partition of one subscription, as stored.
struct PartitionRows {
  std::optional<int64_t> floor;
  std::optional<int64_t> mark;
  int64_t mark_deadline_ms = 0;
  std::map<int64_t, int64_t> ranges;  // start -> end
  std::map<int64_t, DeliveryRow> deliveries;
  int64_t intents = 0;
};

struct SubRows {
  std::optional<StoredSubscription> sub;
  std::string topic, name;
  std::map<int32_t, PartitionRows> partitions;
};

using RowsByPrefix = std::map<std::string, SubRows>;

// Decodes one row into `rows`; a problem for `sink` otherwise.
absl::Status AddRow(std::string_view prefix, std::string_view key,
                    std::string_view value, SubRows& rows) {
  SPOOL_ASSIGN_OR_RETURN(DecodedSubRowKey k, DecodeSubRowKey(prefix, key));
  if (k.kind == kSubRowRecord) {
    SPOOL_ASSIGN_OR_RETURN(rows.sub, DecodeSubscription(value));
    return absl::OkStatus();
  }
  if (k.kind == kSubRowSequence || k.kind == kSubRowSync) {
    return absl::OkStatus();  // nothing to show
  }
  PartitionRows& p = rows.partitions[k.partition];
  switch (k.kind) {
    case kSubRowFloor: {
      SPOOL_ASSIGN_OR_RETURN(FloorRow f, DecodeFloorRow(value));
      p.floor = f.floor;
      if (f.mark.has_value()) {
        p.mark = f.mark;
        p.mark_deadline_ms = f.mark_deadline_ms;
      }
      break;
    }
    case kSubRowMark: {  // an earlier build's (replaced when loaded)
      int64_t mark = 0;
      SPOOL_RETURN_IF_ERROR(DecodeMarkRow(value, &mark, &p.mark_deadline_ms));
      p.mark = mark;
      break;
    }
    case kSubRowRange: {
      SPOOL_ASSIGN_OR_RETURN(p.ranges[k.offset], DecodeInt64Row(value));
      break;
    }
    case kSubRowDelivery: {
      SPOOL_ASSIGN_OR_RETURN(p.deliveries[k.offset], DecodeDeliveryRow(value));
      break;
    }
    case kSubRowIntent: {
      SPOOL_RETURN_IF_ERROR(DecodeIntentRow(value).status());
      ++p.intents;
      break;
    }
    default:  // a kind this build does not know
      break;
  }
  return absl::OkStatus();
}

absl::StatusOr<RowsByPrefix> ReadRows(const TableStore& tables,
                                      const SubscriptionsQuery& q,
                                      FindingSink* sink) {
  RowsByPrefix out;
  std::string scan_prefix;
  if (!q.topic.empty()) {
    scan_prefix = q.name.empty() ? TopicSubscriptionsPrefix(q.topic)
                                 : SubscriptionPrefix(q.topic, q.name);
  }
  SPOOL_RETURN_IF_ERROR(tables.Scan(
      spool::Table::kSubscriptions, scan_prefix,
      [&](std::string_view key, std::string_view value) {
        std::string topic, name;
        absl::Status s = SplitSubscriptionKey(key, &topic, &name);
        if (s.ok() && !q.name.empty() && name != q.name) return true;
        const std::string prefix = SubscriptionPrefix(topic, name);
        if (s.ok()) {
          SubRows& rows = out[prefix];
          rows.topic = topic;
          rows.name = name;
          s = AddRow(prefix, key, value, rows);
        }
        if (!s.ok()) {
          sink->Problem(tables.path(), -1, "table-row",
                        absl::StrFormat("subscriptions key \"%s\": %s",
                                        PrintableKey(key), s.message()));
        }
        return true;
      }));
  return out;
}

bool Done(const PartitionRows& rows, int64_t floor, int64_t offset) {
  if (offset < floor) return true;
  auto it = rows.ranges.upper_bound(offset);
  if (it == rows.ranges.begin()) return false;
  --it;
  return offset < it->second;
}

// Acked offsets of the ranges inside [from, to).
int64_t AckedWithin(const PartitionRows& rows, int64_t from, int64_t to) {
  int64_t n = 0;
  for (const auto& [start, end] : rows.ranges) {
    n += std::max<int64_t>(0, std::min(end, to) - std::max(start, from));
  }
  return n;
}

SubPartitionState Summarize(int32_t partition, const PartitionRows& rows,
                            const std::optional<PartitionBounds>& bounds,
                            int64_t now_ms) {
  SubPartitionState s;
  s.partition = partition;
  s.found = bounds.has_value();
  if (s.found) {
    s.log_start_offset = bounds->log_start_offset;
    s.log_end_offset = bounds->log_end_offset;
  }
  const int64_t floor =
      std::max(rows.floor.value_or(s.log_start_offset), s.log_start_offset);
  const int64_t mark = std::max(rows.mark.value_or(floor), floor);
  s.ack_floor = floor;
  s.delivery_mark = mark;
  s.acked_ranges = static_cast<int64_t>(rows.ranges.size());
  s.acked_above_floor =
      AckedWithin(rows, floor, std::numeric_limits<int64_t>::max());
  if (s.found) {
    s.backlog =
        std::max<int64_t>(0, s.log_end_offset - floor -
                                 AckedWithin(rows, floor, s.log_end_offset));
  }
  int64_t rows_below_mark = 0;
  for (const auto& [offset, d] : rows.deliveries) {
    if (Done(rows, floor, offset)) continue;  // stale
    if (offset < mark) ++rows_below_mark;
    switch (d.state) {
      case DeliveryState::kLeased:
        ++(d.time_ms > now_ms ? s.in_flight : s.expired_leases);
        break;
      case DeliveryState::kWaiting:
        ++s.waiting;
        break;
      case DeliveryState::kParked:
        ++s.parked;
        break;
    }
  }
  const int64_t implicit = std::max<int64_t>(
      0, mark - floor - AckedWithin(rows, floor, mark) - rows_below_mark);
  (rows.mark_deadline_ms > now_ms ? s.in_flight : s.expired_leases) += implicit;
  s.dlq_intents = rows.intents;
  return s;
}

// Partition count of `topic` from the catalog (0 if it is not there).
int32_t CatalogPartitions(TableStore& tables, const std::string& topic) {
  Catalog catalog(&tables);
  absl::StatusOr<std::optional<TopicRecord>> r = catalog.Get(topic);
  return r.ok() && r->has_value() ? (*r)->config.partitions : 0;
}

absl::StatusOr<std::optional<int64_t>> DlqDepth(TableStore& tables,
                                                OfflineLogs& logs,
                                                const std::string& topic) {
  if (topic.empty()) return std::optional<int64_t>();
  std::optional<int64_t> depth;
  for (int32_t p = 0; p < CatalogPartitions(tables, topic); ++p) {
    SPOOL_ASSIGN_OR_RETURN(std::optional<PartitionBounds> b,
                           logs.Bounds({topic, p}));
    if (!b.has_value()) continue;
    depth = depth.value_or(0) + b->log_end_offset - b->log_start_offset;
  }
  return depth;
}

}  // namespace

absl::StatusOr<std::vector<SubscriptionReport>> CollectSubscriptionReports(
    FileSystem* fs, TableStore& tables, const SubscriptionsQuery& query,
    FindingSink* sink) {
  SPOOL_ASSIGN_OR_RETURN(RowsByPrefix all, ReadRows(tables, query, sink));
  OfflineLogs logs(fs, query.data_dirs);
  const int64_t now_ms = absl::ToUnixMillis(query.now);
  std::vector<SubscriptionReport> out;
  for (auto& [prefix, rows] : all) {
    if (!rows.sub.has_value()) {
      sink->Problem(
          tables.path(), -1, "table-row",
          absl::StrFormat("subscription \"%s\" on topic \"%s\" has "
                          "rows but no subscription record",
                          PrintableKey(rows.name), PrintableKey(rows.topic)));
      continue;
    }
    SubscriptionReport r;
    r.sub = *rows.sub;
    const int32_t n = std::max(
        CatalogPartitions(tables, rows.topic),
        rows.partitions.empty() ? 0 : rows.partitions.rbegin()->first + 1);
    for (int32_t p = 0; p < n; ++p) {
      SPOOL_ASSIGN_OR_RETURN(std::optional<PartitionBounds> b,
                             logs.Bounds({rows.topic, p}));
      r.partitions.push_back(Summarize(p, rows.partitions[p], b, now_ms));
    }
    SPOOL_ASSIGN_OR_RETURN(
        r.dlq_depth, DlqDepth(tables, logs, r.sub.config.dead_letter_topic));
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace spool::cli
