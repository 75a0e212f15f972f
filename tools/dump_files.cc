// `spool dump` of the files next to a .log: .index and .timeindex (entries,
// then the index checks of `spool verify` against the segment's log),
// .snapshot and .txnindex. Line formats follow kafka-dump-log
// (kafka-format.md §9.3).

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "log/segment.h"
#include "tools/dump.h"
#include "tools/index_reader.h"
#include "tools/kafka_files.h"
#include "tools/verify.h"
#include "util/status_macros.h"

namespace spool::cli {
namespace {

// Forwards only the findings about one file.
class FileFilterSink : public FindingSink {
 public:
  FileFilterSink(std::string file, FindingSink* next)
      : FindingSink(nullptr, false), file_(std::move(file)), next_(next) {}
  void Add(Finding f) override {
    if (f.file != file_) return;
    FindingSink::Add(f);
    next_->Add(std::move(f));
  }

 private:
  std::string file_;
  FindingSink* next_;
};

void PrintFileHeader(const std::string& path, std::string_view kind,
                     const DumpOptions& options, Output& out) {
  if (options.json) {
    out.JsonLine({{"type", "file"}, {"file", path}, {"kind", kind}});
  } else {
    out.Line(absl::StrCat("Dumping ", path));
  }
}

// Runs the checks of `spool verify` on the segment holding `index_path`
// and prints the findings about that index.
absl::Status CheckIndexAgainstLog(FileSystem* fs, const std::string& index_path,
                                  const DumpOptions& options, Output& out,
                                  DumpStats* stats) {
  FindingSink printer(&out, options.json);
  FileFilterSink only_index(index_path, &printer);
  absl::StatusOr<SegmentCheck> check = SegmentCheckFor(fs, index_path);
  if (!check.ok()) return check.status();
  if (check->files.log.empty()) {
    printer.Note(index_path, -1, "index-entry",
                 "no .log next to it: entries not compared with the log");
    return absl::OkStatus();
  }
  absl::StatusOr<SegmentResult> r =
      VerifySegment(fs, *check, {}, &only_index, nullptr);
  if (!r.ok()) return r.status();
  stats->invalid += only_index.problems();
  return absl::OkStatus();
}

template <typename Entry, typename Decode, typename Print>
absl::Status DumpIndex(FileSystem* fs, const std::string& path, int entry_size,
                       std::string_view kind, Decode decode, Print print,
                       const DumpOptions& options, Output& out,
                       DumpStats* stats) {
  SPOOL_ASSIGN_OR_RETURN(auto reader, IndexReader::Open(fs, path, entry_size));
  const int64_t base = ParseSegmentBaseOffset(BaseName(path)).value_or(0);
  PrintFileHeader(path, kind, options, out);
  std::string_view bytes;
  int64_t i;
  while (reader->Next(&bytes, &i)) {
    Entry e = decode(bytes, base);
    print(e);
  }
  SPOOL_RETURN_IF_ERROR(reader->status());
  if (reader->entries() == 0 && !options.json) {
    out.Line(absl::StrCat(path, " is empty."));
  }
  return CheckIndexAgainstLog(fs, path, options, out, stats);
}

std::string OptionalLong(int64_t v) {
  return v < 0 ? "OptionalLong.empty" : absl::StrCat("OptionalLong[", v, "]");
}

void PrintSnapshotEntry(const SnapshotEntry& e, const DumpOptions& options,
                        Output& out) {
  const int32_t first_seq = e.last_sequence - e.offset_delta;
  if (options.json) {
    out.JsonLine(
        {{"type", "producer"},
         {"producerId", e.producer_id},
         {"producerEpoch", e.producer_epoch},
         {"coordinatorEpoch", e.coordinator_epoch},
         {"currentTxnFirstOffset", e.current_txn_first_offset < 0
                                       ? json(nullptr)
                                       : json(e.current_txn_first_offset)},
         {"lastTimestamp", e.timestamp},
         {"firstSequence", first_seq},
         {"lastSequence", e.last_sequence},
         {"lastOffset", e.last_offset},
         {"offsetDelta", e.offset_delta},
         {"timestamp", e.timestamp}});
    return;
  }
  std::string line = absl::StrCat(
      "producerId: ", e.producer_id, " producerEpoch: ", e.producer_epoch,
      " coordinatorEpoch: ", e.coordinator_epoch,
      " currentTxnFirstOffset: ", OptionalLong(e.current_txn_first_offset),
      " lastTimestamp: ", e.timestamp);
  if (e.last_offset >= 0) {
    absl::StrAppend(
        &line, " firstSequence: ", first_seq,
        " lastSequence: ", e.last_sequence, " lastOffset: ", e.last_offset,
        " offsetDelta: ", e.offset_delta, " timestamp: ", e.timestamp);
  }
  out.Line(line);
}

}  // namespace

absl::Status DumpOffsetIndex(FileSystem* fs, const std::string& path,
                             const DumpOptions& options, Output& out,
                             DumpStats* stats) {
  auto print = [&](const OffsetEntry& e) {
    if (options.json) {
      out.JsonLine({{"type", "index-entry"},
                    {"offset", e.offset},
                    {"position", e.position}});
    } else {
      out.Line(absl::StrCat("offset: ", e.offset, " position: ", e.position));
    }
  };
  return DumpIndex<OffsetEntry>(fs, path, kOffsetEntrySize, "offset-index",
                                DecodeOffsetEntry, print, options, out, stats);
}

absl::Status DumpTimeIndex(FileSystem* fs, const std::string& path,
                           const DumpOptions& options, Output& out,
                           DumpStats* stats) {
  auto print = [&](const TimeEntry& e) {
    if (options.json) {
      out.JsonLine({{"type", "timeindex-entry"},
                    {"timestamp", e.timestamp},
                    {"offset", e.offset}});
    } else {
      out.Line(absl::StrCat("timestamp: ", e.timestamp, " offset: ", e.offset));
    }
  };
  return DumpIndex<TimeEntry>(fs, path, kTimeEntrySize, "time-index",
                              DecodeTimeEntry, print, options, out, stats);
}

absl::Status DumpSnapshot(FileSystem* fs, const std::string& path,
                          const DumpOptions& options, Output& out,
                          DumpStats* stats) {
  SPOOL_ASSIGN_OR_RETURN(std::string data, fs->ReadFile(path));
  PrintFileHeader(path, "snapshot", options, out);
  FindingSink findings(&out, options.json);
  absl::StatusOr<ProducerSnapshot> s = ParseProducerSnapshot(data);
  if (!s.ok()) {
    findings.Problem(path, 0, "snapshot", std::string(s.status().message()));
    ++stats->invalid;
    return absl::OkStatus();
  }
  for (const SnapshotEntry& e : s->entries) PrintSnapshotEntry(e, options, out);
  if (!s->crc_ok()) {
    findings.Problem(path, 2, "snapshot",
                     "the snapshot's CRC-32C does not "
                     "match its bytes",
                     absl::StrFormat("%d", s->computed_crc),
                     absl::StrFormat("%d", s->crc));
    ++stats->invalid;
  }
  return absl::OkStatus();
}

absl::Status DumpTxnIndex(FileSystem* fs, const std::string& path,
                          const DumpOptions& options, Output& out,
                          DumpStats* stats) {
  SPOOL_ASSIGN_OR_RETURN(std::string data, fs->ReadFile(path));
  PrintFileHeader(path, "txnindex", options, out);
  for (size_t pos = 0; pos + kAbortedTxnSize <= data.size();
       pos += kAbortedTxnSize) {
    AbortedTxn t = DecodeAbortedTxn(std::string_view(data).substr(pos));
    if (options.json) {
      out.JsonLine({{"type", "aborted-txn"},
                    {"version", t.version},
                    {"producerId", t.producer_id},
                    {"firstOffset", t.first_offset},
                    {"lastOffset", t.last_offset},
                    {"lastStableOffset", t.last_stable_offset}});
    } else {
      out.Line(absl::StrCat(
          "version: ", t.version, " producerId: ", t.producer_id,
          " firstOffset: ", t.first_offset, " lastOffset: ", t.last_offset,
          " lastStableOffset: ", t.last_stable_offset));
    }
  }
  if (data.size() % kAbortedTxnSize != 0) {
    FindingSink findings(&out, options.json);
    findings.Problem(
        path,
        static_cast<int64_t>(data.size() / kAbortedTxnSize * kAbortedTxnSize),
        "txnindex",
        "the length is not a whole number of 34-byte "
        "entries");
    ++stats->invalid;
  }
  return absl::OkStatus();
}

}  // namespace spool::cli
