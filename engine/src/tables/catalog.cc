// Topic names and ids, and the Catalog table. The record encoding is in
// catalog_codec.cc.

#include "tables/catalog.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "util/mutex.h"
#include "util/status_macros.h"
#include "util/strings.h"

namespace spool {
namespace {

constexpr size_t kTopicIdBytes = 16;

bool IsTopicNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

absl::Status InvalidName(std::string_view name, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrFormat(
      "invalid topic name \"%s\": %s",
      absl::CHexEscape(
          ToAbsl(name.substr(0, std::min(name.size(), kMaxTopicNameLength)))),
      why));
}

// Kafka reserves the all-zero id and 0...01 (the metadata topic's).
bool IsReservedTopicId(const std::string& bytes) {
  for (size_t i = 0; i + 1 < bytes.size(); ++i) {
    if (bytes[i] != 0) return false;
  }
  return bytes.back() == 0 || bytes.back() == 1;
}

// A process-wide generator seeded from the OS; absl::BitGen is not
// thread-safe, so it is guarded.
std::string RandomBytes(size_t n) {
  static Mutex mu;
  static absl::BitGen* gen = new absl::BitGen();
  std::string bytes(n, '\0');
  MutexLock lock(&mu);
  for (char& b : bytes) {
    b = static_cast<char>(absl::Uniform<uint32_t>(*gen, 0, 256));
  }
  return bytes;
}

absl::Status InCatalogEntry(std::string_view name, const absl::Status& s) {
  return absl::Status(
      s.code(), absl::StrFormat("catalog entry \"%s\": %s",
                                absl::CHexEscape(ToAbsl(name)), s.message()));
}

// Decodes the value stored under `name` and checks that it is that topic.
absl::StatusOr<TopicRecord> DecodeEntry(std::string_view name,
                                        std::string_view value) {
  absl::StatusOr<TopicRecord> record = DecodeTopicRecord(value);
  if (!record.ok()) return InCatalogEntry(name, record.status());
  if (record->name != name) {
    return InCatalogEntry(name, absl::DataLossError(absl::StrFormat(
                                    "holds the record of topic \"%s\"",
                                    absl::CHexEscape(record->name))));
  }
  return record;
}

}  // namespace

absl::Status ValidateTopicName(std::string_view name) {
  if (name.empty()) {
    return absl::InvalidArgumentError("invalid topic name: it is empty");
  }
  if (name == "." || name == "..") {
    return InvalidName(name, "\".\" and \"..\" are not allowed");
  }
  if (name.size() > kMaxTopicNameLength) {
    return InvalidName(name, absl::StrFormat("%d characters, at most %d "
                                             "are allowed",
                                             name.size(), kMaxTopicNameLength));
  }
  for (size_t i = 0; i < name.size(); ++i) {
    if (!IsTopicNameChar(name[i])) {
      return InvalidName(
          name,
          absl::StrFormat("character '%s' at position %d is not allowed "
                          "(use only a-z, A-Z, 0-9, '.', '_' and '-')",
                          absl::CHexEscape(ToAbsl(name.substr(i, 1))), i));
    }
  }
  return absl::OkStatus();
}

std::string NewTopicId() {
  while (true) {
    std::string bytes = RandomBytes(kTopicIdBytes);
    // Version 4 and the IETF variant, as java.util.UUID.randomUUID() makes.
    bytes[6] = static_cast<char>((bytes[6] & 0x0f) | 0x40);
    bytes[8] = static_cast<char>((bytes[8] & 0x3f) | 0x80);
    if (IsReservedTopicId(bytes)) continue;
    std::string id;
    absl::WebSafeBase64Escape(bytes, &id);
    if (id.front() != '-') return id;
  }
}

bool IsValidTopicId(std::string_view id) {
  if (id.size() != kTopicIdLength) return false;
  std::string bytes;
  if (!absl::WebSafeBase64Unescape(ToAbsl(id), &bytes)) return false;
  if (bytes.size() != kTopicIdBytes) return false;
  // Only the canonical spelling: the last character carries 2 bits.
  std::string again;
  absl::WebSafeBase64Escape(bytes, &again);
  return again == id;
}

absl::Status Catalog::Put(const TopicRecord& record) {
  SPOOL_ASSIGN_OR_RETURN(std::string value, EncodeTopicRecord(record));
  return store_->Put(Table::kCatalog, record.name, value, /*sync=*/true);
}

absl::Status Catalog::Delete(std::string_view name) {
  return store_->Delete(Table::kCatalog, name, /*sync=*/true);
}

absl::StatusOr<std::optional<TopicRecord>> Catalog::Get(
    std::string_view name) const {
  SPOOL_ASSIGN_OR_RETURN(std::optional<std::string> value,
                         store_->Get(Table::kCatalog, name));
  if (!value) return std::optional<TopicRecord>();
  SPOOL_ASSIGN_OR_RETURN(TopicRecord record, DecodeEntry(name, *value));
  return std::optional<TopicRecord>(std::move(record));
}

absl::StatusOr<std::vector<TopicRecord>> Catalog::List() const {
  std::vector<TopicRecord> records;
  absl::Status decode_error;
  SPOOL_RETURN_IF_ERROR(store_->Scan(
      Table::kCatalog, "", [&](std::string_view name, std::string_view value) {
        absl::StatusOr<TopicRecord> record = DecodeEntry(name, value);
        if (!record.ok()) {
          decode_error = record.status();
          return false;
        }
        records.push_back(*std::move(record));
        return true;
      }));
  SPOOL_RETURN_IF_ERROR(decode_error);
  return records;
}

}  // namespace spool
