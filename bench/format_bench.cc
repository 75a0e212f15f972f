// Micro-benchmarks of the record batch codec: CRC-32C (hardware and
// portable, with memcpy for scale), batch encoding and decoding.
//
// Release build: see docs/performance.md ("Record batch codec"). With
// SPOOL_BENCH_SMOKE set (ctest) only the smallest sizes are registered.

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "benchmark/benchmark.h"
#include "format/crc32c.h"
#include "format/record_skim.h"
#include "spool/record.h"

namespace spool {
namespace {

std::string RandomBuffer(size_t n) {
  std::mt19937_64 rng(42);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

void BM_Crc32cHardware(benchmark::State& state) {
  if (!crc32c::HardwareAccelerated()) {
    state.SkipWithError("CPU has no SSE4.2");
    return;
  }
  std::string buf = RandomBuffer(static_cast<size_t>(state.range(0)));
  uint32_t crc = 0;
  for (auto _ : state) {
    crc = crc32c::ExtendHardware(crc, buf.data(), buf.size());
    benchmark::DoNotOptimize(crc);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
  state.SetLabel("sse4.2");
}

void BM_Crc32cPortable(benchmark::State& state) {
  std::string buf = RandomBuffer(static_cast<size_t>(state.range(0)));
  uint32_t crc = 0;
  for (auto _ : state) {
    crc = crc32c::ExtendPortable(crc, buf.data(), buf.size());
    benchmark::DoNotOptimize(crc);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

void BM_Memcpy(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  std::string src = RandomBuffer(n);
  std::string dst(n, '\0');
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), n);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

// 100 records with ~10-byte keys and 100-byte JSON-like values (compressible
// like typical event payloads, not random).
std::vector<Record> SampleRecords() {
  std::mt19937_64 rng(7);
  std::vector<Record> records;
  for (int i = 0; i < 100; ++i) {
    Record r;
    r.key = absl::StrFormat("user-%05d", rng() % 100000);
    std::string v = absl::StrFormat(
        "{\"id\":%d,\"event\":\"%s\",\"ts\":%d,\"session\":\"%016x\",\"pad\":"
        "\"",
        i, i % 3 ? "click" : "view", 1700000000000 + i, rng());
    v.resize(100, 'x');
    r.value = std::move(v);
    r.timestamp = 1700000000000 + i;
    records.push_back(std::move(r));
  }
  return records;
}

size_t UncompressedSize(const std::vector<Record>& records) {
  RecordBatchBuilder builder;
  for (const Record& r : records) builder.Add(r);
  return builder.uncompressed_size();
}

void BM_EncodeBatch(benchmark::State& state, Compression codec) {
  std::vector<Record> records = SampleRecords();
  BatchBuilderOptions options;
  options.compression = codec;
  RecordBatchBuilder builder(options);
  std::string out;
  for (auto _ : state) {
    builder.Reset();
    for (const Record& r : records) builder.Add(r);
    out.clear();
    if (!builder.BuildInto(&out).ok()) {
      state.SkipWithError("Build failed");
      return;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * UncompressedSize(records));
  state.SetItemsProcessed(state.iterations() * records.size());
  state.SetLabel(absl::StrFormat("batch %u bytes", out.size()));
}

void BM_DecodeBatch(benchmark::State& state, Compression codec) {
  std::vector<Record> records = SampleRecords();
  BatchBuilderOptions options;
  options.compression = codec;
  RecordBatchBuilder builder(options);
  for (const Record& r : records) builder.Add(r);
  std::string batch = *builder.Build();
  int64_t value_bytes = 0;
  for (auto _ : state) {
    absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(batch);
    RecordIterator it(*view);  // verifies the CRC on the first Next()
    RecordView r;
    int n = 0;
    while (it.Next(&r)) {
      value_bytes += static_cast<int64_t>(r.value->size());
      ++n;
    }
    if (!it.status().ok() || n != 100) {
      state.SkipWithError("decode failed");
      return;
    }
  }
  benchmark::DoNotOptimize(value_bytes);
  state.SetBytesProcessed(state.iterations() * UncompressedSize(records));
  state.SetItemsProcessed(state.iterations() * records.size());
  state.SetLabel(absl::StrFormat("batch %u bytes", batch.size()));
}

// The record checks of the append path without the CRC (which both do
// alike): /full walks the batch with RecordIterator as the append path did
// before the skim, /skim is SkimRecords (format/record_skim.h).
void BM_CheckRecords(benchmark::State& state, bool skim) {
  RecordBatchBuilder builder;
  for (const Record& r : SampleRecords()) builder.Add(r);
  const std::string batch = *builder.Build();
  absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(batch);
  DecodeOptions decode;
  decode.verify_crc = false;
  int64_t max_ts = 0;
  for (auto _ : state) {
    bool ok;
    if (skim) {
      SkimResult r;
      ok = SkimRecords(*view, {.consecutive_deltas = true}, &r);
      max_ts += r.max_timestamp;
    } else {
      RecordIterator it(*view, decode);
      RecordView r;
      int32_t expected = 0;
      ok = true;
      while (it.Next(&r)) {
        ok = ok && r.offset_delta == expected++;
        max_ts = std::max(max_ts, r.timestamp);
      }
      ok = ok && it.status().ok();
    }
    if (!ok) {
      state.SkipWithError("check failed");
      return;
    }
  }
  benchmark::DoNotOptimize(max_ts);
  state.SetItemsProcessed(state.iterations() * 100);
}

void RegisterAll(bool smoke) {
  int64_t max_size = smoke ? 64 : int64_t{1} << 20;
  const std::pair<const char*, void (*)(benchmark::State&)> sized[] = {
      {"BM_Crc32cHardware", BM_Crc32cHardware},
      {"BM_Crc32cPortable", BM_Crc32cPortable},
      {"BM_Memcpy", BM_Memcpy},
  };
  for (const auto& [name, fn] : sized) {
    auto* b = benchmark::RegisterBenchmark(name, fn);
    b->RangeMultiplier(8)->Range(64, max_size);
    // 64 MiB does not fit the caches: the memory-bandwidth data point.
    if (!smoke) b->Arg(int64_t{64} << 20);
  }
  for (Compression c : {Compression::kNone, Compression::kZstd}) {
    std::string suffix(CompressionName(c));
    benchmark::RegisterBenchmark(("BM_EncodeBatch/" + suffix).c_str(),
                                 BM_EncodeBatch, c);
    benchmark::RegisterBenchmark(("BM_DecodeBatch/" + suffix).c_str(),
                                 BM_DecodeBatch, c);
  }
  benchmark::RegisterBenchmark("BM_CheckRecords/full", BM_CheckRecords, false);
  benchmark::RegisterBenchmark("BM_CheckRecords/skim", BM_CheckRecords, true);
}

}  // namespace
}  // namespace spool

int main(int argc, char** argv) {
  spool::RegisterAll(std::getenv("SPOOL_BENCH_SMOKE") != nullptr);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
