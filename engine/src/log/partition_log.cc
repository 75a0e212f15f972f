// PartitionLog: lifecycle, appends, durability and segment management.
// Reads are in partition_log_read.cc, recovery in partition_log_recovery.cc.

#include "log/partition_log.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "format/batch_internal.h"
#include "format/record_skim.h"
#include "util/status_macros.h"

namespace spool {
namespace {

constexpr size_t kDefaultOpenFiles = 64;

}  // namespace

absl::Status LogConfig::Validate() const {
  auto bad = [](std::string_view field, const auto& value,
                std::string_view rule) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "invalid log config: %s = %s; %s", field, absl::StrCat(value), rule));
  };
  if (segment_bytes < 1024 ||
      segment_bytes > std::numeric_limits<int32_t>::max()) {
    return bad("segment_bytes", segment_bytes, "must be in [1024, 2147483647]");
  }
  if (segment_age <= absl::ZeroDuration()) {
    return bad("segment_age", absl::FormatDuration(segment_age),
               "must be positive");
  }
  if (segment_index_bytes < 4 * 12) {
    return bad("segment_index_bytes", segment_index_bytes, "must be >= 48");
  }
  if (index_interval_bytes < 0) {
    return bad("index_interval_bytes", index_interval_bytes, "must be >= 0");
  }
  if (max_batch_bytes < kBatchHeaderSize || max_batch_bytes > segment_bytes) {
    return bad("max_batch_bytes", max_batch_bytes,
               absl::StrFormat("must be in [%d, segment_bytes = %d]",
                               kBatchHeaderSize, segment_bytes));
  }
  if (preallocate_bytes < 0) {
    return bad("preallocate_bytes", preallocate_bytes, "must be >= 0");
  }
  if (flush_interval <= absl::ZeroDuration()) {
    return bad("flush_interval", absl::FormatDuration(flush_interval),
               "must be positive");
  }
  if (flush_records <= 0) {
    return bad("flush_records", flush_records, "must be positive");
  }
  return absl::OkStatus();
}

std::string_view DurabilityName(Durability d) {
  switch (d) {
    case Durability::kNone:
      return "none";
    case Durability::kInterval:
      return "interval";
    case Durability::kSync:
      return "sync";
  }
  return "unknown";
}

std::optional<Durability> ParseDurability(std::string_view name) {
  if (name == "none") return Durability::kNone;
  if (name == "interval") return Durability::kInterval;
  if (name == "sync") return Durability::kSync;
  return std::nullopt;
}

PartitionLog::PartitionLog(PartitionLogOptions options)
    : dir_(options.dir),
      config_(options.config),
      fs_(options.fs != nullptr ? options.fs : FileSystem::Default()),
      clock_(options.clock != nullptr ? options.clock : Clock::Real()),
      fsync_seconds_(options.fsync_seconds),
      persist_log_start_(std::move(options.persist_log_start)) {
  if (options.files == nullptr) {
    owned_files_ = std::make_unique<FileCache>(fs_, kDefaultOpenFiles);
    options.files = owned_files_.get();
  }
  ctx_ = SegmentContext{fs_, options.files, dir_, &config_};
  segments_ = std::make_shared<const SegmentList>();
}

PartitionLog::~PartitionLog() { Close().IgnoreError(); }

absl::StatusOr<std::unique_ptr<PartitionLog>> PartitionLog::Open(
    PartitionLogOptions options, RecoveryReport* report) {
  SPOOL_RETURN_IF_ERROR(options.config.Validate());
  RecoveryReport local;
  if (report == nullptr) report = &local;
  *report = RecoveryReport();
  int64_t recovery_point = options.recovery_point;
  int64_t log_start = options.log_start_offset;
  bool clean = options.clean_shutdown;
  std::unique_ptr<PartitionLog> log(new PartitionLog(std::move(options)));
  log->log_start_offset_.store(std::max<int64_t>(log_start, 0));
  log->durable_offset_.store(std::max<int64_t>(recovery_point, 0));
  report->clean_shutdown = clean;
  report->recovery_point = recovery_point;
  SPOOL_RETURN_IF_ERROR(log->Load(report));
  return log;
}

