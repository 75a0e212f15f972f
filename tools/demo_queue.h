// The work-queue part of `spool demo`: a worker pool on a shared
// subscription in which some tasks fail, are retried with backoff and, when
// they keep failing, land in the dead-letter topic (docs/queues.md).

#ifndef SPOOL_TOOLS_DEMO_QUEUE_H_
#define SPOOL_TOOLS_DEMO_QUEUE_H_

#include "absl/status/status.h"
#include "spool/engine.h"

namespace spool::cli {

// Produces `tasks` tasks to topic "bot-tasks" and runs `workers` workers on
// its subscription "workers" until every task is done; prints what
// happened. Safe to run again on the same data directory.
absl::Status RunWorkerPool(Engine& engine, int tasks, int workers);

}  // namespace spool::cli

#endif  // SPOOL_TOOLS_DEMO_QUEUE_H_
