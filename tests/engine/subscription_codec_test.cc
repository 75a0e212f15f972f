// The subscriptions table's encodings: the examples of docs/tables.md byte
// for byte, round trips, and the decoders' errors. Also the flat
// containers of the in-memory window (subscription_window.h), checked
// against std::map / std::set references.

#include "engine/subscription_codec.h"

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "engine/subscription_window.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace spool {
namespace {

using ::testing::HasSubstr;

// "63 68 ..." -> bytes.
std::string Hex(std::string_view spaced) {
  return absl::HexStringToBytes(
      absl::StrReplaceAll(std::string(spaced), {{" ", ""}, {"\n", ""}}));
}

TEST(SubscriptionCodecTest, DocumentedDeliveryKeyAndValue) {
  const std::string prefix = SubscriptionPrefix("chat", "w");
  EXPECT_EQ(SubRowKey(prefix, kSubRowDelivery, 3, 42),
            Hex("63 68 61 74 00 77 00 64 00 00 00 03 00 00 00 00"
                "00 00 00 2a"));
  DeliveryRow row{.attempts = 2,
                  .state = DeliveryState::kLeased,
                  .time_ms = 1700000030000,
                  .reason = ""};
  EXPECT_EQ(EncodeDeliveryRow(row),
            Hex("01 00 00 00 02 01 00 00 01 8b cf e5 dd 30 00 00"));
}

TEST(SubscriptionCodecTest, KeysDecodeAndSort) {
  const std::string prefix = SubscriptionPrefix("t", "s");
  auto k = DecodeSubRowKey(prefix, SubRowKey(prefix, kSubRowRange, 7, 1000));
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(k->kind, kSubRowRange);
  EXPECT_EQ(k->partition, 7);
  EXPECT_EQ(k->offset, 1000);
  EXPECT_LT(SubRowKey(prefix, kSubRowRange, 1, 255),
            SubRowKey(prefix, kSubRowRange, 1, 256));
  EXPECT_LT(SubRowKey(prefix, kSubRowRange, 1, 1 << 30),
            SubRowKey(prefix, kSubRowRange, 2, 0));
  std::string topic, name;
  ASSERT_TRUE(
      SplitSubscriptionKey(SubRowKey(prefix, kSubRowFloor, 0), &topic, &name)
          .ok());
  EXPECT_EQ(topic, "t");
  EXPECT_EQ(name, "s");
  auto bad = DecodeSubRowKey(prefix, prefix + "z");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(bad.status().message(), HasSubstr("unknown row kind"));
  auto short_key = DecodeSubRowKey(prefix, prefix + "d\x01");
  EXPECT_EQ(short_key.status().code(), absl::StatusCode::kDataLoss);
}

TEST(SubscriptionCodecTest, ValuesRoundTripAndRefuseBadVersions) {
  EXPECT_EQ(*DecodeInt64Row(EncodeInt64Row(123456789012)), 123456789012);
  EXPECT_EQ(*DecodeInt32Row(EncodeInt32Row(-5)), -5);
  IntentRow in{.dlq_partition = 2,
               .sequence = 9,
               .attempts = 4,
               .time_ms = 77,
               .reason = "bad input"};
  auto out = DecodeIntentRow(EncodeIntentRow(in));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->dlq_partition, 2);
  EXPECT_EQ(out->sequence, 9);
  EXPECT_EQ(out->attempts, 4);
  EXPECT_EQ(out->time_ms, 77);
  EXPECT_EQ(out->reason, "bad input");
  std::string v = EncodeDeliveryRow({.attempts = 1,
                                     .state = DeliveryState::kParked,
                                     .time_ms = 5,
                                     .reason = "r"});
  auto d = DecodeDeliveryRow(v);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->state, DeliveryState::kParked);
  v[0] = 2;
  EXPECT_THAT(DecodeDeliveryRow(v).status().message(),
              HasSubstr("unknown version 2"));
  EXPECT_THAT(DecodeDeliveryRow(v.substr(0, 3)).status().message(),
              HasSubstr("unknown version"));
  std::string truncated = EncodeDeliveryRow({});
  truncated.resize(6);
  EXPECT_THAT(DecodeDeliveryRow(truncated).status().message(),
              HasSubstr("truncated"));
}

