// The two passes of key compaction (see log_cleaner.h).

#include "log/log_cleaner.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "format/batch_internal.h"
#include "format/compression.h"
#include "format/record_codec.h"
#include "log/file_batch_reader.h"
#include "util/status_macros.h"
#include "util/strings.h"

namespace spool {
namespace {

// Per-entry overhead of the offset map beyond the key bytes (hash slot,
// string header, offset), for the memory budget.
constexpr int64_t kMapEntryOverhead = 48;

int64_t WrappingSub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) -
                              static_cast<uint64_t>(b));
}

// A control record's type: 0 ABORT, 1 COMMIT (key: int16 version, int16
// type, big-endian); -1 if the key is malformed.
int ControlType(const RecordView& r) {
  if (!r.key.has_value() || r.key->size() < 4) return -1;
  const auto* k = reinterpret_cast<const unsigned char*>(r.key->data());
  return static_cast<int16_t>((k[2] << 8) | k[3]);
}

void Throttle(const CleanerControl& control, int64_t bytes) {
  if (control.limiter != nullptr)
    control.limiter->Acquire(bytes, control.cancel);
}

absl::Status ReadError(const Segment& seg, const FileBatchReader& reader) {
  // A failed read keeps its I/O code (a full disk, EIO: retry later); only
  // a batch that does not validate is data loss.
  const absl::StatusCode code =
      reader.stop() == FileBatchReader::Stop::kIoError && !reader.status().ok()
          ? reader.status().code()
          : absl::StatusCode::kDataLoss;
  return absl::Status(
      code, absl::StrFormat("cleaning %s: cannot read the batch at position "
                            "%d: %s",
                            seg.log_path(), reader.valid_end(),
                            reader.status().message()));
}

// Calls fn(batch) for every batch of `seg`.
template <typename Fn>
absl::Status ForEachBatch(const Segment& seg, const CleanerControl& control,
                          Fn fn) {
  SPOOL_ASSIGN_OR_RETURN(auto file, seg.LogFile());
  FileBatchReader reader(*file, 0, seg.size());
  ScannedBatch b;
  while (reader.Next(&b)) {
    SPOOL_RETURN_IF_ERROR(CheckCancelled(control));
    Throttle(control, b.batch.size_bytes());
    SPOOL_RETURN_IF_ERROR(fn(b.batch));
  }
  if (reader.stop() != FileBatchReader::Stop::kEnd) {
    return ReadError(seg, reader);
  }
  return absl::OkStatus();
}

bool IsAborted(const std::vector<AbortedTxn>& aborted, const BatchHeader& h) {
  if (!h.is_transactional() || h.is_control()) return false;
  for (const AbortedTxn& t : aborted) {
    if (t.producer_id == h.producer_id && h.base_offset >= t.first_offset &&
        h.base_offset < t.marker_offset) {
      return true;
    }
  }
  return false;
}

// The filtered copy of one batch.
struct Filtered {
  int32_t kept = 0;
  int32_t removed = 0;
  int32_t tombstones_removed = 0;
  bool needs_horizon = false;  // a kept tombstone has no horizon yet
  std::string region;          // kept records, re-encoded (uncompressed)
  int64_t max_timestamp = kNoTimestamp;
};

absl::StatusOr<Filtered> FilterBatch(const RecordBatchView& batch,
                                     const RewriteInput& in, bool aborted,
                                     int64_t new_base_ts) {
  const BatchHeader& h = batch.header();
  Filtered f;
  RecordIterator it(batch);
  RecordView r;
  while (it.Next(&r)) {
    bool keep = !aborted && r.key.has_value();
    if (keep) {
      const int64_t latest = in.map->Get(*r.key);
      keep = latest < 0 || r.offset >= latest;
    }
    if (keep && !r.value.has_value()) {
      if (h.has_delete_horizon() && in.now_ms >= h.base_timestamp) {
        keep = false;
        ++f.tombstones_removed;
      } else if (!h.has_delete_horizon()) {
        f.needs_horizon = true;
      }
    }
    if (!keep) {
      ++f.removed;
      continue;
    }
    ++f.kept;
    const int64_t stored_ts = h.base_timestamp + r.timestamp_delta;
    f.max_timestamp = std::max(f.max_timestamp, stored_ts);
    AppendRecord(WrappingSub(stored_ts, new_base_ts), r.offset_delta, r.key,
                 r.value, r.headers, &f.region);
  }
  if (!it.status().ok()) return it.status();
  return f;
}

