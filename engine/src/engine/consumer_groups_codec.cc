// Encodings of the offsets and groups tables (see consumer_groups_codec.h
// and docs/tables.md).

#include "engine/consumer_groups_codec.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "format/coding.h"
#include "util/status_macros.h"
#include "util/strings.h"

namespace spool {
namespace {

constexpr uint8_t kOffsetValueVersion = 1;
constexpr uint8_t kGroupValueVersion = 1;
constexpr char kSeparator = '\0';

// Strategy codes in group values; 0 = none yet.
constexpr uint8_t kStrategyNone = 0;

uint8_t StrategyCode(const std::optional<AssignmentStrategy>& s) {
  if (!s.has_value()) return kStrategyNone;
  switch (*s) {
    case AssignmentStrategy::kRange:
      return 1;
    case AssignmentStrategy::kRoundRobin:
      return 2;
    case AssignmentStrategy::kSticky:
      return 3;
  }
  return kStrategyNone;
}

// Number of continuation bytes of a UTF-8 lead byte; -1 if it cannot lead.
int Utf8Continuations(unsigned char c) {
  if (c < 0x80) return 0;
  if (c >= 0xc2 && c <= 0xdf) return 1;
  if (c >= 0xe0 && c <= 0xef) return 2;
  if (c >= 0xf0 && c <= 0xf4) return 3;
  return -1;
}

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const int n = Utf8Continuations(c);
    if (n < 0 || s.size() - i <= static_cast<size_t>(n)) return false;
    uint32_t cp = n == 0 ? c : (c & (0x7fu >> (n + 1)));
    for (int k = 1; k <= n; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3fu);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += static_cast<size_t>(n) + 1;
  }
  return true;
}

void PutString(std::string* out, std::string_view s) {
  PutFixed16BE(out, static_cast<uint16_t>(s.size()));
  out->append(s);
}

// Bounds-checked reading of a value; the first problem is kept as a
// kDataLoss status naming the field.
class Reader {
 public:
  Reader(std::string_view data, std::string_view what)
      : data_(data), what_(what) {}

