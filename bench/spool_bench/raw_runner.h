// The physical limit: what the disk and the page cache do with the same
// bytes when no storage engine is involved.
//
//   Write          the encoded batches Spool writes (built before timing,
//                  so no encoding cost), written with pwrite at the end of
//                  one file per partition by the same producer threads in
//                  the same order; sync: fdatasync after every batch;
//                  interval: a thread fdatasyncs every file periodically.
//   ReadAndParse   read(2) a log file sequentially (1 MiB buffer) and walk
//                  every batch with RecordBatchView / RecordIterator (CRC
//                  checked), touching every record like a consumer.
//   PageCacheRead  read(2) the file into a 1 MiB buffer, nothing else.
//
// Thread-compatible: one phase at a time.

#ifndef SPOOL_BENCH_SPOOL_BENCH_RAW_RUNNER_H_
#define SPOOL_BENCH_SPOOL_BENCH_RAW_RUNNER_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "measure.h"
#include "prebuilt.h"
#include "workload.h"

namespace spool::bench {

class RawRunner {
 public:
  // `batches` must be built before Write() and outlive the runner.
  RawRunner(const Workload& workload, const PrebuiltBatches& batches,
            std::string dir);
  ~RawRunner();

  // Creates the directory; with config.raw_preallocate, also zero-fills
  // every partition's file to the bytes it will receive and syncs it.
  absl::Status Prepare();
  // Writes round `round` of config.rounds (everything with one round) and
  // returns its time. Files are opened before and closed after the timed
  // part; latency (per pwrite [+ fdatasync]) accumulates over rounds.
  absl::StatusOr<PhaseStats> Write(int round);
  Latency write_latency() const { return latency_.Merged(); }
  int64_t written_bytes() const;
  absl::StatusOr<DiskUsage> Disk() const;

  // `files[c]` are the files consumer thread c reads, in order.
  static absl::StatusOr<PhaseStats> ReadAndParse(
      const std::vector<std::vector<std::string>>& files);
  static absl::StatusOr<PhaseStats> PageCacheRead(
      const std::vector<std::vector<std::string>>& files);

  struct File;  // one partition's file

 private:
  absl::Status OpenFiles();
  absl::Status ZeroFill();
  void CloseFiles();

  const Workload& workload_;
  const RunConfig& config_;
  const PrebuiltBatches& batches_;
  const std::string dir_;
  LatencySet latency_;
  std::vector<std::unique_ptr<File>> files_;
};

}  // namespace spool::bench

#endif  // SPOOL_BENCH_SPOOL_BENCH_RAW_RUNNER_H_
