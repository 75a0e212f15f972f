// Machine information for reports: CPU, cores, kernel, memory, the file
// system of the benchmark directory, load and build.

#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "report.h"

namespace spool::bench {
namespace {

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon != std::string::npos) return line.substr(colon + 2);
  }
  return "unknown";
}

std::string FileSystemName(const std::string& dir) {
  struct statfs fs {};
  if (statfs(dir.c_str(), &fs) != 0) return "unknown";
  switch (static_cast<uint64_t>(fs.f_type)) {
    case 0xEF53:
      return "ext2/ext3/ext4";
    case 0x58465342:
      return "xfs";
    case 0x9123683E:
      return "btrfs";
    case 0x01021994:
      return "tmpfs";
    case 0x794C7630:
      return "overlayfs";
    case 0x2FC12FC1:
      return "zfs";
    case 0x6969:
      return "nfs";
    default:
      return absl::StrFormat("unknown (f_type 0x%x)",
                             static_cast<uint64_t>(fs.f_type));
  }
}

std::string Build() {
  std::string b;
#ifdef NDEBUG
  b = "NDEBUG";
#else
  b = "assertions on";
#endif
#if defined(__SANITIZE_ADDRESS__)
  b += ", AddressSanitizer";
#endif
#if defined(__SANITIZE_THREAD__)
  b += ", ThreadSanitizer";
#endif
  return b;
}

}  // namespace

MachineInfo CollectMachine(const std::string& dir) {
  MachineInfo m;
  m.cpu_model = CpuModel();
  m.cores = static_cast<int>(std::thread::hardware_concurrency());
  utsname u{};
  if (uname(&u) == 0) m.kernel = absl::StrFormat("%s %s", u.sysname, u.release);
  m.memory_bytes = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) *
                   static_cast<int64_t>(sysconf(_SC_PAGESIZE));
  m.dir = dir;
  m.filesystem = FileSystemName(dir);
  double load[1] = {0};
  if (getloadavg(load, 1) == 1) m.load_average = load[0];
  m.started =
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone());
  m.compiler = absl::StrFormat("%s", __VERSION__);
  m.build = Build();
  return m;
}

}  // namespace spool::bench
