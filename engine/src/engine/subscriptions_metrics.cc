// SubscriptionsImpl: Prometheus metrics (docs/operations.md lists them).

#include <algorithm>

#include "engine/subscriptions_impl.h"

namespace spool {

void SubscriptionsImpl::AppendMetrics(PrometheusWriter& w) const {
  if (closed_.load()) return;
  std::vector<SubPtr> subs;
  {
    MutexLock lock(&mu_);
    for (const auto& [key, sub] : subs_) subs.push_back(sub);
  }
  const absl::Time now = clock_->Now();
  for (const SubPtr& sub : subs) {
    absl::StatusOr<std::vector<PartPtr>> parts = Parts(*sub);
    if (!parts.ok()) continue;
    SubscriptionPartitionState total;
    PartitionQueue::Stats stats;
    int64_t oldest = -1;
    for (size_t p = 0; p < parts->size(); ++p) {
      absl::StatusOr<PartitionOffsets> o =
          engine_->Offsets({sub->stored.topic, static_cast<int32_t>(p)});
      if (!o.ok()) continue;
      MutexLock lock(&(*parts)[p]->mu);
      const PartitionQueue& q = (*parts)[p]->queue;
      const SubscriptionPartitionState s = q.Describe(o->log_end_offset);
      total.backlog += s.backlog;
      total.in_flight += s.in_flight;
      total.waiting += s.waiting;
      total.parked += s.parked;
      const PartitionQueue::Stats& st = q.stats();
      stats.acked += st.acked;
      stats.delivered += st.delivered;
      stats.redelivered += st.redelivered;
      stats.expired += st.expired;
      stats.dead_lettered += st.dead_lettered;
      stats.dropped += st.dropped;
      stats.lost_to_retention += st.lost_to_retention;
      const int64_t ts = q.OldestTimestamp();
      if (ts >= 0 && (oldest < 0 || ts < oldest)) oldest = ts;
    }
    const PrometheusWriter::Labels l = {{"topic", sub->stored.topic},
                                        {"subscription", sub->stored.name}};
    auto d = [](int64_t v) { return static_cast<double>(v); };
    w.Gauge("spool_subscription_in_flight", "Records leased to consumers now.",
            l, d(total.in_flight));
    w.Gauge("spool_subscription_backlog",
            "Records not yet done (log end minus ack floor minus acked "
            "above it).",
            l, d(total.backlog));
    w.Gauge("spool_subscription_waiting",
            "Records waiting for a backoff, nack delay or not-before time.", l,
            d(total.waiting));
    w.Gauge("spool_subscription_parked", "Records parked (their key blocked).",
            l, d(total.parked));
    w.Gauge("spool_subscription_oldest_unacked_age_seconds",
            "Engine clock minus the timestamp of the oldest unfinished record "
            "read so far; 0 if none.",
            l,
            oldest < 0
                ? 0.0
                : std::max(0.0, absl::ToDoubleSeconds(
                                    now - absl::FromUnixMillis(oldest))));
    w.Counter("spool_subscription_delivered_total", "Deliveries (leases).", l,
              d(stats.delivered));
    w.Counter("spool_subscription_acked_total", "Records acknowledged.", l,
              d(stats.acked));
    w.Counter("spool_subscription_redelivered_total",
              "Deliveries after the first of a record.", l,
              d(stats.redelivered));
    w.Counter("spool_subscription_expired_leases_total", "Leases that ran out.",
              l, d(stats.expired));
    w.Counter("spool_subscription_dead_lettered_total",
              "Records appended to the dead-letter topic.", l,
              d(stats.dead_lettered));
    w.Counter("spool_subscription_dropped_total",
              "Records exhausted or rejected without a dead-letter topic, or "
              "skipped while parked.",
              l, d(stats.dropped));
    w.Counter("spool_subscription_lost_to_retention_total",
              "Unfinished records deleted by retention.", l,
              d(stats.lost_to_retention));
    const std::string& dlq = sub->stored.config.dead_letter_topic;
    if (!dlq.empty()) {
      absl::StatusOr<int32_t> n = engine_->PartitionCount(dlq);
      int64_t depth = 0;
      for (int32_t p = 0; n.ok() && p < *n; ++p) {
        absl::StatusOr<PartitionOffsets> o = engine_->Offsets({dlq, p});
        if (o.ok()) depth += o->log_end_offset - o->log_start_offset;
      }
      w.Gauge("spool_subscription_dlq_depth",
              "Records in the dead-letter topic (log end minus log start, "
              "over its partitions).",
              l, d(depth));
    }
  }
}

}  // namespace spool
