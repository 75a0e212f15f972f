#include "cli/cli_test_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "format/batch_internal.h"
#include "format/coding.h"
#include "format/crc32c.h"
#include "gtest/gtest.h"
#include "log/log_directory.h"
#include "spool/clock.h"
#include "util/status_macros.h"

namespace spool::cli_test {

std::string SpoolBinary() { return SPOOL_BINARY_DIR "/tools/spool"; }
std::string CliDataDir() { return SPOOL_TEST_DATA_DIR "/cli"; }
std::string KafkaRealDir() { return SPOOL_TEST_DATA_DIR "/kafka-real"; }

namespace {

std::string Quote(const std::string& s) {
  return "'" + ReplaceAll(s, "'", "'\\''") + "'";
}

}  // namespace

TempDir::TempDir() {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "spool-cli-XXXXXX").string();
  char* p = mkdtemp(tmpl.data());
  EXPECT_NE(p, nullptr);
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string ReplaceAll(std::string s, const std::string& from,
                       const std::string& to) {
  if (from.empty()) return s;
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos;
       pos += to.size()) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFileOrDie(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  EXPECT_TRUE(out.good()) << path;
}

RunResult RunShell(const std::string& command) {
  TempDir tmp;
  const std::string out = tmp.path() + "/out", err = tmp.path() + "/err";
  const std::string line =
      absl::StrCat("(", command, ") > ", Quote(out), " 2> ", Quote(err));
  const int rc = std::system(line.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  r.out = ReadFileOrDie(out);
  r.err = ReadFileOrDie(err);
  return r;
}

RunResult RunSpool(const std::vector<std::string>& args,
                   const std::string& cwd) {
  std::string command;
  if (!cwd.empty()) command = absl::StrCat("cd ", Quote(cwd), " && ");
  absl::StrAppend(&command, "SPOOL_NO_PROGRESS=1 ", Quote(SpoolBinary()));
  for (const std::string& a : args) absl::StrAppend(&command, " ", Quote(a));
  return RunShell(command);
}

void CopyTree(const std::string& from, const std::string& to) {
  std::filesystem::copy(from, to, std::filesystem::copy_options::recursive);
}

std::vector<nlohmann::json> ParseJsonLines(const std::string& text) {
  std::vector<nlohmann::json> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    nlohmann::json j = nlohmann::json::parse(line.begin(), line.end(), nullptr,
                                             /*allow_exceptions=*/false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << line;
    out.push_back(std::move(j));
  }
  return out;
}

// ------------------------------------------------------------ fixture

namespace {

constexpr int64_t kT0 = 1700000000000;  // 2023-11-14T22:13:20Z

std::string Build(BatchBuilderOptions options, const std::vector<Record>& rs) {
  RecordBatchBuilder b(options);
  for (const Record& r : rs) b.Add(r);
  absl::StatusOr<std::string> out = b.Build();
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : std::string();
}

Record R(std::optional<std::string> key, std::optional<std::string> value,
         int64_t ts, std::vector<Header> headers = {}) {
  return Record{std::move(key), std::move(value), std::move(headers), ts};
}

// A COMMIT marker for `producer_id` at `offset` (kafka-format.md §2.4).
std::string CommitMarker(int64_t offset, int64_t producer_id, int16_t epoch,
                         int64_t ts) {
  RecordBatchBuilder b({.base_offset = offset,
                        .producer_id = producer_id,
                        .producer_epoch = epoch,
                        .transactional = true,
                        .control = true});
  std::string key("\0\0\0\1", 4), value("\0\0\0\0\0\5", 6);
  b.Add(key, value, {}, ts);
  absl::StatusOr<std::string> out = b.Build();
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : std::string();
}

absl::Status AppendOrders(PartitionLog& log) {
  LogAppendOptions own{.leader_epoch = 0, .assign_offsets = false};
  LogAppendOptions assign{.leader_epoch = 0};
  std::vector<std::pair<std::string, LogAppendOptions>> batches = {
      {Build({}, {R("k1", "hello", kT0)}), assign},
      {Build({},
             {R("k2", "with headers", kT0 + 1,
                {{"trace-id", "abc"}, {"retry", std::nullopt}}),
              R(std::nullopt, "no key", kT0 + 3), R("k3", "earlier", kT0 + 2)}),
       assign},
      {Build({.compression = Compression::kZstd},
             {R("k4", R"({"id":4,"status":"paid","amount":12.5})", kT0 + 10),
              R("k5", R"({"id":5,"status":"paid","amount":12.5})", kT0 + 11),
              R("k6", R"({"id":6,"status":"open","amount":99.0})", kT0 + 12)}),
       assign},
      {Build({}, {R("k1", std::nullopt, kT0 + 20)}), assign},
      {Build({.producer_id = 1000, .producer_epoch = 0, .base_sequence = 0},
             {R("p1", "idempotent-0", kT0 + 30),
              R("p1", "idempotent-1", kT0 + 31)}),
       assign},
  };
  for (auto& [batch, options] : batches) {
    SPOOL_RETURN_IF_ERROR(log.Append(batch, options).status());
  }
  int64_t end = log.log_end_offset();
  std::string txn = Build({.base_offset = end,
                           .producer_id = 2000,
                           .producer_epoch = 1,
                           .base_sequence = 0,
                           .transactional = true},
                          {R("t1", "in a transaction", kT0 + 40)});
  SPOOL_RETURN_IF_ERROR(log.Append(txn, own).status());
  SPOOL_RETURN_IF_ERROR(
      log.Append(CommitMarker(end + 1, 2000, 1, kT0 + 41), own).status());
  // A gap of three offsets, as compaction leaves.
  end = log.log_end_offset() + 3;
  SPOOL_RETURN_IF_ERROR(
      log.Append(Build({.base_offset = end},
                       {R("k9", std::string("bin\0\x01\xff\n", 7), kT0 + 50)}),
                 own)
          .status());
  for (int i = 0; i < 6; ++i) {
    std::string value =
        absl::StrFormat("event %d: %s", i, std::string(60, 'x'));
    SPOOL_RETURN_IF_ERROR(
        log.Append(Build({}, {R(absl::StrCat("e", i), value, kT0 + 60 + i)}),
                   assign)
            .status());
  }
  return absl::OkStatus();
}

absl::Status AppendEvents(PartitionLog& log, ManualClock& clock) {
  for (int i = 0; i < 3; ++i) {
    clock.Advance(absl::Seconds(1));
    std::string batch = Build(
        {}, {R(absl::StrCat("user-", i), absl::StrCat("login ", i), kT0 + i),
             R(absl::StrCat("user-", i), "logout", kT0 + i + 1)});
    SPOOL_RETURN_IF_ERROR(log.Append(batch, {.leader_epoch = 3}).status());
  }
  return absl::OkStatus();
}

// A Kafka producer snapshot (kafka-format.md §8.3) for the two producers
// of orders-0.
std::string ProducerSnapshot() {
  std::string body;
  PutFixed32BE(&body, 2);
  struct E {
    int64_t pid;
    int16_t epoch;
    int32_t last_seq;
    int64_t last_offset;
    int32_t delta;
    int64_t ts;
  };
  for (const E& e :
       {E{1000, 0, 1, 9, 1, kT0 + 31}, E{2000, 1, 0, 10, 0, kT0 + 40}}) {
    PutFixed64BE(&body, static_cast<uint64_t>(e.pid));
    PutFixed16BE(&body, static_cast<uint16_t>(e.epoch));
    PutFixed32BE(&body, static_cast<uint32_t>(e.last_seq));
    PutFixed64BE(&body, static_cast<uint64_t>(e.last_offset));
    PutFixed32BE(&body, static_cast<uint32_t>(e.delta));
    PutFixed64BE(&body, static_cast<uint64_t>(e.ts));
    PutFixed32BE(&body, static_cast<uint32_t>(-1));  // coordinator epoch
    PutFixed64BE(&body, static_cast<uint64_t>(int64_t{-1}));
  }
  std::string out;
  PutFixed16BE(&out, 1);
  PutFixed32BE(&out, crc32c::Value(body));
  return out + body;
}

}  // namespace

absl::Status WriteFixtureDataDir(const std::string& dir) {
  ManualClock clock(absl::FromUnixMillis(kT0 + 100000));
  LogDirectory::Options options;
  options.path = dir;
  options.clock = &clock;
  SPOOL_ASSIGN_OR_RETURN(auto data_dir, LogDirectory::Open(options));
  LogConfig orders;
  orders.segment_bytes = 1024;
  orders.max_batch_bytes = 1024;
  orders.segment_index_bytes = 1024;
  orders.index_interval_bytes = 150;
  SPOOL_ASSIGN_OR_RETURN(
      auto log, data_dir->OpenPartition({"orders", 0}, orders, nullptr));
  SPOOL_RETURN_IF_ERROR(AppendOrders(*log));
  const int64_t orders_end = log->log_end_offset();
  LogConfig events;
  events.timestamp_type = TimestampType::kLogAppendTime;
  SPOOL_ASSIGN_OR_RETURN(
      auto ev, data_dir->OpenPartition({"events", 1}, events, nullptr));
  SPOOL_RETURN_IF_ERROR(AppendEvents(*ev, clock));
  SPOOL_RETURN_IF_ERROR(data_dir->Close());
  const std::string part = dir + "/" + kOrders;
  const std::string snapshot =
      part + "/" + absl::StrFormat("%020d.snapshot", orders_end);
  if (!std::filesystem::exists(snapshot)) {
    WriteFileOrDie(snapshot, ProducerSnapshot());
  }
  WriteFileOrDie(part + "/leader-epoch-checkpoint", "0\n1\n0 0\n");
  return absl::OkStatus();
}

std::unique_ptr<Engine> OpenEngine(const std::string& dir) {
  EngineOptions options;
  options.data_dirs = {dir};
  options.shards = 1;
  options.cleaner_threads = 0;
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Open(options);
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? *std::move(engine) : nullptr;
}

int64_t Depth(Engine& engine, const std::string& topic) {
  int64_t n = 0;
  absl::StatusOr<int32_t> parts = engine.PartitionCount(topic);
  EXPECT_TRUE(parts.ok()) << parts.status();
  for (int32_t p = 0; parts.ok() && p < *parts; ++p) {
    absl::StatusOr<PartitionOffsets> o = engine.Offsets({topic, p});
    EXPECT_TRUE(o.ok()) << o.status();
    if (o.ok()) n += o->log_end_offset - o->log_start_offset;
  }
  return n;
}

}  // namespace spool::cli_test
