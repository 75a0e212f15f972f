// Encodings of the subscriptions table (see subscription_codec.h and
// docs/tables.md).

#include "engine/subscription_codec.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "engine/consumer_groups_codec.h"
#include "format/coding.h"
#include "nlohmann/json.hpp"
#include "util/status_macros.h"
#include "util/strings.h"

namespace spool {
namespace {

constexpr uint8_t kRowVersion = 1;
constexpr char kSeparator = '\0';

absl::Status Corrupt(std::string_view what, std::string_view detail) {
  return absl::DataLossError(absl::StrFormat("%s: %s", what, detail));
}

// Bounds-checked reading of a row value.
class RowReader {
 public:
  RowReader(std::string_view data, std::string_view what)
      : data_(data), what_(what) {}

  absl::Status Version() {
    if (data_.empty()) return Corrupt(what_, "empty value");
    const uint8_t v = static_cast<uint8_t>(data_[0]);
    if (v != kRowVersion) {
      return Corrupt(what_, absl::StrFormat("unknown version %d", v));
    }
    pos_ = 1;
    return absl::OkStatus();
  }
  absl::StatusOr<uint64_t> Fixed(int bytes, std::string_view field) {
    if (data_.size() - pos_ < static_cast<size_t>(bytes)) {
      return Corrupt(what_, absl::StrFormat("truncated at field %s (%d of %d "
                                            "bytes left)",
                                            field, data_.size() - pos_, bytes));
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) {
      v = (v << 8) | static_cast<uint8_t>(data_[pos_ + i]);
    }
    pos_ += bytes;
    return v;
  }
  // Bytes after the fields read so far (later fields, or ones a later
  // build added).
  bool more() const { return pos_ < data_.size(); }
  absl::StatusOr<std::string> String(std::string_view field) {
    SPOOL_ASSIGN_OR_RETURN(uint64_t n, Fixed(2, field));
    if (data_.size() - pos_ < n) {
      return Corrupt(what_, absl::StrFormat("truncated string %s", field));
    }
    std::string s(data_.substr(pos_, n));
    pos_ += n;
    return s;
  }

