// The standard scenarios of spool-bench (docs/performance.md, "End-to-end
// (spool-bench)"). Each sets a starting configuration; flags override it.

#include <string_view>

#include "config.h"

namespace spool::bench {
namespace {

// Every scenario appends batches encoded before timing (--api prebuilt), as
// the raw baseline writes them; --api append adds the client's encoding.

// 1,000,000 records of 100 bytes in batches of 100: the headline case.
void Batched(Options* o) {
  RunConfig& c = o->base;
  c.api = Api::kPrebuilt;
  c.records = 1000000;
  c.record_size = 100;
  c.batch = 100;
  c.durability = Durability::kNone;
}

void BatchedSync(Options* o) {
  Batched(o);
  o->base.durability = Durability::kSync;
  o->base.rounds = 5;  // fdatasync latency drifts with the host's load
}

void Large(Options* o) {
  Batched(o);
  o->base.records = 200000;
  o->base.record_size = 1024;
}

// Single-record sync appends to one partition from 1, 4 and 16 threads:
// concurrent appenders share fdatasyncs (group commit).
void GroupCommit(Options* o) {
  RunConfig& c = o->base;
  c.api = Api::kPrebuilt;
  c.records = 8000;
  c.record_size = 100;
  c.batch = 1;
  c.partitions = 1;
  c.durability = Durability::kSync;
  c.consume = false;
  c.rounds = 4;
  o->sweep_producers = {1, 4, 16};
}

void Partitions(Options* o) {
  Batched(o);
  o->base.partitions = 100;
  o->base.producers = 2;
  o->base.consumers = 2;
}

// Populate untimed, then time consumption only.
void ConsumeOnly(Options* o) {
  Batched(o);
  o->base.measure_produce = false;
  o->base.consume_passes = 5;
}

void Zstd(Options* o) {
  Batched(o);
  o->base.compression = Compression::kZstd;
}

// Throughput against batch size, for bench/plot_batch_sweep.py.
void Sweep(Options* o) {
  Batched(o);
  o->base.consume = false;
  o->sweep_batch = {1, 10, 100, 1000};
}

}  // namespace

const std::vector<Scenario>& Scenarios() {
  static const auto* scenarios = new std::vector<Scenario>{
      {"batched", "1,000,000 x 100 B in batches of 100, durability none",
       Batched},
      {"batched-sync", "the same with durability sync (fdatasync per batch)",
       BatchedSync},
      {"large", "200,000 x 1 KiB in batches of 100, durability none", Large},
      {"group-commit",
       "8,000 single-record sync appends to one partition from 1, 4 and 16 "
       "threads",
       GroupCommit},
      {"partitions", "1,000,000 x 100 B over 100 partitions, 2 producers",
       Partitions},
      {"consume",
       "consume-only: 1,000,000 x 100 B populated untimed, then fetched back",
       ConsumeOnly},
      {"zstd", "batched with zstd: footprint on repetitive bot messages", Zstd},
      {"sweep", "batched over batch sizes 1, 10, 100, 1000 (produce only)",
       Sweep},
  };
  return *scenarios;
}

const Scenario* FindScenario(std::string_view name) {
  for (const Scenario& s : Scenarios()) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

}  // namespace spool::bench
