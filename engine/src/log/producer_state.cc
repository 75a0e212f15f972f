#include "log/producer_state.h"

#include <limits>

#include "absl/strings/str_format.h"
#include "format/coding.h"
#include "format/crc32c.h"
#include "spool/errors.h"

namespace spool {
namespace {

constexpr int16_t kSnapshotVersion = 1;
constexpr size_t kSnapshotHeader = 10;  // version, crc, count
constexpr size_t kSnapshotEntry = 46;

// The sequence of the record `delta` after `base`, wrapping at INT32_MAX.
int32_t AddSequence(int32_t base, int64_t delta) {
  int64_t s = int64_t{base} + delta;
  const int64_t span = int64_t{std::numeric_limits<int32_t>::max()} + 1;
  return static_cast<int32_t>(((s % span) + span) % span);
}

}  // namespace

int32_t NextSequence(int32_t seq) { return AddSequence(seq, 1); }

const ProducerEntry* ProducerStateManager::Find(int64_t producer_id) const {
  auto it = producers_.find(producer_id);
  return it == producers_.end() ? nullptr : &it->second;
}

std::vector<ProducerEntry> ProducerStateManager::Entries() const {
  std::vector<ProducerEntry> out;
  out.reserve(producers_.size());
  for (const auto& [id, e] : producers_) out.push_back(e);
  return out;
}

absl::StatusOr<ProducerCheck> ProducerStateManager::Check(
    const BatchHeader& b) const {
  const ProducerEntry* e = Find(b.producer_id);
  if (e == nullptr) return ProducerCheck{};
  const int32_t last_seq = b.last_sequence();
  if (b.producer_epoch == e->epoch) {
    for (const ProducerBatch& cached : e->batches) {
      if (cached.first_seq == b.base_sequence && cached.last_seq == last_seq) {
        return ProducerCheck{true, cached.first_offset, cached.last_offset};
      }
    }
  }
  if (b.producer_epoch < e->epoch) {
    return MakeError(
        absl::StatusCode::kFailedPrecondition, ErrorKind::kProducerFenced,
        absl::StrFormat("producer %d epoch %d is fenced: epoch %d has taken "
                        "over",
                        b.producer_id, b.producer_epoch, e->epoch));
  }
  if (b.producer_epoch != e->epoch) {
    if (b.base_sequence != 0 && e->epoch != kNoProducerEpoch) {
      return MakeError(
          absl::StatusCode::kFailedPrecondition, ErrorKind::kOutOfOrderSequence,
          absl::StrFormat("producer %d: new epoch %d must start at sequence "
                          "0, got %d",
                          b.producer_id, b.producer_epoch, b.base_sequence));
    }
    return ProducerCheck{};
  }
  if (e->batches.empty()) return ProducerCheck{};
  const int32_t expected = NextSequence(e->batches.back().last_seq);
  if (b.base_sequence != expected) {
    return MakeError(
        absl::StatusCode::kFailedPrecondition, ErrorKind::kOutOfOrderSequence,
        absl::StrFormat("producer %d epoch %d: expected sequence %d, got %d "
                        "(last batch %d..%d)",
                        b.producer_id, b.producer_epoch, expected,
                        b.base_sequence, e->batches.back().first_seq,
                        e->batches.back().last_seq));
  }
  return ProducerCheck{};
}

void ProducerStateManager::Update(const BatchHeader& b, int64_t timestamp_ms) {
  if (b.producer_id < 0) return;
  ProducerEntry& e = producers_[b.producer_id];
  e.producer_id = b.producer_id;
  if (b.producer_epoch != e.epoch) {
    e.epoch = b.producer_epoch;
    e.batches.clear();
  }
  e.last_timestamp = timestamp_ms;
  if (b.is_control()) {
    e.current_txn_first_offset = -1;
    return;
  }
  if (b.is_transactional() && e.current_txn_first_offset < 0) {
    e.current_txn_first_offset = b.base_offset;
  }
  if (b.base_sequence < 0) return;
  e.batches.push_back({b.base_sequence, b.last_sequence(), b.base_offset,
                       b.last_offset(), timestamp_ms});
  while (e.batches.size() > static_cast<size_t>(kBatchesToRetain)) {
    e.batches.pop_front();
  }
}

int ProducerStateManager::RemoveExpired(int64_t now_ms, int64_t expiration_ms) {
  int removed = 0;
  for (auto it = producers_.begin(); it != producers_.end();) {
    const ProducerEntry& e = it->second;
    if (e.current_txn_first_offset < 0 &&
        e.last_timestamp < now_ms - expiration_ms) {
      it = producers_.erase(it);
      ++removed;
    } else {
      ++it;
    }
  }
  return removed;
}

std::string ProducerStateManager::EncodeSnapshot() const {
  std::string out(kSnapshotHeader + kSnapshotEntry * producers_.size(), '\0');
  EncodeFixed16BE(out.data(), kSnapshotVersion);
  EncodeFixed32BE(out.data() + 6, static_cast<uint32_t>(producers_.size()));
  char* p = out.data() + kSnapshotHeader;
  for (const auto& [id, e] : producers_) {
    const ProducerBatch* last = e.batches.empty() ? nullptr : &e.batches.back();
    EncodeFixed64BE(p, static_cast<uint64_t>(id));
    EncodeFixed16BE(p + 8, static_cast<uint16_t>(e.epoch));
    EncodeFixed32BE(p + 10, static_cast<uint32_t>(last ? last->last_seq : -1));
    EncodeFixed64BE(p + 14,
                    static_cast<uint64_t>(last ? last->last_offset : -1));
    EncodeFixed32BE(p + 22,
                    static_cast<uint32_t>(
                        last ? last->last_offset - last->first_offset : 0));
    EncodeFixed64BE(p + 26, static_cast<uint64_t>(last ? last->timestamp
                                                       : e.last_timestamp));
    EncodeFixed32BE(p + 34, static_cast<uint32_t>(e.coordinator_epoch));
    EncodeFixed64BE(p + 38, static_cast<uint64_t>(e.current_txn_first_offset));
    p += kSnapshotEntry;
  }
  const uint32_t crc =
      crc32c::Value(out.data() + kSnapshotHeader - 4, out.size() - 6);
  EncodeFixed32BE(out.data() + 2, crc);
  return out;
}

absl::Status ProducerStateManager::DecodeSnapshot(std::string_view bytes,
                                                  std::string_view source) {
  auto bad = [&](std::string_view what) {
    return absl::DataLossError(
        absl::StrFormat("producer snapshot %s: %s", source, what));
  };
  if (bytes.size() < kSnapshotHeader) return bad("shorter than its header");
  const int16_t version = static_cast<int16_t>(DecodeFixed16BE(bytes.data()));
  if (version != kSnapshotVersion) {
    return bad(absl::StrFormat("unsupported version %d", version));
  }
  const uint32_t stored = DecodeFixed32BE(bytes.data() + 2);
  const uint32_t computed = crc32c::Value(bytes.data() + 6, bytes.size() - 6);
  if (stored != computed) {
    return bad(absl::StrFormat("CRC mismatch: stored 0x%08x, computed 0x%08x",
                               stored, computed));
  }
  const uint32_t count = DecodeFixed32BE(bytes.data() + 6);
  if (bytes.size() != kSnapshotHeader + uint64_t{count} * kSnapshotEntry) {
    return bad(absl::StrFormat("%d entries need %d bytes, file has %d", count,
                               kSnapshotHeader + count * kSnapshotEntry,
                               bytes.size()));
  }
  producers_.clear();
  const char* p = bytes.data() + kSnapshotHeader;
  for (uint32_t i = 0; i < count; ++i, p += kSnapshotEntry) {
    ProducerEntry e;
    e.producer_id = static_cast<int64_t>(DecodeFixed64BE(p));
    e.epoch = static_cast<int16_t>(DecodeFixed16BE(p + 8));
    const int32_t last_seq = static_cast<int32_t>(DecodeFixed32BE(p + 10));
    const int64_t last_offset = static_cast<int64_t>(DecodeFixed64BE(p + 14));
    const int32_t delta = static_cast<int32_t>(DecodeFixed32BE(p + 22));
    e.last_timestamp = static_cast<int64_t>(DecodeFixed64BE(p + 26));
    e.coordinator_epoch = static_cast<int32_t>(DecodeFixed32BE(p + 34));
    e.current_txn_first_offset = static_cast<int64_t>(DecodeFixed64BE(p + 38));
    if (last_offset >= 0 && last_seq >= 0) {
      e.batches.push_back({AddSequence(last_seq, -int64_t{delta}), last_seq,
                           last_offset - delta, last_offset, e.last_timestamp});
    }
    producers_[e.producer_id] = std::move(e);
  }
  return absl::OkStatus();
}

}  // namespace spool