// The floor row carries the delivery mark; a row of the floor alone (a new
// subscription's, or an earlier build's) decodes with no mark.
TEST(SubscriptionCodecTest, FloorRowsWithAndWithoutTheMark) {
  auto both = DecodeFloorRow(EncodeFloorRow(40, 57, 1700000030000));
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_EQ(both->floor, 40);
  EXPECT_EQ(both->mark, 57);
  EXPECT_EQ(both->mark_deadline_ms, 1700000030000);
  auto alone = DecodeFloorRow(EncodeInt64Row(40));
  ASSERT_TRUE(alone.ok()) << alone.status();
  EXPECT_EQ(alone->floor, 40);
  EXPECT_EQ(alone->mark, std::nullopt);
  // An earlier build reads the floor and ignores the rest.
  EXPECT_EQ(*DecodeInt64Row(EncodeFloorRow(40, 57, 0)), 40);
  std::string cut = EncodeFloorRow(40, 57, 0);
  cut.resize(cut.size() - 1);
  EXPECT_THAT(DecodeFloorRow(cut).status().message(),
              HasSubstr("truncated at field deadline_ms"));
}

TEST(SubscriptionCodecTest, SubscriptionRecordRoundTrips) {
  StoredSubscription s;
  s.topic = "jobs";
  s.name = "w";
  s.created_ms = 1700000000000;
  s.producer_id = 12;
  s.producer_epoch = 0;
  s.config.lease = absl::Seconds(7);
  s.config.max_deliveries = 9;
  s.config.backoff = {.kind = BackoffPolicy::Kind::kFixed,
                      .initial = absl::Milliseconds(250),
                      .max = absl::Seconds(2),
                      .multiplier = 3};
  s.config.ordered_by_key = true;
  s.config.poison_policy = PoisonPolicy::kPark;
  s.config.dead_letter_topic = "jobs.dlq";
  s.config.start = StartPosition::kLatest;
  s.config.max_unacked_records = 77;
  s.config.sync_deliveries = true;
  auto back = DecodeSubscription(EncodeSubscription(s));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->topic, "jobs");
  EXPECT_EQ(back->producer_id, 12);
  EXPECT_EQ(back->config.lease, absl::Seconds(7));
  EXPECT_EQ(back->config.max_deliveries, 9);
  EXPECT_EQ(back->config.backoff.kind, BackoffPolicy::Kind::kFixed);
  EXPECT_EQ(back->config.backoff.initial, absl::Milliseconds(250));
  EXPECT_EQ(back->config.backoff.max, absl::Seconds(2));
  EXPECT_EQ(back->config.backoff.multiplier, 3);
  EXPECT_TRUE(back->config.ordered_by_key);
  EXPECT_EQ(back->config.poison_policy, PoisonPolicy::kPark);
  EXPECT_EQ(back->config.dead_letter_topic, "jobs.dlq");
  EXPECT_EQ(back->config.start, StartPosition::kLatest);
  EXPECT_EQ(back->config.max_unacked_records, 77);
  EXPECT_TRUE(back->config.sync_deliveries);
  EXPECT_EQ(DecodeSubscription("{\"version\":2}").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_THAT(DecodeSubscription("{\"version\":1,\"config\":{\"backoff\":"
                                 "\"weird\"}}")
                  .status()
                  .message(),
              HasSubstr("config.backoff"));
}

struct Slot {
  int64_t offset = 0;
  bool live = false;
  std::string payload;
};

TEST(SubscriptionWindowTest, RingFindsAppendsAndErasesLikeAMap) {
  const uint32_t seed = std::random_device()();
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  std::mt19937 rng(seed);
  OffsetRing<Slot> ring;
  std::map<int64_t, std::string> model;
  int64_t next = 100;
  for (int step = 0; step < 20000; ++step) {
    const int op = static_cast<int>(rng() % 10);
    if (op < 4 || model.empty()) {
      next += (rng() % 8 == 0) ? 1 + rng() % 5 : 1;  // gaps now and then
      Slot& s = ring.Append(next);
      s.payload = std::to_string(next);
      model[next] = s.payload;
      // Dead slots are squeezed out: memory follows the live ones.
      ASSERT_LE(ring.slots(), 2 * ring.live() + OffsetRing<Slot>::kSlack);
    } else {
      // Erase mostly near the front (acks in order), sometimes anywhere.
      auto it = model.begin();
      if (op >= 8) std::advance(it, rng() % model.size());
      Slot* s = ring.Find(it->first);
      ASSERT_NE(s, nullptr) << it->first;
      ring.Erase(*s);
      model.erase(it);
    }
    ASSERT_EQ(ring.live(), model.size());
    if (step % 97 == 0) {
      for (int64_t o = model.empty() ? next - 3 : model.begin()->first - 2;
           o <= next + 1; ++o) {
        const Slot* s = ring.Find(o);
        auto m = model.find(o);
        ASSERT_EQ(s != nullptr, m != model.end()) << o;
        if (s != nullptr) {
          ASSERT_EQ(s->payload, m->second);
        }
      }
      std::vector<int64_t> seen;
      ring.ForEach([&](const Slot& s) { seen.push_back(s.offset); });
      ASSERT_EQ(seen.size(), model.size());
      if (!model.empty()) {
        ASSERT_EQ(ring.Front().offset, model.begin()->first);
      }
    }
  }
}

