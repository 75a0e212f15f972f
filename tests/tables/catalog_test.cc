// The topic catalog: record encoding, topic names and ids, and the Catalog
// table on a TableStore.

#include "tables/catalog.h"

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "io/fault_injection_file_system.h"
#include "nlohmann/json.hpp"
#include "tables/table_store.h"
#include "tables/tables_test_util.h"

namespace spool {
namespace {

using testing_tables::HasStatus;

constexpr char kId[] = "bWFkZSB1cCBleGFtcGxlIQ";  // 16 bytes, canonical

// A record whose every config field differs from the default.
TopicRecord FullRecord() {
  TopicRecord r;
  r.name = "orders.v2_eu-west";
  r.id = kId;
  r.created_ms = 1700000012345;
  r.partition_dirs = {0, 2, 1};
  r.deleting = true;
  TopicConfig& c = r.config;
  c.partitions = 3;
  c.segment_bytes = 64 * 1024;
  c.segment_age = absl::Minutes(90);
  c.segment_index_bytes = 4096;
  c.index_interval_bytes = 0;
  c.max_batch_bytes = 32 * 1024;
  c.preallocate_bytes = 12345;
  c.compression = Compression::kZstd;
  c.zstd_level = 19;
  c.timestamp_type = TimestampType::kLogAppendTime;
  c.durability = Durability::kSync;
  c.flush_interval = absl::Milliseconds(250);
  c.flush_records = 7;
  c.cleanup_policy = CleanupPolicy::kCompactAndDelete;
  c.retention = absl::InfiniteDuration();
  c.retention_bytes = int64_t{5} << 30;
  c.retain_until_consumed = true;
  c.delete_retention = absl::Minutes(5);
  c.min_compaction_lag = absl::Seconds(1);
  c.max_compaction_lag = absl::Hours(3);
  c.min_cleanable_dirty_ratio = 0.125;
  c.producer_id_expiration = absl::Hours(2);
  c.dedup_header = "message-id";
  c.dedup_window = absl::Minutes(10);
  c.dedup_max_ids = 42;
  c.not_before_header = "not-before \xc3\xa9";  // UTF-8
  return r;
}

void ExpectSameConfig(const TopicConfig& a, const TopicConfig& b) {
  EXPECT_EQ(a.partitions, b.partitions);
  EXPECT_EQ(a.segment_bytes, b.segment_bytes);
  EXPECT_EQ(a.segment_age, b.segment_age);
  EXPECT_EQ(a.segment_index_bytes, b.segment_index_bytes);
  EXPECT_EQ(a.index_interval_bytes, b.index_interval_bytes);
  EXPECT_EQ(a.max_batch_bytes, b.max_batch_bytes);
  EXPECT_EQ(a.preallocate_bytes, b.preallocate_bytes);
  EXPECT_EQ(a.compression, b.compression);
  EXPECT_EQ(a.zstd_level, b.zstd_level);
  EXPECT_EQ(a.timestamp_type, b.timestamp_type);
  EXPECT_EQ(a.durability, b.durability);
  EXPECT_EQ(a.flush_interval, b.flush_interval);
  EXPECT_EQ(a.flush_records, b.flush_records);
  EXPECT_EQ(a.cleanup_policy, b.cleanup_policy);
  EXPECT_EQ(a.retention, b.retention);
  EXPECT_EQ(a.retention_bytes, b.retention_bytes);
  EXPECT_EQ(a.retain_until_consumed, b.retain_until_consumed);
  EXPECT_EQ(a.delete_retention, b.delete_retention);
  EXPECT_EQ(a.min_compaction_lag, b.min_compaction_lag);
  EXPECT_EQ(a.max_compaction_lag, b.max_compaction_lag);
  EXPECT_EQ(a.min_cleanable_dirty_ratio, b.min_cleanable_dirty_ratio);
  EXPECT_EQ(a.producer_id_expiration, b.producer_id_expiration);
  EXPECT_EQ(a.dedup_header, b.dedup_header);
  EXPECT_EQ(a.dedup_window, b.dedup_window);
  EXPECT_EQ(a.dedup_max_ids, b.dedup_max_ids);
  EXPECT_EQ(a.not_before_header, b.not_before_header);
}

void ExpectSameRecord(const TopicRecord& a, const TopicRecord& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.created_ms, b.created_ms);
  EXPECT_EQ(a.partition_dirs, b.partition_dirs);
  EXPECT_EQ(a.deleting, b.deleting);
  ExpectSameConfig(a.config, b.config);
}

// Encodes FullRecord(), lets `edit` change the JSON text, decodes.
absl::StatusOr<TopicRecord> DecodeEdited(
    const std::function<void(nlohmann::json&)>& edit) {
  absl::StatusOr<std::string> text = EncodeTopicRecord(FullRecord());
  EXPECT_TRUE(text.ok()) << text.status();
  nlohmann::json doc = nlohmann::json::parse(*text);
  edit(doc);
  return DecodeTopicRecord(doc.dump());
}

TEST(TopicRecordCodecTest, RoundTripKeepsEveryField) {
  const TopicRecord record = FullRecord();
  absl::StatusOr<std::string> text = EncodeTopicRecord(record);
  ASSERT_TRUE(text.ok()) << text.status();
  absl::StatusOr<TopicRecord> decoded = DecodeTopicRecord(*text);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectSameRecord(*decoded, record);
}

TEST(TopicRecordCodecTest, DocumentNamesEveryFieldInItsUnits) {
  absl::StatusOr<std::string> text = EncodeTopicRecord(FullRecord());
  ASSERT_TRUE(text.ok());
  const nlohmann::json doc = nlohmann::json::parse(*text);
  EXPECT_EQ(doc["version"], 1);
  EXPECT_EQ(doc["name"], "orders.v2_eu-west");
  EXPECT_EQ(doc["partition_dirs"], nlohmann::json({0, 2, 1}));
  const nlohmann::json& c = doc["config"];
  EXPECT_EQ(c.size(), 26u) << c.dump();
  EXPECT_EQ(c["segment_age_ms"], 90 * 60 * 1000);
  EXPECT_EQ(c["flush_interval_ms"], 250);
  EXPECT_EQ(c["retention_ms"], -1);  // infinite
  EXPECT_EQ(c["compression"], "zstd");
  EXPECT_EQ(c["timestamp_type"], "log-append-time");
  EXPECT_EQ(c["durability"], "sync");
  EXPECT_EQ(c["cleanup_policy"], "compact,delete");
  EXPECT_EQ(c["min_cleanable_dirty_ratio"], 0.125);
}

TEST(TopicRecordCodecTest, EveryEnumValueRoundTrips) {
  TopicRecord record = FullRecord();
  for (Compression c : {Compression::kNone, Compression::kZstd}) {
    for (TimestampType t :
         {TimestampType::kCreateTime, TimestampType::kLogAppendTime}) {
      for (Durability d :
           {Durability::kNone, Durability::kInterval, Durability::kSync}) {
        for (CleanupPolicy p : {CleanupPolicy::kDelete, CleanupPolicy::kCompact,
                                CleanupPolicy::kCompactAndDelete}) {
          record.config.compression = c;
          record.config.timestamp_type = t;
          record.config.durability = d;
          record.config.cleanup_policy = p;
          absl::StatusOr<TopicRecord> decoded =
              DecodeTopicRecord(*EncodeTopicRecord(record));
          ASSERT_TRUE(decoded.ok()) << decoded.status();
          ExpectSameConfig(decoded->config, record.config);
        }
      }
    }
  }
}

TEST(TopicRecordCodecTest,
     MissingOptionalFieldsTakeDefaultsAndUnknownOnesAreIgnored) {
  const std::string text = absl::StrFormat(
      R"({"version": 1, "name": "t", "id": "%s", "partition_dirs": [4],
          "added_later": {"x": 1}, "config": {"added_later_too": true}})",
      kId);
  absl::StatusOr<TopicRecord> decoded = DecodeTopicRecord(text);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->name, "t");
  EXPECT_EQ(decoded->created_ms, 0);
  EXPECT_FALSE(decoded->deleting);
  EXPECT_EQ(decoded->partition_dirs, std::vector<int32_t>{4});
  ExpectSameConfig(decoded->config, TopicConfig());

  // Without "config" at all, too.
  decoded = DecodeTopicRecord(absl::StrFormat(
      R"({"version":1,"name":"t","id":"%s","partition_dirs":[0]})", kId));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectSameConfig(decoded->config, TopicConfig());
}

