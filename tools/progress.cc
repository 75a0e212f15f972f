#include "tools/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace spool::cli {
namespace {

constexpr uint64_t kCheckEveryBytes = 4 << 20;
constexpr int kBarWidth = 30;

// SPOOL_PROGRESS_DELAY_MS, or one second.
absl::Duration DelayFromEnvironment() {
  const char* text = std::getenv("SPOOL_PROGRESS_DELAY_MS");
  int64_t ms = 0;
  if (text != nullptr && absl::SimpleAtoi(text, &ms) && ms >= 0) {
    return absl::Milliseconds(ms);
  }
  return absl::Seconds(1);
}

}  // namespace

Progress::Progress(std::string label, uint64_t total_bytes, bool stdout_busy)
    : label_(std::move(label)),
      total_(total_bytes),
      enabled_(isatty(STDERR_FILENO) == 1 &&
               !(stdout_busy && isatty(STDOUT_FILENO) == 1) &&
               std::getenv("SPOOL_NO_PROGRESS") == nullptr),
      delay_(DelayFromEnvironment()),
      start_(absl::Now()),
      last_draw_(absl::InfinitePast()) {
  next_check_ = kCheckEveryBytes;
}

void Progress::Check() {
  next_check_ = done_ + kCheckEveryBytes;
  absl::Time now = absl::Now();
  if (now - start_ < delay_) return;
  if (now - last_draw_ < absl::Milliseconds(100)) return;
  last_draw_ = now;
  Draw();
}

void Progress::Draw() {
  double seconds = absl::ToDoubleSeconds(absl::Now() - start_);
  double mb_per_s = seconds > 0 ? done_ / seconds / 1e6 : 0;
  std::string line;
  if (total_ > 0) {
    double frac = std::min(1.0, static_cast<double>(done_) / total_);
    int fill = static_cast<int>(frac * kBarWidth);
    line = absl::StrFormat(
        "\r%s [%s%s] %3d%% %.0f/%.0f MB %.0f MB/s", label_,
        std::string(fill, '#'), std::string(kBarWidth - fill, '.'),
        static_cast<int>(frac * 100), done_ / 1e6, total_ / 1e6, mb_per_s);
  } else {
    line = absl::StrFormat("\r%s %.0f MB %.0f MB/s", label_, done_ / 1e6,
                           mb_per_s);
  }
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::Finish() {
  if (!drawn_) return;
  // Erase the line: carriage return, clear to end of line.
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace spool::cli
