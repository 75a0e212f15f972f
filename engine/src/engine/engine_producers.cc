// EngineImpl: producer ids for idempotent appends (docs/idempotence.md).
//
// Table::kProducers holds
//   "next"          -> int64 BE: the next unnamed producer id
//   "name/<name>"   -> int64 BE id, int16 BE epoch: a named producer
// Named producers get ids from the same counter. Their current epochs are
// also kept in memory to fence older incarnations at append time.

#include <limits>

#include "absl/strings/str_format.h"
#include "engine/engine_impl.h"
#include "format/coding.h"
#include "spool/errors.h"
#include "util/status_macros.h"

namespace spool {
namespace {

constexpr char kNextKey[] = "next";
constexpr char kNamePrefix[] = "name/";
constexpr size_t kMaxProducerName = 255;

std::string EncodeNamed(int64_t id, int16_t epoch) {
  std::string v(10, '\0');
  EncodeFixed64BE(v.data(), static_cast<uint64_t>(id));
  EncodeFixed16BE(v.data() + 8, static_cast<uint16_t>(epoch));
  return v;
}

}  // namespace

absl::Status EngineImpl::LoadProducerIds() {
  MutexLock lock(&producers_mu_);
  absl::Status bad;
  SPOOL_RETURN_IF_ERROR(tables_->Scan(
      Table::kProducers, kNamePrefix,
      [&](std::string_view key, std::string_view value) {
        if (value.size() != 10) {
          bad = absl::DataLossError(absl::StrFormat(
              "producer table entry '%s' has %d bytes, expected 10", key,
              value.size()));
          return false;
        }
        named_epochs_[static_cast<int64_t>(DecodeFixed64BE(value.data()))] =
            static_cast<int16_t>(DecodeFixed16BE(value.data() + 8));
        return true;
      }));
  has_named_producers_.store(!named_epochs_.empty());
  return bad;
}

absl::StatusOr<ProducerId> EngineImpl::InitProducerId(std::string_view name) {
  SPOOL_RETURN_IF_ERROR(CheckOpen());
  if (name.size() > kMaxProducerName) {
    return absl::InvalidArgumentError(
        absl::StrFormat("producer name of %d bytes is longer than %d",
                        name.size(), kMaxProducerName));
  }
  MutexLock lock(&producers_mu_);
  SPOOL_ASSIGN_OR_RETURN(std::optional<std::string> next,
                         tables_->Get(Table::kProducers, kNextKey));
  int64_t next_id = 0;
  if (next.has_value()) {
    if (next->size() != 8) {
      return absl::DataLossError("producer id counter is not 8 bytes");
    }
    next_id = static_cast<int64_t>(DecodeFixed64BE(next->data()));
  }
  ProducerId out{next_id, 0};
  const std::string name_key = absl::StrFormat("%s%s", kNamePrefix, name);
  if (!name.empty()) {
    SPOOL_ASSIGN_OR_RETURN(std::optional<std::string> known,
                           tables_->Get(Table::kProducers, name_key));
    if (known.has_value() && known->size() == 10) {
      const int64_t id = static_cast<int64_t>(DecodeFixed64BE(known->data()));
      const int16_t epoch =
          static_cast<int16_t>(DecodeFixed16BE(known->data() + 8));
      // An exhausted epoch space starts over with a new id, as Kafka does.
      if (epoch < std::numeric_limits<int16_t>::max()) {
        out = {id, static_cast<int16_t>(epoch + 1)};
      }
    }
  }
  TableStore::Batch batch;
  if (out.id == next_id) {
    std::string counter(8, '\0');
    EncodeFixed64BE(counter.data(), static_cast<uint64_t>(next_id + 1));
    batch.Put(Table::kProducers, kNextKey, counter);
  }
  if (!name.empty()) {
    batch.Put(Table::kProducers, name_key, EncodeNamed(out.id, out.epoch));
  }
  SPOOL_RETURN_IF_ERROR(tables_->Write(batch, /*sync=*/true));
  if (!name.empty()) {
    named_epochs_[out.id] = out.epoch;
    has_named_producers_.store(true);
  }
  return out;
}

absl::Status EngineImpl::CheckProducerEpoch(std::string_view batch) const {
  if (!has_named_producers_.load()) return absl::OkStatus();
  absl::StatusOr<BatchHeader> h = ParseBatchHeader(batch);
  if (!h.ok() || h->producer_id < 0) return absl::OkStatus();
  MutexLock lock(&producers_mu_);
  auto it = named_epochs_.find(h->producer_id);
  if (it == named_epochs_.end() || h->producer_epoch >= it->second) {
    return absl::OkStatus();
  }
  return MakeError(
      absl::StatusCode::kFailedPrecondition, ErrorKind::kProducerFenced,
      absl::StrFormat("producer %d epoch %d is fenced: it was "
                      "re-initialised with epoch %d",
                      h->producer_id, h->producer_epoch, it->second));
}

}  // namespace spool
