// `spool dump` of one .log segment: a kafka-dump-log style line per batch
// (docs/cli.md lists the differences) and, with --records, per record.
// Streams through FileBatchReader in constant memory; the text path does
// no allocation per batch.

#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "format/batch_internal.h"
#include "format/coding.h"
#include "log/file_batch_reader.h"
#include "log/segment.h"
#include "tools/dump.h"
#include "tools/findings.h"
#include "tools/log_seek.h"
#include "util/status_macros.h"
#include "util/strings.h"

namespace spool::cli {
namespace {

const char* TimestampTypeName(const BatchHeader& h) {
  return h.timestamp_type() == TimestampType::kLogAppendTime ? "LogAppendTime"
                                                             : "CreateTime";
}

void AppendBatchLine(std::string* out, const ScannedBatch& b, bool crc_ok) {
  const BatchHeader& h = b.batch.header();
  absl::StrAppend(
      out, "baseOffset: ", h.base_offset, " lastOffset: ", h.last_offset(),
      " count: ", h.records_count, " baseSequence: ", h.base_sequence,
      " lastSequence: ", h.last_sequence(), " producerId: ", h.producer_id,
      " producerEpoch: ", h.producer_epoch,
      " partitionLeaderEpoch: ", h.partition_leader_epoch,
      " isTransactional: ", Bool(h.is_transactional()),
      " isControl: ", Bool(h.is_control()));
  if (h.has_delete_horizon()) {
    absl::StrAppend(out, " deleteHorizonMs: OptionalLong[", h.base_timestamp,
                    "]");
  } else {
    absl::StrAppend(out, " deleteHorizonMs: OptionalLong.empty");
  }
  absl::StrAppend(out, " position: ", b.position, " ", TimestampTypeName(h),
                  ": ", h.max_timestamp, " size: ", h.size_bytes(),
                  " magic: ", int{h.magic},
                  " compresscodec: ", ToAbsl(CompressionName(h.compression())),
                  " crc: ", h.crc, " isvalid: ", Bool(crc_ok), "\n");
}

json BatchJson(const ScannedBatch& b, bool crc_ok) {
  const BatchHeader& h = b.batch.header();
  return {{"type", "batch"},
          {"position", b.position},
          {"baseOffset", h.base_offset},
          {"lastOffset", h.last_offset()},
          {"lastOffsetDelta", h.last_offset_delta},
          {"recordCount", h.records_count},
          {"baseSequence", h.base_sequence},
          {"lastSequence", h.last_sequence()},
          {"producerId", h.producer_id},
          {"producerEpoch", h.producer_epoch},
          {"partitionLeaderEpoch", h.partition_leader_epoch},
          {"isTransactional", h.is_transactional()},
          {"isControl", h.is_control()},
          {"deleteHorizonMs",
           h.has_delete_horizon() ? json(h.base_timestamp) : json(nullptr)},
          {"timestampType", TimestampTypeName(h)},
          {"baseTimestamp", h.base_timestamp},
          {"maxTimestamp", h.max_timestamp},
          {"sizeInBytes", h.size_bytes()},
          {"batchLength", h.batch_length},
          {"magic", h.magic},
          {"attributes", h.attributes},
          {"compression", std::string(CompressionName(h.compression()))},
          {"crc", h.crc},
          {"crcValid", crc_ok}};
}

int32_t RecordSequence(const BatchHeader& h, const RecordView& r) {
  if (h.base_sequence < 0) return -1;
  int64_t seq = int64_t{h.base_sequence} + r.offset_delta;
  if (seq > std::numeric_limits<int32_t>::max()) {
    seq -= int64_t{std::numeric_limits<int32_t>::max()} + 1;
  }
  return static_cast<int32_t>(seq);
}

// A control record's key and value (kafka-format.md §2.4).
struct ControlRecord {
  int16_t type = -1;
  int32_t coordinator_epoch = -1;  // ABORT / COMMIT only
};
std::optional<ControlRecord> DecodeControl(const RecordView& r) {
  if (!r.key.has_value() || r.key->size() < 4) return std::nullopt;
  ControlRecord c;
  c.type = static_cast<int16_t>(DecodeFixed16BE(r.key->data() + 2));
  if ((c.type == 0 || c.type == 1) && r.value.has_value() &&
      r.value->size() >= 6) {
    c.coordinator_epoch =
        static_cast<int32_t>(DecodeFixed32BE(r.value->data() + 2));
  }
  return c;
}

const char* ControlTypeName(int16_t type) {
  static const char* kNames[] = {
      "ABORT",           "COMMIT",        "LEADER_CHANGE", "SNAPSHOT_HEADER",
      "SNAPSHOT_FOOTER", "KRAFT_VERSION", "KRAFT_VOTERS"};
  return type >= 0 && type < 7 ? kNames[type] : "UNKNOWN";
}

void AppendControl(std::string* out, const RecordView& r) {
  std::optional<ControlRecord> c = DecodeControl(r);
  if (!c.has_value()) {
    out->append(" controlType: INVALID");
  } else if (c->type == 0 || c->type == 1) {
    absl::StrAppend(out, " endTxnMarker: ", ControlTypeName(c->type),
                    " coordinatorEpoch: ", c->coordinator_epoch);
  } else {
    absl::StrAppend(out, " controlType: ", ControlTypeName(c->type));
  }
}

void AppendRecordLine(std::string* out, const BatchHeader& h,
                      const RecordView& r, DataFormat data) {
  absl::StrAppend(
      out, "| offset: ", r.offset, " ", TimestampTypeName(h), ": ", r.timestamp,
      " keySize: ", r.key ? static_cast<int64_t>(r.key->size()) : -1,
      " valueSize: ", r.value ? static_cast<int64_t>(r.value->size()) : -1,
      " sequence: ", RecordSequence(h, r), " headerKeys: [");
  for (size_t i = 0; i < r.headers.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendData(out, r.headers[i].key, DataFormat::kUtf8);
  }
  out->push_back(']');
  if (h.is_control()) {
    AppendControl(out, r);
  } else if (data != DataFormat::kNone) {
    if (r.key) absl::StrAppend(out, " key: ");
    if (r.key) AppendData(out, *r.key, data);
    if (r.value) absl::StrAppend(out, " payload: ");
    if (r.value) AppendData(out, *r.value, data);
    for (size_t i = 0; i < r.headers.size(); ++i) {
      out->append(i == 0 ? " headers: " : ",");
      AppendData(out, r.headers[i].key, DataFormat::kUtf8);
      out->push_back(':');
      if (r.headers[i].value) {
        AppendData(out, *r.headers[i].value, data);
      } else {
        out->append("null");
      }
    }
  }
  out->push_back('\n');
}

json RecordJson(const BatchHeader& h, const RecordView& r, uint64_t batch_pos,
                DataFormat data) {
  json headers = json::array();
  for (const HeaderView& hv : r.headers) {
    headers.push_back(
        {{"key", std::string(hv.key)}, {"value", DataJson(hv.value, data)}});
  }
  json j = {{"type", "record"},
            {"batchPosition", batch_pos},
            {"offset", r.offset},
            {"timestamp", r.timestamp},
            {"timestampType", TimestampTypeName(h)},
            {"attributes", r.attributes},
            {"sequence", RecordSequence(h, r)},
            {"keySize", r.key ? static_cast<int64_t>(r.key->size()) : -1},
            {"valueSize", r.value ? static_cast<int64_t>(r.value->size()) : -1},
            {"key", DataJson(r.key, data)},
            {"value", DataJson(r.value, data)},
            {"headers", std::move(headers)}};
  if (h.is_control()) {
    std::optional<ControlRecord> c = DecodeControl(r);
    j["control"] = c ? json{{"type", ControlTypeName(c->type)},
                            {"coordinatorEpoch", c->coordinator_epoch}}
                     : json(nullptr);
  }
  return j;
}

class SegmentDumper {
 public:
  SegmentDumper(const std::string& path, const DumpOptions& options,
                Output& out, DumpStats* stats)
      : path_(path),
        options_(options),
        out_(out),
        stats_(stats),
        findings_(&out, options.json) {}

