// EngineImpl: the consumer groups' hook-up (ConsumerGroupsImpl does the
// work; consumer_groups_impl.h).

#include <utility>

#include "absl/strings/str_format.h"
#include "engine/engine_impl.h"
#include "util/status_macros.h"

namespace spool {

absl::Status EngineImpl::OpenGroups() {
  ConsumerGroupsImpl::Options o;
  o.tables = tables_.get();
  o.clock = clock_;
  o.engine = this;
  o.bytes_from = [this](const TopicPartition& tp, int64_t offset) {
    return BytesFrom(tp, offset);
  };
  o.retention = options_.group_offsets_retention;
  SPOOL_ASSIGN_OR_RETURN(groups_, ConsumerGroupsImpl::Open(std::move(o)));
  return absl::OkStatus();
}

ConsumerGroups& EngineImpl::groups() { return *groups_; }

absl::StatusOr<int64_t> EngineImpl::BytesFrom(const TopicPartition& tp,
                                              int64_t offset) const {
  std::shared_ptr<const TopicState> topic;
  SPOOL_ASSIGN_OR_RETURN(const PartitionHandle* h, FindPartition(tp, &topic));
  absl::StatusOr<int64_t> bytes = h->log->BytesFrom(offset);
  if (!bytes.ok()) {
    return absl::Status(
        bytes.status().code(),
        absl::StrFormat("%s: %s", tp.ToString(), bytes.status().message()));
  }
  return bytes;
}

}  // namespace spool
