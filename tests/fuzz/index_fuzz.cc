// Fuzz target: loading a segment's offset index (.index) or time index
// (.timeindex) from arbitrary bytes (docs/format/segments.md;
// docs/crash-testing.md, Fuzzing).
//
// The first input byte chooses: bit 0 offset (0) or time (1) index, bit 1
// sealed (0: OpenSealed, mapped on the first lookup) or active (1:
// LoadActive, read into memory). The rest is the file. Everything runs on
// the in-memory fault-injecting file system. Oracles beyond "no crash, no
// sanitizer report":
//   * loading fails with a status or gives an index whose lookups, when
//     SanityCheck accepts it, agree with a plain search over the entries
//     decoded here (the largest entry at or below the target, else the
//     empty answer);
//   * an active index that passed SanityCheck takes one more entry past
//     its last one and finds it.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/fault_injection_file_system.h"
#include "log/segment_index.h"

namespace {

constexpr int64_t kBase = 1000;
constexpr int32_t kMaxBytes = 1 << 16;

int64_t Be(std::string_view bytes, size_t at, int width) {
  uint64_t v = 0;
  for (int i = 0; i < width; ++i) {
    v = (v << 8) | static_cast<uint8_t>(bytes[at + i]);
  }
  return width == 4 ? static_cast<int64_t>(static_cast<int32_t>(v))
                    : static_cast<int64_t>(v);
}

[[noreturn]] void Violated(const std::string& what) {
  std::cerr << "index_fuzz: oracle violated: " << what << "\n";
  std::abort();
}

// Offsets (or timestamps) to look up: around every key, and outside.
std::vector<int64_t> Targets(const std::vector<int64_t>& keys) {
  std::vector<int64_t> t = {INT64_MIN, -1, 0, kBase - 1, kBase, INT64_MAX};
  for (int64_t k : keys) {
    t.push_back(k);
    if (k > INT64_MIN) t.push_back(k - 1);
    if (k < INT64_MAX) t.push_back(k + 1);
  }
  return t;
}

void CheckOffsetIndex(spool::OffsetIndex& index, std::string_view file,
                      bool active) {
  if (!index.SanityCheck().ok()) {
    index.Lookup(kBase + 5).IgnoreError();  // must not crash either way
    return;
  }
  const int64_t n = index.file().entries();
  std::vector<int64_t> offsets;
  std::vector<uint32_t> positions;
  for (int64_t i = 0; i < n; ++i) {
    offsets.push_back(kBase + Be(file, i * 8, 4));
    positions.push_back(static_cast<uint32_t>(Be(file, i * 8 + 4, 4)));
  }
  for (int64_t target : Targets(offsets)) {
    spool::OffsetIndex::Entry want{kBase, 0};
    for (size_t i = 0; i < offsets.size(); ++i) {
      if (offsets[i] <= target) want = {offsets[i], positions[i]};
    }
    auto got = index.Lookup(target);
    if (!got.ok()) Violated("offset lookup failed: " + got.status().ToString());
    if (got->offset != want.offset || got->position != want.position) {
      Violated("offset lookup of " + std::to_string(target) + " gave " +
               std::to_string(got->offset) + " want " +
               std::to_string(want.offset));
    }
  }
  if (active && !index.full()) {
    const int64_t next = offsets.empty() ? kBase + 1 : offsets.back() + 1;
    const uint32_t pos = positions.empty() ? 1 : positions.back() + 1;
    if (next - kBase > INT32_MAX || pos == 0) return;
    index.Append(next, pos);
    auto got = index.Lookup(next);
    if (!got.ok() || got->offset != next || got->position != pos) {
      Violated("the appended offset entry is not found");
    }
  }
}

void CheckTimeIndex(spool::TimeIndex& index, std::string_view file,
                    bool active) {
  if (active && !index.RefreshLast().ok()) return;
  if (!index.SanityCheck().ok()) {
    index.Lookup(5).IgnoreError();
    return;
  }
  const int64_t n = index.file().entries();
  std::vector<int64_t> timestamps, offsets;
  for (int64_t i = 0; i < n; ++i) {
    timestamps.push_back(Be(file, i * 12, 8));
    offsets.push_back(kBase + Be(file, i * 12 + 8, 4));
  }
  for (int64_t target : Targets(timestamps)) {
    spool::TimeIndex::Entry want{-1, kBase};
    for (size_t i = 0; i < timestamps.size(); ++i) {
      if (timestamps[i] <= target) want = {timestamps[i], offsets[i]};
    }
    auto got = index.Lookup(target);
    if (!got.ok()) Violated("time lookup failed: " + got.status().ToString());
    if (got->timestamp != want.timestamp || got->offset != want.offset) {
      Violated("time lookup of " + std::to_string(target) + " gave " +
               std::to_string(got->timestamp) + " want " +
               std::to_string(want.timestamp));
    }
  }
  if (active && !index.full()) {
    if (!timestamps.empty() && timestamps.back() == INT64_MAX) return;
    const int64_t ts = timestamps.empty() ? 1 : timestamps.back() + 1;
    const int64_t next = offsets.empty() ? kBase + 1 : offsets.back() + 1;
    if (next - kBase > INT32_MAX) return;
    index.MaybeAppend(ts, next);
    auto got = index.Lookup(ts);
    if (!got.ok() || got->timestamp != ts || got->offset != next) {
      Violated("the appended time entry is not found");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size < 1) return 0;
  const bool time = (bytes[0] & 1) != 0;
  const bool active = (bytes[0] & 2) != 0;
  std::string_view file(reinterpret_cast<const char*>(bytes) + 1, size - 1);
  if (file.size() > static_cast<size_t>(kMaxBytes))
    file = file.substr(0, kMaxBytes);
  spool::FaultInjectionFileSystem fs(1);
  const std::string path = time ? "/p/00000000000000001000.timeindex"
                                : "/p/00000000000000001000.index";
  if (!fs.CreateDirs("/p").ok()) std::abort();
  {
    auto f = fs.Open(path, {.create = true, .truncate = true});
    if (!f.ok() || !(*f)->Write(0, file).ok()) std::abort();
  }
  if (time) {
    spool::TimeIndex index(&fs, path, kBase, kMaxBytes);
    absl::Status s =
        active ? index.file().LoadActive() : index.file().OpenSealed();
    if (s.ok()) CheckTimeIndex(index, file, active);
  } else {
    spool::OffsetIndex index(&fs, path, kBase, kMaxBytes);
    absl::Status s =
        active ? index.file().LoadActive() : index.file().OpenSealed();
    if (s.ok()) CheckOffsetIndex(index, file, active);
  }
  return 0;
}
