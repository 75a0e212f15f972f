// One segment of a partition log: `<20-digit base offset>.log` holding
// concatenated record batches, plus its `.index` and `.timeindex`
// (docs/format/segments.md).
//
// Concurrency: one writer at a time (the partition's appender, holding the
// partition's append lock) calls the "writer" methods; any number of
// readers call the "reader" methods concurrently. The writer publishes a
// batch by storing the new size with release semantics after the bytes and
// the index entries are in place, so a reader that loads size() sees only
// complete batches.
//
// Segments are shared (std::shared_ptr): a reader that holds one keeps
// reading it even after the log deleted or replaced it.

#ifndef SPOOL_LOG_SEGMENT_H_
#define SPOOL_LOG_SEGMENT_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "io/file_cache.h"
#include "log/log_config.h"
#include "log/segment_index.h"
#include "spool/file_system.h"
#include "util/mutex.h"

namespace spool {

// "00000000000000000042" + suffix.
std::string SegmentFileName(int64_t base_offset, std::string_view suffix);
// Parses the base offset of a segment-style file name ("<digits>.<...>").
std::optional<int64_t> ParseSegmentBaseOffset(std::string_view file_name);

inline constexpr std::string_view kLogSuffix = ".log";
inline constexpr std::string_view kIndexSuffix = ".index";
inline constexpr std::string_view kTimeIndexSuffix = ".timeindex";
inline constexpr std::string_view kDeletedSuffix = ".deleted";
inline constexpr std::string_view kCleanedSuffix = ".cleaned";
inline constexpr std::string_view kSwapSuffix = ".swap";

// What is shared by the segments of one partition.
struct SegmentContext {
  FileSystem* fs = nullptr;
  FileCache* files = nullptr;  // open .log handles (bounded)
  std::string dir;             // the partition directory
  const LogConfig* config = nullptr;
};

// What recovering one segment found.
struct SegmentRecovery {
  uint64_t valid_bytes = 0;      // bytes kept
  uint64_t truncated_bytes = 0;  // bytes dropped after them
  int64_t next_offset = 0;       // offset after the last kept batch
  int64_t batches = 0;           // batches kept
  // Why scanning stopped early (OK if the whole file was valid). An
  // all-zero tail (preallocated or never written) is reported here too.
  absl::Status stop_reason;
  bool zero_tail = false;
};

class Segment {
 public:
  // Creates a new, empty, active segment: the .log file and the
  // preallocated index files. The caller syncs the directory.
  static absl::StatusOr<std::shared_ptr<Segment>> Create(
      const SegmentContext& ctx, int64_t base_offset, absl::Time now);
  // Same, with every file name followed by `suffix` (the cleaner writes
  // "<base>.log.cleaned" etc. and renames them with RenameToSuffix).
  static absl::StatusOr<std::shared_ptr<Segment>> CreateWithSuffix(
      const SegmentContext& ctx, int64_t base_offset, absl::Time now,
      std::string_view suffix);

  // Opens an existing segment whose files are trusted (clean shutdown, or
  // below the recovery point). `active` re-extends the indexes so the
  // segment can take appends; then its end offset is found from the last
  // index entry and a scan of at most index_interval_bytes of log. An index
  // that fails its sanity check is rebuilt by Recover().
  static absl::StatusOr<std::shared_ptr<Segment>> Open(
      const SegmentContext& ctx, int64_t base_offset, bool active,
      int64_t next_offset_hint);

  // Opens an existing segment whose contents are not trusted (after an
  // unclean shutdown): Recover() validates it and rebuilds its indexes. The
  // segment is left active.
  static absl::StatusOr<std::shared_ptr<Segment>> OpenAndRecover(
      const SegmentContext& ctx, int64_t base_offset, SegmentRecovery* out);

  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;
  ~Segment();

  int64_t base_offset() const { return base_offset_; }
  // The .log file's current path (changes with RenameWithSuffix).
  std::string log_path() const ABSL_LOCKS_EXCLUDED(path_mu_);

  // --- Readers (thread-safe) ---------------------------------------------
  // Bytes of complete batches.
  uint64_t size() const { return size_.load(std::memory_order_acquire); }
  // Offset after the last batch (base_offset() when empty).
  int64_t next_offset() const {
    return next_offset_.load(std::memory_order_acquire);
  }
  // Largest batch max-timestamp in the segment; -1 if none.
  int64_t max_timestamp() const {
    return max_timestamp_.load(std::memory_order_acquire);
  }
  absl::Time created() const { return created_; }

  absl::StatusOr<std::shared_ptr<File>> LogFile() const;
  // Position of the first batch whose last offset is >= target, scanning no
  // further than `limit` bytes; `limit` if there is none. A position
  // remembered for `target` (RememberPosition) is returned without a look.
  absl::StatusOr<uint64_t> FindPosition(int64_t target, uint64_t limit) const;
  // Tells FindPosition that the batch at `position` (or the next one
  // appended there) is the first whose last offset is >= `offset`: a read
  // that ended at `position` after the batch that holds offset - 1. A
  // reader going on from where it stopped then needs no look at the index
  // and the file. The last few are kept; TruncateTo forgets them and moves
  // position_epoch(): pass the epoch read before the segment's size()
  // that the read was bounded by (a truncation since then ignores it).
  void RememberPosition(int64_t offset, uint64_t position,
                        uint64_t epoch) const;
  uint64_t position_epoch() const {
    return position_epoch_.load(std::memory_order_acquire);
  }
  // How many FindPosition calls a remembered position answered.
  int64_t remembered_position_hits() const {
    return remembered_hits_.load(std::memory_order_relaxed);
  }
  // Offset of the first record with timestamp >= ts, if any in this
  // segment below `limit` bytes.
  absl::StatusOr<std::optional<int64_t>> FindOffsetForTimestamp(
      int64_t ts, uint64_t limit) const;
  const OffsetIndex& offset_index() const { return offset_index_; }
  const TimeIndex& time_index() const { return time_index_; }

