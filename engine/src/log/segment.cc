#include "log/segment.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "log/file_batch_reader.h"
#include "util/status_macros.h"
#include "util/strings.h"

namespace spool {
namespace {

constexpr size_t kLookupChunkBytes = 64 * 1024;
// FindPosition's reads: about an index interval (index_interval_bytes).
constexpr size_t kLookupWindowBytes = 4 * 1024;

// A status with the same code and a message that says where it happened.
absl::Status Annotate(const absl::Status& s, std::string_view context) {
  if (s.ok()) return s;
  return absl::Status(s.code(),
                      absl::StrFormat("%s: %s", context, s.message()));
}

// True if every byte of [from, to) in `file` is zero.
absl::StatusOr<bool> AllZero(const File& file, uint64_t from, uint64_t to) {
  std::string buf(std::min<uint64_t>(to - from, kLookupChunkBytes), '\0');
  for (uint64_t pos = from; pos < to;) {
    size_t want = std::min<uint64_t>(buf.size(), to - pos);
    SPOOL_ASSIGN_OR_RETURN(size_t n, file.Read(pos, want, buf.data()));
    if (n == 0) break;
    for (size_t i = 0; i < n; ++i) {
      if (buf[i] != 0) return false;
    }
    pos += n;
  }
  return true;
}

}  // namespace

std::string SegmentFileName(int64_t base_offset, std::string_view suffix) {
  return absl::StrFormat("%020d%s", base_offset, suffix);
}

std::optional<int64_t> ParseSegmentBaseOffset(std::string_view file_name) {
  size_t dot = file_name.find('.');
  if (dot == 0 || dot == std::string_view::npos) return std::nullopt;
  std::string_view digits = file_name.substr(0, dot);
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return std::nullopt;
    }
  }
  int64_t offset;
  if (!absl::SimpleAtoi(ToAbsl(digits), &offset)) return std::nullopt;
  return offset;
}

Segment::Segment(const SegmentContext& ctx, int64_t base_offset,
                 absl::Time created, std::string_view suffix)
    : ctx_(ctx),
      base_offset_(base_offset),
      created_(created),
      log_path_(JoinPath(ctx.dir, SegmentFileName(base_offset, kLogSuffix)) +
                std::string(suffix)),
      next_offset_(base_offset),
      offset_index_(
          ctx.fs,
          JoinPath(ctx.dir, SegmentFileName(base_offset, kIndexSuffix)) +
              std::string(suffix),
          base_offset, ctx.config->segment_index_bytes),
      time_index_(
          ctx.fs,
          JoinPath(ctx.dir, SegmentFileName(base_offset, kTimeIndexSuffix)) +
              std::string(suffix),
          base_offset, ctx.config->segment_index_bytes),
      offset_of_max_timestamp_(base_offset) {}

Segment::~Segment() {
  if (!delete_on_destruction_.load()) return;
  // Best effort: recovery removes any .deleted file left behind.
  DeleteFiles().IgnoreError();
}

absl::StatusOr<std::shared_ptr<Segment>> Segment::Create(
    const SegmentContext& ctx, int64_t base_offset, absl::Time now) {
  return CreateWithSuffix(ctx, base_offset, now, "");
}

absl::StatusOr<std::shared_ptr<Segment>> Segment::CreateWithSuffix(
    const SegmentContext& ctx, int64_t base_offset, absl::Time now,
    std::string_view suffix) {
  std::shared_ptr<Segment> seg(new Segment(ctx, base_offset, now, suffix));
  std::string path = seg->log_path();
  ctx.files->Evict(path);
  SPOOL_ASSIGN_OR_RETURN(
      auto file, ctx.fs->Open(path, {.create = true, .truncate = true}));
  SPOOL_RETURN_IF_ERROR(file->Close());
  SPOOL_RETURN_IF_ERROR(seg->offset_index_.file().CreateActive());
  SPOOL_RETURN_IF_ERROR(seg->time_index_.file().CreateActive());
  SPOOL_RETURN_IF_ERROR(seg->time_index_.RefreshLast());
  return seg;
}

