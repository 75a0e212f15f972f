// The read-only codecs: gzip, snappy (xerial framing or raw) and LZ4 frames.

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>

#include "absl/strings/str_format.h"
#include "format/coding.h"
#include "format/compression_internal.h"
#include "format/output_buffer.h"

namespace spool::compression_internal {
namespace {

size_t InitialHint(size_t input_size) {
  return std::max<size_t>(input_size * 4, size_t{64} << 10);
}

// --------------------------------------------------------------- gzip

class Inflater {
 public:
  Inflater() { ok_ = inflateInit2(&zs_, 16 + MAX_WBITS) == Z_OK; }  // gzip
  ~Inflater() {
    if (ok_) inflateEnd(&zs_);
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  bool ok() const { return ok_; }
  z_stream* stream() { return &zs_; }

 private:
  z_stream zs_{};
  bool ok_ = false;
};

}  // namespace

absl::Status DecompressGzip(std::string_view input, size_t max_output,
                            std::string* out) {
  Inflater inflater;
  if (!inflater.ok()) return absl::InternalError("gzip: inflateInit failed");
  z_stream* zs = inflater.stream();
  OutputBuffer buf(out, max_output, InitialHint(input.size()));
  size_t consumed = 0;  // input bytes handed to zlib so far
  for (;;) {
    if (zs->avail_in == 0 && consumed < input.size()) {
      size_t n = std::min<size_t>(input.size() - consumed, UINT_MAX);
      zs->next_in =
          reinterpret_cast<Bytef*>(const_cast<char*>(input.data() + consumed));
      zs->avail_in = static_cast<uInt>(n);
      consumed += n;
    }
    if (!buf.Reserve()) return OutputLimitExceeded("gzip", max_output);
    uInt avail = static_cast<uInt>(std::min<size_t>(buf.available(), UINT_MAX));
    zs->next_out = reinterpret_cast<Bytef*>(buf.data());
    zs->avail_out = avail;
    int ret = inflate(zs, Z_NO_FLUSH);
    buf.Commit(avail - zs->avail_out);
    if (buf.exceeded()) return OutputLimitExceeded("gzip", max_output);
    size_t in_pos = consumed - zs->avail_in;
    if (ret == Z_STREAM_END) {
      if (in_pos == input.size()) break;
      inflateReset(zs);  // another member follows
      continue;
    }
    if (ret == Z_BUF_ERROR && in_pos == input.size()) {
      return absl::DataLossError(absl::StrFormat(
          "gzip: input ends inside the stream after %u bytes", input.size()));
    }
    if (ret != Z_OK && ret != Z_BUF_ERROR) {
      return absl::DataLossError(
          absl::StrFormat("gzip: inflate failed near input byte %u: %s", in_pos,
                          zs->msg != nullptr ? zs->msg : zError(ret)));
    }
  }
  buf.Finish();
  return absl::OkStatus();
}

// --------------------------------------------------------------- snappy

namespace {

// snappy-java stream header: magic, then big-endian version and
// compatible-version, then [int32 BE length][raw block] chunks.
constexpr char kXerialMagic[8] = {'\x82', 'S', 'N', 'A', 'P', 'P', 'Y', '\0'};
constexpr size_t kXerialHeaderSize = 16;

// Appends the decompression of one raw snappy block to *out. `where` is the
// block's byte position in the codec input, for messages.
absl::Status AppendSnappyBlock(std::string_view block, size_t where,
                               size_t max_output, std::string* out) {
  size_t n = 0;
  if (!snappy::GetUncompressedLength(block.data(), block.size(), &n)) {
    return absl::DataLossError(absl::StrFormat(
        "snappy: block at input byte %u has an invalid length preamble",
        where));
  }
  if (n > max_output - out->size()) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "snappy: block at input byte %u claims %u bytes; total would exceed "
        "the limit of %u (max_decompressed_bytes; possible decompression "
        "bomb)",
        where, n, max_output));
  }
  size_t old_size = out->size();
  out->resize(old_size + n);
  if (!snappy::RawUncompress(block.data(), block.size(),
                             out->data() + old_size)) {
    return absl::DataLossError(
        absl::StrFormat("snappy: block at input byte %u (%u bytes) is corrupt",
                        where, block.size()));
  }
  return absl::OkStatus();
}

