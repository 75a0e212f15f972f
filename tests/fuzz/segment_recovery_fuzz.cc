// Fuzz target: crash recovery of a partition over arbitrary files, with
// index loading and checkpoint parsing on the way (docs/crash-testing.md,
// Fuzzing).
//
// The input is split at the 4-byte separator "\xff\xffSP" into up to four
// parts: the segment file 00000000000000000000.log, its .index, its
// .timeindex, and the text of recovery-point-offset-checkpoint. With one
// part the directory looks crashed (full recovery scan); with more, the
// clean-shutdown marker is present too, so the index files and the
// checkpoint are trusted and loaded as a clean open would.
//
// Everything runs on the fault-injecting (in-memory) file system. Oracles
// beyond "no crash, no sanitizer report":
//   * opening either fails with a status or gives a log whose every batch,
//     read from the log start to the log end, validates, with offsets
//     increasing;
//   * the recovered log accepts an append at its end, and after a clean
//     close and reopen it holds the same batches plus that one.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/fault_injection_file_system.h"
#include "log/log_directory.h"
#include "spool/clock.h"
#include "spool/record.h"

namespace spool {
namespace {

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "segment_recovery_fuzz: oracle violated: " << what << "\n";
  std::abort();
}

LogConfig FuzzConfig() {
  LogConfig c;
  c.segment_bytes = 64 * 1024;
  c.segment_index_bytes = 4096;
  c.index_interval_bytes = 256;
  c.max_batch_bytes = 1 << 20;
  return c;
}

std::vector<std::string_view> Split(std::string_view in) {
  static constexpr std::string_view kSep("\xff\xffSP", 4);
  std::vector<std::string_view> parts;
  while (parts.size() < 3) {
    const size_t at = in.find(kSep);
    if (at == std::string_view::npos) break;
    parts.push_back(in.substr(0, at));
    in.remove_prefix(at + kSep.size());
  }
  parts.push_back(in);
  return parts;
}

void Put(FaultInjectionFileSystem& fs, const std::string& path,
         std::string_view data) {
  auto f = fs.Open(path, {.create = true, .truncate = true});
  if (!f.ok() || !(*f)->Write(0, data).ok() || !(*f)->Sync().ok()) {
    Die("cannot set up " + path);
  }
}

// Reads every batch; returns their bytes, checking each validates.
std::vector<std::string> ReadAllChecked(const PartitionLog& log) {
  std::vector<std::string> out;
  int64_t offset = log.log_start_offset();
  while (offset < log.log_end_offset()) {
    auto got = log.ReadBatches(offset, {.max_bytes = 64 * 1024});
    if (!got.ok()) {
      // An I/O-level refusal of a damaged file is acceptable only as a
      // clean error, never as garbage.
      if (got.status().code() == absl::StatusCode::kDataLoss) return out;
      Die("read of a recovered log failed: " + got.status().ToString());
    }
    if (got->batches.empty()) Die("read returned nothing below the log end");
    for (const RecordBatchView& b : got->batches) {
      if (!b.Validate().ok()) Die("recovered log served a corrupt batch");
      // Kafka logs may have gaps (compaction), never overlaps.
      if (b.header().base_offset < offset) {
        Die("offsets go backwards after recovery");
      }
      out.emplace_back(b.bytes());
      offset = b.header().last_offset() + 1;
    }
    if (got->next_offset != offset) Die("next_offset disagrees with batches");
  }
  return out;
}

void Run(std::string_view input) {
  FaultInjectionFileSystem fs(1);
  ManualClock clock;
  const std::vector<std::string_view> parts = Split(input);
  if (!fs.CreateDirs("/data/t-0").ok()) Die("mkdir");
  const std::string seg = "/data/t-0/00000000000000000000";
  Put(fs, seg + ".log", parts[0]);
  if (parts.size() > 1) {
    Put(fs, seg + ".index", parts[1]);
    if (parts.size() > 2) Put(fs, seg + ".timeindex", parts[2]);
    if (parts.size() > 3) {
      Put(fs, "/data/recovery-point-offset-checkpoint", parts[3]);
    }
    Put(fs, "/data/.kafka_cleanshutdown", "");
  }
  if (!fs.SyncDir("/data/t-0").ok() || !fs.SyncDir("/data").ok()) Die("sync");

  std::vector<std::string> before;
  int64_t end = 0;
  {
    auto dir =
        LogDirectory::Open({.fs = &fs, .clock = &clock, .path = "/data"});
    if (!dir.ok()) return;  // a bad checkpoint: refused with a status
    RecoveryReport report;
    auto log = (*dir)->OpenPartition({"t", 0}, FuzzConfig(), &report);
    if (!log.ok()) return;
    before = ReadAllChecked(**log);
    RecordBatchBuilder b;
    b.Add("fuzz-key", "fuzz-value", {}, 1700000000000);
    auto batch = b.Build();
    if (!batch.ok()) Die("build");
    auto appended = (*log)->Append(*batch, {.durability = Durability::kSync});
    if (!appended.ok()) {
      // Only a log whose offsets are exhausted may refuse.
      if ((*log)->log_end_offset() < (int64_t{1} << 62)) {
        Die("recovered log refuses an append: " + appended.status().ToString());
      }
      return;
    }
    end = (*log)->log_end_offset();
    if (!(*dir)->Close().ok()) Die("clean close failed");
  }
  auto dir = LogDirectory::Open({.fs = &fs, .clock = &clock, .path = "/data"});
  if (!dir.ok()) Die("reopen after clean close: " + dir.status().ToString());
  RecoveryReport report;
  auto log = (*dir)->OpenPartition({"t", 0}, FuzzConfig(), &report);
  if (!log.ok()) Die("reopen partition: " + log.status().ToString());
  if ((*log)->log_end_offset() != end) Die("log end changed across close");
  std::vector<std::string> after = ReadAllChecked(**log);
  if (after.size() != before.size() + 1) {
    Die("batches changed across a clean close");
  }
  for (size_t i = 0; i < before.size(); ++i) {
    if (after[i] != before[i]) Die("a batch changed across a clean close");
  }
}

}  // namespace
}  // namespace spool

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  spool::Run(std::string_view(reinterpret_cast<const char*>(bytes), size));
  return 0;
}