absl::StatusOr<std::shared_ptr<Segment>> Segment::Open(
    const SegmentContext& ctx, int64_t base_offset, bool active,
    int64_t next_offset_hint) {
  std::shared_ptr<Segment> seg(new Segment(ctx, base_offset, absl::Now()));
  SPOOL_ASSIGN_OR_RETURN(FileInfo info, ctx.fs->Stat(seg->log_path()));
  seg->size_.store(info.size);
  seg->allocated_ = info.size;
  seg->next_offset_.store(std::max(base_offset, next_offset_hint));

  absl::Status index_status;
  if (active) {
    index_status = seg->offset_index_.file().LoadActive();
    if (index_status.ok()) index_status = seg->time_index_.file().LoadActive();
  } else {
    index_status = seg->offset_index_.file().OpenSealed();
    if (index_status.ok()) {
      index_status = seg->time_index_.file().OpenSealed();
    }
    seg->sealed_ = true;
  }
  if (index_status.ok()) index_status = seg->offset_index_.SanityCheck();
  if (index_status.ok()) index_status = seg->time_index_.SanityCheck();
  if (index_status.ok()) index_status = seg->time_index_.RefreshLast();
  if (index_status.ok() && active) {
    index_status = seg->LoadEndFromIndex(next_offset_hint);
  }
  if (!index_status.ok()) {
    // A missing or inconsistent index: rebuild it from the log.
    SPOOL_RETURN_IF_ERROR(seg->Recover().status());
    if (!active) SPOOL_RETURN_IF_ERROR(seg->Seal(/*sync=*/true));
    return seg;
  }
  if (!active) {
    SPOOL_ASSIGN_OR_RETURN(TimeIndex::Entry last, seg->time_index_.Last());
    seg->max_timestamp_.store(last.timestamp);
    seg->offset_of_max_timestamp_ = last.offset;
  }
  return seg;
}

absl::StatusOr<std::shared_ptr<Segment>> Segment::OpenAndRecover(
    const SegmentContext& ctx, int64_t base_offset, SegmentRecovery* out) {
  std::shared_ptr<Segment> seg(new Segment(ctx, base_offset, absl::Now()));
  SPOOL_ASSIGN_OR_RETURN(*out, seg->Recover());
  return seg;
}

// Finds the end offset of a trusted active segment: scan from the last
// offset-index entry to the end of the file.
absl::Status Segment::LoadEndFromIndex(int64_t next_offset_hint) {
  SPOOL_ASSIGN_OR_RETURN(OffsetIndex::Entry last, offset_index_.Last());
  SPOOL_ASSIGN_OR_RETURN(TimeIndex::Entry last_time, time_index_.Last());
  SPOOL_ASSIGN_OR_RETURN(auto file, LogFile());
  const uint64_t size = size_.load();
  FileBatchReader reader(
      *file, last.position, size,
      {.verify_crc = false, .chunk_bytes = kLookupChunkBytes});
  ScannedBatch b;
  int64_t next = std::max(base_offset_, next_offset_hint);
  int64_t max_ts = last_time.timestamp;
  int64_t offset_of_max = last_time.offset;
  while (reader.Next(&b)) {
    const BatchHeader& h = b.batch.header();
    next = h.next_offset();
    if (h.max_timestamp > max_ts) {
      max_ts = h.max_timestamp;
      offset_of_max = h.last_offset();
    }
  }
  if (reader.stop() != FileBatchReader::Stop::kEnd) {
    return absl::DataLossError(
        absl::StrFormat("%s: trusted segment does not end cleanly at %d: %s",
                        log_path(), size, reader.status().message()));
  }
  next_offset_.store(next);
  max_timestamp_.store(max_ts);
  offset_of_max_timestamp_ = offset_of_max;
  return absl::OkStatus();
}

std::string Segment::log_path() const {
  MutexLock lock(&path_mu_);
  return log_path_;
}

absl::StatusOr<std::shared_ptr<File>> Segment::LogFile() const {
  // Opened under path_mu_: a rename cannot slip between reading the name
  // and opening it.
  MutexLock lock(&path_mu_);
  return ctx_.files->Get(log_path_, {});
}

