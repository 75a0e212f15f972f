// IdempotentProducer: produces through an Engine so that retries never
// create duplicates (docs/idempotence.md).
//
// Each partition's records go out as one batch carrying the producer's id,
// epoch and the partition's next sequence number. A retryable failure
// (kUnavailable, kResourceExhausted) is retried with the very same bytes;
// the engine recognises a batch it already has and answers with the
// offsets of the first copy. If the retries run out, the batch stays
// pending and the next Send to that partition sends it first, so sequence
// numbers never skip and nothing is lost or doubled.
//
// Thread-safe; sends are serialized per producer (one in flight), which
// keeps each partition's sequence in order. Use several producers for
// parallelism.

#ifndef SPOOL_PRODUCER_H_
#define SPOOL_PRODUCER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "spool/engine.h"

namespace spool {

class IdempotentProducer {
 public:
  struct Options {
    // Empty: a fresh producer id. A name: the same id as the last producer
    // with that name, with its epoch bumped (fencing that one).
    std::string name;
    int max_retries = 5;
    absl::Duration retry_backoff = absl::Milliseconds(10);
  };

  // `engine` is not owned and must outlive the producer.
  static absl::StatusOr<std::unique_ptr<IdempotentProducer>> Create(
      Engine* engine, Options options);

  // Like Engine::ProduceBatch: records placed by key (murmur2) unless
  // options.partition is set; null keys round-robin.
  absl::StatusOr<ProduceResult> Send(std::string_view topic,
                                     const std::vector<Record>& records,
                                     const ProduceOptions& options = {});

  ProducerId id() const;

  ~IdempotentProducer();

 private:
  class Impl;
  explicit IdempotentProducer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace spool

#endif  // SPOOL_PRODUCER_H_
