// Codec dispatch and zstd (the one codec Spool also writes).

#include "format/compression.h"

#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <bit>
#include <memory>

#include "absl/strings/str_format.h"
#include "format/compression_internal.h"
#include "format/output_buffer.h"

namespace spool {

std::string_view CompressionName(Compression c) {
  switch (c) {
    case Compression::kNone:
      return "none";
    case Compression::kGzip:
      return "gzip";
    case Compression::kSnappy:
      return "snappy";
    case Compression::kLz4:
      return "lz4";
    case Compression::kZstd:
      return "zstd";
  }
  return "unknown";
}

namespace compression_internal {

absl::Status OutputLimitExceeded(std::string_view codec, size_t max_output) {
  return absl::ResourceExhaustedError(
      absl::StrFormat("%s: decompressed size exceeds the limit of %u bytes "
                      "(max_decompressed_bytes; possible decompression bomb)",
                      codec, max_output));
}

namespace {

struct DCtxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};
struct CCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};

// Contexts are large to set up (tens to hundreds of KiB), so each thread
// keeps one of each and resets it per use.
ZSTD_DCtx* ThreadDCtx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxDeleter> dctx(ZSTD_createDCtx());
  return dctx.get();
}
ZSTD_CCtx* ThreadCCtx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxDeleter> cctx(ZSTD_createCCtx());
  return cctx.get();
}

// The largest window a frame may ask for: enough for any output within the
// limit, at least 8 MiB (what zstd's levels up to 19 use when the content
// size is unknown), at most zstd's default cap of 128 MiB.
constexpr int kMinWindowLog = 23;
constexpr int kMaxWindowLog = 27;  // ZSTD_WINDOWLOG_LIMIT_DEFAULT

int WindowLogMax(size_t max_output) {
  int log = max_output <= 1 ? 0 : std::bit_width(max_output - 1);
  return std::clamp(log, kMinWindowLog, kMaxWindowLog);
}

absl::Status ZstdError(size_t code, size_t input_pos, size_t max_output) {
  if (ZSTD_getErrorCode(code) == ZSTD_error_frameParameter_windowTooLarge) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "zstd: frame at input byte %u needs a window larger than 2^%d bytes "
        "allowed for max_decompressed_bytes %u",
        input_pos, WindowLogMax(max_output), max_output));
  }
  return absl::DataLossError(
      absl::StrFormat("zstd: decompression failed near input byte %u: %s",
                      input_pos, ZSTD_getErrorName(code)));
}

}  // namespace

absl::Status DecompressZstd(std::string_view input, size_t max_output,
                            std::string* out) {
  if (input.empty()) return absl::DataLossError("zstd: empty input");
  unsigned long long claimed =
      ZSTD_getFrameContentSize(input.data(), input.size());
  if (claimed == ZSTD_CONTENTSIZE_ERROR) {
    return absl::DataLossError(
        "zstd: input does not start with a valid frame header");
  }
  bool known = claimed != ZSTD_CONTENTSIZE_UNKNOWN;
  if (known && claimed > max_output) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "zstd: frame claims %u decompressed bytes, over the limit of %u "
        "(max_decompressed_bytes; possible decompression bomb)",
        claimed, max_output));
  }
  ZSTD_DCtx* dctx = ThreadDCtx();
  if (dctx == nullptr) return absl::InternalError("zstd: out of memory");
  ZSTD_DCtx_reset(dctx, ZSTD_reset_session_and_parameters);
  ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, WindowLogMax(max_output));

  size_t hint = known ? static_cast<size_t>(claimed)
                      : std::max<size_t>(input.size() * 4, 64 << 10);
  OutputBuffer buf(out, max_output, hint);
  ZSTD_inBuffer in{input.data(), input.size(), 0};
  for (;;) {
    if (!buf.Reserve()) return OutputLimitExceeded("zstd", max_output);
    ZSTD_outBuffer o{buf.data(), buf.available(), 0};
    size_t ret = ZSTD_decompressStream(dctx, &o, &in);
    if (ZSTD_isError(ret)) return ZstdError(ret, in.pos, max_output);
    buf.Commit(o.pos);
    if (buf.exceeded()) return OutputLimitExceeded("zstd", max_output);
    if (in.pos == in.size && ret == 0) break;  // last frame complete
    // Output space left over with all input consumed: the frame needs more
    // input than there is.
    if (in.pos == in.size && o.pos < o.size) {
      return absl::DataLossError(absl::StrFormat(
          "zstd: input ends inside a frame after %u bytes", input.size()));
    }
  }
  buf.Finish();
  return absl::OkStatus();
}

}  // namespace compression_internal

absl::Status Decompress(Compression codec, std::string_view input,
                        size_t max_output, std::string* out) {
  using namespace compression_internal;  // NOLINT(build/namespaces)
  switch (codec) {
    case Compression::kNone:
      if (input.size() > max_output) {
        return OutputLimitExceeded("none", max_output);
      }
      out->assign(input.data(), input.size());
      return absl::OkStatus();
    case Compression::kGzip:
      return DecompressGzip(input, max_output, out);
    case Compression::kSnappy:
      return DecompressSnappy(input, max_output, out);
    case Compression::kLz4:
      return DecompressLz4(input, max_output, out);
    case Compression::kZstd:
      return DecompressZstd(input, max_output, out);
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "unknown compression codec id %d", static_cast<int>(codec)));
}

absl::Status CompressZstd(std::string_view input, int level, std::string* out) {
  if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("zstd level %d outside [%d, %d]", level,
                        ZSTD_minCLevel(), ZSTD_maxCLevel()));
  }
  ZSTD_CCtx* cctx = compression_internal::ThreadCCtx();
  if (cctx == nullptr) return absl::InternalError("zstd: out of memory");
  ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  size_t old_size = out->size();
  out->resize(old_size + ZSTD_compressBound(input.size()));
  size_t n = ZSTD_compress2(cctx, out->data() + old_size,
                            out->size() - old_size, input.data(), input.size());
  if (ZSTD_isError(n)) {
    out->resize(old_size);
    return absl::InternalError(
        absl::StrFormat("zstd: compression failed: %s", ZSTD_getErrorName(n)));
  }
  out->resize(old_size + n);
  return absl::OkStatus();
}

}  // namespace spool
