// Ratios of Spool to its baselines, and the targets of issue 11 for the
// standard scenarios (docs/performance.md, "End-to-end (spool-bench)").

#include <algorithm>

#include "report.h"

namespace spool::bench {
namespace {

std::optional<double> Ratio(double a, double b) {
  if (a <= 0 || b <= 0) return std::nullopt;
  return a / b;
}

std::optional<double> Ratio(const PhaseStats& a, const PhaseStats& b) {
  if (!a.ran || !b.ran) return std::nullopt;
  return Ratio(a.records_per_second(), b.records_per_second());
}

Target Make(std::string name, std::string rule, std::optional<double> value,
            double threshold, bool at_most = false) {
  return Target{std::move(name), std::move(rule), value, threshold, at_most};
}

// The run of a producer sweep with `producers` threads, if any.
const RunResult* WithProducers(const std::vector<RunResult>& runs,
                               int producers) {
  for (const RunResult& r : runs) {
    if (r.config.producers == producers) return &r;
  }
  return nullptr;
}

std::vector<Target> GroupCommitTargets(const std::vector<RunResult>& runs) {
  const RunResult* one = WithProducers(runs, 1);
  const RunResult* sixteen = WithProducers(runs, 16);
  std::optional<double> v;
  if (one != nullptr && sixteen != nullptr) {
    v = Ratio(sixteen->spool.produce, one->spool.produce);
  }
  return {Make("group commit", "16 threads >= 8x 1 thread (records/s)", v, 8)};
}

}  // namespace

Ratios ComputeRatios(const RunResult& run) {
  Ratios r;
  const SystemResult& s = run.spool;
  if (run.raw.present) {
    r.produce_vs_raw = Ratio(s.produce, run.raw.produce);
    if (s.produce.ran && run.raw.produce.ran) {
      r.p50_vs_raw = Ratio(static_cast<double>(s.produce.latency.p50_ns),
                           static_cast<double>(run.raw.produce.latency.p50_ns));
    }
    r.consume_vs_raw = Ratio(s.consume, run.raw.consume);
    if (s.stream.ran && run.raw.stream.ran) {
      r.stream_vs_read =
          Ratio(s.stream.io_mb_per_second(), run.raw.stream.io_mb_per_second());
    }
  }
  if (run.rocksdb.present) {
    r.produce_vs_rocksdb = Ratio(s.produce, run.rocksdb.produce);
    r.consume_vs_rocksdb = Ratio(s.consume, run.rocksdb.consume);
  }
  r.footprint = Ratio(static_cast<double>(s.disk.bytes),
                      static_cast<double>(run.config.payload_bytes()));
  return r;
}

bool Target::met() const {
  if (!value.has_value()) return false;
  return at_most ? *value <= threshold : *value >= threshold;
}

double Target::missed_percent() const {
  if (!value.has_value() || met()) return 0;
  return std::abs(*value - threshold) / threshold * 100;
}

std::vector<Target> EvaluateTargets(std::string_view scenario,
                                    const std::vector<RunResult>& runs) {
  if (scenario == "group-commit") return GroupCommitTargets(runs);
  if (runs.size() != 1) return {};
  const Ratios r = ComputeRatios(runs[0]);
  if (scenario == "batched") {
    return {
        Make("produce vs raw", ">= 0.8x raw write", r.produce_vs_raw, 0.8),
        Make("produce vs rocksdb", ">= 5x rocksdb", r.produce_vs_rocksdb, 5),
        Make("footprint", "<= 1.2x payload", r.footprint, 1.2, true)};
  }
  if (scenario == "batched-sync") {
    return {
        Make("sync produce vs raw", ">= 0.9x raw write+fdatasync",
             r.produce_vs_raw, 0.9),
        Make("sync p50 vs raw", "p50 <= 1.2x raw", r.p50_vs_raw, 1.2, true)};
  }
  if (scenario == "large") {
    return {Make("1 KiB produce vs raw", ">= 0.8x raw write", r.produce_vs_raw,
                 0.8)};
  }
  if (scenario == "consume") {
    return {
        Make("consume vs raw", ">= 0.8x raw read+parse", r.consume_vs_raw, 0.8),
        Make("consume vs rocksdb", ">= 2x rocksdb iterator",
             r.consume_vs_rocksdb, 2),
        Make("zero-copy vs read", ">= 0.5x page-cache read (bytes/s)",
             r.stream_vs_read, 0.5)};
  }
  if (scenario == "zstd") {
    return {Make("zstd footprint", "< 1.0x payload", r.footprint, 1.0, true)};
  }
  return {};
}

}  // namespace spool::bench
