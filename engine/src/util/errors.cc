#include "spool/errors.h"

#include "absl/strings/cord.h"
#include "util/strings.h"

namespace spool {
namespace {

constexpr char kPayloadUrl[] = "type.spool.dev/error-kind";

}  // namespace

std::string_view ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kNone:
      return "none";
    case ErrorKind::kOutOfOrderSequence:
      return "out-of-order-sequence";
    case ErrorKind::kProducerFenced:
      return "producer-fenced";
    case ErrorKind::kUnknownProducerId:
      return "unknown-producer-id";
  }
  return "none";
}

absl::Status MakeError(absl::StatusCode code, ErrorKind kind,
                       std::string_view message) {
  absl::Status s(code, ToAbsl(message));
  s.SetPayload(kPayloadUrl, absl::Cord(ToAbsl(ErrorKindName(kind))));
  return s;
}

ErrorKind GetErrorKind(const absl::Status& status) {
  auto payload = status.GetPayload(kPayloadUrl);  // absl::optional
  if (!payload.has_value()) return ErrorKind::kNone;
  for (ErrorKind k :
       {ErrorKind::kOutOfOrderSequence, ErrorKind::kProducerFenced,
        ErrorKind::kUnknownProducerId}) {
    if (*payload == ToAbsl(ErrorKindName(k))) return k;
  }
  return ErrorKind::kNone;
}

}  // namespace spool