 private:
  std::string_view data_;
  std::string_view what_;
  size_t pos_ = 0;
};

void PutString(std::string* out, std::string_view s) {
  const size_t n = std::min<size_t>(s.size(), 0xffff);
  PutFixed16BE(out, static_cast<uint16_t>(n));
  out->append(s.substr(0, n));
}

int64_t ToMs(absl::Duration d) { return absl::ToInt64Milliseconds(d); }

std::string_view PolicyName(PoisonPolicy p) {
  return p == PoisonPolicy::kPark ? "park" : "dead-letter";
}

}  // namespace

absl::Status ValidateSubscriptionName(std::string_view name) {
  return ValidateGroupName(name, "subscription name");
}

std::string TopicSubscriptionsPrefix(std::string_view topic) {
  std::string key(topic);
  key.push_back(kSeparator);
  return key;
}

std::string SubscriptionPrefix(std::string_view topic, std::string_view name) {
  std::string key = TopicSubscriptionsPrefix(topic);
  key.append(name);
  key.push_back(kSeparator);
  return key;
}

std::string SubRowKey(std::string_view prefix, char kind) {
  std::string key(prefix);
  key.push_back(kind);
  return key;
}

std::string SubRowKey(std::string_view prefix, char kind, int32_t partition) {
  std::string key = SubRowKey(prefix, kind);
  PutFixed32BE(&key, static_cast<uint32_t>(partition));
  return key;
}

std::string SubRowKey(std::string_view prefix, char kind, int32_t partition,
                      int64_t offset) {
  std::string key = SubRowKey(prefix, kind, partition);
  PutFixed64BE(&key, static_cast<uint64_t>(offset));
  return key;
}

absl::StatusOr<DecodedSubRowKey> DecodeSubRowKey(std::string_view prefix,
                                                 std::string_view key) {
  const std::string what = absl::StrFormat("subscriptions key \"%s\"",
                                           absl::CHexEscape(ToAbsl(key)));
  if (key.size() <= prefix.size() || key.substr(0, prefix.size()) != prefix) {
    return Corrupt(what, "does not start with the subscription prefix");
  }
  DecodedSubRowKey out;
  std::string_view rest = key.substr(prefix.size());
  out.kind = rest[0];
  rest.remove_prefix(1);
  size_t want = 0;
  switch (out.kind) {
    case kSubRowRecord:
    case kSubRowSync:
      want = 0;
      break;
    case kSubRowFloor:
    case kSubRowMark:
    case kSubRowSequence:
      want = 4;
      break;
    case kSubRowRange:
    case kSubRowDelivery:
    case kSubRowIntent:
      want = 12;
      break;
    default:
      return Corrupt(what, absl::StrFormat("unknown row kind 0x%02x",
                                           static_cast<uint8_t>(out.kind)));
  }
  if (rest.size() != want) {
    return Corrupt(what, absl::StrFormat("expected %d bytes after the kind, "
                                         "found %d",
                                         want, rest.size()));
  }
  if (want >= 4) {
    out.partition = static_cast<int32_t>(DecodeFixed32BE(rest.data()));
  }
  if (want == 12) {
    out.offset = static_cast<int64_t>(DecodeFixed64BE(rest.data() + 4));
  }
  if (out.partition < -1 || out.offset < -1) {
    return Corrupt(what, "negative partition or offset");
  }
  return out;
}

absl::Status SplitSubscriptionKey(std::string_view key, std::string* topic,
                                  std::string* name) {
  const size_t a = key.find(kSeparator);
  const size_t b = a == std::string_view::npos ? std::string_view::npos
                                               : key.find(kSeparator, a + 1);
  if (b == std::string_view::npos) {
    return Corrupt(absl::StrFormat("subscriptions key \"%s\"",
                                   absl::CHexEscape(ToAbsl(key))),
                   "no topic/subscription separators");
  }
  *topic = std::string(key.substr(0, a));
  *name = std::string(key.substr(a + 1, b - a - 1));
  return absl::OkStatus();
}

std::string EncodeSubscription(const StoredSubscription& sub) {
  const SubscriptionConfig& c = sub.config;
  nlohmann::json config = {
      {"lease_ms", ToMs(c.lease)},
      {"max_deliveries", c.max_deliveries},
      {"backoff",
       c.backoff.kind == BackoffPolicy::Kind::kFixed ? "fixed" : "exponential"},
      {"backoff_initial_ms", ToMs(c.backoff.initial)},
      {"backoff_max_ms", ToMs(c.backoff.max)},
      {"backoff_multiplier", c.backoff.multiplier},
      {"ordered_by_key", c.ordered_by_key},
      {"poison_policy", std::string(PolicyName(c.poison_policy))},
      {"dead_letter_topic", c.dead_letter_topic},
      {"start", c.start == StartPosition::kLatest ? "latest" : "earliest"},
      {"max_unacked_records", c.max_unacked_records},
      {"sync_deliveries", c.sync_deliveries}};
  nlohmann::json j = {{"version", 1},
                      {"topic", sub.topic},
                      {"name", sub.name},
                      {"created_ms", sub.created_ms},
                      {"producer_id", sub.producer_id},
                      {"producer_epoch", sub.producer_epoch},
                      {"config", config}};
  return j.dump();
}

namespace {

// Reads j[field] into *out if present, checking the type.
template <typename T>
absl::Status Field(const nlohmann::json& j, const char* field, T* out) {
  auto it = j.find(field);
  if (it == j.end()) return absl::OkStatus();
  try {
    *out = it->get<T>();
  } catch (const nlohmann::json::exception& e) {
    return Corrupt("subscription record",
                   absl::StrFormat("field %s: %s", field, e.what()));
  }
  return absl::OkStatus();
}

absl::Status MsField(const nlohmann::json& j, const char* field,
                     absl::Duration* out) {
  int64_t ms = ToMs(*out);
  SPOOL_RETURN_IF_ERROR(Field(j, field, &ms));
  *out = absl::Milliseconds(ms);
  return absl::OkStatus();
}

absl::Status DecodeConfig(const nlohmann::json& j, SubscriptionConfig* c) {
  SPOOL_RETURN_IF_ERROR(MsField(j, "lease_ms", &c->lease));
  SPOOL_RETURN_IF_ERROR(Field(j, "max_deliveries", &c->max_deliveries));
  std::string backoff = "exponential";
  SPOOL_RETURN_IF_ERROR(Field(j, "backoff", &backoff));
  if (backoff != "fixed" && backoff != "exponential") {
    return Corrupt("subscription record",
                   "field config.backoff: unknown \"" + backoff + "\"");
  }
  c->backoff.kind = backoff == "fixed" ? BackoffPolicy::Kind::kFixed
                                       : BackoffPolicy::Kind::kExponential;
  SPOOL_RETURN_IF_ERROR(MsField(j, "backoff_initial_ms", &c->backoff.initial));
  SPOOL_RETURN_IF_ERROR(MsField(j, "backoff_max_ms", &c->backoff.max));
  SPOOL_RETURN_IF_ERROR(Field(j, "backoff_multiplier", &c->backoff.multiplier));
  SPOOL_RETURN_IF_ERROR(Field(j, "ordered_by_key", &c->ordered_by_key));
  std::string policy(PolicyName(c->poison_policy));
  SPOOL_RETURN_IF_ERROR(Field(j, "poison_policy", &policy));
  if (policy != "park" && policy != "dead-letter") {
    return Corrupt("subscription record",
                   "field config.poison_policy: unknown \"" + policy + "\"");
  }
  c->poison_policy =
      policy == "park" ? PoisonPolicy::kPark : PoisonPolicy::kDeadLetter;
  SPOOL_RETURN_IF_ERROR(Field(j, "dead_letter_topic", &c->dead_letter_topic));
  std::string start = "earliest";
  SPOOL_RETURN_IF_ERROR(Field(j, "start", &start));
  c->start =
      start == "latest" ? StartPosition::kLatest : StartPosition::kEarliest;
  SPOOL_RETURN_IF_ERROR(
      Field(j, "max_unacked_records", &c->max_unacked_records));
  SPOOL_RETURN_IF_ERROR(Field(j, "sync_deliveries", &c->sync_deliveries));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<StoredSubscription> DecodeSubscription(std::string_view value) {
  nlohmann::json j = nlohmann::json::parse(value, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Corrupt("subscription record", "not a JSON object");
  }
  int version = 0;
  SPOOL_RETURN_IF_ERROR(Field(j, "version", &version));
  if (version != 1) {
    return Corrupt("subscription record",
                   absl::StrFormat("unknown version %d", version));
  }
  StoredSubscription s;
  SPOOL_RETURN_IF_ERROR(Field(j, "topic", &s.topic));
  SPOOL_RETURN_IF_ERROR(Field(j, "name", &s.name));
  SPOOL_RETURN_IF_ERROR(Field(j, "created_ms", &s.created_ms));
  SPOOL_RETURN_IF_ERROR(Field(j, "producer_id", &s.producer_id));
  SPOOL_RETURN_IF_ERROR(Field(j, "producer_epoch", &s.producer_epoch));
  auto it = j.find("config");
  if (it != j.end()) {
    if (!it->is_object()) {
      return Corrupt("subscription record", "field config: not an object");
    }
    SPOOL_RETURN_IF_ERROR(DecodeConfig(*it, &s.config));
  }
  return s;
}

std::string EncodeInt64Row(int64_t value) {
  std::string out(1, static_cast<char>(kRowVersion));
  PutFixed64BE(&out, static_cast<uint64_t>(value));
  return out;
}

absl::StatusOr<int64_t> DecodeInt64Row(std::string_view value) {
  RowReader r(value, "subscriptions row");
  SPOOL_RETURN_IF_ERROR(r.Version());
  SPOOL_ASSIGN_OR_RETURN(uint64_t v, r.Fixed(8, "value"));
  return static_cast<int64_t>(v);
}

std::string EncodeInt32Row(int32_t value) {
  std::string out(1, static_cast<char>(kRowVersion));
  PutFixed32BE(&out, static_cast<uint32_t>(value));
  return out;
}

absl::StatusOr<int32_t> DecodeInt32Row(std::string_view value) {
  RowReader r(value, "subscriptions row");
  SPOOL_RETURN_IF_ERROR(r.Version());
  SPOOL_ASSIGN_OR_RETURN(uint64_t v, r.Fixed(4, "value"));
  return static_cast<int32_t>(static_cast<uint32_t>(v));
}

namespace {

// The delivery mark's fields, as the floor row and the mark row of earlier
// builds both hold them: int64 mark, int64 deadline_ms.
void PutMark(std::string* out, int64_t mark, int64_t deadline_ms) {
  PutFixed64BE(out, static_cast<uint64_t>(mark));
  PutFixed64BE(out, static_cast<uint64_t>(deadline_ms));
}

absl::Status ReadMark(RowReader& r, int64_t* mark, int64_t* deadline_ms) {
  SPOOL_ASSIGN_OR_RETURN(uint64_t m, r.Fixed(8, "mark"));
  SPOOL_ASSIGN_OR_RETURN(uint64_t d, r.Fixed(8, "deadline_ms"));
  *mark = static_cast<int64_t>(m);
  *deadline_ms = static_cast<int64_t>(d);
  return absl::OkStatus();
}

}  // namespace

std::string EncodeFloorRow(int64_t floor, int64_t mark, int64_t deadline_ms) {
  std::string out = EncodeInt64Row(floor);
  PutMark(&out, mark, deadline_ms);
  return out;
}

absl::StatusOr<FloorRow> DecodeFloorRow(std::string_view value) {
  RowReader r(value, "subscriptions ack floor row");
  SPOOL_RETURN_IF_ERROR(r.Version());
  FloorRow row;
  SPOOL_ASSIGN_OR_RETURN(uint64_t f, r.Fixed(8, "floor"));
  row.floor = static_cast<int64_t>(f);
  if (r.more()) {
    int64_t mark = 0;
    SPOOL_RETURN_IF_ERROR(ReadMark(r, &mark, &row.mark_deadline_ms));
    row.mark = mark;
  }
  return row;
}

std::string EncodeMarkRow(int64_t mark, int64_t deadline_ms) {
  std::string out(1, static_cast<char>(kRowVersion));
  PutMark(&out, mark, deadline_ms);
  return out;
}

absl::Status DecodeMarkRow(std::string_view value, int64_t* mark,
                           int64_t* deadline_ms) {
  RowReader r(value, "subscriptions delivery mark row");
  SPOOL_RETURN_IF_ERROR(r.Version());
  return ReadMark(r, mark, deadline_ms);
}

std::string EncodeDeliveryRow(const DeliveryRow& row) {
  std::string out(1, static_cast<char>(kRowVersion));
  PutFixed32BE(&out, static_cast<uint32_t>(row.attempts));
  out.push_back(static_cast<char>(row.state));
  PutFixed64BE(&out, static_cast<uint64_t>(row.time_ms));
  PutString(&out, row.reason);
  return out;
}

absl::StatusOr<DeliveryRow> DecodeDeliveryRow(std::string_view value) {
  RowReader r(value, "subscriptions delivery row");
  SPOOL_RETURN_IF_ERROR(r.Version());
  DeliveryRow row;
  SPOOL_ASSIGN_OR_RETURN(uint64_t attempts, r.Fixed(4, "attempts"));
  SPOOL_ASSIGN_OR_RETURN(uint64_t state, r.Fixed(1, "state"));
  SPOOL_ASSIGN_OR_RETURN(uint64_t time, r.Fixed(8, "time_ms"));
  SPOOL_ASSIGN_OR_RETURN(row.reason, r.String("reason"));
  if (state < 1 || state > 3) {
    return Corrupt("subscriptions delivery row",
                   absl::StrFormat("unknown state %d", state));
  }
  row.attempts = static_cast<int32_t>(static_cast<uint32_t>(attempts));
  row.state = static_cast<DeliveryState>(state);
  row.time_ms = static_cast<int64_t>(time);
  return row;
}

std::string EncodeIntentRow(const IntentRow& row) {
  std::string out(1, static_cast<char>(kRowVersion));
  PutFixed32BE(&out, static_cast<uint32_t>(row.dlq_partition));
  PutFixed32BE(&out, static_cast<uint32_t>(row.sequence));
  PutFixed32BE(&out, static_cast<uint32_t>(row.attempts));
  PutFixed64BE(&out, static_cast<uint64_t>(row.time_ms));
  PutString(&out, row.reason);
  return out;
}

absl::StatusOr<IntentRow> DecodeIntentRow(std::string_view value) {
  RowReader r(value, "subscriptions dead-letter intent row");
  SPOOL_RETURN_IF_ERROR(r.Version());
  IntentRow row;
  SPOOL_ASSIGN_OR_RETURN(uint64_t p, r.Fixed(4, "dlq_partition"));
  SPOOL_ASSIGN_OR_RETURN(uint64_t seq, r.Fixed(4, "sequence"));
  SPOOL_ASSIGN_OR_RETURN(uint64_t attempts, r.Fixed(4, "attempts"));
  SPOOL_ASSIGN_OR_RETURN(uint64_t time, r.Fixed(8, "time_ms"));
  SPOOL_ASSIGN_OR_RETURN(row.reason, r.String("reason"));
  row.dlq_partition = static_cast<int32_t>(static_cast<uint32_t>(p));
  row.sequence = static_cast<int32_t>(static_cast<uint32_t>(seq));
  row.attempts = static_cast<int32_t>(static_cast<uint32_t>(attempts));
  row.time_ms = static_cast<int64_t>(time);
  return row;
}

}  // namespace spool