// OffsetTable: slots inserted below the last one (records leaving a lease
// run) go beside the ring; Find, Erase, Front and ForEach see both.
TEST(SubscriptionWindowTest, TableTakesSlotsBelowItsLastLikeAMap) {
  const uint32_t seed = std::random_device()();
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  std::mt19937 rng(seed);
  OffsetTable<Slot> table;
  std::map<int64_t, std::string> model;
  int64_t next = 100;
  for (int step = 0; step < 20000; ++step) {
    const int op = static_cast<int>(rng() % 10);
    if (op < 3 || model.empty()) {
      next += 1 + static_cast<int64_t>(rng() % 3);
      Slot& s = table.Insert(next);
      s.payload = std::to_string(next);
      model[next] = s.payload;
    } else if (op < 5) {
      // A free offset anywhere below the last one.
      const int64_t o = next - 1 - static_cast<int64_t>(rng() % 200);
      if (model.contains(o)) continue;
      Slot& s = table.Insert(o);
      s.payload = "below " + std::to_string(o);
      model[o] = s.payload;
    } else {
      auto it = model.begin();
      if (op >= 8) std::advance(it, rng() % model.size());
      Slot* s = table.Find(it->first);
      ASSERT_NE(s, nullptr) << it->first;
      ASSERT_EQ(s->payload, it->second);
      table.Erase(*s);
      model.erase(it);
    }
    ASSERT_EQ(table.live(), model.size());
    if (step % 89 == 0) {
      for (int64_t o = next - 300; o <= next + 1; ++o) {
        const Slot* s = table.Find(o);
        auto m = model.find(o);
        ASSERT_EQ(s != nullptr, m != model.end()) << o;
        if (s != nullptr) {
          ASSERT_EQ(s->payload, m->second);
        }
      }
      std::vector<int64_t> seen;
      table.ForEach([&](const Slot& s) { seen.push_back(s.offset); });
      std::vector<int64_t> want;
      for (const auto& [o, p] : model) want.push_back(o);
      ASSERT_EQ(seen, want);  // offset order across both
      if (!model.empty()) {
        ASSERT_EQ(table.Front().offset, model.begin()->first);
      }
    }
  }
}

TEST(SubscriptionWindowTest, RingKeepsOneStuckSlotWithoutGrowing) {
  OffsetRing<Slot> ring;
  ring.Append(0);  // leased forever
  for (int64_t o = 1; o < 100000; ++o) {
    ring.Erase(ring.Append(o));  // everything after it acked
  }
  EXPECT_EQ(ring.live(), 1u);
  EXPECT_LE(ring.slots(), 2 + OffsetRing<Slot>::kSlack);
  ASSERT_NE(ring.Find(0), nullptr);
  EXPECT_EQ(ring.Find(5), nullptr);
  ring.Erase(*ring.Find(0));
  EXPECT_TRUE(ring.empty());
  EXPECT_EQ(ring.slots(), 0u);
}

TEST(SubscriptionWindowTest, LazyMinQueuePopsInOrderLikeAMultiset) {
  const uint32_t seed = std::random_device()();
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  std::mt19937 rng(seed);
  LazyMinQueue<int64_t> q;
  std::multiset<int64_t> model;
  int64_t rising = 0;
  for (int step = 0; step < 50000; ++step) {
    const int op = static_cast<int>(rng() % 10);
    if (op < 5) {
      // Mostly ascending pushes (the FIFO run), some out of order (heap).
      const int64_t v = op < 4 ? (rising += rng() % 3) : rng() % 1000;
      q.Push(v);
      model.insert(v);
    } else if (op < 9 && !model.empty()) {
      ASSERT_EQ(q.Top(), *model.begin());
      q.Pop();
      model.erase(model.begin());
    } else if (op == 9 && step % 50 == 0) {
      // Drop odd values, as the owner drops stale items.
      q.Filter([](int64_t v) { return v % 2 == 0; });
      for (auto it = model.begin(); it != model.end();) {
        it = *it % 2 != 0 ? model.erase(it) : std::next(it);
      }
    }
    ASSERT_EQ(q.size(), model.size());
  }
  while (!model.empty()) {
    ASSERT_EQ(q.Top(), *model.begin());
    q.Pop();
    model.erase(model.begin());
  }
  EXPECT_TRUE(q.empty());
}

}  // namespace
}  // namespace spool
