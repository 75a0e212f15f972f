#include "prebuilt.h"

#include "util/status_macros.h"

namespace spool::bench {
namespace {

constexpr size_t kBudgetBytes = size_t{32} << 20;

}  // namespace

absl::Status PrebuiltBatches::Build(const Workload& w) {
  if (built()) return absl::OkStatus();
  const RunConfig& c = w.config();
  const size_t cap = kBudgetBytes / static_cast<size_t>(c.producers);
  rings_.resize(static_cast<size_t>(c.producers));
  RecordBatchBuilder builder;
  auto add = [&](const ProducerPlan& plan, int64_t k, Ring* ring) {
    builder.Reset({.compression = c.compression, .zstd_level = 3});
    w.AddRecords(&builder, plan.first_of(k, c.batch), plan.count_of(k, c.batch),
                 NowMillis());
    const size_t at = ring->bytes.size();
    SPOOL_RETURN_IF_ERROR(builder.BuildInto(&ring->bytes));
    ring->spans.emplace_back(at, ring->bytes.size() - at);
    return absl::OkStatus();
  };
  for (int t = 0; t < c.producers; ++t) {
    const ProducerPlan plan = w.Plan(t);
    Ring& ring = rings_[static_cast<size_t>(t)];
    ring.last = plan.batches(c.batch) - 1;
    for (int64_t k = 0;
         k < ring.last && (ring.spans.empty() || ring.bytes.size() < cap);
         ++k) {
      SPOOL_RETURN_IF_ERROR(add(plan, k, &ring));
    }
    if (ring.last >= 0) SPOOL_RETURN_IF_ERROR(add(plan, ring.last, &ring));
  }
  return absl::OkStatus();
}

}  // namespace spool::bench
