#include "tools/demo_state.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"

namespace spool::cli {
namespace {

constexpr char kTopic[] = "conversation-state";
constexpr int kConversations = 5;
constexpr int kTurns = 5;
constexpr int kClosed = 3;  // conv-3 ends: its state is deleted
// Segments roll at 1 KiB, and at the first append 50 ms after a segment
// began: the demo waits that long before its last record, so every earlier
// record is in a sealed (cleanable) segment.
constexpr absl::Duration kSegmentAge = absl::Milliseconds(50);

const char* const kSteps[kTurns] = {"greeting", "ask-date", "ask-party-size",
                                    "confirm", "booked"};

struct Kept {
  int64_t offset = 0;
  std::optional<std::string> value;
  int copies = 0;
};

absl::Status CreateTopic(Engine& engine) {
  absl::Status s = engine.DeleteTopic(kTopic);  // a previous run's
  if (!s.ok() && !absl::IsNotFound(s)) return s;
  return engine.CreateTopic(kTopic,
                            {.partitions = 1,
                             .segment_bytes = 1024,
                             .segment_age = kSegmentAge,
                             .max_batch_bytes = 1024,
                             .cleanup_policy = CleanupPolicy::kCompact});
}

absl::Status Write(Engine& engine, const std::string& key,
                   std::optional<std::string> value) {
  return engine.Produce(kTopic, {.key = key, .value = std::move(value)})
      .status();
}

// Reads the partition and keeps, per key, its last record and how many
// records it has.
absl::StatusOr<std::map<std::string, Kept>> ReadBack(Engine& engine,
                                                     int64_t* records) {
  const TopicPartition tp{kTopic, 0};
  absl::StatusOr<PartitionOffsets> o = engine.Offsets(tp);
  if (!o.ok()) return o.status();
  std::map<std::string, Kept> keys;
  int64_t pos = o->log_start_offset;
  while (pos < o->log_end_offset) {
    absl::StatusOr<FetchResult> f = engine.Fetch(tp, pos);
    if (!f.ok()) return f.status();
    if (f->batches.empty()) break;
    absl::Status s = f->ForEachRecord([&](const RecordView& r) {
      Kept& k = keys[std::string(r.key.value_or(""))];
      k.offset = r.offset;
      k.value.reset();
      if (r.value.has_value()) k.value = std::string(*r.value);
      ++k.copies;
      ++*records;
      return true;
    });
    if (!s.ok()) return s;
    pos = f->next_offset;
  }
  return keys;
}

}  // namespace

absl::Status RunConversationState(Engine& engine) {
  absl::Status s = CreateTopic(engine);
  if (!s.ok()) return s;
  for (int turn = 0; turn < kTurns; ++turn) {
    for (int c = 1; c <= kConversations; ++c) {
      s = Write(engine, absl::StrFormat("conv-%d", c),
                absl::StrFormat("turn=%d step=%s", turn + 1, kSteps[turn]));
      if (!s.ok()) return s;
    }
  }
  s = Write(engine, absl::StrFormat("conv-%d", kClosed), std::nullopt);
  if (!s.ok()) return s;
  std::this_thread::sleep_for(absl::ToChronoMilliseconds(2 * kSegmentAge));
  const std::string newcomer = absl::StrFormat("conv-%d", kConversations + 1);
  s = Write(engine, newcomer, absl::StrFormat("turn=1 step=%s", kSteps[0]));
  if (!s.ok()) return s;
  const int written = kConversations * kTurns + 2;
  std::cout << absl::StrFormat(
      "\ncompacted topic %s: %d state updates for %d conversations, a "
      "tombstone closing conv-%d, then %s started\n",
      kTopic, kConversations * kTurns, kConversations, kClosed, newcomer);

  absl::StatusOr<CompactionStats> st = engine.Compact({kTopic, 0});
  if (!st.ok()) return st.status();
  int64_t records = 0;
  absl::StatusOr<std::map<std::string, Kept>> keys = ReadBack(engine, &records);
  if (!keys.ok()) return keys.status();
  std::cout << absl::StrFormat(
      "Compact(): %d of %d records removed (%d -> %d bytes); the latest "
      "record per key remains, at its original offset:\n",
      written - records, written, st->bytes_before, st->bytes_after);
  std::vector<int64_t> offsets;
  for (const auto& [key, k] : *keys) {
    if (k.copies != 1) {
      return absl::InternalError(absl::StrFormat(
          "%s: %d records left after compaction", key, k.copies));
    }
    offsets.push_back(k.offset);
    std::cout << absl::StrFormat(
        "  %-7s offset %2d  %s\n", key, k.offset,
        k.value.has_value()
            ? *k.value
            : "(tombstone: kept for delete.retention, then removed)");
  }
  std::sort(offsets.begin(), offsets.end());
  std::cout << absl::StrFormat(
      "offsets kept: %s (%s is in the active segment, which is never "
      "compacted)\n",
      absl::StrJoin(offsets, " "), newcomer);
  return absl::OkStatus();
}

}  // namespace spool::cli