absl::Status PartitionLog::Close() {
  closing_.store(true);
  {
    MutexLock lock(&data_mu_);  // wake long-pollers
    data_cv_.SignalAll();
  }
  MutexLock lock(&append_mu_);
  if (closed_) return absl::OkStatus();
  closed_ = true;
  auto segs = snapshot();
  if (segs->empty()) return absl::OkStatus();
  const std::shared_ptr<Segment>& active = segs->back();
  absl::Status s = SyncFailure();
  if (s.ok()) s = active->Seal(/*sync=*/true);
  if (s.ok()) durable_offset_.store(log_end_offset_.load());
  if (s.ok()) s = WriteProducerSnapshotLocked(log_end_offset_.load());
  return s;
}

void PartitionLog::SetSegments(SegmentList segments) {
  auto list = std::make_shared<const SegmentList>(std::move(segments));
  MutexLock lock(&segments_mu_);
  segments_ = std::move(list);
}

std::shared_ptr<const PartitionLog::SegmentList> PartitionLog::snapshot()
    const {
  MutexLock lock(&segments_mu_);
  return segments_;
}

std::vector<std::shared_ptr<Segment>> PartitionLog::Segments() const {
  return *snapshot();
}

// Checks done before taking the append lock, so concurrent appenders to one
// partition validate in parallel. Computes the true max timestamp.
absl::Status PartitionLog::ValidateForAppend(
    const RecordBatchView& batch, const LogAppendOptions& options,
    int64_t* max_timestamp,
    std::vector<std::optional<std::string>>* dedup_ids) const {
  const BatchHeader& h = batch.header();
  if (batch.size_bytes() > config_.max_batch_bytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: batch of %d bytes exceeds the maximum batch size %d", dir_,
        batch.size_bytes(), config_.max_batch_bytes));
  }
  if (options.assign_offsets) {
    if (h.is_control() || h.is_transactional()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: control and transactional batches can only be appended with "
          "their own offsets",
          dir_));
    }
    if (h.records_count <= 0 || h.last_offset_delta + 1 != h.records_count) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: batch has %d records but lastOffsetDelta %d; a produced batch "
          "needs records = lastOffsetDelta + 1 > 0",
          dir_, h.records_count, h.last_offset_delta));
    }
  }
  SPOOL_RETURN_IF_ERROR(batch.VerifyCrc());
  bool skim_rejected = false;
  if (dedup_ids == nullptr && h.compression() == Compression::kNone) {
    // The common case: a skim over the record lengths that accepts exactly
    // what the loop below accepts, without building a RecordView per
    // record. On rejection the loop runs to name the error.
    SkimResult skim;
    if (SkimRecords(
            batch,
            {.consecutive_deltas = options.assign_offsets,
             .require_keys = options.assign_offsets && config_.require_keys},
            &skim)) {
      *max_timestamp = h.timestamp_type() == TimestampType::kLogAppendTime
                           ? h.max_timestamp
                           : skim.max_timestamp;
      return absl::OkStatus();
    }
    skim_rejected = true;
  }
  DecodeOptions decode;
  decode.verify_crc = false;  // just checked
  RecordIterator it(batch, decode);
  RecordView r;
  int64_t max_ts = -1;
  int32_t expected_delta = 0;
  while (it.Next(&r)) {
    if (options.assign_offsets && r.offset_delta != expected_delta) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: record %d has offset delta %d; produced batches need "
          "consecutive deltas from 0",
          dir_, expected_delta, r.offset_delta));
    }
    if (options.assign_offsets && config_.require_keys && !r.key.has_value()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: record %d of the batch has no key; a compacted topic "
          "(cleanup.policy compact) needs a key on every record",
          dir_, expected_delta));
    }
    ++expected_delta;
    max_ts = std::max(max_ts, r.timestamp);
    if (dedup_ids != nullptr) {
      std::optional<std::string> id;
      for (const HeaderView& hd : r.headers) {
        if (hd.key == config_.dedup_header && hd.value.has_value()) {
          id = std::string(*hd.value);
        }
      }
      dedup_ids->push_back(std::move(id));
    }
  }
  if (!it.status().ok()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: invalid batch: %s", dir_, it.status().message()));
  }
  if (skim_rejected) {
    // Never expected: the two checks disagree. Refuse the batch anyway.
    return absl::InternalError(absl::StrFormat(
        "%s: batch at base offset %d rejected by the record skim but "
        "accepted by the full decoder",
        dir_, h.base_offset));
  }
  *max_timestamp = h.timestamp_type() == TimestampType::kLogAppendTime
                       ? h.max_timestamp
                       : max_ts;
  return absl::OkStatus();
}

