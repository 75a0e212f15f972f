// File, directory, lock and logger objects of the RocksDB adapter.

#include "tables/rocksdb_files.h"

#include <cstdarg>
#include <cstdio>
#include <string>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tables/rocksdb_status.h"
#include "util/mutex.h"

namespace spool::tables_internal {
namespace {

using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

class SequentialFile final : public rocksdb::FSSequentialFile {
 public:
  explicit SequentialFile(std::unique_ptr<File> file)
      : file_(std::move(file)) {}

  IOStatus Read(size_t n, const IOOptions& options, Slice* result,
                char* scratch, IODebugContext* dbg) override {
    IOStatus s = PositionedRead(offset_, n, options, result, scratch, dbg);
    if (s.ok()) offset_ += result->size();
    return s;
  }

  IOStatus PositionedRead(uint64_t offset, size_t n, const IOOptions&,
                          Slice* result, char* scratch,
                          IODebugContext*) override {
    absl::StatusOr<size_t> read = file_->Read(offset, n, scratch);
    if (!read.ok()) {
      *result = Slice();
      return ToIOStatus(read.status());
    }
    *result = Slice(scratch, *read);
    return IOStatus::OK();
  }

  IOStatus Skip(uint64_t n) override {
    offset_ += n;
    return IOStatus::OK();
  }

 private:
  const std::unique_ptr<File> file_;
  uint64_t offset_ = 0;
};

class RandomAccessFile final : public rocksdb::FSRandomAccessFile {
 public:
  explicit RandomAccessFile(std::unique_ptr<File> file)
      : file_(std::move(file)) {}

  IOStatus Read(uint64_t offset, size_t n, const IOOptions&, Slice* result,
                char* scratch, IODebugContext*) const override {
    absl::StatusOr<size_t> read = file_->Read(offset, n, scratch);
    if (!read.ok()) {
      *result = Slice();
      return ToIOStatus(read.status());
    }
    *result = Slice(scratch, *read);
    return IOStatus::OK();
  }

 private:
  const std::unique_ptr<File> file_;
};

class WritableFile final : public rocksdb::FSWritableFile {
 public:
  WritableFile(std::unique_ptr<File> file, uint64_t offset,
               const rocksdb::FileOptions& options)
      : rocksdb::FSWritableFile(options),
        file_(std::move(file)),
        offset_(offset) {}

  ~WritableFile() override {
    // RocksDB closes files it wrote; one left open is being abandoned after
    // an error, which has been reported already.
    file_->Close().IgnoreError();
  }

  // On failure the offset stays put: a retried append rewrites the same
  // bytes, and RocksDB treats the file as failed anyway.
  IOStatus Append(const Slice& data, const IOOptions&,
                  IODebugContext*) override {
    IOStatus s = ToIOStatus(
        file_->Write(offset_, std::string_view(data.data(), data.size())));
    if (s.ok()) offset_ += data.size();
    return s;
  }
  IOStatus Append(const Slice& data, const IOOptions& options,
                  const rocksdb::DataVerificationInfo&,
                  IODebugContext* dbg) override {
    return Append(data, options, dbg);
  }

  IOStatus PositionedAppend(const Slice& data, uint64_t offset,
                            const IOOptions& options,
                            IODebugContext* dbg) override {
    offset_ = offset;
    return Append(data, options, dbg);
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset,
                            const IOOptions& options,
                            const rocksdb::DataVerificationInfo&,
                            IODebugContext* dbg) override {
    return PositionedAppend(data, offset, options, dbg);
  }

  IOStatus Truncate(uint64_t size, const IOOptions&, IODebugContext*) override {
    IOStatus s = ToIOStatus(file_->Truncate(size));
    if (s.ok()) offset_ = size;
    return s;
  }

  IOStatus Close(const IOOptions&, IODebugContext*) override {
    return ToIOStatus(file_->Close());
  }

  IOStatus Flush(const IOOptions&, IODebugContext*) override {
    return IOStatus::OK();
  }

  IOStatus Sync(const IOOptions&, IODebugContext*) override {
    return ToIOStatus(file_->Sync());
  }
  IOStatus Fsync(const IOOptions&, IODebugContext*) override {
    return ToIOStatus(file_->Sync());
  }
  bool IsSyncThreadSafe() const override { return true; }

  uint64_t GetFileSize(const IOOptions&, IODebugContext*) override {
    return offset_;
  }

  IOStatus Allocate(uint64_t offset, uint64_t len, const IOOptions&,
                    IODebugContext*) override {
    return ToIOStatus(file_->Reserve(offset, len));
  }

 private:
  const std::unique_ptr<File> file_;
  uint64_t offset_;  // where the next Append writes
};

class Directory final : public rocksdb::FSDirectory {
 public:
  Directory(FileSystem* fs, std::string path)
      : fs_(fs), path_(std::move(path)) {}

  IOStatus Fsync(const IOOptions&, IODebugContext*) override {
    return ToIOStatus(fs_->SyncDir(path_));
  }
  IOStatus FsyncWithDirOptions(const IOOptions& options, IODebugContext* dbg,
                               const rocksdb::DirFsyncOptions&) override {
    return Fsync(options, dbg);
  }
  IOStatus Close(const IOOptions&, IODebugContext*) override {
    return IOStatus::OK();  // nothing is held open
  }