// Rebuilds `h`'s batch with only the filtered records (possibly none).
absl::StatusOr<std::string> RebuildBatch(const BatchHeader& h,
                                         const Filtered& f, int64_t base_ts,
                                         bool set_horizon) {
  BatchHeader nh = h;
  nh.records_count = f.kept;
  int attributes = h.attributes & ~(kAttrCompressionMask | kAttrDeleteHorizon);
  std::string region;
  if (f.kept == 0) {
    // Kafka's empty batch: the header alone keeps the offsets and the
    // producer's sequence.
    nh.base_timestamp = h.max_timestamp;
  } else {
    nh.base_timestamp = base_ts;
    if (h.timestamp_type() == TimestampType::kCreateTime) {
      nh.max_timestamp = f.max_timestamp;
    }
    if (set_horizon) attributes |= kAttrDeleteHorizon;
    if (h.compression() == Compression::kNone) {
      region = f.region;
    } else {
      // Compressed input is rewritten with zstd (the write codec).
      SPOOL_RETURN_IF_ERROR(CompressZstd(f.region, 3, &region));
      attributes |= static_cast<int>(Compression::kZstd);
    }
  }
  nh.attributes = static_cast<int16_t>(attributes);
  std::string out;
  AppendRawBatch(nh, region, &out);
  return out;
}

}  // namespace

RateLimiter::RateLimiter(int64_t bytes_per_second)
    : rate_(bytes_per_second), last_(absl::Now()) {}

void RateLimiter::Acquire(int64_t bytes, const std::atomic<bool>* cancel) {
  if (rate_ <= 0 || bytes <= 0) return;
  absl::Duration wait;
  {
    MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    tokens_ =
        std::min<double>(static_cast<double>(rate_),
                         tokens_ + absl::ToDoubleSeconds(now - last_) * rate_);
    last_ = now;
    tokens_ -= static_cast<double>(bytes);
    if (tokens_ >= 0) return;
    wait = absl::Seconds(-tokens_ / static_cast<double>(rate_));
  }
  // Sleep in slices so that Close() is not held up.
  const absl::Time until = absl::Now() + wait;
  while (absl::Now() < until) {
    if (cancel != nullptr && cancel->load()) return;
    absl::SleepFor(std::min(until - absl::Now(), absl::Milliseconds(20)));
  }
}

bool OffsetMap::Put(std::string_view key, int64_t offset) {
  auto it = map_.find(ToAbsl(key));
  if (it != map_.end()) {
    it->second = std::max(it->second, offset);
    return true;
  }
  const int64_t add = static_cast<int64_t>(key.size()) + kMapEntryOverhead;
  if (bytes_ + add > max_bytes_) return false;
  bytes_ += add;
  map_.emplace(std::string(key), offset);
  return true;
}

int64_t OffsetMap::Get(std::string_view key) const {
  auto it = map_.find(ToAbsl(key));
  return it == map_.end() ? -1 : it->second;
}

absl::Status CheckCancelled(const CleanerControl& control) {
  if (control.cancel != nullptr && control.cancel->load()) {
    return absl::CancelledError("compaction cancelled (the log is closing)");
  }
  return absl::OkStatus();
}

absl::StatusOr<DirtyScan> BuildOffsetMap(
    const std::vector<std::shared_ptr<Segment>>& segments, size_t begin,
    size_t end, int64_t from, const CleanerControl& control, OffsetMap* map) {
  DirtyScan scan;
  scan.map_end = from;
  // Open transactions: producer -> first offset and its records' keys.
  struct Open {
    int64_t first = 0;
    std::vector<std::pair<std::string, int64_t>> keys;
  };
  absl::flat_hash_map<int64_t, Open> open;
  bool full = false;
  for (size_t i = begin; i < end && !full; ++i) {
    const Segment& seg = *segments[i];
    absl::Status s = ForEachBatch(
        seg, control, [&](const RecordBatchView& b) -> absl::Status {
          const BatchHeader& h = b.header();
          if (full || h.last_offset() < from) return absl::OkStatus();
          scan.bytes_read += b.size_bytes();
          RecordIterator it(b);
          RecordView r;
          if (h.is_control()) {
            int type = it.Next(&r) ? ControlType(r) : -1;
            SPOOL_RETURN_IF_ERROR(it.status());
            auto o = open.find(h.producer_id);
            if (o != open.end()) {
              if (type == 0) {
                scan.aborted.push_back(
                    {h.producer_id, o->second.first, h.base_offset});
              } else if (type == 1) {
                for (auto& [key, offset] : o->second.keys)
                  map->Put(key, offset);
              }
              open.erase(o);
            }
            scan.map_end = h.next_offset();
            return absl::OkStatus();
          }
          std::vector<std::pair<std::string, int64_t>> keys;
          while (it.Next(&r)) {
            ++scan.records;
            if (r.key.has_value())
              keys.emplace_back(std::string(*r.key), r.offset);
          }
          SPOOL_RETURN_IF_ERROR(it.status());
          if (h.is_transactional()) {
            auto [o, inserted] = open.try_emplace(h.producer_id);
            if (inserted) o->second.first = h.base_offset;
            for (auto& k : keys) o->second.keys.push_back(std::move(k));
            scan.map_end = h.next_offset();
            return absl::OkStatus();
          }
          for (const auto& [key, offset] : keys) {
            if (!map->Put(key, offset)) {
              full = true;
              break;
            }
          }
          if (!full) scan.map_end = h.next_offset();
          return absl::OkStatus();
        });
    SPOOL_RETURN_IF_ERROR(s);
  }
  return scan;
}