absl::StatusOr<LogAppendResult> PartitionLog::Append(
    std::string batch, const LogAppendOptions& options) {
  SPOOL_ASSIGN_OR_RETURN(RecordBatchView view, RecordBatchView::Parse(batch));
  if (view.size_bytes() != static_cast<int64_t>(batch.size())) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: append takes exactly one batch; got %d bytes after a batch of %d",
        dir_, batch.size() - view.size_bytes(), view.size_bytes()));
  }
  int64_t max_ts = -1;
  std::vector<std::optional<std::string>> ids;
  const bool dedup = !config_.dedup_header.empty() && options.assign_offsets;
  SPOOL_RETURN_IF_ERROR(
      ValidateForAppend(view, options, &max_ts, dedup ? &ids : nullptr));
  const Durability durability = options.durability.value_or(config_.durability);
  BatchHeader h = view.header();
  LogAppendResult result;
  {
    MutexLock lock(&append_mu_);
    if (closed_) {
      return absl::FailedPreconditionError(
          absl::StrFormat("%s: log is closed", dir_));
    }
    SPOOL_RETURN_IF_ERROR(SyncFailure());
    SPOOL_ASSIGN_OR_RETURN(
        bool answered,
        CheckDuplicatesLocked(&batch, &h, &max_ts, ids, options, &result));
    if (!answered) {
      SPOOL_RETURN_IF_ERROR(AppendLocked(&batch, &h, max_ts, options, &result));
      RememberAppendLocked(h, ids, &result);
    }
  }
  if (durability == Durability::kSync) {
    SPOOL_RETURN_IF_ERROR(WaitDurable(result.last_offset + 1));
  }
  result.durable = durable_offset_.load() > result.last_offset;
  return result;
}

absl::Status PartitionLog::AppendLocked(std::string* batch, BatchHeader* h,
                                        int64_t max_ts,
                                        const LogAppendOptions& options,
                                        LogAppendResult* result) {
  const int64_t end = log_end_offset_.load();
  int64_t base = end;
  if (!options.assign_offsets) {
    if (h->base_offset < end) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: batch base offset %d is below the log end offset %d", dir_,
          h->base_offset, end));
    }
    base = h->base_offset;
  }
  SetBaseOffset(batch->data(), base);
  h->base_offset = base;
  if (options.leader_epoch >= 0) {
    SetPartitionLeaderEpoch(batch->data(), options.leader_epoch);
  }
  if (config_.timestamp_type == TimestampType::kLogAppendTime &&
      options.assign_offsets) {
    max_ts = clock_->NowMillis();
    SetLogAppendTime(batch->data(), batch->size(), max_ts);
    result->log_append_time = max_ts;
  } else if (max_ts != h->max_timestamp &&
             h->timestamp_type() == TimestampType::kCreateTime) {
    SetMaxTimestamp(batch->data(), batch->size(), max_ts);
  }
  h->max_timestamp = max_ts;
  const int64_t last = base + h->last_offset_delta;
  auto segs = snapshot();
  const Segment* active = segs->back().get();
  const int64_t size = static_cast<int64_t>(batch->size());
  if (active->sealed() || active->ShouldRoll(size, last, clock_->Now())) {
    SPOOL_RETURN_IF_ERROR(RollLocked(base));
    segs = snapshot();
  }
  SPOOL_RETURN_IF_ERROR(segs->back()->Append(*batch, last, max_ts));
  result->base_offset = base;
  result->last_offset = last;
  result->records = h->records_count;
  result->bytes = size;
  // Only kInterval appends start the background flush's clock: kNone
  // promises nothing beyond the page cache (spool/durability.h), and kSync
  // appenders sync themselves.
  if (options.durability.value_or(config_.durability) ==
      Durability::kInterval) {
    unsynced_records_.fetch_add(h->records_count);
    if (first_unsynced_micros_.load() == 0) {
      first_unsynced_micros_.store(absl::ToUnixMicros(clock_->Now()));
    }
  }
  appends_.fetch_add(1);
  appended_records_.fetch_add(h->records_count);
  appended_bytes_.fetch_add(size);
  PublishEnd(last + 1);
  return absl::OkStatus();
}

