// Machine-readable error kinds. Every Spool call returns an absl::Status
// whose code says what class of failure it is (see engine.h); where a
// caller must react to one specific condition, the status also carries an
// ErrorKind payload, read with GetErrorKind().

#ifndef SPOOL_ERRORS_H_
#define SPOOL_ERRORS_H_

#include <string_view>

#include "absl/status/status.h"

namespace spool {

enum class ErrorKind {
  kNone,  // no Spool payload (read the status code)
  // Idempotent producers (docs/idempotence.md), all kFailedPrecondition:
  kOutOfOrderSequence,  // a gap in the producer's sequence numbers
  kProducerFenced,      // a newer epoch of this producer exists
  kUnknownProducerId,   // the producer id was never handed out
};

std::string_view ErrorKindName(ErrorKind kind);

// A status with `code`, `message` and the kind attached.
absl::Status MakeError(absl::StatusCode code, ErrorKind kind,
                       std::string_view message);
// The kind attached to `status`, or kNone.
ErrorKind GetErrorKind(const absl::Status& status);

}  // namespace spool

#endif  // SPOOL_ERRORS_H_