TEST(TopicRecordCodecTest, AcceptsKafkasOtherSpellingOfCompactDelete) {
  absl::StatusOr<TopicRecord> decoded = DecodeEdited([](nlohmann::json& doc) {
    doc["config"]["cleanup_policy"] = "delete,compact";
  });
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->config.cleanup_policy, CleanupPolicy::kCompactAndDelete);
}

TEST(TopicRecordCodecTest, RejectsMalformedDocumentsNamingTheField) {
  struct Case {
    const char* name;
    std::function<void(nlohmann::json&)> edit;
    const char* fragment;
  };
  using J = nlohmann::json;
  const Case kCases[] = {
      {"version missing", [](J& d) { d.erase("version"); },
       "missing field version"},
      {"version 2", [](J& d) { d["version"] = 2; },
       "field version: unsupported version 2"},
      {"version a string", [](J& d) { d["version"] = "1"; },
       "field version: expected an integer"},
      {"name missing", [](J& d) { d.erase("name"); }, "missing field name"},
      {"name a number", [](J& d) { d["name"] = 5; },
       "field name: expected a string, found 5"},
      {"id missing", [](J& d) { d.erase("id"); }, "missing field id"},
      {"id malformed", [](J& d) { d["id"] = "not-an-id"; },
       "field id: expected a topic id"},
      {"partition_dirs missing", [](J& d) { d.erase("partition_dirs"); },
       "missing field partition_dirs"},
      {"partition_dirs an object",
       [](J& d) { d["partition_dirs"] = J::object(); },
       "field partition_dirs: expected an array"},
      {"partition_dirs short",
       [](J& d) {
         d["partition_dirs"] = {0, 1};
       },
       "field partition_dirs: 2 entries for 3 partitions"},
      {"partition dir negative", [](J& d) { d["partition_dirs"][1] = -1; },
       "field partition_dirs[1]: expected an integer in [0, 2147483647]"},
      {"created_ms a string", [](J& d) { d["created_ms"] = "now"; },
       "field created_ms: expected an integer"},
      {"deleting a number", [](J& d) { d["deleting"] = 1; },
       "field deleting: expected true or false"},
      {"config an array", [](J& d) { d["config"] = J::array(); },
       "field config: expected an object"},
      {"partitions a string", [](J& d) { d["config"]["partitions"] = "3"; },
       "field config.partitions: expected an integer"},
      {"partitions a fraction", [](J& d) { d["config"]["partitions"] = 1.5; },
       "field config.partitions: expected an integer"},
      {"partitions beyond int32",
       [](J& d) { d["config"]["partitions"] = int64_t{1} << 40; },
       "field config.partitions: expected an integer in [-2147483648, "
       "2147483647], found 1099511627776"},
      {"segment_bytes beyond int64",
       [](J& d) { d["config"]["segment_bytes"] = uint64_t{1} << 63; },
       "field config.segment_bytes: expected an integer"},
      {"retention_ms a fraction",
       [](J& d) { d["config"]["retention_ms"] = 0.5; },
       "field config.retention_ms: expected an integer"},
      {"compression unknown", [](J& d) { d["config"]["compression"] = "lz5"; },
       "field config.compression: expected one of \"none\""},
      {"durability a number", [](J& d) { d["config"]["durability"] = 2; },
       "field config.durability: expected one of"},
      {"retain_until_consumed a string",
       [](J& d) { d["config"]["retain_until_consumed"] = "yes"; },
       "field config.retain_until_consumed: expected true or false"},
      {"ratio a string",
       [](J& d) { d["config"]["min_cleanable_dirty_ratio"] = "half"; },
       "field config.min_cleanable_dirty_ratio: expected a number"},
      {"dedup_header a number", [](J& d) { d["config"]["dedup_header"] = 7; },
       "field config.dedup_header: expected a string"},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    EXPECT_TRUE(HasStatus(DecodeEdited(c.edit), absl::StatusCode::kDataLoss,
                          c.fragment));
  }
}

