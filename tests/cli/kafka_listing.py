#!/usr/bin/env python3
"""Lists the batches and records of a Kafka .log segment as JSON lines, using
the independent decoder in tests/data/reference/kafka_format_check.py (written
from the format description, sharing no code with Spool).

Usage: kafka_listing.py <segment.log>

Output, one JSON object per line (the field names of `spool dump --json`):
  {"type": "batch", "position", "baseOffset", "lastOffset", ...}
  {"type": "record", "offset", "timestamp", "key", "value", "headers"}
Keys, values and header values are base64 (null stays null). Records of
compressed batches are not listed (the reference decoder reads uncompressed
batches only); such batches carry "recordsListed": false.
"""
import base64
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "data", "reference"))
from kafka_format_check import crc32c, decode_batch  # noqa: E402


def b64(b):
    return None if b is None else base64.b64encode(bytes(b)).decode("ascii")


def header_fields(buf):
    base, length, ple, magic, crc = struct.unpack_from(">qiibI", buf, 0)
    (attrs, lod, base_ts, max_ts, pid, epoch, base_seq,
     count) = struct.unpack_from(">hiqqqhii", buf, 21)
    return dict(baseOffset=base, batchLength=length, partitionLeaderEpoch=ple,
                magic=magic, crc=crc, attributes=attrs, lastOffsetDelta=lod,
                lastOffset=base + lod, baseTimestamp=base_ts,
                maxTimestamp=max_ts, producerId=pid, producerEpoch=epoch,
                baseSequence=base_seq, recordCount=count,
                crcValid=crc32c(buf[21:]) == crc)


def list_segment(path):
    data = open(path, "rb").read()
    pos = 0
    while pos + 12 <= len(data):
        _, length = struct.unpack_from(">qi", data, pos)
        end = pos + 12 + length
        if length < 49 or end > len(data):
            break
        buf = data[pos:end]
        batch = dict(type="batch", position=pos, sizeInBytes=len(buf))
        batch.update(header_fields(buf))
        compressed = batch["attributes"] & 0x07 != 0
        batch["recordsListed"] = not compressed
        print(json.dumps(batch, sort_keys=True))
        if not compressed:
            decoded = decode_batch(buf)
            log_append_time = batch["attributes"] & 0x08 != 0
            for r in decoded["records"]:
                ts = decoded["max_ts"] if log_append_time else r["timestamp"]
                print(json.dumps(dict(
                    type="record", offset=r["offset"], timestamp=ts,
                    attributes=r["attrs"], key=b64(r["key"]),
                    value=b64(r["value"]),
                    headers=[dict(key=k, value=b64(v))
                             for k, v in r["headers"]]), sort_keys=True))
        pos = end


if __name__ == "__main__":
    list_segment(sys.argv[1])