absl::StatusOr<std::shared_ptr<Segment>> RewriteGroup(
    const RewriteInput& in, const CleanerControl& control,
    CompactionStats* stats) {
  const auto& segs = *in.segments;
  std::shared_ptr<Segment> out;
  if (!in.dry_run) {
    SPOOL_ASSIGN_OR_RETURN(
        out, Segment::CreateWithSuffix(in.ctx, segs[in.begin]->base_offset(),
                                       in.now, kCleanedSuffix));
  }
  int64_t written_end = segs[in.begin]->base_offset();
  std::optional<BatchHeader> last_dropped;
  auto write = [&](std::string_view bytes, const BatchHeader& h,
                   int64_t max_ts) -> absl::Status {
    Throttle(control, static_cast<int64_t>(bytes.size()));
    stats->bytes_after += static_cast<int64_t>(bytes.size());
    written_end = h.next_offset();
    last_dropped.reset();
    if (out == nullptr) return absl::OkStatus();
    return out->Append(bytes, h.last_offset(), max_ts);
  };
  absl::Status status;
  for (size_t i = in.begin; i < in.end && status.ok(); ++i) {
    status = ForEachBatch(
        *segs[i], control, [&](const RecordBatchView& b) -> absl::Status {
          const BatchHeader& h = b.header();
          if (h.is_control()) return write(b.bytes(), h, h.max_timestamp);
          const bool aborted = IsAborted(*in.aborted, h);
          // Kept tombstones get a delete horizon, stored as the batch's base
          // timestamp (Kafka's KIP-534 layout).
          SPOOL_ASSIGN_OR_RETURN(Filtered probe,
                                 FilterBatch(b, in, aborted, h.base_timestamp));
          stats->records_read += probe.kept + probe.removed;
          stats->records_removed += probe.removed;
          stats->tombstones_removed += probe.tombstones_removed;
          if (probe.removed == 0 && !probe.needs_horizon) {
            return write(b.bytes(), h, h.max_timestamp);
          }
          const bool protect =
              h.producer_id >= 0 &&
              in.producer_last_offsets->contains(h.last_offset());
          if (probe.kept == 0 && !protect) {
            last_dropped = h;
            return absl::OkStatus();
          }
          const bool needs_horizon = probe.needs_horizon;
          const bool horizon = needs_horizon || h.has_delete_horizon();
          int64_t base_ts = h.base_timestamp;
          Filtered f = std::move(probe);
          if (needs_horizon) {
            base_ts = in.delete_horizon_ms;
            SPOOL_ASSIGN_OR_RETURN(f, FilterBatch(b, in, aborted, base_ts));
          }
          SPOOL_ASSIGN_OR_RETURN(std::string rebuilt,
                                 RebuildBatch(h, f, base_ts, horizon));
          SPOOL_ASSIGN_OR_RETURN(BatchHeader nh, ParseBatchHeader(rebuilt));
          return write(rebuilt, nh, nh.max_timestamp);
        });
  }
  // The cleaned segment must end where the group ends (recovery relies on
  // it): keep the last batch's header if its records all went.
  if (status.ok() && written_end < in.group_end && last_dropped.has_value()) {
    Filtered none;
    absl::StatusOr<std::string> empty =
        RebuildBatch(*last_dropped, none, 0, false);
    status = empty.status();
    if (status.ok()) {
      status = write(*empty, *last_dropped, last_dropped->max_timestamp);
    }
  }
  if (status.ok() && out != nullptr) status = out->Seal(/*sync=*/true);
  if (!status.ok()) {
    if (out != nullptr) out->DeleteFiles().IgnoreError();  // best effort
    return status;
  }
  return out;
}

}  // namespace spool
