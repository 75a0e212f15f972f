#include "run.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "absl/strings/str_format.h"
#include "raw_runner.h"
#include "rocksdb_runner.h"
#include "spool_runner.h"
#include "util/status_macros.h"
#include "workload.h"

namespace spool::bench {
namespace {

void Progress(std::string_view what) { std::cerr << "  " << what << "\n"; }

class Run {
 public:
  Run(const RunConfig& config, std::string dir)
      : config_(config),
        workload_(config),
        dir_(std::move(dir)),
        spool_(workload_, batches_, dir_ + "/spool"),
        raw_(workload_, batches_, dir_ + "/raw"),
        rocksdb_(workload_, dir_ + "/rocksdb") {
    result_.config = config;
  }

  absl::StatusOr<RunResult> Execute() {
    if (mkdir(dir_.c_str(), 0755) != 0) {
      return absl::UnavailableError(absl::StrFormat("mkdir %s failed", dir_));
    }
    // Earlier runs' deletions (and their discards) commit now, not during
    // the first timed phase.
    Settle(config_.settle_ms);
    const bool raw = config_.measure_produce && config_.peer_raw;
    if (raw || config_.api == Api::kPrebuilt) {
      SPOOL_RETURN_IF_ERROR(batches_.Build(workload_));
    }
    if (config_.api == Api::kPrebuilt) {
      SPOOL_RETURN_IF_ERROR(spool_.PrepareOwnedBatches());
    }
    if (raw) SPOOL_RETURN_IF_ERROR(raw_.Prepare());
    for (int round = 0; round < config_.rounds; ++round) {
      if (raw) SPOOL_RETURN_IF_ERROR(ProduceRaw(round));
      SPOOL_RETURN_IF_ERROR(ProduceSpool(round));
      if (config_.peer_rocksdb) SPOOL_RETURN_IF_ERROR(ProduceRocksDb(round));
    }
    SPOOL_RETURN_IF_ERROR(FinishProduce());
    if (config_.consume) {
      SPOOL_RETURN_IF_ERROR(ConsumeSpoolAndRaw());
      if (config_.peer_rocksdb) SPOOL_RETURN_IF_ERROR(ConsumeRocksDb());
    }
    return result_;
  }

 private:
  std::string Step(std::string_view system, int round) const {
    std::string what = absl::StrFormat(
        "%s: %s", system, config_.measure_produce ? "produce" : "populate");
    if (config_.rounds > 1) {
      absl::StrAppendFormat(&what, " round %d/%d", round + 1, config_.rounds);
    }
    return what;
  }

  absl::Status ProduceRaw(int round) {
    Progress(Step("raw write", round));
    result_.raw.present = true;
    SPOOL_ASSIGN_OR_RETURN(PhaseStats p, raw_.Write(round));
    AddRound(p, &result_.raw.produce);
    Settle(config_.settle_ms);
    return absl::OkStatus();
  }

  absl::Status ProduceSpool(int round) {
    Progress(Step("spool", round));
    result_.spool.present = true;
    SPOOL_RETURN_IF_ERROR(spool_.Open());
    SPOOL_ASSIGN_OR_RETURN(PhaseStats p, spool_.Produce(round));
    if (config_.measure_produce) AddRound(p, &result_.spool.produce);
    SPOOL_ASSIGN_OR_RETURN(int64_t fsyncs, spool_.Fsyncs());
    result_.spool.fsyncs = std::max<int64_t>(result_.spool.fsyncs, 0) + fsyncs;
    Settle(config_.settle_ms);
    return spool_.Close();
  }

  absl::Status ProduceRocksDb(int round) {
    Progress(Step("rocksdb", round));
    result_.rocksdb.present = true;
    SPOOL_RETURN_IF_ERROR(rocksdb_.Open());
    SPOOL_ASSIGN_OR_RETURN(PhaseStats p, rocksdb_.Produce(round));
    if (config_.measure_produce) AddRound(p, &result_.rocksdb.produce);
    Settle(config_.settle_ms);
    return rocksdb_.Close();
  }

