// TopicConfig::Validate, EngineOptions::Validate and CleanupPolicyName.

#include <functional>
#include <string>

#include "gtest/gtest.h"
#include "spool/options.h"
#include "tables/tables_test_util.h"

namespace spool {
namespace {

using testing_tables::HasStatus;

struct ConfigCase {
  const char* name;
  std::function<void(TopicConfig&)> edit;
  const char* fragment;  // empty: the config must be valid
};

void CheckConfigCases(const std::vector<ConfigCase>& cases) {
  for (const ConfigCase& c : cases) {
    SCOPED_TRACE(c.name);
    TopicConfig config;
    c.edit(config);
    if (std::string_view(c.fragment).empty()) {
      EXPECT_TRUE(config.Validate().ok()) << config.Validate();
    } else {
      EXPECT_TRUE(HasStatus(config.Validate(),
                            absl::StatusCode::kInvalidArgument, c.fragment));
    }
  }
}

TEST(TopicConfigTest, DefaultsAreValid) {
  EXPECT_TRUE(TopicConfig().Validate().ok());
}

TEST(TopicConfigTest, RejectsEachRuleNamingFieldValueAndRule) {
  using C = TopicConfig;
  CheckConfigCases({
      {"partitions 0", [](C& c) { c.partitions = 0; },
       "invalid topic config: partitions = 0; must be in [1, 100000]"},
      {"partitions too many", [](C& c) { c.partitions = 100001; },
       "partitions = 100001; must be in [1, 100000]"},
      {"segment_bytes small", [](C& c) { c.segment_bytes = 1023; },
       "segment_bytes = 1023; must be in [1024, 2147483647]"},
      {"segment_bytes 2 GiB", [](C& c) { c.segment_bytes = int64_t{1} << 31; },
       "segment_bytes = 2147483648; must be in [1024, 2147483647]"},
      {"segment_age 0", [](C& c) { c.segment_age = absl::ZeroDuration(); },
       "segment_age = 0; must be positive"},
      {"segment_index_bytes 47", [](C& c) { c.segment_index_bytes = 47; },
       "segment_index_bytes = 47; must be at least 48"},
      {"index_interval_bytes -1", [](C& c) { c.index_interval_bytes = -1; },
       "index_interval_bytes = -1; must not be negative"},
      {"max_batch_bytes 60", [](C& c) { c.max_batch_bytes = 60; },
       "max_batch_bytes = 60; must be in [61, segment_bytes = 1073741824]"},
      {"max_batch_bytes over segment",
       [](C& c) {
         c.segment_bytes = 4096;
         c.max_batch_bytes = 4097;
       },
       "max_batch_bytes = 4097; must be in [61, segment_bytes = 4096]"},
      {"compression gzip", [](C& c) { c.compression = Compression::kGzip; },
       "compression = gzip; must be none or zstd"},
      {"compression lz4", [](C& c) { c.compression = Compression::kLz4; },
       "compression = lz4; must be none or zstd"},
      {"zstd level 0",
       [](C& c) {
         c.compression = Compression::kZstd;
         c.zstd_level = 0;
       },
       "zstd_level = 0; must be in [1, 22] with zstd"},
      {"zstd level 23",
       [](C& c) {
         c.compression = Compression::kZstd;
         c.zstd_level = 23;
       },
       "zstd_level = 23"},
      {"timestamp type out of range",
       [](C& c) { c.timestamp_type = static_cast<TimestampType>(7); },
       "timestamp_type = 7; must be create-time or log-append-time"},
      {"durability out of range",
       [](C& c) { c.durability = static_cast<Durability>(9); },
       "durability = 9; must be none, interval or sync"},
      {"flush_interval 0",
       [](C& c) { c.flush_interval = absl::ZeroDuration(); },
       "flush_interval = 0; must be positive"},
      {"flush_records 0", [](C& c) { c.flush_records = 0; },
       "flush_records = 0; must be positive"},
      {"cleanup policy out of range",
       [](C& c) { c.cleanup_policy = static_cast<CleanupPolicy>(3); },
       "cleanup_policy = 3; must be delete, compact or compact,delete"},
      {"retention 0", [](C& c) { c.retention = absl::ZeroDuration(); },
       "retention = 0; must be positive or infinite"},
      {"retention -inf", [](C& c) { c.retention = -absl::InfiniteDuration(); },
       "retention = -inf; must be positive or infinite"},
      {"retention_bytes 0", [](C& c) { c.retention_bytes = 0; },
       "retention_bytes = 0; must be -1 (unlimited) or positive"},
      {"retention_bytes -2", [](C& c) { c.retention_bytes = -2; },
       "retention_bytes = -2"},
      {"delete_retention negative",
       [](C& c) { c.delete_retention = absl::Milliseconds(-1); },
       "delete_retention = -1ms; must not be negative"},
      {"min_compaction_lag negative",
       [](C& c) { c.min_compaction_lag = absl::Seconds(-1); },
       "min_compaction_lag = -1s; must not be negative"},
      {"max below min",
       [](C& c) {
         c.min_compaction_lag = absl::Hours(2);
         c.max_compaction_lag = absl::Hours(1);
       },
       "max_compaction_lag = 1h; must not be less than min_compaction_lag = "
       "2h"},
      {"ratio above 1", [](C& c) { c.min_cleanable_dirty_ratio = 1.5; },
       "min_cleanable_dirty_ratio = 1.5; must be in [0, 1]"},
      {"ratio negative", [](C& c) { c.min_cleanable_dirty_ratio = -0.1; },
       "min_cleanable_dirty_ratio = -0.1"},
      {"ratio NaN", [](C& c) { c.min_cleanable_dirty_ratio = std::nan(""); },
       "min_cleanable_dirty_ratio = nan"},
      {"producer_id_expiration 0",
       [](C& c) { c.producer_id_expiration = absl::ZeroDuration(); },
       "producer_id_expiration = 0; must be positive"},
      {"dedup window 0 with header",
       [](C& c) {
         c.dedup_header = "id";
         c.dedup_window = absl::ZeroDuration();
       },
       "dedup_window = 0; must be positive when dedup_header is set"},
      {"dedup max ids 0 with header",
       [](C& c) {
         c.dedup_header = "id";
         c.dedup_max_ids = 0;
       },
       "dedup_max_ids = 0; must be positive when dedup_header is set"},
      {"dedup header too long",
       [](C& c) { c.dedup_header = std::string(256, 'h'); },
       "dedup_header = \"hhhhhhhhhhhhhhhh...\" (256 bytes); must be at most "
       "255 bytes"},
      {"not-before header too long",
       [](C& c) { c.not_before_header = std::string(300, 'n'); },
       "not_before_header = \"nnnnnnnnnnnnnnnn...\" (300 bytes)"},
      {"sub-millisecond duration",
       [](C& c) { c.flush_interval = absl::Microseconds(1500); },
       "flush_interval = 1.5ms; must be a whole number of milliseconds"},
  });
}

TEST(TopicConfigTest, AcceptsTheBoundaries) {
  using C = TopicConfig;
  CheckConfigCases({
      {"partitions 1", [](C& c) { c.partitions = 1; }, ""},
      {"partitions 100000", [](C& c) { c.partitions = 100000; }, ""},
      {"smallest segment",
       [](C& c) {
         c.segment_bytes = 1024;
         c.max_batch_bytes = 1024;
       },
       ""},
      {"largest segment",
       [](C& c) { c.segment_bytes = (int64_t{1} << 31) - 1; }, ""},
      {"smallest batch limit", [](C& c) { c.max_batch_bytes = 61; }, ""},
      {"index bytes 48", [](C& c) { c.segment_index_bytes = 48; }, ""},
      {"index interval 0", [](C& c) { c.index_interval_bytes = 0; }, ""},
      {"zstd level ignored without zstd", [](C& c) { c.zstd_level = 99; }, ""},
      {"zstd level 22",
       [](C& c) {
         c.compression = Compression::kZstd;
         c.zstd_level = 22;
       },
       ""},
      {"retention infinite",
       [](C& c) { c.retention = absl::InfiniteDuration(); }, ""},
      {"retention_bytes 1", [](C& c) { c.retention_bytes = 1; }, ""},
      {"zero lags and retention",
       [](C& c) {
         c.delete_retention = absl::ZeroDuration();
         c.max_compaction_lag = absl::ZeroDuration();
       },
       ""},
      {"ratio 0", [](C& c) { c.min_cleanable_dirty_ratio = 0; }, ""},
      {"ratio 1", [](C& c) { c.min_cleanable_dirty_ratio = 1; }, ""},
      {"dedup off ignores its window",
       [](C& c) {
         c.dedup_window = absl::ZeroDuration();
         c.dedup_max_ids = 0;
       },
       ""},
      {"255-byte headers",
       [](C& c) {
         c.dedup_header = std::string(255, 'h');
         c.not_before_header = std::string(255, 'n');
       },
       ""},
  });
}

EngineOptions ValidEngineOptions() {
  EngineOptions o;
  o.data_dirs = {"/data/a", "/data/b"};
  return o;
}

TEST(EngineOptionsTest, ValidOptionsPass) {
  EXPECT_TRUE(ValidEngineOptions().Validate().ok());
  EngineOptions o = ValidEngineOptions();
  o.shards = 1024;
  o.max_open_files = 16;
  EXPECT_TRUE(o.Validate().ok());
}

TEST(EngineOptionsTest, RejectsEachRule) {
  const absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;
  EngineOptions o;
  EXPECT_TRUE(HasStatus(o.Validate(), kInvalid,
                        "invalid engine options: data_dirs = []; at least "
                        "one data directory is required"));
  o = ValidEngineOptions();
  o.data_dirs.push_back("");
  EXPECT_TRUE(HasStatus(o.Validate(), kInvalid,
                        "data_dirs[2] = \"\"; must not be empty"));
  o = ValidEngineOptions();
  o.data_dirs.push_back("/data/a//");
  EXPECT_TRUE(HasStatus(o.Validate(), kInvalid,
                        "data_dirs[2] = \"/data/a//\"; the same directory as "
                        "data_dirs[0] = \"/data/a\""));
  o.data_dirs = {"/", "//"};
  EXPECT_TRUE(HasStatus(o.Validate(), kInvalid, "data_dirs[1] = \"//\""));
  o = ValidEngineOptions();
  o.shards = -1;
  EXPECT_TRUE(
      HasStatus(o.Validate(), kInvalid, "shards = -1; must be in [0, 1024]"));
  o.shards = 1025;
  EXPECT_TRUE(HasStatus(o.Validate(), kInvalid, "shards = 1025"));
  o = ValidEngineOptions();
  o.max_open_files = 15;
  EXPECT_TRUE(HasStatus(o.Validate(), kInvalid,
                        "max_open_files = 15; must be at least 16"));
  o = ValidEngineOptions();
  o.checkpoint_interval = absl::ZeroDuration();
  EXPECT_TRUE(HasStatus(o.Validate(), kInvalid,
                        "checkpoint_interval = 0; must be positive"));
  o = ValidEngineOptions();
  o.topic_defaults.partitions = 0;
  EXPECT_TRUE(HasStatus(o.Validate(), kInvalid,
                        "invalid engine options: topic_defaults: invalid "
                        "topic config: partitions = 0"));
}

TEST(CleanupPolicyTest, NamesAreKafkas) {
  EXPECT_EQ(CleanupPolicyName(CleanupPolicy::kDelete), "delete");
  EXPECT_EQ(CleanupPolicyName(CleanupPolicy::kCompact), "compact");
  EXPECT_EQ(CleanupPolicyName(CleanupPolicy::kCompactAndDelete),
            "compact,delete");
}

}  // namespace
}  // namespace spool