bool Segment::ShouldRoll(int64_t batch_bytes, int64_t last_offset,
                         absl::Time now) const {
  const int64_t size = static_cast<int64_t>(size_.load());
  if (size > 0 && size > ctx_.config->segment_bytes - batch_bytes) return true;
  if (size > 0 && now - created_ > ctx_.config->segment_age) return true;
  if (offset_index_.full() || time_index_.full()) return true;
  return last_offset - base_offset_ > std::numeric_limits<int32_t>::max();
}

void Segment::AddIndexEntriesBefore(uint64_t position, int64_t batch_bytes,
                                    int64_t last_offset,
                                    int64_t max_timestamp) {
  if (max_timestamp > max_timestamp_.load(std::memory_order_relaxed)) {
    max_timestamp_.store(max_timestamp, std::memory_order_release);
    offset_of_max_timestamp_ = last_offset;
  }
  if (bytes_since_index_entry_ > ctx_.config->index_interval_bytes) {
    offset_index_.Append(last_offset, static_cast<uint32_t>(position));
    time_index_.MaybeAppend(max_timestamp_.load(std::memory_order_relaxed),
                            offset_of_max_timestamp_);
    bytes_since_index_entry_ = 0;
  }
  bytes_since_index_entry_ += batch_bytes;
}

absl::Status Segment::Append(std::string_view batch, int64_t last_offset,
                             int64_t max_timestamp) {
  const uint64_t pos = size_.load(std::memory_order_relaxed);
  SPOOL_ASSIGN_OR_RETURN(auto file, LogFile());
  absl::Status s = file->Write(pos, batch);
  if (!s.ok()) {
    // Leave no partial batch behind for readers of the file's size; if this
    // fails too, recovery will drop the partial batch.
    if (file->Truncate(pos).ok()) allocated_ = pos;
    return Annotate(s, absl::StrFormat("appending %d bytes to %s at %d",
                                       batch.size(), file->path(), pos));
  }
  const uint64_t end = pos + batch.size();
  allocated_ = std::max(allocated_, end);
  PreallocateAfter(*file, end);
  AddIndexEntriesBefore(pos, static_cast<int64_t>(batch.size()), last_offset,
                        max_timestamp);
  next_offset_.store(last_offset + 1, std::memory_order_release);
  size_.store(end, std::memory_order_release);
  return absl::OkStatus();
}

void Segment::PreallocateAfter(File& file, uint64_t end) {
  const auto ahead = static_cast<uint64_t>(ctx_.config->preallocate_bytes);
  // Only where something fdatasyncs the log: with kNone the zeros would be
  // written to the page cache for nothing. Refill once less than half of
  // the window is left, up to the segment's size limit.
  if (ahead == 0 || ctx_.config->durability == Durability::kNone ||
      allocated_ >= end + ahead / 2) {
    return;
  }
  const uint64_t target = std::min<uint64_t>(
      end + ahead, std::max<uint64_t>(
                       static_cast<uint64_t>(ctx_.config->segment_bytes), end));
  static const std::string* const kZeros =
      new std::string(size_t{1} << 20, '\0');
  uint64_t at = allocated_;
  while (at < target) {
    const size_t n =
        static_cast<size_t>(std::min<uint64_t>(target - at, kZeros->size()));
    // A failure (say ENOSPC) only means less is preallocated: the data
    // write that needs the space reports it.
    if (!file.Write(at, std::string_view(*kZeros).substr(0, n)).ok()) break;
    at += n;
  }
  allocated_ = at;
}

absl::Status Segment::TrimPreallocated() {
  const uint64_t size = size_.load();
  SPOOL_ASSIGN_OR_RETURN(auto file, LogFile());
  // The file's own size decides, not allocated_: a write that failed part
  // way (ENOSPC after a short pwrite, a torn write) still extended the file
  // past what allocated_ records — PreallocateAfter keeps allocated_ at the
  // start of the write that failed, and Append's truncate-back may fail
  // too. Sealing such a file as is would publish those bytes below the
  // size a later Open() takes from the file system.
  SPOOL_ASSIGN_OR_RETURN(uint64_t file_size, file->Size());
  if (file_size > size) SPOOL_RETURN_IF_ERROR(file->Truncate(size));
  allocated_ = size;
  return absl::OkStatus();
}

