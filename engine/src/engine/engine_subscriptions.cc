// EngineImpl: the shared subscriptions' hook-up (SubscriptionsImpl does the
// work; subscriptions_impl.h).

#include <utility>

#include "engine/engine_impl.h"
#include "util/status_macros.h"

namespace spool {

absl::Status EngineImpl::OpenSubscriptions() {
  SubscriptionsImpl::Options o;
  o.tables = tables_.get();
  o.clock = clock_;
  o.engine = this;
  SPOOL_ASSIGN_OR_RETURN(subscriptions_, SubscriptionsImpl::Open(std::move(o)));
  return absl::OkStatus();
}

Subscriptions& EngineImpl::subscriptions() { return *subscriptions_; }

}  // namespace spool