void PartitionLog::PublishEnd(int64_t end) {
  log_end_offset_.store(end);
  if (!explicit_high_watermark_.load()) high_watermark_.store(end);
  if (data_waiters_.load() > 0) {
    // Waiters increment data_waiters_ before checking the end under
    // data_mu_; with both sides sequentially consistent, either they see the
    // new end or we see them.
    MutexLock lock(&data_mu_);
    data_cv_.SignalAll();
  }
}

bool PartitionLog::WaitForData(int64_t offset, absl::Time deadline) const {
  auto ready = [this, offset] {
    return log_end_offset_.load() > offset || closing_.load();
  };
  if (ready()) return log_end_offset_.load() > offset;
  data_waiters_.fetch_add(1);
  {
    MutexLock lock(&data_mu_);
    while (!ready() && !data_cv_.WaitWithDeadline(&data_mu_, deadline)) {
    }
  }
  data_waiters_.fetch_sub(1);
  return log_end_offset_.load() > offset;
}

namespace {

void StoreMax(std::atomic<int64_t>& target, int64_t value) {
  int64_t cur = target.load();
  while (cur < value && !target.compare_exchange_weak(cur, value)) {
  }
}

}  // namespace

absl::Status PartitionLog::RollLocked(int64_t base_offset) {
  auto segs = snapshot();
  std::shared_ptr<Segment> old = segs->back();
  // The old segment becomes immutable and fully durable before the new one
  // exists, so after any crash only the last segment can have a torn tail.
  // A failed write (say ENOSPC) leaves it active and the roll is retried by
  // the next append; a failed fsync poisons the log.
  SPOOL_RETURN_IF_ERROR(old->Seal(/*sync=*/false));
  if (absl::Status s = old->SyncFiles(); !s.ok()) return Poison(s);
  StoreMax(durable_offset_, old->next_offset());
  const int64_t new_base = std::max(base_offset, log_end_offset_.load());
  SegmentList list = *segs;
  if (old->size() == 0 && old->base_offset() == new_base) {
    list.pop_back();  // an empty segment at the same offset is replaced
  }
  SPOOL_ASSIGN_OR_RETURN(std::shared_ptr<Segment> seg,
                         Segment::Create(ctx_, new_base, clock_->Now()));
  absl::Status s = fs_->SyncDir(dir_);
  if (!s.ok()) {
    seg->DeleteFiles().IgnoreError();  // it never held data
    return s;
  }
  list.push_back(std::move(seg));
  SetSegments(std::move(list));
  rolls_.fetch_add(1);
  // A snapshot at every roll bounds the replay after a crash to the active
  // segment; without it the replay only takes longer.
  WriteProducerSnapshotLocked(new_base).IgnoreError();
  return absl::OkStatus();
}

absl::StatusOr<int64_t> PartitionLog::SyncActive() {
  // Read the end before the segment: a roll between the two loads synced
  // the old segment itself, so syncing the segment seen covers `end`.
  const int64_t end = log_end_offset_.load();
  auto segs = snapshot();
  const absl::Time start = absl::Now();
  SPOOL_RETURN_IF_ERROR(segs->back()->SyncLog());
  if (fsync_seconds_ != nullptr) {
    fsync_seconds_->Observe(absl::ToDoubleSeconds(absl::Now() - start));
  }
  syncs_.fetch_add(1);
  return end;
}

namespace {

// How long a group-commit leader may wait for more appenders, as a share of
// the last fdatasync's duration.
constexpr double kGatherFraction = 0.5;
// And never longer than this (a lone appender after a slow fdatasync that
// covered many waits once).
constexpr absl::Duration kMaxGather = absl::Milliseconds(10);

}  // namespace