absl::Status Segment::FlushIndexes() {
  SPOOL_RETURN_IF_ERROR(offset_index_.file().Flush());
  return time_index_.file().Flush();
}

absl::Status Segment::SyncLog() {
  SPOOL_ASSIGN_OR_RETURN(auto file, LogFile());
  return file->Sync();
}

absl::Status Segment::SyncFiles() {
  SPOOL_RETURN_IF_ERROR(SyncLog());
  SPOOL_RETURN_IF_ERROR(offset_index_.file().Sync());
  return time_index_.file().Sync();
}

absl::Status Segment::Seal(bool sync) {
  if (sealed_) return absl::OkStatus();
  int64_t max_ts = max_timestamp_.load();
  if (max_ts >= 0) {
    time_index_.MaybeAppend(max_ts, offset_of_max_timestamp_,
                            /*skip_full_check=*/true);
  }
  SPOOL_RETURN_IF_ERROR(TrimPreallocated());
  SPOOL_RETURN_IF_ERROR(offset_index_.file().Seal(sync));
  SPOOL_RETURN_IF_ERROR(time_index_.file().Seal(sync));
  if (sync) SPOOL_RETURN_IF_ERROR(SyncLog());
  sealed_ = true;
  return absl::OkStatus();
}

absl::Status Segment::ResetIndexes() {
  SPOOL_RETURN_IF_ERROR(offset_index_.file().CreateActive());
  SPOOL_RETURN_IF_ERROR(time_index_.file().CreateActive());
  SPOOL_RETURN_IF_ERROR(time_index_.RefreshLast());
  max_timestamp_.store(-1);
  offset_of_max_timestamp_ = base_offset_;
  bytes_since_index_entry_ = 0;
  sealed_ = false;
  return absl::OkStatus();
}

absl::StatusOr<SegmentRecovery> Segment::Recover() {
  SPOOL_RETURN_IF_ERROR(ResetIndexes());
  SPOOL_ASSIGN_OR_RETURN(auto file, LogFile());
  SPOOL_ASSIGN_OR_RETURN(uint64_t file_size, file->Size());
  FileBatchReader reader(
      *file, 0, file_size,
      {.max_batch_bytes = static_cast<size_t>(
           std::max(ctx_.config->max_batch_bytes, 1 << 20) * 2)});
  SegmentRecovery r;
  int64_t next = base_offset_;
  uint64_t valid = 0;
  ScannedBatch b;
  while (reader.Next(&b)) {
    const BatchHeader& h = b.batch.header();
    if (h.base_offset < next || h.last_offset_delta < 0) {
      r.stop_reason = absl::DataLossError(absl::StrFormat(
          "batch at position %d has offsets [%d, %d] but the log is already "
          "at %d",
          b.position, h.base_offset, h.last_offset(), next));
      break;
    }
    if (h.last_offset() - base_offset_ > std::numeric_limits<int32_t>::max()) {
      r.stop_reason = absl::DataLossError(absl::StrFormat(
          "batch at position %d: offset %d is too far from base offset %d",
          b.position, h.last_offset(), base_offset_));
      break;
    }
    AddIndexEntriesBefore(b.position, b.batch.size_bytes(), h.last_offset(),
                          h.max_timestamp);
    next = h.next_offset();
    valid = b.position + b.batch.size_bytes();
    ++r.batches;
  }
  if (r.stop_reason.ok() && reader.stop() != FileBatchReader::Stop::kEnd) {
    r.stop_reason = reader.status();
  }
  r.valid_bytes = valid;
  r.truncated_bytes = file_size - valid;
  r.next_offset = next;
  if (valid < file_size) {
    SPOOL_ASSIGN_OR_RETURN(r.zero_tail, AllZero(*file, valid, file_size));
    SPOOL_RETURN_IF_ERROR(file->Truncate(valid));
    SPOOL_RETURN_IF_ERROR(file->Sync());
  }
  r.stop_reason = Annotate(r.stop_reason, log_path());
  next_offset_.store(next);
  size_.store(valid);
  allocated_ = valid;
  return r;
}

