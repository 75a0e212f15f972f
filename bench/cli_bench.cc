// `spool dump` and `spool verify` throughput on an uncompressed segment in
// the page cache, against reading the same file sequentially the way
// `cat > /dev/null` does (read(2) of 128 KiB into one buffer), in the same
// run. Prints the ratios at the end. The commands' functions are called
// directly (output to /dev/null), as the binary does.
//
// The segment (256 MiB; 1 MiB with SPOOL_BENCH_SMOKE) is written once into
// a temporary partition directory, with indexes, and read once to warm the
// page cache. peak_rss_MiB is the process's peak resident set after the
// benchmark: it stays flat whatever the segment size (constant memory).
//
// Release build: see docs/performance.md ("CLI: dump and verify").

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

#include "absl/strings/str_format.h"
#include "benchmark/benchmark.h"
#include "format/batch_internal.h"
#include "format/coding.h"
#include "spool/record.h"
#include "tools/dump.h"
#include "tools/verify.h"

namespace spool::cli {
namespace {

bool Smoke() { return std::getenv("SPOOL_BENCH_SMOKE") != nullptr; }

constexpr int kRecordsPerBatch = 100;
constexpr int kValueBytes = 150;

struct BenchSegment {
  std::string dir;  // temporary directory
  std::string log, index;
  int64_t batches = 0;
  uint64_t bytes = 0;
};

std::string Batch(int64_t base_offset, int64_t ts) {
  RecordBatchBuilder b({.base_offset = base_offset});
  std::string value(kValueBytes, 'v');
  for (int i = 0; i < kRecordsPerBatch; ++i) {
    value[i % kValueBytes] = static_cast<char>('a' + (base_offset + i) % 26);
    b.Add(absl::StrFormat("key-%06d", i), value, {}, ts + i);
  }
  return *b.Build();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(data.data(), 1, data.size(), f);
  std::fclose(f);
}

// Writes the segment batch by batch (never holding it in memory) with the
// engine's index rule (an entry before every batch but the first, since
// each batch is larger than the 4096-byte interval).
BenchSegment MakeSegment(uint64_t target_bytes) {
  BenchSegment s;
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "spool-cli-bench-XXXXXX")
          .string();
  s.dir = mkdtemp(tmpl.data());
  const std::string part = s.dir + "/bench-0";
  std::filesystem::create_directory(part);
  s.log = part + "/00000000000000000000.log";
  s.index = part + "/00000000000000000000.index";
  std::FILE* log = std::fopen(s.log.c_str(), "wb");
  std::string index, timeindex;
  int64_t offset = 0, ts = 1700000000000;
  while (s.bytes < target_bytes) {
    std::string batch = Batch(offset, ts);
    const int64_t last = offset + kRecordsPerBatch - 1;
    if (s.batches > 0) {
      PutFixed32BE(&index, static_cast<uint32_t>(last));
      PutFixed32BE(&index, static_cast<uint32_t>(s.bytes));
      PutFixed64BE(&timeindex,
                   static_cast<uint64_t>(ts + kRecordsPerBatch - 1));
      PutFixed32BE(&timeindex, static_cast<uint32_t>(last));
    }
    std::fwrite(batch.data(), 1, batch.size(), log);
    s.bytes += batch.size();
    ++s.batches;
    offset += kRecordsPerBatch;
    ts += kRecordsPerBatch;
  }
  std::fclose(log);
  // The final time-index entry (max timestamp) of a sealed segment.
  PutFixed64BE(&timeindex, static_cast<uint64_t>(ts - 1));
  PutFixed32BE(&timeindex, static_cast<uint32_t>(offset - 1));
  WriteFile(s.index, index);
  WriteFile(part + "/00000000000000000000.timeindex", timeindex);
  return s;
}

// `cat > /dev/null`: sequential read(2) calls into one buffer.
uint64_t CatFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY);
  std::string buf(128 * 1024, '\0');
  uint64_t total = 0;
  ssize_t n;
  while ((n = read(fd, buf.data(), buf.size())) > 0) total += n;
  close(fd);
  return total;
}

const BenchSegment& Segment() {
  static const BenchSegment* s = [] {
    auto* seg = new BenchSegment(
        MakeSegment(Smoke() ? (uint64_t{1} << 20) : (uint64_t{256} << 20)));
    CatFile(seg->log);  // warm the page cache
    return seg;
  }();
  return *s;
}

void SetCounters(benchmark::State& state) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(Segment().bytes));
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  state.counters["peak_rss_MiB"] = static_cast<double>(ru.ru_maxrss) / 1024;
}

void BM_CatReadLoop(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(CatFile(Segment().log));
  }
  SetCounters(state);
}

void BM_Verify(benchmark::State& state) {
  FileSystem* fs = FileSystem::Default();
  const ClassifiedPath path{Segment().log, PathKind::kLogSegment};
  VerifyOptions options{.deep = state.range(0) != 0};
  for (auto _ : state) {
    FindingSink sink(nullptr, false);
    auto summary = VerifyPath(fs, path, options, &sink);
    if (!summary.ok() || summary->batches != Segment().batches ||
        sink.problems() != 0) {
      state.SkipWithError("verify did not check the whole segment cleanly");
      return;
    }
  }
  SetCounters(state);
  state.SetLabel(options.deep ? "--deep" : "");
}

void BM_Dump(benchmark::State& state) {
  FileSystem* fs = FileSystem::Default();
  std::FILE* devnull = std::fopen("/dev/null", "w");
  DumpOptions options{.records = state.range(0) != 0};
  for (auto _ : state) {
    Output out(devnull);
    DumpStats stats;
    absl::Status s = DumpLogSegment(fs, Segment().log, Segment().index, options,
                                    out, nullptr, &stats);
    if (!s.ok() || stats.batches != Segment().batches || stats.invalid != 0) {
      state.SkipWithError("dump did not print the whole segment");
      break;
    }
  }
  std::fclose(devnull);
  SetCounters(state);
  state.SetLabel(options.records ? "--records" : "");
}

BENCHMARK(BM_CatReadLoop)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Verify)->Arg(0)->Arg(1)->UseRealTime()->Unit(
    benchmark::kMillisecond);
BENCHMARK(BM_Dump)->Arg(0)->Arg(1)->UseRealTime()->Unit(
    benchmark::kMillisecond);

// Collects bytes/s per benchmark (the median when repeated) to print the
// ratios against the read loop.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.error_occurred) continue;
      if (r.run_type == Run::RT_Aggregate && r.aggregate_name != "median") {
        continue;
      }
      auto it = r.counters.find("bytes_per_second");
      if (it != r.counters.end()) rates_[r.run_name.str()] = it->second;
    }
  }
  void PrintRatios() const {
    auto cat = rates_.find("BM_CatReadLoop/real_time");
    if (cat == rates_.end() || cat->second <= 0) return;
    std::printf("\nsegment: %.0f MiB, %lld batches of %d records\n",
                Segment().bytes / 1048576.0,
                static_cast<long long>(Segment().batches), kRecordsPerBatch);
    for (const auto& [name, rate] : rates_) {
      std::printf("%-28s %8.2f GB/s  %5.2fx cat\n", name.c_str(), rate / 1e9,
                  rate / cat->second);
    }
  }

 private:
  std::map<std::string, double> rates_;
};

}  // namespace
}  // namespace spool::cli

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  spool::cli::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintRatios();
  benchmark::Shutdown();
  std::error_code ec;
  std::filesystem::remove_all(spool::cli::Segment().dir, ec);
  return 0;
}
