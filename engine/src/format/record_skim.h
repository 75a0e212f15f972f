// A fast structural check of an uncompressed batch's records, for the
// append path: it walks every record's varint lengths the way
// RecordIterator does, but builds no RecordView (no header vector, no
// optionals) and formats no messages.
//
// Contract: SkimRecords accepts a records region exactly when a
// RecordIterator over the same batch (CRC already checked) would return
// every record without error and the append checks below hold. It only
// answers yes or no; on "no" the caller runs the full decoder to get the
// error message (tests/format/record_iterator_test.cc checks that both
// agree on corrupt inputs).

#ifndef SPOOL_FORMAT_RECORD_SKIM_H_
#define SPOOL_FORMAT_RECORD_SKIM_H_

#include <cstdint>
#include <string_view>

#include "spool/record.h"

namespace spool {

struct SkimOptions {
  // Offset deltas must be exactly 0, 1, 2, ... (a produced batch); else
  // they must increase and stay within lastOffsetDelta (as RecordIterator
  // requires of any batch).
  bool consecutive_deltas = false;
  // Every record must have a non-null key (compacted topics).
  bool require_keys = false;
};

struct SkimResult {
  // The largest record timestamp (baseTimestamp + timestampDelta, wrapping
  // as RecordIterator computes it), or -1 if that is larger or there are
  // no records. Meaningless for LogAppendTime batches, where RecordIterator
  // reports maxTimestamp for every record.
  int64_t max_timestamp = -1;
};

// Checks the records region of `batch`, which must be uncompressed (the
// caller decompresses or uses RecordIterator otherwise): the record count
// matches recordsCount, every record's fields fit inside its length and
// fill it exactly (varints not truncated or overlong, lengths >= -1, or
// >= 0 for header keys, header counts that fit), offset deltas as
// `options` says, and the records end exactly at the end of the batch.
// Does not check the CRC. Returns false on any violation.
bool SkimRecords(const RecordBatchView& batch, const SkimOptions& options,
                 SkimResult* result);

}  // namespace spool

#endif  // SPOOL_FORMAT_RECORD_SKIM_H_
