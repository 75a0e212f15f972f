// A fixture for the shared-subscription tests: the consumer-group fixture
// (an engine on the fault-injecting file system with a manual clock) plus
// helpers to produce keyed records, receive, and read a dead-letter topic.

#ifndef SPOOL_TESTS_ENGINE_SUBSCRIPTION_TEST_UTIL_H_
#define SPOOL_TESTS_ENGINE_SUBSCRIPTION_TEST_UTIL_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/consumer_group_test_util.h"
#include "spool/subscriptions.h"

namespace spool::testing_util {

class SubscriptionTestBase : public GroupTestBase {
 protected:
  Subscriptions& subs() { return engine_->subscriptions(); }

  // A 10 s lease and no backoff: a nacked record is available at once.
  static SubscriptionConfig NoBackoffConfig() {
    SubscriptionConfig c;
    c.lease = absl::Seconds(10);
    c.backoff = {.initial = absl::ZeroDuration()};
    return c;
  }

  void CreateTopicWith(const std::string& name, int partitions,
                       const std::string& not_before_header = "") {
    TopicConfig c;
    c.partitions = partitions;
    c.segment_bytes = 8 << 20;
    c.not_before_header = not_before_header;
    absl::Status s = engine_->CreateTopic(name, c);
    ASSERT_TRUE(s.ok()) << s;
  }

  // One record to `partition`; returns its offset.
  int64_t Put(const std::string& topic, int32_t partition,
              std::optional<std::string> key, const std::string& value,
              std::vector<Header> headers = {}) {
    Record r;
    r.key = std::move(key);
    r.value = value;
    r.headers = std::move(headers);
    auto res = engine_->Produce(topic, std::move(r), {.partition = partition});
    EXPECT_TRUE(res.ok()) << res.status();
    return res.ok() ? res->records[0].offset : -1;
  }

  // n records with values "<p>:0".."<p>:n-1" in partition p, one batch.
  void FillPartition(const std::string& topic, int32_t p, int n) {
    std::vector<Record> batch;
    for (int i = 0; i < n; ++i) {
      batch.push_back({.value = std::to_string(p) + ":" + std::to_string(i)});
    }
    absl::Status s =
        engine_->ProduceBatch(topic, batch, {.partition = p}).status();
    ASSERT_TRUE(s.ok()) << s;
  }

  std::vector<ReceivedRecord> Get(const std::string& topic,
                                  const std::string& sub, int n,
                                  std::optional<absl::Duration> lease = {}) {
    auto r = subs().Receive(topic, sub, {.max_records = n, .lease = lease});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::vector<ReceivedRecord>{};
  }

  static std::vector<std::string> Values(
      const std::vector<ReceivedRecord>& rs) {
    std::vector<std::string> out;
    for (const auto& r : rs) out.push_back(r.value.value_or("<null>"));
    return out;
  }

  // Every record of a topic: value and headers by name.
  struct Stored {
    int32_t partition;
    int64_t offset;
    std::optional<std::string> key;
    std::string value;
    std::map<std::string, std::string> headers;
  };
  std::vector<Stored> ReadTopic(const std::string& topic) {
    std::vector<Stored> out;
    auto n = engine_->PartitionCount(topic);
    EXPECT_TRUE(n.ok()) << n.status();
    for (int32_t p = 0; n.ok() && p < *n; ++p) {
      auto o = engine_->Offsets({topic, p});
      int64_t pos = o->log_start_offset;
      while (pos < o->log_end_offset) {
        auto f = engine_->Fetch({topic, p}, pos);
        EXPECT_TRUE(f.ok()) << f.status();
        if (!f.ok() || f->batches.empty()) break;
        EXPECT_TRUE(f->ForEachRecord([&](const RecordView& r) {
                       Stored s{p, r.offset, std::nullopt, "", {}};
                       if (r.key) s.key = std::string(*r.key);
                       if (r.value) s.value = std::string(*r.value);
                       for (const auto& h : r.headers) {
                         s.headers[std::string(h.key)] =
                             std::string(h.value.value_or(""));
                       }
                       out.push_back(std::move(s));
                       return true;
                     }).ok());
        pos = f->next_offset;
      }
    }
    return out;
  }
};

}  // namespace spool::testing_util

#endif  // SPOOL_TESTS_ENGINE_SUBSCRIPTION_TEST_UTIL_H_