  // --- Writer (one thread at a time) -----------------------------------
  // True if a batch of `batch_bytes` ending at `last_offset` must go to a
  // new segment: size, age, full index or relative-offset overflow.
  bool ShouldRoll(int64_t batch_bytes, int64_t last_offset,
                  absl::Time now) const;
  // Writes a complete batch (offsets already assigned) at the end and
  // publishes it. On error nothing is published and the file is truncated
  // back (best effort; recovery drops a leftover partial batch).
  absl::Status Append(std::string_view batch, int64_t last_offset,
                      int64_t max_timestamp);
  // Writes pending index entries to their files (no sync).
  absl::Status FlushIndexes();
  // fdatasync of the .log file.
  absl::Status SyncLog();
  // fdatasync of the .log and both index files.
  absl::Status SyncFiles();
  // Seals the segment: final time-index entry, indexes written, trimmed
  // and, if `sync`, synced. The segment takes no more appends.
  absl::Status Seal(bool sync);
  bool sealed() const { return sealed_; }
  // Rebuilds both indexes from the log, validating every batch (CRC,
  // structure, offsets increasing and >= base offset), and truncates the
  // file after the last valid batch. Leaves the segment active.
  absl::StatusOr<SegmentRecovery> Recover();
  // Removes every batch that holds an offset >= `offset`; the segment ends
  // at the first such batch's start. Leaves the segment active. Syncs.
  absl::Status TruncateTo(int64_t offset);
  // Renames all files to `<name><suffix>` (".deleted", ...).
  absl::Status RenameWithSuffix(std::string_view suffix);
  // Rename the index files / the .log file from their current names to the
  // segment's standard names followed by `suffix` ("" for the standard
  // names themselves). The compaction swap renames indexes and logs in
  // separate, directory-synced steps. Do not sync the directory.
  absl::Status RenameIndexesToSuffix(std::string_view suffix);
  absl::Status RenameLogToSuffix(std::string_view suffix);
  // Removes all files (under their current names) now.
  absl::Status DeleteFiles();
  // Removes the files when the last reference to the segment goes away, so
  // readers holding it keep reading. Used after RenameWithSuffix(".deleted")
  // — recovery removes leftover .deleted files after a crash.
  void DeleteFilesOnDestruction() { delete_on_destruction_ = true; }

 private:
  Segment(const SegmentContext& ctx, int64_t base_offset, absl::Time created,
          std::string_view suffix = "");
  absl::Status LoadEndFromIndex(int64_t next_offset_hint);
  void AddIndexEntriesBefore(uint64_t position, int64_t batch_bytes,
                             int64_t last_offset, int64_t max_timestamp);
  absl::Status ResetIndexes();
  // Zero-fills the file ahead of `end` (LogConfig::preallocate_bytes).
  void PreallocateAfter(File& file, uint64_t end);
  // Cuts the preallocated tail off.
  absl::Status TrimPreallocated();
  // Drops the remembered positions and moves the epoch (TruncateTo).
  void ForgetPositions();

  // Constant after construction.
  SegmentContext ctx_;
  const int64_t base_offset_;
  const absl::Time created_;

  mutable Mutex path_mu_;
  std::string log_path_ ABSL_GUARDED_BY(path_mu_);
  std::atomic<bool> delete_on_destruction_{false};

  // RememberPosition's positions (offset -1: none), replaced round robin.
  struct KnownPosition {
    int64_t offset = -1;
    uint64_t position = 0;
  };
  static constexpr size_t kKnownPositions = 4;
  mutable Mutex known_mu_;
  mutable std::array<KnownPosition, kKnownPositions> known_
      ABSL_GUARDED_BY(known_mu_);
  mutable size_t known_next_ ABSL_GUARDED_BY(known_mu_) = 0;
  std::atomic<uint64_t> position_epoch_{0};  // truncations (2 per)
  mutable std::atomic<int64_t> remembered_hits_{0};

  // Published to readers.
  std::atomic<uint64_t> size_{0};
  std::atomic<int64_t> next_offset_;
  std::atomic<int64_t> max_timestamp_{-1};

  // Internally synchronized.
  OffsetIndex offset_index_;
  TimeIndex time_index_;

  // Writer only.
  bool sealed_ = false;
  // Bytes of the .log file that hold data or zeros (>= size()): the
  // preallocated tail is [size(), allocated_). A hint only: after a failed
  // write the file may be longer (TrimPreallocated checks the file).
  uint64_t allocated_ = 0;
  int64_t offset_of_max_timestamp_;
  int64_t bytes_since_index_entry_ = 0;
};

}  // namespace spool

#endif  // SPOOL_LOG_SEGMENT_H_
