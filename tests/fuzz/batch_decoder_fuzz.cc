// Fuzz target: the Kafka v2 record-batch decoder (docs/crash-testing.md,
// Fuzzing).
//
// The input is decoded twice: as it is, and with its CRC-32C recomputed,
// so that mutations past the checksum reach the record decoder. Oracles
// beyond "no crash, no sanitizer report":
//   * a batch that Validate() accepts iterates without error and yields
//     exactly recordsCount records with increasing offsets inside
//     [baseOffset, baseOffset + lastOffsetDelta];
//   * DecodeRecords agrees with the iterator;
//   * re-encoding the decoded records (uncompressed) gives a batch that
//     validates and decodes to the same keys, values and headers.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include "format/coding.h"
#include "spool/record.h"

namespace {

[[noreturn]] void Die(const char* what) {
  std::cerr << "batch_decoder_fuzz: oracle violated: " << what << "\n";
  std::abort();
}

void CheckValidBatch(const spool::RecordBatchView& batch) {
  const spool::BatchHeader& h = batch.header();
  spool::RecordIterator it(batch);
  spool::RecordView r;
  int32_t n = 0;
  int64_t prev = 0;
  while (it.Next(&r)) {
    // (The first record's offset may be baseOffset = INT64_MIN: no
    // "baseOffset - 1".)
    if ((n > 0 && r.offset <= prev) || r.offset < h.base_offset ||
        r.offset > h.last_offset()) {
      Die("record offsets out of order or range");
    }
    prev = r.offset;
    ++n;
  }
  if (!it.status().ok()) Die("a validated batch fails to iterate");
  if (n != h.records_count) Die("record count differs from recordsCount");
  auto records = spool::DecodeRecords(batch);
  if (!records.ok()) Die("DecodeRecords fails on a validated batch");
  if (static_cast<int32_t>(records->size()) != n) {
    Die("DecodeRecords count differs");
  }
  spool::RecordBatchBuilder b;
  for (const spool::Record& rec : *records) b.Add(rec);
  auto rebuilt = b.Build();
  if (!rebuilt.ok()) return;  // e.g. over the builder's limits
  auto view = spool::RecordBatchView::Parse(*rebuilt);
  if (!view.ok() || !view->Validate().ok()) Die("re-encoded batch invalid");
  auto again = spool::DecodeRecords(*view);
  if (!again.ok() || again->size() != records->size()) {
    Die("re-encoded batch decodes differently");
  }
  for (size_t i = 0; i < records->size(); ++i) {
    const spool::Record& x = (*records)[i];
    const spool::Record& y = (*again)[i];
    if (x.key != y.key || x.value != y.value ||
        x.headers.size() != y.headers.size()) {
      Die("round trip changed a record");
    }
  }
}

void DecodeAll(std::string_view data) {
  // Every batch in the input, as a segment reader would walk them.
  while (!data.empty()) {
    (void)spool::ParseBatchHeader(data);
    auto batch = spool::RecordBatchView::Parse(data);
    if (!batch.ok()) return;
    if (batch->Validate().ok()) CheckValidBatch(*batch);
    if (batch->size_bytes() <= 0) return;
    data.remove_prefix(static_cast<size_t>(batch->size_bytes()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  std::string data(reinterpret_cast<const char*>(bytes), size);
  DecodeAll(data);
  // Again with the first batch's CRC made right.
  constexpr size_t kCrcPos = 17;
  if (size >= spool::kBatchHeaderSize) {
    const int32_t length =
        static_cast<int32_t>(spool::DecodeFixed32BE(data.data() + 8));
    if (length >= 49 && static_cast<size_t>(length) + 12 <= size) {
      std::string_view batch(data.data(), static_cast<size_t>(length) + 12);
      spool::EncodeFixed32BE(data.data() + kCrcPos,
                             spool::ComputeBatchCrc(batch));
      DecodeAll(data);
    }
  }
  return 0;
}
