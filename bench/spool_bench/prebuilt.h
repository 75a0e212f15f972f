// Record batches encoded before any timing starts: the exact bytes the raw
// baseline writes, and what Spool appends with --api prebuilt.
//
// Each producer gets a ring of its first batches (all of them while they
// fit in a 32 MiB budget shared by the producers), reused cyclically for
// later batch numbers, so the memory stays bounded for any record count.
// A producer's last batch is always its own (it may hold fewer records), so
// every producer sends exactly its records.
//
// Thread-safe after Build() (read-only).

#ifndef SPOOL_BENCH_SPOOL_BENCH_PREBUILT_H_
#define SPOOL_BENCH_SPOOL_BENCH_PREBUILT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "workload.h"

namespace spool::bench {

class PrebuiltBatches {
 public:
  // Encodes the batches of every producer of `workload` (compression as
  // configured, no producer id). Idempotent: later calls do nothing.
  absl::Status Build(const Workload& workload);
  bool built() const { return !rings_.empty(); }

  // Batch k of `producer` (k as in ProducerPlan).
  std::string_view At(int producer, int64_t k) const {
    const Ring& r = rings_[static_cast<size_t>(producer)];
    const size_t cycle = r.spans.size() - 1;  // the last span is the tail
    const auto& [off, len] =
        k == r.last ? r.spans.back() : r.spans[static_cast<size_t>(k) % cycle];
    return std::string_view(r.bytes).substr(off, len);
  }

 private:
  struct Ring {
    std::string bytes;
    // Offset and length of batches 0, 1, ..., then of batch `last`.
    std::vector<std::pair<size_t, size_t>> spans;
    int64_t last = 0;  // the producer's last batch number
  };
  std::vector<Ring> rings_;
};

}  // namespace spool::bench

#endif  // SPOOL_BENCH_SPOOL_BENCH_PREBUILT_H_