  bool U8(std::string_view field, uint8_t* v) {
    if (!Need(field, 1)) return false;
    *v = static_cast<uint8_t>(data_[pos_++]);
    return true;
  }
  bool U16(std::string_view field, uint16_t* v) {
    if (!Need(field, 2)) return false;
    *v = DecodeFixed16BE(data_.data() + pos_);
    pos_ += 2;
    return true;
  }
  bool U32(std::string_view field, uint32_t* v) {
    if (!Need(field, 4)) return false;
    *v = DecodeFixed32BE(data_.data() + pos_);
    pos_ += 4;
    return true;
  }
  bool I32(std::string_view field, int32_t* v) {
    uint32_t u = 0;
    if (!U32(field, &u)) return false;
    *v = static_cast<int32_t>(u);
    return true;
  }
  bool I64(std::string_view field, int64_t* v) {
    if (!Need(field, 8)) return false;
    *v = static_cast<int64_t>(DecodeFixed64BE(data_.data() + pos_));
    pos_ += 8;
    return true;
  }
  bool Bytes(std::string_view field, size_t n, std::string* v) {
    if (!Need(field, n)) return false;
    v->assign(data_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  bool String(std::string_view field, std::string* v) {
    uint16_t n = 0;
    return U16(field, &n) && Bytes(field, n, v);
  }
  // A count of entries that each take at least `min_bytes`.
  bool Count(std::string_view field, size_t min_bytes, uint32_t* n) {
    if (!U32(field, n)) return false;
    if (static_cast<uint64_t>(*n) * min_bytes > data_.size() - pos_) {
      return Fail(field, absl::StrFormat("count %d does not fit", *n));
    }
    return true;
  }
  bool Fail(std::string_view field, std::string_view problem) {
    if (status_.ok()) {
      status_ = absl::DataLossError(absl::StrFormat(
          "%s: field %s at byte %d: %s", what_, field, pos_, problem));
    }
    return false;
  }
  const absl::Status& status() const { return status_; }

 private:
  bool Need(std::string_view field, size_t n) {
    if (!status_.ok()) return false;
    if (data_.size() - pos_ < n) return Fail(field, "the value is cut off");
    return true;
  }

  std::string_view data_;
  std::string_view what_;
  size_t pos_ = 0;
  absl::Status status_;
};

bool ReadVersion(Reader& r, uint8_t want) {
  uint8_t version = 0;
  if (!r.U8("version", &version)) return false;
  if (version != want) {
    return r.Fail("version", absl::StrFormat("unknown version %d", version));
  }
  return true;
}

bool ReadStrategy(Reader& r, std::optional<AssignmentStrategy>* out) {
  uint8_t code = 0;
  if (!r.U8("strategy", &code)) return false;
  static constexpr AssignmentStrategy kByCode[] = {
      AssignmentStrategy::kRange, AssignmentStrategy::kRoundRobin,
      AssignmentStrategy::kSticky};
  if (code == kStrategyNone) {
    out->reset();
  } else if (code <= 3) {
    *out = kByCode[code - 1];
  } else {
    return r.Fail("strategy", absl::StrFormat("unknown code %d", code));
  }
  return true;
}

bool ReadTopics(Reader& r, StoredGroup* g) {
  uint32_t n = 0;
  if (!r.Count("topics", 6, &n)) return false;
  for (uint32_t i = 0; i < n; ++i) {
    TopicPartitions t;
    if (!r.String("topics.name", &t.topic) ||
        !r.I32("topics.partitions", &t.partitions)) {
      return false;
    }
    if (t.partitions < 0) return r.Fail("topics.partitions", "negative");
    g->topics.push_back(std::move(t));
  }
  return true;
}

bool ReadAssignment(Reader& r, const StoredGroup& g, StoredMember* m) {
  uint32_t n = 0;
  if (!r.Count("members.assignment", 8, &n)) return false;
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t topic = 0;
    int32_t partition = 0;
    if (!r.U32("members.assignment.topic", &topic) ||
        !r.I32("members.assignment.partition", &partition)) {
      return false;
    }
    if (topic >= g.topics.size()) {
      return r.Fail(
          "members.assignment.topic",
          absl::StrFormat("topic index %d of %d", topic, g.topics.size()));
    }
    if (partition < 0 || partition >= g.topics[topic].partitions) {
      return r.Fail("members.assignment.partition",
                    absl::StrFormat("partition %d of %d", partition,
                                    g.topics[topic].partitions));
    }
    m->assignment.push_back({g.topics[topic].topic, partition});
  }
  return true;
}

bool ReadMember(Reader& r, const StoredGroup& g, StoredMember* m) {
  int64_t timeout_ms = 0;
  uint32_t subscriptions = 0;
  if (!r.String("members.id", &m->id) ||
      !r.I32("members.generation", &m->generation) ||
      !r.I64("members.session_timeout_ms", &timeout_ms) ||
      !r.Count("members.topics", 2, &subscriptions)) {
    return false;
  }
  if (timeout_ms <= 0) return r.Fail("members.session_timeout_ms", "not > 0");
  m->session_timeout = absl::Milliseconds(timeout_ms);
  for (uint32_t i = 0; i < subscriptions; ++i) {
    std::string topic;
    if (!r.String("members.topics", &topic)) return false;
    m->topics.push_back(std::move(topic));
  }
  return ReadAssignment(r, g, m);
}

}  // namespace

absl::Status ValidateGroupName(std::string_view name, std::string_view what) {
  if (name.empty() || name.size() > kMaxGroupNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("invalid %s \"%s\": must be 1 to %d bytes, not %d",
                        what, absl::CHexEscape(ToAbsl(name.substr(0, 64))),
                        kMaxGroupNameBytes, name.size()));
  }
  for (char c : name) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "invalid %s \"%s\": contains the control character 0x%02x", what,
          absl::CHexEscape(ToAbsl(name)), u));
    }
  }
  if (!IsValidUtf8(name)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("invalid %s \"%s\": not valid UTF-8", what,
                        absl::CHexEscape(ToAbsl(name))));
  }
  return absl::OkStatus();
}

std::string GroupOffsetsPrefix(std::string_view group) {
  std::string key(group);
  key.push_back(kSeparator);
  return key;
}

std::string TopicOffsetsPrefix(std::string_view group, std::string_view topic) {
  std::string key = GroupOffsetsPrefix(group);
  key.append(topic);
  key.push_back(kSeparator);
  return key;
}

std::string OffsetKey(std::string_view group, const TopicPartition& tp) {
  std::string key = TopicOffsetsPrefix(group, tp.topic);
  PutFixed32BE(&key, static_cast<uint32_t>(tp.partition));
  return key;
}