  // Returns false once past the offset range.
  bool Batch(const ScannedBatch& b);
  void Problem(uint64_t position, std::string check, std::string message) {
    ++stats_->invalid;
    findings_.Problem(path_, static_cast<int64_t>(position), std::move(check),
                      std::move(message));
  }

 private:
  bool InTimeRange(const RecordView& r) const {
    return r.timestamp >= options_.from_time && r.timestamp <= options_.to_time;
  }
  bool InRange(const RecordView& r) const {
    return r.offset >= options_.from_offset && r.offset <= options_.to_offset &&
           InTimeRange(r);
  }
  bool AnyRecordInRange(const ScannedBatch& b);
  void Records(const ScannedBatch& b);

  const std::string& path_;
  const DumpOptions& options_;
  Output& out_;
  DumpStats* stats_;
  FindingSink findings_;
};

bool SegmentDumper::AnyRecordInRange(const ScannedBatch& b) {
  RecordIterator it(b.batch, {.verify_crc = false});
  RecordView r;
  while (it.Next(&r)) {
    if (InRange(r)) return true;
  }
  return false;
}

void SegmentDumper::Records(const ScannedBatch& b) {
  const BatchHeader& h = b.batch.header();
  RecordIterator it(b.batch, {.verify_crc = false});
  RecordView r;
  while (it.Next(&r)) {
    if (!InRange(r)) continue;
    ++stats_->records;
    if (options_.json) {
      out_.JsonLine(RecordJson(h, r, b.position, options_.data));
    } else {
      AppendRecordLine(&out_.buffer(), h, r, options_.data);
      out_.MaybeFlush();
    }
  }
  if (!it.status().ok()) {
    Problem(b.position, "records",
            absl::StrFormat("records of the batch do not decode: %s",
                            it.status().message()));
  }
}

bool SegmentDumper::Batch(const ScannedBatch& b) {
  const BatchHeader& h = b.batch.header();
  const bool crc_ok = ComputeBatchCrc(b.batch.bytes()) == h.crc;
  if (!crc_ok) ++stats_->invalid;
  if (h.base_offset > options_.to_offset) {
    stats_->past_range = true;
    return false;
  }
  if (h.last_offset() < options_.from_offset) return true;
  if (h.max_timestamp < options_.from_time) return true;
  if (options_.time_range() && !AnyRecordInRange(b)) return true;
  ++stats_->batches;
  if (options_.json) {
    out_.JsonLine(BatchJson(b, crc_ok));
  } else {
    AppendBatchLine(&out_.buffer(), b, crc_ok);
    out_.MaybeFlush();
  }
  if (options_.records) Records(b);
  return true;
}

void PrintHeader(const std::string& path, int64_t base, uint64_t size,
                 const DumpOptions& options, Output& out) {
  if (options.json) {
    out.JsonLine({{"type", "file"},
                  {"file", path},
                  {"kind", "log"},
                  {"baseOffset", base},
                  {"size", size}});
    return;
  }
  out.Line(absl::StrCat("Dumping ", path));
  out.Line(absl::StrCat("Log starting offset: ", base));
}

}  // namespace

absl::Status DumpLogSegment(FileSystem* fs, const std::string& path,
                            const std::string& index_path,
                            const DumpOptions& options, Output& out,
                            Progress* progress, DumpStats* stats) {
  SPOOL_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                         fs->Open(path, {.read_only = true}));
  SPOOL_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  const int64_t base = ParseSegmentBaseOffset(BaseName(path)).value_or(0);
  PrintHeader(path, base, size, options, out);
  const uint64_t start =
      IndexedPosition(fs, index_path, base, *file, options.from_offset);
  FileBatchReader reader(*file, start, size, {.verify_crc = false});
  SegmentDumper dumper(path, options, out, stats);
  ScannedBatch b;
  bool more = true;
  while (more && reader.Next(&b)) {
    more = dumper.Batch(b);
    const uint64_t n = static_cast<uint64_t>(b.batch.size_bytes());
    stats->bytes_scanned += n;
    if (progress != nullptr) progress->Add(n);
  }
  if (!more) return absl::OkStatus();
  const uint64_t rest = size - reader.valid_end();
  switch (reader.stop()) {
    case FileBatchReader::Stop::kIncompleteTail:
      dumper.Problem(reader.valid_end(), "torn-tail",
                     absl::StrFormat("Found %d invalid bytes at the end of %s",
                                     rest, BaseName(path)));
      break;
    case FileBatchReader::Stop::kCorrupt:
      dumper.Problem(reader.valid_end(), "batch",
                     absl::StrFormat("Found corrupt data: %s; the %d bytes "
                                     "from here to the end are not dumped",
                                     reader.status().message(), rest));
      break;
    case FileBatchReader::Stop::kIoError:
      return reader.status();
    default:
      break;
  }
  return absl::OkStatus();
}

}  // namespace spool::cli
