// Shared subscriptions (work queues) as stored in the tables
// (docs/tables.md, "Shared subscriptions"), read offline and joined with
// the partitions' offsets from their files, for `spool subscriptions` and
// the subscription section of `spool stats`.
//
// Per partition, with F the ack floor (the log start without a floor row,
// never below the log start), M the delivery mark (F without a row) and
// "done" meaning below F or inside an acked range:
//
//   backlog    = log end - F - acked offsets above F   (records not done)
//   in flight  = records leased at `now`: delivery rows in state leased
//                with a deadline after now, plus the offsets in [F, M) that
//                are not done and have no delivery row while the mark's
//                deadline is after now
//   expired    = the same two kinds whose lease ran out (the engine offers
//                them again)
//   waiting, parked = delivery rows in those states
//   dead-letter intents = records being dead-lettered (the engine finishes
//                them at open)
//
// and per subscription the dead-letter topic's depth: log end - log start
// over its partitions. Read-only; thread-compatible.

#ifndef SPOOL_TOOLS_SUBSCRIPTION_REPORT_H_
#define SPOOL_TOOLS_SUBSCRIPTION_REPORT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/subscription_codec.h"
#include "tables/table_store.h"
#include "tools/findings.h"
#include "tools/offline_lag.h"

namespace spool::cli {

struct SubPartitionState {
  int32_t partition = 0;
  bool found = false;  // the partition's directory was found
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
  int64_t ack_floor = 0;
  int64_t delivery_mark = 0;
  int64_t acked_ranges = 0;       // rows
  int64_t acked_above_floor = 0;  // offsets in them
  int64_t backlog = 0;
  int64_t in_flight = 0;
  int64_t expired_leases = 0;
  int64_t waiting = 0;
  int64_t parked = 0;
  int64_t dlq_intents = 0;
};

struct SubscriptionReport {
  StoredSubscription sub;
  std::vector<SubPartitionState> partitions;
  // nullopt: no dead-letter topic, or none of its partitions was found.
  std::optional<int64_t> dlq_depth;

  int64_t Total(int64_t SubPartitionState::*field) const {
    int64_t n = 0;
    for (const SubPartitionState& p : partitions) n += p.*field;
    return n;
  }
};

struct SubscriptionsQuery {
  std::string topic;  // empty: every topic
  std::string name;   // empty: every subscription
  std::vector<std::string> data_dirs;
  absl::Time now;
};

// Reads every subscription (matching the query) and its rows. Undecodable
// rows go to `sink` as problems and are skipped.
absl::StatusOr<std::vector<SubscriptionReport>> CollectSubscriptionReports(
    FileSystem* fs, TableStore& tables, const SubscriptionsQuery& query,
    FindingSink* sink);

}  // namespace spool::cli

#endif  // SPOOL_TOOLS_SUBSCRIPTION_REPORT_H_
