// A progress bar for long scans: drawn on stderr only when stderr is a
// terminal and the scan has been running for more than a second, redrawn at
// most ten times a second, and erased when the scan ends. Piped output
// never sees it. Set SPOOL_NO_PROGRESS=1 to turn it off, and
// SPOOL_PROGRESS_DELAY_MS=N to draw it after N ms instead of one second
// (tests use 0). Progress is checked every 4 MiB scanned.
//
// Single-threaded. Add() is cheap enough to call per batch.

#ifndef SPOOL_TOOLS_PROGRESS_H_
#define SPOOL_TOOLS_PROGRESS_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace spool::cli {

class Progress {
 public:
  // `total_bytes` may be 0 when unknown (no percentage then). A command
  // that streams its output to stdout passes `stdout_busy`: the bar is then
  // also off when stdout is the same terminal.
  Progress(std::string label, uint64_t total_bytes, bool stdout_busy = false);
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  ~Progress() { Finish(); }

  void Add(uint64_t bytes) {
    done_ += bytes;
    if (enabled_ && done_ >= next_check_) Check();
  }
  void AddTotal(uint64_t bytes) { total_ += bytes; }
  // Erases the bar if it was drawn.
  void Finish();

 private:
  void Check();
  void Draw();

  std::string label_;
  uint64_t total_;
  uint64_t done_ = 0;
  uint64_t next_check_ = 0;
  bool enabled_;
  bool drawn_ = false;
  absl::Duration delay_;  // before the first draw
  absl::Time start_;
  absl::Time last_draw_;
};

}  // namespace spool::cli

#endif  // SPOOL_TOOLS_PROGRESS_H_