  // Totals, latencies and bytes on disk once every round has run.
  absl::Status FinishProduce() {
    SPOOL_ASSIGN_OR_RETURN(result_.spool.disk, spool_.Disk());
    if (result_.raw.present) {
      SPOOL_ASSIGN_OR_RETURN(result_.raw.disk, raw_.Disk());
      std::filesystem::remove_all(dir_ + "/raw");  // not read again
      Finish(raw_.write_latency(), raw_.written_bytes(), &result_.raw.produce);
      if (config_.durability == Durability::kSync) {
        result_.raw.fsyncs = result_.raw.produce.calls;
      }
    }
    if (result_.rocksdb.present) {
      SPOOL_ASSIGN_OR_RETURN(result_.rocksdb.disk, rocksdb_.Disk());
      Finish(rocksdb_.write_latency(),
             config_.payload_bytes() + config_.records * (kKeyBytes + 1),
             &result_.rocksdb.produce);
    }
    SPOOL_ASSIGN_OR_RETURN(int64_t log_bytes, spool_.LogBytes());
    Finish(spool_.produce_latency(), log_bytes, &result_.spool.produce);
    return absl::OkStatus();
  }

  void Finish(const Latency& latency, int64_t io_bytes, PhaseStats* p) const {
    if (!p->ran) return;
    p->latency = latency;
    p->calls = static_cast<int64_t>(latency.count);
    p->records = config_.records;
    p->payload_bytes = config_.payload_bytes();
    p->io_bytes = io_bytes;
  }

  absl::Status ConsumeSpoolAndRaw() {
    Progress("spool + raw: consume");
    SPOOL_RETURN_IF_ERROR(spool_.Open());
    std::vector<std::vector<std::string>> files;
    for (int c = 0; c < workload_.consumers(); ++c) {
      SPOOL_ASSIGN_OR_RETURN(std::vector<std::string> f, spool_.LogFiles(c));
      files.push_back(std::move(f));
    }
    SPOOL_ASSIGN_OR_RETURN(std::vector<std::string> all,
                           ListFiles(dir_ + "/spool", {}));
    SPOOL_RETURN_IF_ERROR(WarmPageCache(all));
    std::vector<PhaseStats> read, parse, decoded, zero_copy;
    for (int pass = 0; pass < config_.consume_passes; ++pass) {
      if (config_.peer_raw) {
        SPOOL_ASSIGN_OR_RETURN(read.emplace_back(),
                               RawRunner::PageCacheRead(files));
        SPOOL_ASSIGN_OR_RETURN(parse.emplace_back(),
                               RawRunner::ReadAndParse(files));
      }
      SPOOL_ASSIGN_OR_RETURN(decoded.emplace_back(), spool_.ConsumeDecoded());
      SPOOL_ASSIGN_OR_RETURN(zero_copy.emplace_back(),
                             spool_.ConsumeZeroCopy());
    }
    SPOOL_RETURN_IF_ERROR(spool_.Close());
    result_.spool.consume = MedianPass(decoded);
    result_.spool.stream = MedianPass(zero_copy);
    if (config_.peer_raw) {
      result_.raw.present = true;
      result_.raw.consume = MedianPass(parse);
      result_.raw.stream = MedianPass(read);
    }
    return CheckCount(result_.spool.consume, "spool decoded fetch");
  }

  absl::Status ConsumeRocksDb() {
    Progress("rocksdb: consume");
    SPOOL_RETURN_IF_ERROR(rocksdb_.Open());
    SPOOL_ASSIGN_OR_RETURN(std::vector<std::string> all,
                           ListFiles(rocksdb_.dir(), {}));
    SPOOL_RETURN_IF_ERROR(WarmPageCache(all));
    std::vector<PhaseStats> passes;
    for (int pass = 0; pass < config_.consume_passes; ++pass) {
      SPOOL_ASSIGN_OR_RETURN(passes.emplace_back(), rocksdb_.Consume());
    }
    SPOOL_RETURN_IF_ERROR(rocksdb_.Close());
    result_.rocksdb.consume = MedianPass(passes);
    return CheckCount(result_.rocksdb.consume, "rocksdb iterator");
  }

  // Every record written must come back: the benchmark checks that the
  // intended path ran.
  absl::Status CheckCount(const PhaseStats& p, std::string_view what) const {
    if (p.records == config_.records) return absl::OkStatus();
    return absl::InternalError(absl::StrFormat(
        "%s read %d records, expected %d", what, p.records, config_.records));
  }

  const RunConfig config_;
  const Workload workload_;
  const std::string dir_;
  PrebuiltBatches batches_;  // before the runners that refer to it
  SpoolRunner spool_;
  RawRunner raw_;
  RocksDbRunner rocksdb_;
  RunResult result_;
};

}  // namespace

absl::StatusOr<RunResult> ExecuteRun(const RunConfig& config,
                                     const std::string& dir, bool keep) {
  absl::StatusOr<RunResult> result;
  {
    Run run(config, dir);
    result = run.Execute();
  }  // stores closed before their files go
  if (!keep) std::filesystem::remove_all(dir);
  return result;
}

}  // namespace spool::bench