absl::Status PartitionLog::WaitDurable(int64_t end_offset) {
  if (durable_offset_.load() >= end_offset) return absl::OkStatus();
  sync_mu_.Lock();
  ++sync_arrivals_;
  absl::Status status;
  while (durable_offset_.load() < end_offset) {
    if (!sync_error_.ok()) {
      status = sync_error_;
      break;
    }
    if (gathering_ &&
        sync_arrivals_ - arrivals_at_sync_end_ >= last_sync_covered_) {
      // This caller completes the leader's gathering (below): it runs the
      // fdatasync itself, as the leader would, instead of waking the leader
      // (a thread wake-up between the last append and the fdatasync). The
      // leader goes back to waiting, as a follower.
      gathering_ = false;
      gather_cv_.Signal();
    } else if (syncing_) {
      // Another caller's fdatasync is running or gathering; ours starts
      // after it unless it covers us. Wait outside the lock
      // (util/wake_epoch.h): the callers one fdatasync covers all wake at
      // once and return without taking sync_mu_.
      const uint32_t epoch = sync_epoch_.Load();
      sync_mu_.Unlock();
      sync_epoch_.Wait(epoch);
      if (durable_offset_.load() >= end_offset) return absl::OkStatus();
      sync_mu_.Lock();
      continue;
    } else {
      syncing_ = true;
      // Group commit. The callers the last fdatasync covered were woken
      // when it ended and are appending again; without waiting, this
      // fdatasync would cover only the callers that arrived while the last
      // one ran, and the threads would split into two groups taking turns.
      // So wait until as many callers as the last fdatasync covered have
      // arrived since it ended (one, the leader itself, for a lone
      // appender: no wait), for at most a fraction of its duration (real
      // time: the cost being hidden is the device's). The caller that
      // completes the count runs the fdatasync (above).
      if (last_sync_covered_ > 1) {
        const absl::Time deadline =
            absl::Now() +
            std::min(last_sync_duration_ * kGatherFraction, kMaxGather);
        gathering_ = true;
        const int64_t gather = ++gathers_;
        while (gathering_ && gathers_ == gather &&
               !gather_cv_.WaitWithDeadline(&sync_mu_, deadline)) {
        }
        if (!gathering_ || gathers_ != gather) continue;  // taken over
        gathering_ = false;  // the deadline passed: sync who has arrived
      }
    }
    const int64_t covering = sync_arrivals_ - arrivals_at_sync_start_;
    arrivals_at_sync_start_ = sync_arrivals_;
    sync_mu_.Unlock();
    const absl::Time start = absl::Now();
    absl::StatusOr<int64_t> covered = SyncActive();
    const absl::Duration took = absl::Now() - start;
    sync_mu_.Lock();
    syncing_ = false;
    last_sync_covered_ = covering;
    last_sync_duration_ = took;
    arrivals_at_sync_end_ = sync_arrivals_;
    sync_cv_.SignalAll();
    if (!covered.ok()) {
      status = PoisonLocked(covered.status());
    } else {
      StoreMax(durable_offset_, *covered);
      if (durable_offset_.load() >= log_end_offset_.load()) {
        first_unsynced_micros_.store(0);
        unsynced_records_.store(0);
      }
    }
    // After durable_offset_ (or the error) is in place, and outside the
    // lock (waking 15 threads is a syscall of its own, and the callers the
    // sync covered are about to come back for sync_mu_): the waiters
    // re-check. Every waiter read the epoch before this sync ended, so this
    // Bump changes what it waits on.
    sync_mu_.Unlock();
    sync_epoch_.Bump();
    if (!status.ok() || durable_offset_.load() >= end_offset) return status;
    sync_mu_.Lock();
  }
  sync_mu_.Unlock();
  return status;
}

absl::Status PartitionLog::Poison(const absl::Status& cause) {
  MutexLock lock(&sync_mu_);
  return PoisonLocked(cause);
}

absl::Status PartitionLog::PoisonLocked(const absl::Status& cause) {
  if (sync_failed_.load()) return sync_error_;
  sync_failed_.store(true);
  sync_error_ = absl::FailedPreconditionError(absl::StrFormat(
      "%s: fdatasync failed, durability of unsynced appends is unknown; "
      "reopen the log to recover: %s",
      dir_, cause.ToString()));
  return sync_error_;
}

absl::Status PartitionLog::SyncFailure() {
  if (!sync_failed_.load()) return absl::OkStatus();
  MutexLock lock(&sync_mu_);
  return sync_error_;
}

absl::Status PartitionLog::Flush() {
  SPOOL_RETURN_IF_ERROR(WaitDurable(log_end_offset_.load()));
  auto segs = snapshot();
  return segs->back()->FlushIndexes();
}

