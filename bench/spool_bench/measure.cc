#include "measure.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <latch>
#include <thread>

#include "absl/strings/str_format.h"

namespace spool::bench {
namespace {

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto sec = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

bool HasSuffix(const std::string& name,
               const std::vector<std::string>& suffixes) {
  if (suffixes.empty()) return true;
  for (const std::string& s : suffixes) {
    if (name.size() >= s.size() &&
        name.compare(name.size() - s.size(), s.size(), s) == 0) {
      return true;
    }
  }
  return false;
}

absl::Status ReadWhole(const std::string& path, std::string* buf) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrFormat("open %s: errno %d", path, errno));
  }
  while (read(fd, buf->data(), buf->size()) > 0) {
  }
  close(fd);
  return absl::OkStatus();
}

}  // namespace

Latency Summarize(const LatencyHistogram& h) {
  return Latency{h.count(), h.Percentile(0.50), h.Percentile(0.99),
                 h.Percentile(0.999), h.max()};
}

void AddRound(const PhaseStats& round, PhaseStats* total) {
  total->ran = true;
  total->seconds += round.seconds;
  total->cpu_seconds += round.cpu_seconds;
}

PhaseStats MedianPass(std::vector<PhaseStats> passes) {
  if (passes.empty()) return PhaseStats();
  auto rate = [](const PhaseStats& p) {
    return p.records > 0 ? p.records_per_second() : p.io_mb_per_second();
  };
  std::sort(passes.begin(), passes.end(),
            [&](const PhaseStats& a, const PhaseStats& b) {
              return rate(a) < rate(b);
            });
  return passes[passes.size() / 2];
}

absl::StatusOr<std::vector<std::string>> ListFiles(
    const std::string& dir, const std::vector<std::string>& suffixes) {
  std::error_code ec;
  std::vector<std::string> out;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string path = it->path().string();
    if (HasSuffix(path, suffixes)) out.push_back(path);
  }
  if (ec) {
    return absl::UnavailableError(
        absl::StrFormat("listing %s: %s", dir, ec.message()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<DiskUsage> MeasureDisk(
    const std::string& dir, const std::vector<std::string>& suffixes) {
  absl::StatusOr<std::vector<std::string>> files = ListFiles(dir, suffixes);
  if (!files.ok()) return files.status();
  DiskUsage usage;
  for (const std::string& f : *files) {
    struct stat st {};
    if (stat(f.c_str(), &st) != 0) continue;  // removed meanwhile
    usage.bytes += st.st_size;
    usage.allocated += static_cast<int64_t>(st.st_blocks) * 512;
    ++usage.files;
  }
  return usage;
}

absl::Status WarmPageCache(const std::vector<std::string>& files) {
  std::string buf(1 << 20, '\0');
  for (const std::string& f : files) {
    if (absl::Status s = ReadWhole(f, &buf); !s.ok()) return s;
  }
  return absl::OkStatus();
}

void Settle(int pause_ms) {
  sync();
  if (pause_ms > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
  }
}

absl::Status RunTimed(int n, const std::function<absl::Status(int)>& fn,
                      PhaseStats* stats) {
  std::latch ready(n);
  std::latch go(1);
  std::vector<absl::Status> status(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      ready.count_down();
      go.wait();
      status[i] = fn(i);
    });
  }
  ready.wait();
  const double cpu0 = CpuSeconds();
  const uint64_t t0 = MonoNanos();
  go.count_down();
  for (std::thread& t : threads) t.join();
  stats->seconds = (MonoNanos() - t0) / 1e9;
  stats->cpu_seconds = CpuSeconds() - cpu0;
  stats->ran = true;
  for (const absl::Status& s : status) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

Ticker::Ticker(std::chrono::milliseconds period, std::function<void()> fn) {
  thread_ = std::thread([this, period, fn = std::move(fn)] {
    MutexLock lock(&mu_);
    while (!stop_) {
      const bool timed_out =
          cv_.WaitWithTimeout(&mu_, absl::FromChrono(period));
      if (!timed_out || stop_) continue;
      mu_.Unlock();  // fn may take long (an fdatasync)
      fn();
      mu_.Lock();
    }
  });
}

Ticker::~Ticker() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
    cv_.SignalAll();
  }
  thread_.join();
}

absl::StatusOr<PhaseStats> RunConsumers(
    int n, const std::function<absl::Status(int, PhaseStats*)>& fn) {
  std::vector<PhaseStats> per(n);
  PhaseStats stats;
  absl::Status s = RunTimed(
      n, [&](int c) { return fn(c, &per[c]); }, &stats);
  if (!s.ok()) return s;
  for (const PhaseStats& p : per) {
    stats.records += p.records;
    stats.payload_bytes += p.payload_bytes;
    stats.io_bytes += p.io_bytes;
    stats.calls += p.calls;
  }
  return stats;
}

LatencySet::LatencySet(int threads) {
  for (int i = 0; i < threads; ++i) {
    per_thread_.push_back(std::make_unique<LatencyHistogram>());
  }
}

Latency LatencySet::Merged() const {
  LatencyHistogram all;
  for (const auto& h : per_thread_) all.Merge(*h);
  return Summarize(all);
}

}  // namespace spool::bench