absl::Status Segment::TruncateTo(int64_t offset) {
  // Remembered positions past the new end would point into batches
  // appended later: forget them now, and again once the new size is
  // published (on every path out). A read that races the truncation may
  // remember a position meanwhile, found in the old bytes; the second
  // epoch refuses it, and the second clearing drops one remembered before.
  ForgetPositions();
  absl::Cleanup forget = [this] { ForgetPositions(); };
  uint64_t size = size_.load();
  SPOOL_ASSIGN_OR_RETURN(uint64_t pos, FindPosition(offset, size));
  // Nothing to remove from an active segment: done. A sealed one is made
  // active again below, since it becomes the last segment.
  if (pos >= size && !sealed_) return absl::OkStatus();
  SPOOL_ASSIGN_OR_RETURN(auto file, LogFile());
  if (pos < size) {
    SPOOL_RETURN_IF_ERROR(file->Truncate(pos));
    SPOOL_RETURN_IF_ERROR(file->Sync());
  }
  // Rebuild the indexes and the end state from what is left.
  SPOOL_ASSIGN_OR_RETURN(SegmentRecovery r, Recover());
  if (r.truncated_bytes > 0) {
    return absl::DataLossError(absl::StrFormat(
        "%s: found corruption while truncating to offset %d: %s", log_path(),
        offset, r.stop_reason.message()));
  }
  return absl::OkStatus();
}

void Segment::ForgetPositions() {
  MutexLock lock(&known_mu_);
  position_epoch_.fetch_add(1, std::memory_order_release);
  known_.fill({});
}

void Segment::RememberPosition(int64_t offset, uint64_t position,
                               uint64_t epoch) const {
  MutexLock lock(&known_mu_);
  if (epoch != position_epoch_.load(std::memory_order_relaxed)) return;
  for (const KnownPosition& k : known_) {
    if (k.offset == offset) return;
  }
  known_[known_next_] = {.offset = offset, .position = position};
  known_next_ = (known_next_ + 1) % kKnownPositions;
}

absl::StatusOr<uint64_t> Segment::FindPosition(int64_t target,
                                               uint64_t limit) const {
  {
    MutexLock lock(&known_mu_);
    for (const KnownPosition& k : known_) {
      if (k.offset == target && k.position <= limit) {
        remembered_hits_.fetch_add(1, std::memory_order_relaxed);
        return k.position;
      }
    }
  }
  SPOOL_ASSIGN_OR_RETURN(OffsetIndex::Entry entry,
                         offset_index_.Lookup(target));
  if (entry.position >= limit) return limit;
  SPOOL_ASSIGN_OR_RETURN(auto file, LogFile());
  // Only batch headers are needed, and the index entry is at most about
  // an index interval before the batch sought: read a small window of
  // the file, and past a batch that does not fit in it, the next header.
  // The headers get the framing checks a scan makes (a torn tail ends the
  // search); CRCs are the reader's business.
  const size_t max_batch_bytes = FileBatchReader::Options().max_batch_bytes;
  auto where = [&] { return absl::StrFormat("looking up offset %d", target); };
  std::string window;
  uint64_t window_start = 0;
  for (uint64_t pos = entry.position; pos < limit;) {
    const uint64_t header_end =
        std::min<uint64_t>(pos + kBatchHeaderSize, limit);
    if (pos < window_start || header_end > window_start + window.size()) {
      const size_t want = std::min<uint64_t>(limit - pos, kLookupWindowBytes);
      window.resize(want);
      absl::StatusOr<size_t> got = file->Read(pos, want, window.data());
      if (!got.ok()) return Annotate(got.status(), where());
      window.resize(*got);
      window_start = pos;
    }
    auto corrupt = [&](absl::string_view why) {
      return absl::DataLossError(absl::StrFormat(
          "%s: %s: batch at position %u: %s", log_path(), where(), pos, why));
    };
    absl::StatusOr<BatchHeader> h = ParseBatchHeader(
        std::string_view(window).substr(pos - window_start, header_end - pos));
    if (absl::IsOutOfRange(h.status())) return limit;  // a torn tail
    if (!h.ok()) return corrupt(h.status().message());
    const uint64_t size = static_cast<uint64_t>(h->size_bytes());
    if (pos + size > limit) return limit;  // a torn tail
    if (size > max_batch_bytes) {
      return corrupt(absl::StrFormat("batchLength %d is over the limit of %u",
                                     h->batch_length, max_batch_bytes));
    }
    if (h->last_offset() >= target) return pos;
    pos += size;
  }
  return limit;
}

