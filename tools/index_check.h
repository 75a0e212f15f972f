// Checks of a segment's .index and .timeindex against its .log, done in
// one pass with the log scan: the index entries are read in order and
// merged with the batches as they go by (constant memory).
//
// Offset index (docs/format/segments.md): length a multiple of 8, entries
// strictly increasing in offset and never decreasing in position, each
// pointing at the start of a batch whose last offset is the entry's offset,
// none past the end of the log; a trailing all-zero run is a preallocated
// tail (a problem once the segment is sealed).
//
// Time index: length a multiple of 12, timestamps strictly increasing,
// offsets not decreasing, each entry's offset the last offset of a batch
// at which the largest timestamp so far equals the entry's timestamp; a
// sealed segment's last entry holds the segment's largest timestamp.

#ifndef SPOOL_TOOLS_INDEX_CHECK_H_
#define SPOOL_TOOLS_INDEX_CHECK_H_

#include <cstdint>
#include <memory>
#include <string>

#include "spool/file_system.h"
#include "spool/record.h"
#include "tools/findings.h"
#include "tools/index_reader.h"

namespace spool::cli {

class OffsetIndexCheck {
 public:
  // Opens the index and checks its length and tail (an empty `path`: no
  // index, nothing to check). `strict`: entries coarser than exact (an
  // offset past the batch's last offset, which lookups tolerate) are
  // problems rather than notes.
  OffsetIndexCheck(FileSystem* fs, const std::string& path, int64_t base_offset,
                   bool sealed, bool strict, FindingSink* sink);
  void OnBatch(uint64_t position, const BatchHeader& h);
  void Finish(uint64_t valid_end);
  int64_t entries_checked() const { return checked_; }

 private:
  void Advance();
  std::string Where() const;

  std::string path_;
  int64_t base_;
  bool strict_;
  FindingSink* sink_;
  std::unique_ptr<IndexReader> reader_;
  bool have_ = false;  // cur_ holds an entry not yet matched
  bool merge_ = true;  // false after an order problem: stop comparing
  OffsetEntry cur_, prev_;
  int64_t cur_index_ = -1;
  int64_t checked_ = 0;
};

class TimeIndexCheck {
 public:
  // `strict`: an entry whose offset is inside (not at the end of) the
  // batch that reached its timestamp is a problem rather than a note.
  TimeIndexCheck(FileSystem* fs, const std::string& path, int64_t base_offset,
                 bool sealed, bool strict, FindingSink* sink);
  // `max_so_far`: the largest batch max timestamp up to and including `h`.
  void OnBatch(const BatchHeader& h, int64_t max_so_far);
  // `max_timestamp`: the segment's largest timestamp (-1 if none).
  void Finish(int64_t max_timestamp);

 private:
  void Advance();
  std::string Where() const;
  void NotALastOffset(const BatchHeader& h, int64_t max_so_far);

  std::string path_;
  int64_t base_;
  bool sealed_;
  bool strict_;
  FindingSink* sink_;
  std::unique_ptr<IndexReader> reader_;
  bool have_ = false;
  bool merge_ = true;
  TimeEntry cur_, prev_;
  int64_t cur_index_ = -1;
  bool any_ = false;
  TimeEntry last_;
};

}  // namespace spool::cli

#endif  // SPOOL_TOOLS_INDEX_CHECK_H_