 private:
  FileSystem* const fs_;
  const std::string path_;
};

class Lock final : public rocksdb::FileLock {
 public:
  explicit Lock(std::unique_ptr<spool::FileLock> lock)
      : lock_(std::move(lock)) {}

 private:
  const std::unique_ptr<spool::FileLock> lock_;
};

// Lines are buffered and written in chunks: RocksDB logs hundreds of lines
// on every open, and one write per line would be as many system calls (or,
// on the fault-injecting file system, as many recorded changes).
class FileLogger final : public rocksdb::Logger {
 public:
  explicit FileLogger(std::unique_ptr<File> file) : file_(std::move(file)) {}
  ~FileLogger() override {
    if (!closed_) {
      closed_ = true;
      CloseImpl().PermitUncheckedError();
    }
  }

  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }

  void Logv(rocksdb::InfoLogLevel level, const char* format,
            va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    std::string line = absl::FormatTime("%Y/%m/%d-%H:%M:%E6S ", absl::Now(),
                                        absl::UTCTimeZone());
    if (level >= rocksdb::InfoLogLevel::WARN_LEVEL &&
        level < rocksdb::InfoLogLevel::HEADER_LEVEL) {
      line += LevelTag(level);
    }
    line += Format(format, ap);
    if (line.back() != '\n') line += '\n';
    MutexLock lock(&mu_);
    buffer_ += line;
    // Warnings and errors go out at once, the rest in chunks.
    if (level >= rocksdb::InfoLogLevel::WARN_LEVEL ||
        buffer_.size() >= kChunkBytes) {
      WriteBuffer();
    }
  }

  void Flush() override {
    MutexLock lock(&mu_);
    WriteBuffer();
  }

  size_t GetLogFileSize() const override {
    MutexLock lock(&mu_);
    return static_cast<size_t>(written_ + buffer_.size());
  }

 protected:
  rocksdb::Status CloseImpl() override {
    MutexLock lock(&mu_);
    WriteBuffer();
    return rocksdb::Status(ToIOStatus(file_->Close()));
  }

 private:
  static constexpr size_t kChunkBytes = 32 * 1024;

  static const char* LevelTag(rocksdb::InfoLogLevel level) {
    switch (level) {
      case rocksdb::InfoLogLevel::WARN_LEVEL:
        return "[WARN] ";
      case rocksdb::InfoLogLevel::ERROR_LEVEL:
        return "[ERROR] ";
      default:
        return "[FATAL] ";
    }
  }

  static std::string Format(const char* format, va_list ap) {
    va_list copy;
    va_copy(copy, ap);
    const int n = std::vsnprintf(nullptr, 0, format, copy);
    va_end(copy);
    if (n <= 0) return std::string();
    std::string out(static_cast<size_t>(n) + 1, '\0');
    std::vsnprintf(out.data(), out.size(), format, ap);
    out.resize(static_cast<size_t>(n));
    return out;
  }

  // A chunk that cannot be written is dropped: the info log is a diagnostic
  // aid and must never fail or slow down the database.
  void WriteBuffer() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (buffer_.empty()) return;
    if (file_->Write(written_, buffer_).ok()) written_ += buffer_.size();
    buffer_.clear();
  }

  mutable Mutex mu_;
  const std::unique_ptr<File> file_;
  uint64_t written_ ABSL_GUARDED_BY(mu_) = 0;
  std::string buffer_ ABSL_GUARDED_BY(mu_);
};

class NullLogger final : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char*, va_list) override {}
};

}  // namespace

std::unique_ptr<rocksdb::FSSequentialFile> WrapSequentialFile(
    std::unique_ptr<File> file) {
  return std::make_unique<SequentialFile>(std::move(file));
}

std::unique_ptr<rocksdb::FSRandomAccessFile> WrapRandomAccessFile(
    std::unique_ptr<File> file) {
  return std::make_unique<RandomAccessFile>(std::move(file));
}

std::unique_ptr<rocksdb::FSWritableFile> WrapWritableFile(
    std::unique_ptr<File> file, uint64_t offset,
    const rocksdb::FileOptions& options) {
  return std::make_unique<WritableFile>(std::move(file), offset, options);
}

std::unique_ptr<rocksdb::FSDirectory> WrapDirectory(FileSystem* fs,
                                                    std::string path) {
  return std::make_unique<Directory>(fs, std::move(path));
}

std::unique_ptr<rocksdb::FileLock> WrapFileLock(
    std::unique_ptr<FileLock> lock) {
  return std::make_unique<Lock>(std::move(lock));
}

std::shared_ptr<rocksdb::Logger> NewFileLogger(std::unique_ptr<File> file) {
  return std::make_shared<FileLogger>(std::move(file));
}

std::shared_ptr<rocksdb::Logger> NewNullLogger() {
  return std::make_shared<NullLogger>();
}

}  // namespace spool::tables_internal
