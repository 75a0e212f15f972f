// The --json report: one document with the machine, the options, every
// run's figures and ratios, and the targets. Rates are per second, sizes in
// bytes, latencies in nanoseconds, MB = 10^6 bytes.

#include "report.h"

namespace spool::bench {
namespace {

using nlohmann::json;

json Opt(const std::optional<double>& v) {
  return v.has_value() ? json(*v) : json(nullptr);
}

json ToJson(const PhaseStats& p) {
  if (!p.ran) return nullptr;
  json j = {{"records", p.records},
            {"payload_bytes", p.payload_bytes},
            {"io_bytes", p.io_bytes},
            {"seconds", p.seconds},
            {"cpu_seconds", p.cpu_seconds},
            {"calls", p.calls},
            {"records_per_second", p.records_per_second()},
            {"payload_mb_per_second", p.payload_mb_per_second()},
            {"io_mb_per_second", p.io_mb_per_second()},
            {"cpu_seconds_per_gb", p.cpu_seconds_per_gb()}};
  if (p.latency.count > 0) {
    j["latency_ns"] = {{"count", p.latency.count},
                       {"p50", p.latency.p50_ns},
                       {"p99", p.latency.p99_ns},
                       {"p999", p.latency.p999_ns},
                       {"max", p.latency.max_ns}};
  }
  return j;
}

json ToJson(const SystemResult& s, const RunConfig& c) {
  if (!s.present) return nullptr;
  json disk = nullptr;
  if (s.disk.files > 0) {
    disk = {{"bytes", s.disk.bytes},
            {"allocated_bytes", s.disk.allocated},
            {"files", s.disk.files},
            {"ratio_to_payload",
             static_cast<double>(s.disk.bytes) / c.payload_bytes()}};
  }
  return {{"produce", ToJson(s.produce)},
          {"consume", ToJson(s.consume)},
          {"stream", ToJson(s.stream)},
          {"disk", disk},
          {"fsyncs", s.fsyncs >= 0 ? json(s.fsyncs) : json(nullptr)}};
}

json ToJson(const RunConfig& c) {
  return {{"records", c.records},
          {"record_size", c.record_size},
          {"batch", c.batch},
          {"producers", c.producers},
          {"partitions", c.partitions},
          {"consumers", c.consumers},
          {"durability", std::string(DurabilityName(c.durability))},
          {"compression", std::string(CompressionName(c.compression))},
          {"api", std::string(ApiName(c.api))},
          {"idempotent", c.idempotent},
          {"preallocate_bytes", c.preallocate_bytes},
          {"raw_preallocate", c.raw_preallocate},
          {"measure_produce", c.measure_produce},
          {"consume", c.consume},
          {"consume_passes", c.consume_passes},
          {"fetch_bytes", c.fetch_bytes},
          {"flush_interval_ms", c.flush_interval_ms},
          {"payload_bytes", c.payload_bytes()},
          {"seed", c.seed}};
}

json ToJson(const RunResult& run) {
  const Ratios r = ComputeRatios(run);
  return {{"config", ToJson(run.config)},
          {"spool", ToJson(run.spool, run.config)},
          {"raw", ToJson(run.raw, run.config)},
          {"rocksdb", ToJson(run.rocksdb, run.config)},
          {"ratios",
           {{"produce_spool_to_raw", Opt(r.produce_vs_raw)},
            {"produce_spool_to_rocksdb", Opt(r.produce_vs_rocksdb)},
            {"append_p50_spool_to_raw", Opt(r.p50_vs_raw)},
            {"consume_spool_to_raw_parse", Opt(r.consume_vs_raw)},
            {"consume_spool_to_rocksdb", Opt(r.consume_vs_rocksdb)},
            {"zero_copy_to_page_cache_read", Opt(r.stream_vs_read)},
            {"spool_disk_to_payload", Opt(r.footprint)}}}};
}

json ToJson(const MachineInfo& m) {
  return {{"cpu_model", m.cpu_model},
          {"cores", m.cores},
          {"kernel", m.kernel},
          {"memory_bytes", m.memory_bytes},
          {"dir", m.dir},
          {"filesystem", m.filesystem},
          {"load_average", m.load_average},
          {"started", m.started},
          {"compiler", m.compiler},
          {"build", m.build}};
}

}  // namespace

nlohmann::json ToJson(const MachineInfo& machine, const Options& options,
                      const std::vector<RunResult>& runs,
                      const std::vector<Target>& targets) {
  json doc = {{"tool", "spool-bench"},
              {"machine", ToJson(machine)},
              {"scenario", options.scenario.empty() ? json(nullptr)
                                                    : json(options.scenario)},
              {"runs", json::array()},
              {"targets", json::array()}};
  for (const RunResult& r : runs) doc["runs"].push_back(ToJson(r));
  for (const Target& t : targets) {
    doc["targets"].push_back({{"name", t.name},
                              {"rule", t.rule},
                              {"value", Opt(t.value)},
                              {"threshold", t.threshold},
                              {"at_most", t.at_most},
                              {"met", t.met()},
                              {"missed_percent", t.missed_percent()}});
  }
  return doc;
}

}  // namespace spool::bench
