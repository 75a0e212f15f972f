// Keys and values of the subscriptions table (Table::kSubscriptions). The
// format is specified in docs/tables.md ("Shared subscriptions"); this file
// is its only writer and reader.
//
// Every row of one subscription starts with SubscriptionPrefix(topic, name)
// = "<topic> 0x00 <name> 0x00", then a one-byte row kind.

#ifndef SPOOL_ENGINE_SUBSCRIPTION_CODEC_H_
#define SPOOL_ENGINE_SUBSCRIPTION_CODEC_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "spool/subscriptions.h"

namespace spool {

// Row kinds (the byte after the prefix).
inline constexpr char kSubRowRecord = 'c';
inline constexpr char kSubRowFloor = 'f';
inline constexpr char kSubRowMark = 'm';
inline constexpr char kSubRowRange = 'a';
inline constexpr char kSubRowDelivery = 'd';
inline constexpr char kSubRowIntent = 'q';
inline constexpr char kSubRowSequence = 's';
inline constexpr char kSubRowSync = 'w';

absl::Status ValidateSubscriptionName(std::string_view name);

std::string SubscriptionPrefix(std::string_view topic, std::string_view name);
std::string TopicSubscriptionsPrefix(std::string_view topic);
// prefix + kind (+ partition (+ offset)).
std::string SubRowKey(std::string_view prefix, char kind);
std::string SubRowKey(std::string_view prefix, char kind, int32_t partition);
std::string SubRowKey(std::string_view prefix, char kind, int32_t partition,
                      int64_t offset);

// A key split after the prefix. partition / offset are -1 when the kind
// has none.
struct DecodedSubRowKey {
  char kind = 0;
  int32_t partition = -1;
  int64_t offset = -1;
};
absl::StatusOr<DecodedSubRowKey> DecodeSubRowKey(std::string_view prefix,
                                                 std::string_view key);
// Splits a key into topic and subscription name (for listing).
absl::Status SplitSubscriptionKey(std::string_view key, std::string* topic,
                                  std::string* name);

// The subscription record (JSON).
struct StoredSubscription {
  std::string topic;
  std::string name;
  int64_t created_ms = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  SubscriptionConfig config;
};
std::string EncodeSubscription(const StoredSubscription& sub);
absl::StatusOr<StoredSubscription> DecodeSubscription(std::string_view value);

// Floor, range end, next sequence: version + one integer.
std::string EncodeInt64Row(int64_t value);
absl::StatusOr<int64_t> DecodeInt64Row(std::string_view value);
std::string EncodeInt32Row(int32_t value);
absl::StatusOr<int32_t> DecodeInt32Row(std::string_view value);

// The ack floor row: version, int64 floor, then (written since the
// delivery mark moved into it) int64 mark, int64 deadline_ms. A row of
// the floor alone (a new subscription's, or written by an earlier build)
// has no mark.
struct FloorRow {
  int64_t floor = 0;
  std::optional<int64_t> mark;
  int64_t mark_deadline_ms = 0;
};
std::string EncodeFloorRow(int64_t floor, int64_t mark, int64_t deadline_ms);
absl::StatusOr<FloorRow> DecodeFloorRow(std::string_view value);

// The delivery mark row of earlier builds (now part of the floor row; read
// when loading, then replaced): version, int64 mark, int64 deadline_ms.
std::string EncodeMarkRow(int64_t mark, int64_t deadline_ms);
absl::Status DecodeMarkRow(std::string_view value, int64_t* mark,
                           int64_t* deadline_ms);

enum class DeliveryState : uint8_t { kLeased = 1, kWaiting = 2, kParked = 3 };
struct DeliveryRow {
  int32_t attempts = 0;
  DeliveryState state = DeliveryState::kLeased;
  int64_t time_ms = 0;
  std::string reason;
};
std::string EncodeDeliveryRow(const DeliveryRow& row);
absl::StatusOr<DeliveryRow> DecodeDeliveryRow(std::string_view value);

struct IntentRow {
  int32_t dlq_partition = 0;
  int32_t sequence = 0;
  int32_t attempts = 0;
  int64_t time_ms = 0;
  std::string reason;
};
std::string EncodeIntentRow(const IntentRow& row);
absl::StatusOr<IntentRow> DecodeIntentRow(std::string_view value);

}  // namespace spool

#endif  // SPOOL_ENGINE_SUBSCRIPTION_CODEC_H_