TEST(TopicRecordCodecTest, RejectsTextThatIsNotARecordObject) {
  EXPECT_TRUE(HasStatus(DecodeTopicRecord("{\"version\": 1,"),
                        absl::StatusCode::kDataLoss, "not valid JSON"));
  EXPECT_TRUE(HasStatus(DecodeTopicRecord(""), absl::StatusCode::kDataLoss,
                        "not valid JSON"));
  EXPECT_TRUE(HasStatus(DecodeTopicRecord("[1, 2]"),
                        absl::StatusCode::kDataLoss,
                        "expected a JSON object, found [1,2]"));
  EXPECT_TRUE(HasStatus(DecodeTopicRecord("\"\xff\""),
                        absl::StatusCode::kDataLoss, "not valid JSON"));
}

TEST(TopicRecordCodecTest, EncodeRejectsRecordsThatCouldNotBeUsed) {
  struct Case {
    const char* name;
    std::function<void(TopicRecord&)> edit;
    const char* fragment;
  };
  const Case kCases[] = {
      {"bad name", [](TopicRecord& r) { r.name = "a b"; },
       "invalid topic name \"a b\""},
      {"bad id", [](TopicRecord& r) { r.id = "short"; },
       "id \"short\" is not a topic id"},
      {"invalid config", [](TopicRecord& r) { r.config.flush_records = 0; },
       "invalid topic config: flush_records = 0"},
      {"dirs short", [](TopicRecord& r) { r.partition_dirs.pop_back(); },
       "partition_dirs has 2 entries for 3 partitions"},
      {"dir negative", [](TopicRecord& r) { r.partition_dirs[2] = -4; },
       "partition_dirs[2] = -4 is negative"},
      {"header not UTF-8",
       [](TopicRecord& r) { r.config.dedup_header = "id\xff"; },
       "config.dedup_header is not UTF-8"},
      {"overlong UTF-8",
       [](TopicRecord& r) { r.config.not_before_header = "\xc0\xaf"; },
       "config.not_before_header is not UTF-8"},
      {"surrogate",
       [](TopicRecord& r) { r.config.not_before_header = "\xed\xa0\x80"; },
       "config.not_before_header is not UTF-8"},
      {"truncated sequence",
       [](TopicRecord& r) { r.config.not_before_header = "ok\xe2\x82"; },
       "config.not_before_header is not UTF-8"},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    TopicRecord record = FullRecord();
    c.edit(record);
    EXPECT_TRUE(HasStatus(EncodeTopicRecord(record),
                          absl::StatusCode::kInvalidArgument, c.fragment));
  }
  TopicRecord emoji = FullRecord();
  emoji.config.dedup_header = "id-\xf0\x9f\x93\xa8";
  EXPECT_TRUE(EncodeTopicRecord(emoji).ok());
}