bool PartitionLog::NeedsFlush(absl::Time now) const {
  int64_t since = first_unsynced_micros_.load();
  if (since == 0) return false;
  if (unsynced_records_.load() >= config_.flush_records) {
    return true;
  }
  return now - absl::FromUnixMicros(since) >= config_.flush_interval;
}

absl::Status PartitionLog::SetHighWatermark(int64_t offset) {
  const int64_t end = log_end_offset_.load();
  if (offset < 0 || offset > end) {
    return absl::OutOfRangeError(absl::StrFormat(
        "%s: high watermark %d outside [0, log end %d]", dir_, offset, end));
  }
  explicit_high_watermark_.store(true);
  high_watermark_.store(offset);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> PartitionLog::TruncateTo(int64_t offset) {
  MutexLock lock(&append_mu_);
  if (closed_) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s: log is closed", dir_));
  }
  const int64_t end = log_end_offset_.load();
  if (offset >= end) return end;
  // Keep group commit out while segments change under it.
  MutexLock sync_lock(&sync_mu_);
  while (syncing_) sync_cv_.Wait(&sync_mu_);
  auto segs = snapshot();
  SegmentList list = *segs;
  size_t keep = 0;  // index of the segment that will hold the new end
  while (keep + 1 < list.size() && list[keep + 1]->base_offset() <= offset) {
    ++keep;
  }
  for (size_t i = keep + 1; i < list.size(); ++i) {
    SPOOL_RETURN_IF_ERROR(list[i]->RenameWithSuffix(kDeletedSuffix));
    list[i]->DeleteFilesOnDestruction();
  }
  list.resize(keep + 1);
  if (offset <= list[0]->base_offset() && keep == 0) {
    // Everything goes: start over with an empty segment at `offset`.
    SPOOL_RETURN_IF_ERROR(list[0]->RenameWithSuffix(kDeletedSuffix));
    list[0]->DeleteFilesOnDestruction();
    SPOOL_ASSIGN_OR_RETURN(list[0],
                           Segment::Create(ctx_, offset, clock_->Now()));
    log_start_offset_.store(offset);
  } else {
    SPOOL_RETURN_IF_ERROR(list.back()->TruncateTo(offset));
  }
  SPOOL_RETURN_IF_ERROR(fs_->SyncDir(dir_));
  const int64_t new_end = list.back()->next_offset();
  SetSegments(std::move(list));
  log_end_offset_.store(new_end);
  if (high_watermark_.load() > new_end) high_watermark_.store(new_end);
  if (durable_offset_.load() > new_end) durable_offset_.store(new_end);
  SPOOL_RETURN_IF_ERROR(LoadProducerStateLocked(/*clean=*/false));
  if (dedup_.has_value()) dedup_->TruncateTo(new_end);
  return new_end;
}

absl::Status PartitionLog::AdvanceLogStart(int64_t offset) {
  MutexLock lock(&append_mu_);
  if (closed_) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s: log is closed", dir_));
  }
  const int64_t hwm = high_watermark_.load();
  if (offset > hwm) {
    return absl::OutOfRangeError(absl::StrFormat(
        "%s: cannot delete records before offset %d, beyond the high "
        "watermark %d",
        dir_, offset, hwm));
  }
  if (offset <= log_start_offset_.load()) return absl::OkStatus();
  SPOOL_RETURN_IF_ERROR(SetLogStartLocked(offset));
  auto segs = snapshot();
  size_t drop = 0;
  while (drop + 1 < segs->size() &&
         (*segs)[drop + 1]->base_offset() <= offset) {
    ++drop;
  }
  return DropOldestSegmentsLocked(drop);
}

absl::Status PartitionLog::SetLogStartLocked(int64_t offset) {
  log_start_offset_.store(offset);
  // Durable before any file goes: after a crash the checkpoint, not the
  // files that happened to survive, says where the log starts.
  if (persist_log_start_) return persist_log_start_();
  return absl::OkStatus();
}

