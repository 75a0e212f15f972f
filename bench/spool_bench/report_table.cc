// The human-readable report: a header, one table per run with ratio lines,
// and the targets.

#include <functional>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "report.h"

namespace spool::bench {
namespace {

using Getter = std::function<std::string(const SystemResult&)>;

std::string Rate(double per_second) {
  if (per_second >= 1e6) return absl::StrFormat("%.2f M", per_second / 1e6);
  if (per_second >= 1e3) return absl::StrFormat("%.1f k", per_second / 1e3);
  return absl::StrFormat("%.0f", per_second);
}

std::string Micros(uint64_t ns) {
  const double us = ns / 1e3;
  return us < 10 ? absl::StrFormat("%.2f", us) : absl::StrFormat("%.0f", us);
}

std::string Megabytes(double bytes) {
  return absl::StrFormat("%.1f MB", bytes / 1e6);
}

std::string Times(const std::optional<double>& r) {
  return r.has_value() ? absl::StrFormat("%.2fx", *r) : std::string("n/a");
}

// One row: the label and a cell per system present ("-" where the phase
// did not run).
void Row(std::string* out, const RunResult& run, std::string_view label,
         const std::function<bool(const SystemResult&)>& ran,
         const Getter& cell) {
  absl::StrAppendFormat(out, "  %-30s", label);
  for (const SystemResult* s : {&run.spool, &run.raw, &run.rocksdb}) {
    absl::StrAppendFormat(out, "%16s",
                          s->present && ran(*s) ? cell(*s) : std::string("-"));
  }
  *out += "\n";
}

void ProduceRows(std::string* out, const RunResult& run) {
  auto ran = [](const SystemResult& s) { return s.produce.ran; };
  auto lat = [](uint64_t Latency::*f) {
    return [f](const SystemResult& s) { return Micros(s.produce.latency.*f); };
  };
  Row(out, run, "produce records/s", ran, [](const SystemResult& s) {
    return Rate(s.produce.records_per_second());
  });
  Row(out, run, "produce MB/s (payload)", ran, [](const SystemResult& s) {
    return absl::StrFormat("%.1f", s.produce.payload_mb_per_second());
  });
  Row(out, run, "produce CPU s/GB", ran, [](const SystemResult& s) {
    return absl::StrFormat("%.2f", s.produce.cpu_seconds_per_gb());
  });
  Row(out, run, "append latency p50 us", ran, lat(&Latency::p50_ns));
  Row(out, run, "append latency p99 us", ran, lat(&Latency::p99_ns));
  Row(out, run, "append latency p99.9 us", ran, lat(&Latency::p999_ns));
  Row(out, run, "append latency max us", ran, lat(&Latency::max_ns));
  auto synced = [](const SystemResult& s) {
    return s.produce.ran && s.fsyncs >= 0;
  };
  Row(out, run, "fdatasync calls", synced,
      [](const SystemResult& s) { return absl::StrFormat("%d", s.fsyncs); });
  Row(out, run, "records per fdatasync", synced, [](const SystemResult& s) {
    return s.fsyncs > 0
               ? absl::StrFormat(
                     "%.1f", static_cast<double>(s.produce.records) / s.fsyncs)
               : std::string("-");
  });
}

void ConsumeRows(std::string* out, const RunResult& run) {
  auto consumed = [](const SystemResult& s) { return s.consume.ran; };
  auto streamed = [](const SystemResult& s) { return s.stream.ran; };
  Row(out, run, "consume records/s", consumed, [](const SystemResult& s) {
    return Rate(s.consume.records_per_second());
  });
  Row(out, run, "consume MB/s (payload)", consumed, [](const SystemResult& s) {
    return absl::StrFormat("%.1f", s.consume.payload_mb_per_second());
  });
  Row(out, run, "consume CPU s/GB", consumed, [](const SystemResult& s) {
    return absl::StrFormat("%.2f", s.consume.cpu_seconds_per_gb());
  });
  Row(out, run, "zero-copy / read() MB/s", streamed, [](const SystemResult& s) {
    return absl::StrFormat("%.0f", s.stream.io_mb_per_second());
  });
}

void DiskRows(std::string* out, const RunResult& run) {
  const double payload = static_cast<double>(run.config.payload_bytes());
  auto ran = [](const SystemResult& s) { return s.disk.files > 0; };
  Row(out, run, "bytes on disk", ran,
      [](const SystemResult& s) { return Megabytes(s.disk.bytes); });
  Row(out, run, "bytes on disk / payload", ran,
      [payload](const SystemResult& s) {
        return absl::StrFormat("%.3fx", s.disk.bytes / payload);
      });
}

std::string DescribeConfig(const RunConfig& c) {
  return absl::StrFormat(
      "%d x %d B, batch %d, %d producer(s) -> %d partition(s) -> %d "
      "consumer(s), durability %s, compression %s, api %s%s%s%s",
      c.records, c.record_size, c.batch, c.producers, c.partitions, c.consumers,
      DurabilityName(c.durability), CompressionName(c.compression),
      ApiName(c.api), c.idempotent ? ", idempotent" : "",
      c.preallocate_bytes >= 0
          ? absl::StrFormat(", preallocate %d", c.preallocate_bytes)
          : std::string(),
      c.raw_preallocate ? ", raw file preallocated" : "");
}

}  // namespace

std::string FormatHeader(const MachineInfo& m, const Options& o) {
  return absl::StrFormat(
      "spool-bench%s\n"
      "machine: %s, %d cores, %s, %.1f GiB RAM, load %.2f, %s\n"
      "build:   %s, %s\n"
      "dir:     %s (%s)\n",
      o.scenario.empty() ? "" : " --scenario " + o.scenario, m.cpu_model,
      m.cores, m.kernel, m.memory_bytes / double(1 << 30), m.load_average,
      m.started, m.build, m.compiler, m.dir, m.filesystem);
}

std::string FormatRun(const RunResult& run, int index, int total) {
  std::string out = absl::StrFormat("\nrun %d/%d: %s\n", index + 1, total,
                                    DescribeConfig(run.config));
  absl::StrAppendFormat(&out, "  %-30s%16s%16s%16s\n", "", "spool", "raw",
                        "rocksdb");
  if (run.config.measure_produce) ProduceRows(&out, run);
  if (run.config.consume) ConsumeRows(&out, run);
  DiskRows(&out, run);
  const Ratios r = ComputeRatios(run);
  std::vector<std::string> parts;
  if (run.config.measure_produce) {
    parts.push_back(absl::StrFormat(
        "produce spool/raw %s, spool/rocksdb %s, p50 spool/raw %s",
        Times(r.produce_vs_raw), Times(r.produce_vs_rocksdb),
        Times(r.p50_vs_raw)));
  }
  if (run.config.consume) {
    parts.push_back(absl::StrFormat(
        "consume spool/raw %s, spool/rocksdb %s, zero-copy/read %s",
        Times(r.consume_vs_raw), Times(r.consume_vs_rocksdb),
        Times(r.stream_vs_read)));
  }
  absl::StrAppendFormat(&out, "  ratios: %s\n", absl::StrJoin(parts, "; "));
  return out;
}

std::string FormatTargets(const std::vector<Target>& targets) {
  if (targets.empty()) return "";
  std::string out = "\ntargets:\n";
  for (const Target& t : targets) {
    std::string verdict = !t.value.has_value() ? "n/a (baseline not run)"
                          : t.met()
                              ? absl::StrFormat("met (%.2fx)", *t.value)
                              : absl::StrFormat("MISSED by %.0f%% (%.2fx)",
                                                t.missed_percent(), *t.value);
    absl::StrAppendFormat(&out, "  %-22s %-36s %s\n", t.name, t.rule, verdict);
  }
  return out;
}

}  // namespace spool::bench