TEST(TopicIdTest, NewIdsHaveKafkasFormat) {
  std::set<std::string> ids;
  for (int i = 0; i < 2000; ++i) {
    const std::string id = NewTopicId();
    ASSERT_EQ(id.size(), kTopicIdLength) << id;
    EXPECT_TRUE(IsValidTopicId(id)) << id;
    EXPECT_NE(id.front(), '-') << id;
    for (char c : id) {
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
                  c == '_')
          << id;
    }
    std::string bytes;
    ASSERT_TRUE(absl::WebSafeBase64Unescape(id, &bytes));
    ASSERT_EQ(bytes.size(), 16u);
    EXPECT_EQ(static_cast<unsigned char>(bytes[6]) >> 4, 4) << "version 4";
    EXPECT_EQ(static_cast<unsigned char>(bytes[8]) >> 6, 2) << "IETF variant";
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 2000u);
}

TEST(TopicIdTest, ValidatesLengthAlphabetAndCanonicalForm) {
  EXPECT_TRUE(IsValidTopicId(kId));
  EXPECT_TRUE(IsValidTopicId("AAAAAAAAAAAAAAAAAAAAAA"));
  EXPECT_FALSE(IsValidTopicId(""));
  EXPECT_FALSE(IsValidTopicId("bWFkZSB1cCBleGFtcGxlI"));    // 21
  EXPECT_FALSE(IsValidTopicId("bWFkZSB1cCBleGFtcGxlIQA"));  // 23
  EXPECT_FALSE(IsValidTopicId("bWFkZSB1cCBleGFtcGxlIQ=="));
  EXPECT_FALSE(IsValidTopicId("bWFkZSB1cCBleGFtcGxl+Q"));  // not URL-safe
  EXPECT_FALSE(IsValidTopicId("bWFkZSB1cCBleGFtcGxlIR"));  // stray low bits
}

TEST(TopicNameTest, AcceptsKafkasAlphabetUpTo249Characters) {
  EXPECT_TRUE(ValidateTopicName("a").ok());
  EXPECT_TRUE(ValidateTopicName("Orders.v2_EU-west-0").ok());
  EXPECT_TRUE(ValidateTopicName("...").ok());
  EXPECT_TRUE(ValidateTopicName(std::string(249, 'x')).ok());
}

