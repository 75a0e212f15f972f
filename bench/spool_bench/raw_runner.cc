#include "raw_runner.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>

#include "absl/strings/str_format.h"
#include "util/status_macros.h"

namespace spool::bench {
namespace {

constexpr size_t kReadBuffer = size_t{1} << 20;

absl::Status Errno(std::string_view op, const std::string& path) {
  return absl::UnavailableError(
      absl::StrFormat("%s %s: %s", op, path, std::strerror(errno)));
}

}  // namespace

struct RawRunner::File {
  std::string path;
  int fd = -1;
  std::atomic<uint64_t> end{0};
};

namespace {

absl::Status PwriteAll(int fd, std::string_view data, uint64_t pos, bool sync) {
  while (!data.empty()) {
    ssize_t n = pwrite(fd, data.data(), data.size(), static_cast<off_t>(pos));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("pwrite", "raw log");
    data.remove_prefix(static_cast<size_t>(n));
    pos += static_cast<uint64_t>(n);
  }
  if (sync && fdatasync(fd) != 0) return Errno("fdatasync", "raw log");
  return absl::OkStatus();
}

// Parses every complete batch at the front of `data`; returns the bytes
// consumed (a partial batch at the end is left for the next read).
absl::StatusOr<size_t> ParseBatches(std::string_view data, PhaseStats* st) {
  size_t used = 0;
  while (used < data.size()) {
    absl::StatusOr<RecordBatchView> b =
        RecordBatchView::Parse(data.substr(used));
    if (absl::IsOutOfRange(b.status())) break;
    if (!b.ok()) return b.status();
    RecordIterator it(*b);
    RecordView r;
    while (it.Next(&r)) TouchRecord(r, st);
    SPOOL_RETURN_IF_ERROR(it.status());
    used += static_cast<size_t>(b->size_bytes());
  }
  return used;
}

absl::Status ReadFile(const std::string& path, bool parse, std::string* buf,
                      PhaseStats* st) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  size_t have = 0;
  absl::Status status;
  while (status.ok()) {
    if (have == buf->size()) buf->resize(buf->size() * 2);  // a huge batch
    const ssize_t n = read(fd, buf->data() + have, buf->size() - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) status = Errno("read", path);
    if (n <= 0) break;
    st->io_bytes += n;
    have = parse ? have + static_cast<size_t>(n) : 0;
    if (!parse) continue;
    absl::StatusOr<size_t> used = ParseBatches({buf->data(), have}, st);
    if (!used.ok()) status = used.status();
    if (!used.ok()) break;
    std::memmove(buf->data(), buf->data() + *used, have - *used);
    have -= *used;
  }
  close(fd);
  if (status.ok() && have != 0) {
    return absl::DataLossError(
        absl::StrFormat("%s ends inside a batch (%d bytes left)", path, have));
  }
  return status;
}

absl::StatusOr<PhaseStats> ReadAll(
    const std::vector<std::vector<std::string>>& files, bool parse) {
  return RunConsumers(static_cast<int>(files.size()),
                      [&](int c, PhaseStats* st) -> absl::Status {
                        std::string buf(kReadBuffer, '\0');
                        for (const std::string& f : files[c]) {
                          SPOOL_RETURN_IF_ERROR(ReadFile(f, parse, &buf, st));
                        }
                        return absl::OkStatus();
                      });
}

}  // namespace

RawRunner::RawRunner(const Workload& workload, const PrebuiltBatches& batches,
                     std::string dir)
    : workload_(workload),
      config_(workload.config()),
      batches_(batches),
      dir_(std::move(dir)),
      latency_(workload.config().producers) {}

RawRunner::~RawRunner() { CloseFiles(); }

absl::Status RawRunner::Prepare() {
  if (mkdir(dir_.c_str(), 0755) != 0) return Errno("mkdir", dir_);
  for (int p = 0; p < config_.partitions; ++p) {
    files_.push_back(std::make_unique<File>());
    files_.back()->path = absl::StrFormat("%s/p-%d.log", dir_, p);
  }
  return config_.raw_preallocate ? ZeroFill() : absl::OkStatus();
}

