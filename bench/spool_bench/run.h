// One run of spool-bench: every system in a fresh directory, in a fixed
// order, with the same workload.
//
//   produce   raw write -> Spool -> RocksDB. Batches for the raw write
//             (and for Spool with --api prebuilt) are encoded first,
//             untimed. The run starts with sync(2) and a pause, and each
//             phase ends with them (untimed), so no phase pays for
//             another's writeback or file deletion; each store is closed
//             (untimed) and its files measured. The raw files are deleted
//             once every system has produced. With rounds > 1 this
//             sequence repeats, each round over the next share of every
//             producer's batches, stores reopened (untimed) each time;
//             times add up over the rounds.
//   consume   Spool is reopened and every file of its data directory read
//             once (untimed) so the whole log is in the page cache; then
//             each pass times, in turn, raw page-cache read, raw
//             read-and-parse (both of Spool's own .log files), Spool
//             decoded fetch and Spool zero-copy fetch. RocksDB is reopened,
//             its files read once, and its iterator timed the same number
//             of passes. The median pass of each is reported.

#ifndef SPOOL_BENCH_SPOOL_BENCH_RUN_H_
#define SPOOL_BENCH_SPOOL_BENCH_RUN_H_

#include <string>

#include "absl/status/statusor.h"
#include "config.h"
#include "measure.h"

namespace spool::bench {

struct SystemResult {
  bool present = false;
  PhaseStats produce;
  PhaseStats consume;  // Spool: decoded fetch; raw: read + parse;
                       // RocksDB: iterator
  PhaseStats stream;   // Spool: zero-copy sendfile; raw: page-cache read
  DiskUsage disk;      // after close
  // fdatasync calls during the timed produce phases (Spool: from the
  // engine's metrics; raw: one per batch with durability sync); -1:
  // unknown.
  int64_t fsyncs = -1;
};

struct RunResult {
  RunConfig config;
  SystemResult spool;
  SystemResult raw;
  SystemResult rocksdb;
};

// Runs `config` in `dir` (created; removed afterwards unless `keep`).
// Progress goes to stderr.
absl::StatusOr<RunResult> ExecuteRun(const RunConfig& config,
                                     const std::string& dir, bool keep);

}  // namespace spool::bench

#endif  // SPOOL_BENCH_SPOOL_BENCH_RUN_H_
