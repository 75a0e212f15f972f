#include "rocksdb_runner.h"

#include "absl/strings/str_format.h"
#include "rocksdb/iterator.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"
#include "util/status_macros.h"

namespace spool::bench {
namespace {

constexpr size_t kKeyLen = 12;

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrFormat("rocksdb %s: %s", what, s.ToString()));
}

void PutBigEndian(uint64_t v, int bytes, char* out) {
  for (int i = bytes - 1; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

void EncodeKey(int32_t partition, int64_t seq, char* out) {
  PutBigEndian(static_cast<uint32_t>(partition), 4, out);
  PutBigEndian(static_cast<uint64_t>(seq), 8, out + 4);
}

rocksdb::Options DbOptions(const RunConfig& c) {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.compression = c.compression == Compression::kZstd ? rocksdb::kZSTD
                                                      : rocksdb::kNoCompression;
  return o;
}

}  // namespace

RocksDbRunner::RocksDbRunner(const Workload& workload, std::string dir)
    : workload_(workload),
      config_(workload.config()),
      dir_(std::move(dir)),
      latency_(workload.config().producers),
      next_seq_(new std::atomic<int64_t>[workload.config().partitions]) {
  for (int p = 0; p < config_.partitions; ++p) next_seq_[p].store(0);
}

RocksDbRunner::~RocksDbRunner() {
  Close().IgnoreError();  // errors of an explicit Close() were reported
}

absl::Status RocksDbRunner::Open() {
  rocksdb::DB* db = nullptr;
  SPOOL_RETURN_IF_ERROR(
      FromRocks(rocksdb::DB::Open(DbOptions(config_), dir_, &db), "open"));
  db_.reset(db);
  return absl::OkStatus();
}

absl::Status RocksDbRunner::Close() {
  if (db_ == nullptr) return absl::OkStatus();
  rocksdb::Status s = db_->Close();
  db_.reset();
  return FromRocks(s, "close");
}

absl::StatusOr<PhaseStats> RocksDbRunner::Produce(int round) {
  std::unique_ptr<Ticker> ticker;
  if (config_.durability == Durability::kInterval) {
    ticker = std::make_unique<Ticker>(
        std::chrono::milliseconds(config_.flush_interval_ms),
        [this] { db_->SyncWAL().PermitUncheckedError(); });
  }
  PhaseStats stats;
  absl::Status s = RunTimed(
      config_.producers, [&](int t) { return ProduceOne(t, round); }, &stats);
  ticker.reset();
  SPOOL_RETURN_IF_ERROR(s);
  return stats;
}

absl::Status RocksDbRunner::ProduceOne(int producer, int round) {
  const ProducerPlan plan = workload_.Plan(producer);
  const int b = config_.batch;
  LatencyHistogram* latency = latency_.at(producer);
  rocksdb::WriteOptions wo;
  wo.sync = config_.durability == Durability::kSync;
  rocksdb::WriteBatch wb;
  char key[kKeyLen];
  const auto [first, end] = plan.Round(round, config_.rounds, b);
  for (int64_t k = first; k < end; ++k) {
    const int64_t i = plan.first_of(k, b);
    const int64_t n = plan.count_of(k, b);
    const int32_t p = plan.partition_of(k);
    int64_t seq = next_seq_[p].fetch_add(n);
    wb.Clear();
    for (int64_t j = i; j < i + n; ++j, ++seq) {
      EncodeKey(p, seq, key);
      const std::string_view rk = workload_.Key(j);
      const std::string_view rv = workload_.Value(j);
      const char klen = static_cast<char>(rk.size());
      const rocksdb::Slice key_part(key, kKeyLen);
      const rocksdb::Slice parts[3] = {rocksdb::Slice(&klen, 1),
                                       rocksdb::Slice(rk.data(), rk.size()),
                                       rocksdb::Slice(rv.data(), rv.size())};
      SPOOL_RETURN_IF_ERROR(FromRocks(wb.Put(rocksdb::SliceParts(&key_part, 1),
                                             rocksdb::SliceParts(parts, 3)),
                                      "put"));
    }
    const uint64_t t0 = MonoNanos();
    rocksdb::Status s = db_->Write(wo, &wb);
    latency->Record(MonoNanos() - t0);
    SPOOL_RETURN_IF_ERROR(FromRocks(s, "write"));
  }
  return absl::OkStatus();
}

absl::Status RocksDbRunner::ConsumePartition(int32_t partition,
                                             PhaseStats* stats) {
  char lower[kKeyLen];
  char upper[kKeyLen];
  EncodeKey(partition, 0, lower);
  EncodeKey(partition + 1, 0, upper);
  const rocksdb::Slice upper_bound(upper, kKeyLen);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  for (it->Seek(rocksdb::Slice(lower, kKeyLen)); it->Valid(); it->Next()) {
    const rocksdb::Slice v = it->value();
    const size_t klen = v.size() > 0 ? static_cast<uint8_t>(v[0]) : 0;
    if (v.size() < 1 + klen) {
      return absl::DataLossError(
          absl::StrFormat("rocksdb value of %d bytes is malformed", v.size()));
    }
    TouchRecord(klen,
                std::string_view(v.data() + 1 + klen, v.size() - 1 - klen),
                stats);
    stats->io_bytes += static_cast<int64_t>(v.size() + kKeyLen);
  }
  return FromRocks(it->status(), "iterate");
}

absl::StatusOr<PhaseStats> RocksDbRunner::Consume() {
  return RunConsumers(workload_.consumers(),
                      [&](int c, PhaseStats* st) -> absl::Status {
                        for (int32_t p : workload_.ConsumerPartitions(c)) {
                          SPOOL_RETURN_IF_ERROR(ConsumePartition(p, st));
                        }
                        return absl::OkStatus();
                      });
}

absl::StatusOr<DiskUsage> RocksDbRunner::Disk() const {
  return MeasureDisk(dir_, {});
}

}  // namespace spool::bench
