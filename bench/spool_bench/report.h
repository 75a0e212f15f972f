// What spool-bench prints: machine information, per-run tables with ratio
// lines, the targets evaluated (met / missed by X %), and the same
// as one JSON document with --json.

#ifndef SPOOL_BENCH_SPOOL_BENCH_REPORT_H_
#define SPOOL_BENCH_SPOOL_BENCH_REPORT_H_

#include <optional>
#include <string>
#include <vector>

#include "config.h"
#include "nlohmann/json.hpp"
#include "run.h"

namespace spool::bench {

struct MachineInfo {
  std::string cpu_model;
  int cores = 0;
  std::string kernel;
  int64_t memory_bytes = 0;
  std::string dir;
  std::string filesystem;   // from statfs(2)
  double load_average = 0;  // 1 minute, at start
  std::string started;      // UTC, ISO 8601
  std::string compiler;
  std::string build;  // "release" or "debug", sanitizers
};
MachineInfo CollectMachine(const std::string& dir);

// Spool's figures as ratios to the baselines (nullopt: not measured).
struct Ratios {
  std::optional<double> produce_vs_raw;      // records/s
  std::optional<double> produce_vs_rocksdb;  // records/s
  std::optional<double> p50_vs_raw;          // append latency
  std::optional<double> consume_vs_raw;      // decoded vs read + parse
  std::optional<double> consume_vs_rocksdb;  // decoded vs iterator
  std::optional<double> stream_vs_read;      // zero-copy vs page-cache read
  std::optional<double> footprint;           // Spool bytes on disk / payload
};
Ratios ComputeRatios(const RunResult& run);

struct Target {
  std::string name;
  std::string rule;  // e.g. ">= 0.8x raw"
  std::optional<double> value;
  double threshold = 0;
  bool at_most = false;  // the value must be <= threshold (else >=)

  bool met() const;
  // How far the value is on the wrong side of the threshold, in percent of
  // the threshold (0 when met).
  double missed_percent() const;
};
// The targets of a standard scenario; empty for custom runs.
std::vector<Target> EvaluateTargets(std::string_view scenario,
                                    const std::vector<RunResult>& runs);

std::string FormatHeader(const MachineInfo& machine, const Options& options);
std::string FormatRun(const RunResult& run, int index, int total);
std::string FormatTargets(const std::vector<Target>& targets);

nlohmann::json ToJson(const MachineInfo& machine, const Options& options,
                      const std::vector<RunResult>& runs,
                      const std::vector<Target>& targets);

}  // namespace spool::bench

#endif  // SPOOL_BENCH_SPOOL_BENCH_REPORT_H_