absl::Status DecompressXerial(std::string_view input, size_t max_output,
                              std::string* out) {
  size_t pos = kXerialHeaderSize;
  while (pos < input.size()) {
    if (input.size() - pos < 4) {
      return absl::DataLossError(absl::StrFormat(
          "snappy: xerial chunk length at input byte %u is truncated "
          "(%u bytes left)",
          pos, input.size() - pos));
    }
    int32_t len = static_cast<int32_t>(DecodeFixed32BE(input.data() + pos));
    size_t left = input.size() - pos - 4;
    if (len < 0 || static_cast<size_t>(len) > left) {
      return absl::DataLossError(absl::StrFormat(
          "snappy: xerial chunk at input byte %u claims %d bytes, %u left", pos,
          len, left));
    }
    absl::Status s =
        AppendSnappyBlock(input.substr(pos + 4, len), pos + 4, max_output, out);
    if (!s.ok()) return s;
    pos += 4 + static_cast<size_t>(len);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status DecompressSnappy(std::string_view input, size_t max_output,
                              std::string* out) {
  out->clear();
  if (input.size() >= kXerialHeaderSize &&
      std::memcmp(input.data(), kXerialMagic, sizeof(kXerialMagic)) == 0) {
    return DecompressXerial(input, max_output, out);
  }
  return AppendSnappyBlock(input, 0, max_output, out);
}

// --------------------------------------------------------------- lz4

namespace {

struct Lz4Deleter {
  void operator()(LZ4F_dctx* d) const { LZ4F_freeDecompressionContext(d); }
};

absl::Status Lz4Error(size_t code, size_t input_pos) {
  return absl::DataLossError(
      absl::StrFormat("lz4: decompression failed near input byte %u: %s",
                      input_pos, LZ4F_getErrorName(code)));
}

// Reads the first frame's header: rejects a claimed content size over the
// limit and returns a size hint for the output, advancing *pos past it.
absl::Status ReadLz4Header(LZ4F_dctx* dctx, std::string_view input,
                           size_t max_output, size_t* pos, size_t* hint) {
  LZ4F_frameInfo_t info{};
  *pos = input.size();
  size_t r = LZ4F_getFrameInfo(dctx, &info, input.data(), pos);
  if (LZ4F_isError(r)) return Lz4Error(r, 0);
  if (info.contentSize > max_output) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "lz4: frame claims %u decompressed bytes, over the limit of %u "
        "(max_decompressed_bytes; possible decompression bomb)",
        info.contentSize, max_output));
  }
  *hint = info.contentSize != 0 ? static_cast<size_t>(info.contentSize)
                                : InitialHint(input.size());
  return absl::OkStatus();
}

}  // namespace

absl::Status DecompressLz4(std::string_view input, size_t max_output,
                           std::string* out) {
  LZ4F_dctx* raw = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION))) {
    return absl::InternalError("lz4: cannot create a decompression context");
  }
  std::unique_ptr<LZ4F_dctx, Lz4Deleter> dctx(raw);
  size_t pos = 0, hint = 0;
  if (absl::Status s =
          ReadLz4Header(dctx.get(), input, max_output, &pos, &hint);
      !s.ok()) {
    return s;
  }
  OutputBuffer buf(out, max_output, hint);
  for (;;) {
    if (!buf.Reserve()) return OutputLimitExceeded("lz4", max_output);
    size_t dst_size = buf.available();
    size_t src_size = input.size() - pos;
    size_t ret = LZ4F_decompress(dctx.get(), buf.data(), &dst_size,
                                 input.data() + pos, &src_size, nullptr);
    if (LZ4F_isError(ret)) return Lz4Error(ret, pos);
    pos += src_size;
    buf.Commit(dst_size);
    if (buf.exceeded()) return OutputLimitExceeded("lz4", max_output);
    if (pos == input.size() && ret == 0) break;  // last frame complete
    // Output space left over with all input consumed (or no progress at
    // all): the frame needs more input than there is.
    if ((pos == input.size() && buf.available() > 0) ||
        (src_size == 0 && dst_size == 0)) {
      return absl::DataLossError(absl::StrFormat(
          "lz4: input ends inside a frame after %u bytes", input.size()));
    }
  }
  buf.Finish();
  return absl::OkStatus();
}

}  // namespace spool::compression_internal