absl::StatusOr<DecodedOffsetKey> DecodeOffsetKey(std::string_view key) {
  const size_t first = key.find(kSeparator);
  const size_t second =
      first == std::string_view::npos ? first : key.find(kSeparator, first + 1);
  if (second == std::string_view::npos || key.size() != second + 5) {
    return absl::DataLossError(
        absl::StrFormat("offsets key \"%s\": not <group> 0 <topic> 0 "
                        "<4-byte partition>",
                        absl::CHexEscape(ToAbsl(key))));
  }
  DecodedOffsetKey out;
  out.group = std::string(key.substr(0, first));
  out.tp.topic = std::string(key.substr(first + 1, second - first - 1));
  out.tp.partition = static_cast<int32_t>(DecodeFixed32BE(&key[second + 1]));
  return out;
}

std::string EncodeOffsetValue(const CommittedOffset& offset) {
  std::string out;
  out.push_back(static_cast<char>(kOffsetValueVersion));
  PutFixed64BE(&out, static_cast<uint64_t>(offset.offset));
  PutFixed32BE(&out, static_cast<uint32_t>(offset.leader_epoch));
  PutFixed64BE(&out,
               static_cast<uint64_t>(absl::ToUnixMillis(offset.commit_time)));
  PutFixed32BE(&out, static_cast<uint32_t>(offset.metadata.size()));
  out.append(offset.metadata);
  return out;
}

absl::StatusOr<CommittedOffset> DecodeOffsetValue(std::string_view value) {
  Reader r(value, "offsets value");
  CommittedOffset out;
  int64_t commit_ms = 0;
  uint32_t metadata_bytes = 0;
  if (ReadVersion(r, kOffsetValueVersion) && r.I64("offset", &out.offset) &&
      r.I32("leader_epoch", &out.leader_epoch) &&
      r.I64("commit_time_ms", &commit_ms) &&
      r.U32("metadata_length", &metadata_bytes) &&
      r.Bytes("metadata", metadata_bytes, &out.metadata) && out.offset < 0) {
    r.Fail("offset", absl::StrFormat("negative: %d", out.offset));
  }
  SPOOL_RETURN_IF_ERROR(r.status());
  out.commit_time = absl::FromUnixMillis(commit_ms);
  return out;
}

std::string EncodeGroup(const StoredGroup& group) {
  std::string out;
  out.push_back(static_cast<char>(kGroupValueVersion));
  PutFixed32BE(&out, static_cast<uint32_t>(group.generation));
  out.push_back(static_cast<char>(StrategyCode(group.strategy)));
  PutFixed64BE(&out, static_cast<uint64_t>(group.empty_since_ms));
  PutFixed32BE(&out, static_cast<uint32_t>(group.topics.size()));
  for (const TopicPartitions& t : group.topics) {
    PutString(&out, t.topic);
    PutFixed32BE(&out, static_cast<uint32_t>(t.partitions));
  }
  PutFixed32BE(&out, static_cast<uint32_t>(group.members.size()));
  for (const StoredMember& m : group.members) {
    PutString(&out, m.id);
    PutFixed32BE(&out, static_cast<uint32_t>(m.generation));
    PutFixed64BE(&out, static_cast<uint64_t>(
                           absl::ToInt64Milliseconds(m.session_timeout)));
    PutFixed32BE(&out, static_cast<uint32_t>(m.topics.size()));
    for (const std::string& t : m.topics) PutString(&out, t);
    PutFixed32BE(&out, static_cast<uint32_t>(m.assignment.size()));
    for (const TopicPartition& tp : m.assignment) {
      auto it = std::lower_bound(
          group.topics.begin(), group.topics.end(), tp.topic,
          [](const TopicPartitions& t, const std::string& name) {
            return t.topic < name;
          });
      PutFixed32BE(&out, static_cast<uint32_t>(it - group.topics.begin()));
      PutFixed32BE(&out, static_cast<uint32_t>(tp.partition));
    }
  }
  return out;
}

absl::StatusOr<StoredGroup> DecodeGroup(std::string_view value) {
  Reader r(value, "groups value");
  StoredGroup g;
  uint32_t members = 0;
  if (ReadVersion(r, kGroupValueVersion) &&
      r.I32("generation", &g.generation) && ReadStrategy(r, &g.strategy) &&
      r.I64("empty_since_ms", &g.empty_since_ms) && ReadTopics(r, &g) &&
      r.Count("members", 22, &members)) {
    for (uint32_t i = 0; i < members; ++i) {
      StoredMember m;
      if (!ReadMember(r, g, &m)) break;
      g.members.push_back(std::move(m));
    }
  }
  SPOOL_RETURN_IF_ERROR(r.status());
  return g;
}

}  // namespace spool