absl::Status RawRunner::ZeroFill() {
  std::vector<uint64_t> bytes(files_.size(), 0);
  for (int t = 0; t < config_.producers; ++t) {
    const ProducerPlan plan = workload_.Plan(t);
    for (int64_t k = 0; k < plan.batches(config_.batch); ++k) {
      bytes[plan.partition_of(k)] += batches_.At(t, k).size();
    }
  }
  const std::string zeros(kReadBuffer, '\0');
  for (size_t p = 0; p < files_.size(); ++p) {
    const std::string& path = files_[p]->path;
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Errno("open", path);
    absl::Status s;
    for (uint64_t at = 0; at < bytes[p] && s.ok(); at += zeros.size()) {
      const size_t n =
          static_cast<size_t>(std::min<uint64_t>(zeros.size(), bytes[p] - at));
      s = PwriteAll(fd, std::string_view(zeros).substr(0, n), at, false);
    }
    if (s.ok() && fsync(fd) != 0) s = Errno("fsync", path);
    close(fd);
    SPOOL_RETURN_IF_ERROR(s);
  }
  const int dir_fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return Errno("open", dir_);
  const bool synced = fsync(dir_fd) == 0;
  close(dir_fd);
  return synced ? absl::OkStatus() : Errno("fsync", dir_);
}

absl::Status RawRunner::OpenFiles() {
  for (const auto& f : files_) {
    f->fd = open(f->path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (f->fd < 0) return Errno("open", f->path);
  }
  return absl::OkStatus();
}

void RawRunner::CloseFiles() {
  for (const auto& f : files_) {
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
  }
}

absl::StatusOr<PhaseStats> RawRunner::Write(int round) {
  SPOOL_RETURN_IF_ERROR(OpenFiles());
  std::unique_ptr<Ticker> ticker;
  if (config_.durability == Durability::kInterval) {
    ticker = std::make_unique<Ticker>(
        std::chrono::milliseconds(config_.flush_interval_ms), [this] {
          for (const auto& f : files_) fdatasync(f->fd);
        });
  }
  const bool sync = config_.durability == Durability::kSync;
  PhaseStats stats;
  absl::Status s = RunTimed(
      config_.producers,
      [&](int t) -> absl::Status {
        const ProducerPlan plan = workload_.Plan(t);
        const auto [first, end] =
            plan.Round(round, config_.rounds, config_.batch);
        for (int64_t k = first; k < end; ++k) {
          File& f = *files_[plan.partition_of(k)];
          const std::string_view batch = batches_.At(t, k);
          const uint64_t pos = f.end.fetch_add(batch.size());
          const uint64_t t0 = MonoNanos();
          SPOOL_RETURN_IF_ERROR(PwriteAll(f.fd, batch, pos, sync));
          latency_.at(t)->Record(MonoNanos() - t0);
        }
        return absl::OkStatus();
      },
      &stats);
  ticker.reset();
  CloseFiles();
  SPOOL_RETURN_IF_ERROR(s);
  return stats;
}

int64_t RawRunner::written_bytes() const {
  int64_t total = 0;
  for (const auto& f : files_) total += static_cast<int64_t>(f->end.load());
  return total;
}

absl::StatusOr<DiskUsage> RawRunner::Disk() const {
  return MeasureDisk(dir_, {});
}

absl::StatusOr<PhaseStats> RawRunner::ReadAndParse(
    const std::vector<std::vector<std::string>>& files) {
  return ReadAll(files, /*parse=*/true);
}

absl::StatusOr<PhaseStats> RawRunner::PageCacheRead(
    const std::vector<std::vector<std::string>>& files) {
  return ReadAll(files, /*parse=*/false);
}

}  // namespace spool::bench