TEST(TopicNameTest, RejectsWhatKafkaRejectsSayingWhy) {
  const absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_TRUE(HasStatus(ValidateTopicName(""), kInvalid, "it is empty"));
  EXPECT_TRUE(HasStatus(ValidateTopicName("."), kInvalid,
                        "\".\" and \"..\" are not allowed"));
  EXPECT_TRUE(HasStatus(ValidateTopicName(".."), kInvalid,
                        "\".\" and \"..\" are not allowed"));
  EXPECT_TRUE(HasStatus(ValidateTopicName(std::string(250, 'x')), kInvalid,
                        "250 characters, at most 249"));
  EXPECT_TRUE(HasStatus(ValidateTopicName("a b"), kInvalid,
                        "character ' ' at position 1 is not allowed"));
  EXPECT_TRUE(HasStatus(ValidateTopicName("a/b"), kInvalid,
                        "character '/' at position 1"));
  EXPECT_TRUE(HasStatus(ValidateTopicName("caf\xc3\xa9"), kInvalid,
                        "character '\\xc3' at position 3"));
  EXPECT_TRUE(HasStatus(ValidateTopicName(std::string("a\0", 2)), kInvalid,
                        "character '\\x00' at position 1"));
}

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    absl::StatusOr<std::unique_ptr<TableStore>> store =
        TableStore::Open(TableStoreOptions{.fs = &fs_, .path = "/d/tables"});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    catalog_ = std::make_unique<Catalog>(store_.get());
  }
  static TopicRecord Named(std::string name) {
    TopicRecord r = FullRecord();
    r.name = std::move(name);
    return r;
  }

  FaultInjectionFileSystem fs_{/*seed=*/5};
  std::unique_ptr<TableStore> store_;
  std::unique_ptr<Catalog> catalog_;
};

TEST_F(CatalogTest, PutGetDeleteAndListInNameOrder) {
  for (const char* name : {"b", "a", "c.x", "B"}) {
    ASSERT_TRUE(catalog_->Put(Named(name)).ok());
  }
  absl::StatusOr<std::optional<TopicRecord>> got = catalog_->Get("a");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  ExpectSameRecord(**got, Named("a"));
  EXPECT_FALSE(catalog_->Get("missing")->has_value());

  TopicRecord replaced = Named("b");
  replaced.deleting = false;
  ASSERT_TRUE(catalog_->Put(replaced).ok());
  ASSERT_TRUE(catalog_->Delete("c.x").ok());
  ASSERT_TRUE(catalog_->Delete("never-there").ok());

  absl::StatusOr<std::vector<TopicRecord>> all = catalog_->List();
  ASSERT_TRUE(all.ok()) << all.status();
  std::vector<std::string> names;
  for (const TopicRecord& r : *all) names.push_back(r.name);
  EXPECT_EQ(names, (std::vector<std::string>{"B", "a", "b"}));
  EXPECT_FALSE((*all)[2].deleting);
}

TEST_F(CatalogTest, PutsAreDurableAtOnce) {
  ASSERT_TRUE(catalog_->Put(Named("t")).ok());
  fs_.SimulateCrash();  // drops everything unsynced
  catalog_.reset();
  store_.reset();
  fs_.ClearFaults();
  Reopen();
  EXPECT_TRUE(catalog_->Get("t")->has_value());
}

TEST_F(CatalogTest, InvalidRecordsAreRejectedAndNotStored) {
  TopicRecord bad = Named("t");
  bad.config.partitions = 0;
  EXPECT_TRUE(HasStatus(catalog_->Put(bad), absl::StatusCode::kInvalidArgument,
                        "invalid topic config: partitions = 0"));
  EXPECT_FALSE(catalog_->Get("t")->has_value());
}

TEST_F(CatalogTest, UndecodableEntriesAreDataLossNamingTheTopic) {
  ASSERT_TRUE(catalog_->Put(Named("good")).ok());
  ASSERT_TRUE(store_->Put(Table::kCatalog, "broken", "{not json").ok());
  EXPECT_TRUE(HasStatus(catalog_->Get("broken"), absl::StatusCode::kDataLoss,
                        "catalog entry \"broken\": topic record: not valid"));
  EXPECT_TRUE(HasStatus(catalog_->List(), absl::StatusCode::kDataLoss,
                        "catalog entry \"broken\""));
  // A record stored under another topic's name.
  ASSERT_TRUE(
      store_->Put(Table::kCatalog, "broken", *EncodeTopicRecord(Named("good")))
          .ok());
  EXPECT_TRUE(HasStatus(catalog_->Get("broken"), absl::StatusCode::kDataLoss,
                        "holds the record of topic \"good\""));
}

}  // namespace
}  // namespace spool