absl::Status PartitionLog::DropOldestSegmentsLocked(size_t count) {
  if (count == 0) return absl::OkStatus();
  auto segs = snapshot();
  SegmentList list = *segs;
  for (size_t i = 0; i < count; ++i) {
    SPOOL_RETURN_IF_ERROR(list[i]->RenameWithSuffix(kDeletedSuffix));
    // Readers holding the segment keep reading it; the files go with them.
    list[i]->DeleteFilesOnDestruction();
    deleted_segments_.fetch_add(1);
    deleted_bytes_.fetch_add(static_cast<int64_t>(list[i]->size()));
  }
  list.erase(list.begin(), list.begin() + static_cast<ptrdiff_t>(count));
  const int64_t first_base = list.front()->base_offset();
  SetSegments(std::move(list));
  std::vector<int64_t> snaps = SnapshotOffsets();
  for (size_t i = 0; i + 1 < snaps.size() && snaps[i] < first_base; ++i) {
    // Snapshots of deleted segments are only dead weight.
    fs_->Remove(JoinPath(dir_, SegmentFileName(snaps[i], kSnapshotSuffix)))
        .IgnoreError();
  }
  return absl::OkStatus();
}

absl::StatusOr<RetentionResult> PartitionLog::ApplyRetention(
    absl::Time now, const RetentionRules& rules) {
  MutexLock lock(&append_mu_);
  if (closed_) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s: log is closed", dir_));
  }
  auto segs = snapshot();
  int64_t total = 0;
  for (const auto& seg : *segs) total += static_cast<int64_t>(seg->size());
  const int64_t hwm = high_watermark_.load();
  const int64_t now_ms = absl::ToUnixMillis(now);
  RetentionResult result;
  size_t drop = 0;
  // Oldest first, never the active segment, and stop at the first segment
  // that stays: the log must remain contiguous.
  for (; drop + 1 < segs->size(); ++drop) {
    const Segment& seg = *(*segs)[drop];
    const int64_t upper = (*segs)[drop + 1]->base_offset();
    if (upper > hwm) break;
    const int64_t size = static_cast<int64_t>(seg.size());
    const bool by_time = rules.retention != absl::InfiniteDuration() &&
                         seg.max_timestamp() >= 0 &&
                         now_ms - seg.max_timestamp() >
                             absl::ToInt64Milliseconds(rules.retention);
    const bool by_size =
        rules.retention_bytes >= 0 && total - size >= rules.retention_bytes;
    const bool consumed = rules.floor.has_value() && upper <= *rules.floor;
    if (rules.until_consumed ? !consumed : !(by_time || by_size)) break;
    total -= size;
    result.bytes_deleted += size;
  }
  result.segments_deleted = static_cast<int>(drop);
  if (drop == 0) {
    result.log_start_offset = log_start_offset_.load();
    return result;
  }
  const int64_t new_start =
      std::max(log_start_offset_.load(), (*segs)[drop]->base_offset());
  SPOOL_RETURN_IF_ERROR(SetLogStartLocked(new_start));
  SPOOL_RETURN_IF_ERROR(DropOldestSegmentsLocked(drop));
  result.log_start_offset = new_start;
  return result;
}

PartitionLogStats PartitionLog::Stats() const {
  PartitionLogStats st;
  auto segs = snapshot();
  st.segments = static_cast<int64_t>(segs->size());
  for (const auto& seg : *segs) st.size_bytes += seg->size();
  st.log_start_offset = log_start_offset_.load();
  st.log_end_offset = log_end_offset_.load();
  st.high_watermark = high_watermark_.load();
  st.durable_offset = durable_offset_.load();
  st.appends = appends_.load();
  st.appended_records = appended_records_.load();
  st.appended_bytes = appended_bytes_.load();
  st.reads = reads_.load();
  st.read_bytes = read_bytes_.load();
  st.syncs = syncs_.load();
  st.rolls = rolls_.load();
  st.deleted_segments = deleted_segments_.load();
  st.deleted_bytes = deleted_bytes_.load();
  st.producers = producer_count_.load();
  st.dedup_ids = dedup_count_.load();
  st.duplicates = duplicates_.load();
  st.cleaner_runs = cleaner_runs_.load();
  st.cleaner_bytes_read = cleaner_bytes_read_.load();
  st.cleaner_bytes_written = cleaner_bytes_written_.load();
  st.cleaner_bytes_reclaimed = cleaner_bytes_reclaimed_.load();
  st.cleaner_records_removed = cleaner_records_removed_.load();
  st.cleaner_seconds = static_cast<double>(cleaner_micros_.load()) / 1e6;
  st.dirty_ratio = dirty_ratio_.load();
  return st;
}

}  // namespace spool
