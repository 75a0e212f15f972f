#include "format/format_test_util.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "format/coding.h"
#include "gtest/gtest.h"

namespace spool::testing {

std::string TestDataPath(std::string_view relative) {
  return std::string(SPOOL_TEST_DATA_DIR) + "/" + std::string(relative);
}

std::string SourcePath(std::string_view relative) {
  return std::string(SPOOL_SOURCE_DIR) + "/" + std::string(relative);
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string HexToBytes(std::string_view hex, bool* ok) {
  std::string digits;
  for (char c : hex) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') continue;
    digits.push_back(c);
  }
  bool good =
      digits.size() % 2 == 0 &&
      digits.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
  if (ok != nullptr) *ok = good;
  if (!good) return "";
  return absl::HexStringToBytes(digits);
}

std::string BytesToHex(std::string_view bytes) {
  return absl::BytesToHexString({bytes.data(), bytes.size()});
}

std::string GzipCompress(std::string_view input) {
  z_stream zs{};
  EXPECT_EQ(
      deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
      Z_OK);
  std::string out(deflateBound(&zs, input.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  zs.avail_in = static_cast<uInt>(input.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string SnappyRawCompress(std::string_view input) {
  std::string out;
  snappy::Compress(input.data(), input.size(), &out);
  return out;
}

std::string SnappyXerialCompress(std::string_view input, size_t chunk) {
  std::string out("\x82SNAPPY\0", 8);
  PutFixed32BE(&out, 1);  // version
  PutFixed32BE(&out, 1);  // compatible version
  for (size_t pos = 0; pos < input.size(); pos += chunk) {
    std::string block = SnappyRawCompress(input.substr(pos, chunk));
    PutFixed32BE(&out, static_cast<uint32_t>(block.size()));
    out += block;
  }
  return out;
}

std::string Lz4FrameCompress(std::string_view input,
                             const Lz4FrameOptions& options) {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID =
      static_cast<LZ4F_blockSizeID_t>(options.block_size_id);
  prefs.frameInfo.blockMode =
      options.linked_blocks ? LZ4F_blockLinked : LZ4F_blockIndependent;
  prefs.frameInfo.contentChecksumFlag = options.content_checksum
                                            ? LZ4F_contentChecksumEnabled
                                            : LZ4F_noContentChecksum;
  prefs.frameInfo.blockChecksumFlag =
      options.block_checksum ? LZ4F_blockChecksumEnabled : LZ4F_noBlockChecksum;
  prefs.frameInfo.contentSize = options.content_size ? input.size() : 0;
  std::string out(LZ4F_compressFrameBound(input.size(), &prefs), '\0');
  size_t n = LZ4F_compressFrame(out.data(), out.size(), input.data(),
                                input.size(), &prefs);
  EXPECT_FALSE(LZ4F_isError(n)) << LZ4F_getErrorName(n);
  out.resize(n);
  return out;
}

std::string ZstdStreamCompress(std::string_view input, int level) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  std::string out(ZSTD_compressBound(input.size()) + 64, '\0');
  ZSTD_inBuffer in{input.data(), input.size(), 0};
  ZSTD_outBuffer o{out.data(), out.size(), 0};
  // compressStream2 without a pledged size leaves the content size out.
  size_t left = 1;
  while (in.pos < in.size) {
    ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_continue);
  }
  while (left != 0) left = ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_end);
  ZSTD_freeCCtx(cctx);
  out.resize(o.pos);
  return out;
}

std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

namespace {

// Null, empty, short, or now and then long.
std::optional<std::string> RandomField(std::mt19937_64& rng) {
  switch (rng() % 8) {
    case 0:
      return std::nullopt;
    case 1:
      return std::string();
    case 2:
      return RandomBytes(rng, 200 + rng() % 3000);
    default:
      return RandomBytes(rng, rng() % 64);
  }
}

}  // namespace

std::vector<Record> RandomRecords(std::mt19937_64& rng, int count,
                                  int64_t base_ts) {
  std::vector<Record> records(count);
  for (int i = 0; i < count; ++i) {
    Record& r = records[i];
    r.key = RandomField(rng);
    r.value = RandomField(rng);
    int num_headers = rng() % 4 == 0 ? static_cast<int>(rng() % 4) : 0;
    for (int h = 0; h < num_headers; ++h) {
      Header& header = r.headers.emplace_back();
      header.key = RandomBytes(rng, rng() % 12);
      header.value = RandomField(rng);
    }
    r.timestamp = i == 0
                      ? base_ts
                      : base_ts + static_cast<int64_t>(rng() % 20001) - 10000;
  }
  return records;
}

uint64_t TestSeed() {
  if (const char* env = std::getenv("SPOOL_TEST_SEED")) {
    return std::strtoull(env, nullptr, 10);
  }
  return std::random_device{}();
}

std::string BuildBatch(const std::vector<Record>& records,
                       const BatchBuilderOptions& options) {
  RecordBatchBuilder builder(options);
  for (const Record& r : records) builder.Add(r);
  absl::StatusOr<std::string> batch = builder.Build();
  EXPECT_TRUE(batch.ok()) << batch.status();
  return batch.ok() ? *batch : std::string();
}

std::vector<Record> ExpectedAsRead(std::vector<Record> records,
                                   TimestampType type, int64_t max_ts) {
  if (type == TimestampType::kLogAppendTime) {
    for (Record& r : records) r.timestamp = max_ts;
  }
  return records;
}

namespace {

std::string DescribeField(const std::optional<std::string>& f) {
  if (!f) return "null";
  if (f->size() > 24) {
    return absl::StrFormat("%u bytes %s...", f->size(),
                           BytesToHex(f->substr(0, 8)));
  }
  return absl::StrCat("\"", absl::CHexEscape(*f), "\"");
}

}  // namespace

std::string DescribeRecord(const Record& r) {
  std::vector<std::string> headers;
  for (const Header& h : r.headers) {
    headers.push_back(
        absl::StrCat(absl::CHexEscape(h.key), "=", DescribeField(h.value)));
  }
  return absl::StrFormat("{ts=%d key=%s value=%s headers=[%s]}", r.timestamp,
                         DescribeField(r.key), DescribeField(r.value),
                         absl::StrJoin(headers, ", "));
}

bool RecordsEqual(const std::vector<Record>& a, const std::vector<Record>& b,
                  std::string* why) {
  if (a.size() != b.size()) {
    *why = absl::StrFormat("%u records vs %u", a.size(), b.size());
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    bool same = a[i].key == b[i].key && a[i].value == b[i].value &&
                a[i].timestamp == b[i].timestamp &&
                a[i].headers.size() == b[i].headers.size();
    for (size_t h = 0; same && h < a[i].headers.size(); ++h) {
      same = a[i].headers[h].key == b[i].headers[h].key &&
             a[i].headers[h].value == b[i].headers[h].value;
    }
    if (!same) {
      *why = absl::StrFormat("record %u: %s vs %s", i, DescribeRecord(a[i]),
                             DescribeRecord(b[i]));
      return false;
    }
  }
  return true;
}

}  // namespace spool::testing