absl::StatusOr<std::optional<int64_t>> Segment::FindOffsetForTimestamp(
    int64_t ts, uint64_t limit) const {
  SPOOL_ASSIGN_OR_RETURN(TimeIndex::Entry t, time_index_.Lookup(ts));
  SPOOL_ASSIGN_OR_RETURN(OffsetIndex::Entry o, offset_index_.Lookup(t.offset));
  SPOOL_ASSIGN_OR_RETURN(auto file, LogFile());
  FileBatchReader reader(
      *file, std::min<uint64_t>(o.position, limit), limit,
      {.verify_crc = false, .chunk_bytes = kLookupChunkBytes});
  ScannedBatch b;
  while (reader.Next(&b)) {
    if (b.batch.header().max_timestamp < ts) continue;
    RecordIterator it(b.batch);
    RecordView r;
    while (it.Next(&r)) {
      if (r.timestamp >= ts) return std::optional<int64_t>(r.offset);
    }
    SPOOL_RETURN_IF_ERROR(Annotate(
        it.status(),
        absl::StrFormat("%s: batch at position %d", log_path(), b.position)));
  }
  if (reader.stop() == FileBatchReader::Stop::kIoError ||
      reader.stop() == FileBatchReader::Stop::kCorrupt) {
    return reader.status();
  }
  return std::optional<int64_t>();
}

absl::Status Segment::RenameWithSuffix(std::string_view suffix) {
  std::string actual(suffix);
  if (suffix == kDeletedSuffix) {
    // Unique, so that a segment deleted while a reader still holds an
    // older segment of the same base offset (one compaction replaced)
    // never takes, or removes, that one's files: "<name>.<n>.deleted".
    static std::atomic<uint64_t> next_deletion{0};
    actual = absl::StrFormat(".%d%s", next_deletion.fetch_add(1), suffix);
  }
  {
    // Under path_mu_ so that LogFile() never opens the old name after the
    // rename (a new file may take that name: a compaction swap).
    MutexLock lock(&path_mu_);
    std::string old_path = log_path_;
    std::string new_path = old_path + actual;
    SPOOL_RETURN_IF_ERROR(ctx_.fs->Rename(old_path, new_path));
    ctx_.files->Evict(old_path);
    log_path_ = new_path;
  }
  SPOOL_RETURN_IF_ERROR(
      offset_index_.file().Rename(offset_index_.file().path() + actual));
  return time_index_.file().Rename(time_index_.file().path() + actual);
}

absl::Status Segment::RenameIndexesToSuffix(std::string_view suffix) {
  SPOOL_RETURN_IF_ERROR(offset_index_.file().Rename(
      JoinPath(ctx_.dir, SegmentFileName(base_offset_, kIndexSuffix)) +
      std::string(suffix)));
  return time_index_.file().Rename(
      JoinPath(ctx_.dir, SegmentFileName(base_offset_, kTimeIndexSuffix)) +
      std::string(suffix));
}

absl::Status Segment::RenameLogToSuffix(std::string_view suffix) {
  MutexLock lock(&path_mu_);
  std::string old_path = log_path_;
  std::string new_path =
      JoinPath(ctx_.dir, SegmentFileName(base_offset_, kLogSuffix)) +
      std::string(suffix);
  // Neither name may serve a stale cached handle afterwards.
  ctx_.files->Evict(old_path);
  ctx_.files->Evict(new_path);
  SPOOL_RETURN_IF_ERROR(ctx_.fs->Rename(old_path, new_path));
  ctx_.files->Evict(new_path);
  log_path_ = new_path;
  return absl::OkStatus();
}

absl::Status Segment::DeleteFiles() {
  std::string path = log_path();
  ctx_.files->Evict(path);
  absl::Status s = ctx_.fs->Remove(path);
  if (!s.ok() && !absl::IsNotFound(s)) return s;
  SPOOL_RETURN_IF_ERROR(offset_index_.file().Delete());
  return time_index_.file().Delete();
}

}  // namespace spool
