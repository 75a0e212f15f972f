// A stand-in for libFuzzer's driver, for compilers without it (CI builds
// with GCC): runs LLVMFuzzerTestOneInput on every seed file, then on random
// mutations of them (bit flips, byte changes, insertions, deletions,
// truncations, splices of two inputs) until a time or run budget is spent.
// No coverage feedback: a smoke run, not a replacement for libFuzzer
// (docs/crash-testing.md). Accepts the libFuzzer flags it needs:
//
//   <target> [-max_total_time=S] [-runs=N] [-seed=N] FILE_OR_DIR...
//
// An input that crashes the target (a sanitizer report or the target's own
// oracle aborting) is written to ./crash-input first, so it can be replayed:
// `<target> crash-input`.

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

extern "C" void __sanitizer_set_death_callback(void (*callback)(void))
    __attribute__((weak));

namespace {

const std::string* g_current = nullptr;

// Async-signal-safe: open and write only.
void SaveCurrentInput() {
  if (g_current == nullptr) return;
  const int fd = open("crash-input", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  const char* p = g_current->data();
  size_t left = g_current->size();
  while (left > 0) {
    const ssize_t n = write(fd, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
  close(fd);
  const char msg[] = "fuzz_main: input saved to ./crash-input\n";
  (void)!write(2, msg, sizeof(msg) - 1);
}

void OnAbort(int sig) {
  SaveCurrentInput();
  signal(sig, SIG_DFL);
  raise(sig);
}

std::string ReadWhole(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Mutate(std::string& s, const std::vector<std::string>& corpus,
            std::mt19937_64& rng) {
  const int n = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < n; ++i) {
    const size_t pos = s.empty() ? 0 : rng() % s.size();
    switch (rng() % 7) {
      case 0:
        if (!s.empty())
          s[pos] = static_cast<char>(s[pos] ^ (1u << (rng() % 8)));
        break;
      case 1:
        if (!s.empty()) s[pos] = static_cast<char>(rng());
        break;
      case 2:
        s.insert(pos, 1 + rng() % 8, static_cast<char>(rng()));
        break;
      case 3:
        if (!s.empty()) s.erase(pos, 1 + rng() % 16);
        break;
      case 4:
        s.resize(pos);
        break;
      case 5: {  // interesting integers at a random place
        static const uint32_t kInts[] = {
            0, 1, 0x7f, 0x80, 0xff, 0x7fffffff, 0x80000000, 0xffffffff, 61};
        const uint32_t v = kInts[rng() % 9];
        for (int b = 0; b < 4 && pos + b < s.size(); ++b) {
          s[pos + b] = static_cast<char>(v >> (8 * (3 - b)));
        }
        break;
      }
      case 6: {
        const std::string& other = corpus[rng() % corpus.size()];
        if (!other.empty()) {
          const size_t from = rng() % other.size();
          s.insert(pos, other.substr(from, 1 + rng() % 64));
        }
        break;
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  double max_seconds = 5;
  long long max_runs = -1;
  uint64_t seed = 1;
  std::vector<std::string> corpus;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("-max_total_time=", 0) == 0) {
      max_seconds = std::stod(a.substr(16));
    } else if (a.rfind("-runs=", 0) == 0) {
      max_runs = std::stoll(a.substr(6));
    } else if (a.rfind("-seed=", 0) == 0) {
      seed = std::stoull(a.substr(6));
    } else if (a.rfind("-", 0) == 0) {
      continue;  // other libFuzzer flags: ignored
    } else if (std::filesystem::is_directory(a)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(a)) {
        if (e.is_regular_file()) corpus.push_back(ReadWhole(e.path()));
      }
    } else {
      corpus.push_back(ReadWhole(a));
    }
  }
  if (corpus.empty()) corpus.push_back("");
  if (__sanitizer_set_death_callback != nullptr) {
    __sanitizer_set_death_callback(SaveCurrentInput);
  }
  signal(SIGABRT, OnAbort);
  signal(SIGSEGV, OnAbort);
  long long runs = 0;
  for (const std::string& s : corpus) {
    g_current = &s;
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()),
                           s.size());
    ++runs;
  }
  std::mt19937_64 rng(seed);
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         start)
        .count();
  };
  while ((max_runs < 0 || runs < max_runs) && elapsed() < max_seconds) {
    std::string s = corpus[rng() % corpus.size()];
    Mutate(s, corpus, rng);
    g_current = &s;
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()),
                           s.size());
    g_current = nullptr;
    ++runs;
  }
  std::cout << "fuzz_main: " << runs << " executions over " << corpus.size()
            << " seed inputs in " << elapsed() << " s (seed " << seed << ")\n";
  return 0;
}
