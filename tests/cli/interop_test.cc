// Interoperability of `spool dump --json` with independent implementations
// of the format:
//   * segments written by Apache Kafka brokers, librdkafka and other
//     clients (tests/data/kafka-real): the parsed-back JSON must match every
//     field and record of their expected.json, for every codec;
//   * segments written by Spool, decoded by the independent Python decoder
//     tests/data/reference/kafka_format_check.py (via kafka_listing.py).

#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/cli_test_util.h"
#include "gtest/gtest.h"
#include "log/partition_log.h"
#include "spool/record.h"

namespace spool::cli_test {
namespace {

using nlohmann::json;

const char* const kKafkaCases[] = {
    "real-kafka-go-v2-v2",          "real-kafka-go-v2c-v2-v2c",
    "real-kafka-go-v2c-v2c",        "real-kafka-python-v2",
    "real-kafka-python-v2-headers", "real-rskafka-java-snappy",
    "wire-librdkafka-gzip",         "wire-librdkafka-lz4",
    "wire-librdkafka-none",         "wire-librdkafka-null-key",
    "wire-librdkafka-snappy",       "wire-librdkafka-zstd",
};

std::vector<json> OfType(const std::vector<json>& lines,
                         const std::string& type) {
  std::vector<json> out;
  for (const json& j : lines) {
    if (j.value("type", "") == type) out.push_back(j);
  }
  return out;
}

class KafkaRealTest : public ::testing::TestWithParam<const char*> {};

void ExpectBatch(const json& e, const json& got) {
  // expected.json name -> spool dump --json name.
  const std::map<std::string, std::string> fields = {
      {"filePosition", "position"},
      {"baseOffset", "baseOffset"},
      {"batchLength", "batchLength"},
      {"sizeInBytes", "sizeInBytes"},
      {"magic", "magic"},
      {"crc", "crc"},
      {"crcValid", "crcValid"},
      {"attributes", "attributes"},
      {"compression", "compression"},
      {"partitionLeaderEpoch", "partitionLeaderEpoch"},
      {"timestampType", "timestampType"},
      {"isTransactional", "isTransactional"},
      {"isControl", "isControl"},
      {"lastOffsetDelta", "lastOffsetDelta"},
      {"lastOffset", "lastOffset"},
      {"firstTimestamp", "baseTimestamp"},
      {"maxTimestamp", "maxTimestamp"},
      {"producerId", "producerId"},
      {"producerEpoch", "producerEpoch"},
      {"baseSequence", "baseSequence"},
      {"lastSequence", "lastSequence"},
      {"recordCount", "recordCount"},
  };
  for (const auto& [theirs, ours] : fields) {
    EXPECT_EQ(e.at(theirs), got.at(ours)) << theirs << " of " << e;
  }
}

TEST_P(KafkaRealTest, JsonDumpMatchesExpectedListing) {
  const std::string dir = absl::StrCat(KafkaRealDir(), "/", GetParam());
  const json expected = json::parse(ReadFileOrDie(dir + "/expected.json"));
  RunResult r = RunSpool({"dump", "--json", "--records", "--data", "base64",
                          dir + "/00000000000000000000.log"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  std::vector<json> lines = ParseJsonLines(r.out);
  std::vector<json> batches = OfType(lines, "batch");
  std::vector<json> records = OfType(lines, "record");
  ASSERT_EQ(batches.size(), expected["batches"].size());
  ASSERT_EQ(records.size(), expected["records"].size());
  std::map<uint64_t, int> batch_index;
  for (size_t i = 0; i < batches.size(); ++i) {
    ExpectBatch(expected["batches"][i], batches[i]);
    batch_index[batches[i]["position"].get<uint64_t>()] = static_cast<int>(i);
  }
  for (size_t i = 0; i < records.size(); ++i) {
    const json& e = expected["records"][i];
    const json& got = records[i];
    EXPECT_EQ(e["offset"], got["offset"]);
    EXPECT_EQ(e["timestamp"], got["timestamp"]);
    EXPECT_EQ(e["attributes"], got["attributes"]);
    EXPECT_EQ(e["key"], got["key"]) << "record " << i;
    EXPECT_EQ(e["value"], got["value"]) << "record " << i;
    EXPECT_EQ(e["headers"], got["headers"]) << "record " << i;
    EXPECT_EQ(e["batchIndex"].get<int>(),
              batch_index[got["batchPosition"].get<uint64_t>()]);
  }
  // The whole file was read: no trailing-bytes finding.
  EXPECT_TRUE(OfType(lines, "finding").empty()) << r.out;
}

TEST_P(KafkaRealTest, VerifyDeepFindsNoProblem) {
  const std::string dir = absl::StrCat(KafkaRealDir(), "/", GetParam());
  RunResult r = RunSpool(
      {"verify", "--deep", "--json", dir + "/00000000000000000000.log"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  std::vector<json> summary = OfType(ParseJsonLines(r.out), "summary");
  ASSERT_EQ(summary.size(), 1u);
  EXPECT_EQ(summary[0]["problems"], 0);
}

INSTANTIATE_TEST_SUITE_P(Segments, KafkaRealTest,
                         ::testing::ValuesIn(kKafkaCases),
                         [](const auto& test_info) {
                           return ReplaceAll(test_info.param, "-", "_");
                         });

// ------------------------------------------------ Python reference decoder

bool HavePython() { return RunShell("python3 --version").exit_code == 0; }

std::vector<json> PythonListing(const std::string& log) {
  RunResult r =
      RunShell(absl::StrCat("python3 '", SPOOL_SOURCE_DIR,
                            "/tests/cli/kafka_listing.py' '", log, "'"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return ParseJsonLines(r.out);
}

// Compares the Python listing of `log` with `spool dump --json`.
void ExpectSameListing(const std::string& log) {
  std::vector<json> theirs = PythonListing(log);
  RunResult r =
      RunSpool({"dump", "--json", "--records", "--data", "base64", log});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> ours = ParseJsonLines(r.out);
  std::vector<json> our_batches = OfType(ours, "batch");
  std::vector<json> their_batches = OfType(theirs, "batch");
  ASSERT_EQ(our_batches.size(), their_batches.size()) << log;
  ASSERT_FALSE(their_batches.empty()) << log;
  for (size_t i = 0; i < their_batches.size(); ++i) {
    for (const auto& [key, value] : their_batches[i].items()) {
      if (key == "type" || key == "recordsListed") continue;
      EXPECT_EQ(value, our_batches[i].at(key)) << key << " of batch " << i;
    }
  }
  std::vector<json> their_records = OfType(theirs, "record");
  std::map<int64_t, json> our_records;
  for (const json& j : OfType(ours, "record")) {
    our_records[j["offset"].get<int64_t>()] = j;
  }
  for (const json& t : their_records) {
    const json& o = our_records[t["offset"].get<int64_t>()];
    for (const char* key :
         {"offset", "timestamp", "attributes", "key", "value", "headers"}) {
      EXPECT_EQ(t[key], o[key]) << key << " of offset " << t["offset"];
    }
  }
  EXPECT_GT(their_records.size(), 0u);
}

TEST(PythonInteropTest, FixtureSegmentsMatchReferenceDecoder) {
  if (!HavePython()) GTEST_SKIP() << "python3 is not installed";
  for (const char* seg : {"orders-0/00000000000000000000.log",
                          "orders-0/00000000000000000017.log",
                          "events-1/00000000000000000000.log"}) {
    SCOPED_TRACE(seg);
    ExpectSameListing(absl::StrCat(CliDataDir(), "/datadir/", seg));
  }
}

std::optional<std::string> RandomBytes(std::mt19937& rng, bool nullable) {
  if (nullable && rng() % 8 == 0) return std::nullopt;
  std::string s(rng() % 300, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

TEST(PythonInteropTest, RandomSpoolLogMatchesReferenceDecoder) {
  if (!HavePython()) GTEST_SKIP() << "python3 is not installed";
  const uint32_t seed = std::random_device()();
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  std::mt19937 rng(seed);
  TempDir tmp;
  PartitionLogOptions options;
  options.dir = tmp.path() + "/random-0";
  options.config.segment_bytes = 64 * 1024;
  options.config.max_batch_bytes = 64 * 1024;
  options.config.index_interval_bytes = 1024;
  auto log = PartitionLog::Open(options, nullptr);
  ASSERT_TRUE(log.ok()) << log.status();
  for (int b = 0; b < 200; ++b) {
    RecordBatchBuilder builder({.compression = rng() % 4 == 0
                                                   ? Compression::kZstd
                                                   : Compression::kNone});
    const int n = 1 + static_cast<int>(rng() % 10);
    for (int i = 0; i < n; ++i) {
      Record r{RandomBytes(rng, true),
               RandomBytes(rng, true),
               {},
               1700000000000 + static_cast<int64_t>(rng() % 100000)};
      for (uint32_t h = rng() % 3; h > 0; --h) {
        r.headers.push_back({absl::StrCat("h", h), RandomBytes(rng, true)});
      }
      builder.Add(r);
    }
    auto batch = builder.Build();
    ASSERT_TRUE(batch.ok());
    ASSERT_TRUE((*log)->Append(*batch).ok());
  }
  ASSERT_TRUE((*log)->Close().ok());
  int segments = 0;
  for (const auto& seg : (*log)->Segments()) {
    SCOPED_TRACE(seg->log_path());
    ExpectSameListing(seg->log_path());
    ++segments;
  }
  EXPECT_GT(segments, 1);
}

}  // namespace
}  // namespace spool::cli_test
