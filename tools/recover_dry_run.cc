// DryRunRecovery: replays PartitionLog::Open's recovery decisions
// (engine/src/log/partition_log_recovery.cc, Segment::Recover) read-only.

#include <algorithm>
#include <limits>

#include "absl/strings/str_format.h"
#include "log/file_batch_reader.h"
#include "tools/path_kind.h"
#include "tools/recover.h"
#include "util/status_macros.h"

namespace spool::cli {
namespace {

struct DrySegment {
  int64_t base = 0;
  std::string log;
};

struct ScanOutcome {
  uint64_t size = 0;
  uint64_t valid = 0;
  int64_t next = 0;
  std::string reason;
  bool zero_tail = false;
};

absl::StatusOr<bool> AllZero(const File& file, uint64_t from, uint64_t to) {
  std::string buf(std::min<uint64_t>(to - from, 64 * 1024), '\0');
  for (uint64_t pos = from; pos < to;) {
    SPOOL_ASSIGN_OR_RETURN(
        size_t n,
        file.Read(pos, std::min<uint64_t>(buf.size(), to - pos), buf.data()));
    if (n == 0) break;
    if (std::any_of(buf.begin(), buf.begin() + n, [](char c) { return c; })) {
      return false;
    }
    pos += n;
  }
  return true;
}

// Segment::Recover's scan, without truncating or indexing.
absl::StatusOr<ScanOutcome> ScanLikeRecover(FileSystem* fs,
                                            const DrySegment& seg,
                                            const LogConfig& config) {
  SPOOL_ASSIGN_OR_RETURN(auto file, fs->Open(seg.log, {.read_only = true}));
  ScanOutcome out;
  SPOOL_ASSIGN_OR_RETURN(out.size, file->Size());
  FileBatchReader reader(*file, 0, out.size,
                         {.max_batch_bytes = static_cast<size_t>(
                              std::max(config.max_batch_bytes, 1 << 20) * 2)});
  out.next = seg.base;
  ScannedBatch b;
  while (reader.Next(&b)) {
    const BatchHeader& h = b.batch.header();
    if (h.base_offset < out.next) {
      out.reason = absl::StrFormat(
          "batch at position %d has offsets [%d, %d] but the log is already "
          "at %d",
          b.position, h.base_offset, h.last_offset(), out.next);
      break;
    }
    if (h.last_offset() - seg.base > std::numeric_limits<int32_t>::max()) {
      out.reason = absl::StrFormat(
          "batch at position %d: offset %d is too far from base offset %d",
          b.position, h.last_offset(), seg.base);
      break;
    }
    out.next = h.next_offset();
    out.valid = b.position + b.batch.size_bytes();
  }
  if (reader.stop() == FileBatchReader::Stop::kIoError) return reader.status();
  if (out.reason.empty() && reader.stop() != FileBatchReader::Stop::kEnd) {
    out.reason = std::string(reader.status().message());
  }
  out.reason = absl::StrFormat("%s: %s", seg.log, out.reason);
  if (out.valid < out.size) {
    SPOOL_ASSIGN_OR_RETURN(out.zero_tail, AllZero(*file, out.valid, out.size));
  }
  return out;
}

// The next offset of a complete .swap log, as the engine computes it.
absl::StatusOr<int64_t> SwapNextOffset(FileSystem* fs, const DrySegment& seg) {
  SPOOL_ASSIGN_OR_RETURN(ScanOutcome o, ScanLikeRecover(fs, seg, LogConfig()));
  return o.next;
}

// Leftovers: *.deleted, *.cleaned, *.tmp go; a set of *.swap files replaces
// the segments in its offset range; index files without a .log go.
absl::StatusOr<std::vector<DrySegment>> ResolveLeftovers(
    FileSystem* fs, const PartitionListing& l, RecoveryReport* r) {
  std::vector<DrySegment> segs;
  for (const SegmentFiles& s : l.segments)
    segs.push_back({s.base_offset, s.log});
  int64_t lo = -1, hi = -1;
  std::vector<DrySegment> swapped;
  for (const std::string& path : l.leftovers) {
    std::string_view name = BaseName(path);
    if (!name.ends_with(".swap")) {
      r->removed_files.push_back(std::string(name));
      continue;
    }
    std::optional<int64_t> base = ParseSegmentBaseOffset(name);
    if (!base.has_value() || !name.ends_with(".log.swap")) continue;
    SPOOL_ASSIGN_OR_RETURN(int64_t next, SwapNextOffset(fs, {*base, path}));
    lo = lo < 0 ? *base : std::min(lo, *base);
    hi = std::max(hi, next);
    swapped.push_back({*base, path});
  }
  if (!swapped.empty()) {
    std::vector<DrySegment> kept;
    for (const DrySegment& s : segs) {
      if (s.base >= lo && s.base < hi) {
        r->removed_files.push_back(std::string(BaseName(s.log)));
      } else {
        kept.push_back(s);
      }
    }
    kept.insert(kept.end(), swapped.begin(), swapped.end());
    std::sort(kept.begin(), kept.end(),
              [](const auto& a, const auto& b) { return a.base < b.base; });
    segs = std::move(kept);
  }
  for (const std::string& path : l.orphan_indexes) {
    r->removed_files.push_back(std::string(BaseName(path)));
  }
  return segs;
}

void RemoveLater(const std::vector<DrySegment>& segs, size_t from,
                 RecoveryReport* r) {
  for (size_t j = from; j < segs.size(); ++j) {
    for (std::string_view suffix :
         {kLogSuffix, kIndexSuffix, kTimeIndexSuffix}) {
      r->removed_files.push_back(SegmentFileName(segs[j].base, suffix));
    }
  }
}

// OpenSegments: trusted segments are loaded, the rest scanned; the first
// truncation removes every later segment. Returns the segments kept and
// sets *end.
absl::StatusOr<std::vector<DrySegment>> ReplayOpenSegments(
    FileSystem* fs, std::vector<DrySegment> segs, const RecoverTarget& t,
    const LogConfig& config, RecoveryReport* r, int64_t* end) {
  for (size_t i = 0; i < segs.size(); ++i) {
    const bool last = i + 1 == segs.size();
    if (!last && segs[i + 1].base <= t.recovery_point) {
      ++r->segments_loaded;
      *end = segs[i + 1].base;
      continue;
    }
    SPOOL_ASSIGN_OR_RETURN(ScanOutcome o, ScanLikeRecover(fs, segs[i], config));
    ++r->segments_scanned;
    r->bytes_scanned += o.size;
    *end = o.next;
    if (o.valid < o.size) {
      r->truncations.push_back({segs[i].log, o.valid, o.size - o.valid, o.next,
                                o.reason, o.zero_tail});
      if (!last) {
        RemoveLater(segs, i + 1, r);
        segs.resize(i + 1);
        break;
      }
    }
  }
  if (segs.empty()) *end = t.log_start_offset;
  return segs;
}

}  // namespace

absl::StatusOr<RecoveryReport> DryRunRecovery(FileSystem* fs,
                                              const RecoverTarget& target,
                                              const LogConfig& config) {
  RecoveryReport r;
  r.clean_shutdown = false;
  r.recovery_point = target.recovery_point;
  SPOOL_ASSIGN_OR_RETURN(PartitionListing l, ListPartition(fs, target.dir));
  SPOOL_ASSIGN_OR_RETURN(std::vector<DrySegment> segs,
                         ResolveLeftovers(fs, l, &r));
  int64_t end = 0;
  SPOOL_ASSIGN_OR_RETURN(
      segs, ReplayOpenSegments(fs, std::move(segs), target, config, &r, &end));
  int64_t start = segs.empty()
                      ? target.log_start_offset
                      : std::max(target.log_start_offset, segs.front().base);
  if (end < target.log_start_offset) {
    for (const DrySegment& s : segs) {
      r.removed_files.push_back(std::string(BaseName(s.log)));
    }
    start = end = target.log_start_offset;
  } else {
    for (size_t i = 0; i + 1 < segs.size() && segs[i + 1].base <= start; ++i) {
      r.removed_files.push_back(std::string(BaseName(segs[i].log)));
    }
  }
  r.log_start_offset = start;
  r.log_end_offset = end;
  return r;
}

}  // namespace spool::cli
