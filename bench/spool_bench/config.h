// spool-bench configuration: what one run measures, the standard scenarios
// and the command-line flags that select and override them.
//
// A scenario is a named starting configuration (docs/performance.md,
// "End-to-end (spool-bench)"); flags given on the command line override its
// fields. A sweep (--sweep-batch, --sweep-producers) expands one
// configuration into several runs that differ in one field.

#ifndef SPOOL_BENCH_SPOOL_BENCH_CONFIG_H_
#define SPOOL_BENCH_SPOOL_BENCH_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "spool/durability.h"
#include "spool/record.h"

namespace spool::bench {

// How Spool's producers hand records to the engine.
enum class Api {
  kAppend,   // RecordBatchBuilder + Engine::Append (a client-built batch)
  kProduce,  // std::vector<Record> + Engine::ProduceBatch
  // Batches encoded before timing (the bytes the raw baseline writes),
  // each in its own string moved into Engine::Append, as a broker holds a
  // batch received from the network: the engine's append path against the
  // raw write of the same ready bytes, without client-side encoding. The
  // standard scenarios use it.
  kPrebuilt,
};
std::string_view ApiName(Api api);

// Everything one run needs. Thread-compatible value type.
struct RunConfig {
  int64_t records = 1000000;
  // Bytes of payload per record: key (a conversation id) plus value.
  int record_size = 100;
  int batch = 100;  // records per append / WriteBatch / raw write
  int producers = 1;
  int partitions = 1;
  int consumers = 1;
  Durability durability = Durability::kNone;
  Compression compression = Compression::kNone;
  Api api = Api::kAppend;
  // Spool producers use producer ids and sequence numbers (the peers have
  // no equivalent and run as usual).
  bool idempotent = false;
  // TopicConfig::preallocate_bytes for Spool's topic; -1: the engine's
  // default (ignored by engines without preallocation).
  int64_t preallocate_bytes = -1;
  // false: the produce phase only populates the stores (untimed, no raw
  // write baseline) and only consumption is reported.
  bool measure_produce = true;
  bool consume = true;
  int consume_passes = 3;         // timed passes per consumer; median wins
  int64_t fetch_bytes = 1 << 20;  // FetchOptions::max_bytes
  int flush_interval_ms = 100;    // durability interval, for every system
  bool peer_raw = true;
  // The raw baseline's files are zero-filled to their final size and made
  // durable before timing, so its writes overwrite allocated blocks (no
  // file-size change for fdatasync to commit): the stronger floor for sync
  // appends. Default: appending writes to a new file.
  bool raw_preallocate = false;
  bool peer_rocksdb = true;
  uint64_t seed = 1;
  bool quick = false;   // smoke test: fewer passes, no settling pauses
  int settle_ms = 300;  // pause after sync() between timed phases
  // The produce phase is cut into this many rounds; each round runs every
  // system on its share of the batches, so a disk whose speed drifts
  // (throttled virtual disks) treats all systems alike.
  int rounds = 1;

  int64_t payload_bytes() const { return records * record_size; }
};

// One invocation of the tool.
struct Options {
  std::string scenario;  // empty: a custom run from flags only
  RunConfig base;
  std::vector<int> sweep_batch;
  std::vector<int> sweep_producers;
  std::string dir;  // parent of the run directory; empty: the temp dir
  bool json = false;
  bool keep = false;  // keep the data directories
  bool help = false;
  bool list_scenarios = false;
};

// A standard scenario: its name, what it shows, how to apply it.
struct Scenario {
  std::string name;
  std::string summary;
  void (*apply)(Options* options);
};
const std::vector<Scenario>& Scenarios();
const Scenario* FindScenario(std::string_view name);

// Parses argv (without argv[0]). kInvalidArgument names the bad flag.
absl::StatusOr<Options> ParseFlags(int argc, char** argv);

// The runs an invocation stands for: one, or one per sweep value.
std::vector<RunConfig> ExpandRuns(const Options& options);

std::string Usage();

}  // namespace spool::bench

#endif  // SPOOL_BENCH_SPOOL_BENCH_CONFIG_H_
