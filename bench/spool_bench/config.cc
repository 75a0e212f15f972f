// Flag parsing for spool-bench. Flags are "--name value" or "--name=value";
// boolean flags take no value. --scenario is applied first, whatever its
// position, so every other flag overrides the scenario.

#include "config.h"

#include <functional>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "util/strings.h"

namespace spool::bench {
namespace {

using Setter = std::function<absl::Status(std::string_view, Options*)>;

struct Flag {
  std::string name;
  std::string value_name;  // empty: a boolean flag
  std::string help;
  Setter set;
};

absl::Status Bad(std::string_view flag, std::string_view value,
                 std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrFormat("--%s=%s: %s", flag, value, why));
}

template <typename T>
absl::StatusOr<T> ParseInt(std::string_view flag, std::string_view v,
                           int64_t min) {
  int64_t n = 0;
  if (!absl::SimpleAtoi(ToAbsl(v), &n) || n < min ||
      n > std::numeric_limits<T>::max()) {
    return Bad(flag, v, absl::StrFormat("expected an integer >= %d", min));
  }
  return static_cast<T>(n);
}

// A setter for an integer field of RunConfig.
template <typename T>
Setter Int(std::string name, T RunConfig::*field, int64_t min) {
  return [name, field, min](std::string_view v, Options* o) -> absl::Status {
    absl::StatusOr<T> n = ParseInt<T>(name, v, min);
    if (!n.ok()) return n.status();
    o->base.*field = *n;
    return absl::OkStatus();
  };
}

Setter Bool(bool Options::*field) {
  return [field](std::string_view, Options* o) {
    o->*field = true;
    return absl::OkStatus();
  };
}

Setter IntList(std::vector<int> Options::*field, std::string name) {
  return [field, name](std::string_view v, Options* o) -> absl::Status {
    std::vector<int> values;
    for (absl::string_view part : absl::StrSplit(ToAbsl(v), ',')) {
      absl::StatusOr<int> n = ParseInt<int>(name, ToStd(part), 1);
      if (!n.ok()) return n.status();
      values.push_back(*n);
    }
    o->*field = std::move(values);
    return absl::OkStatus();
  };
}

absl::Status SetDurability(std::string_view v, Options* o) {
  std::optional<Durability> d = ParseDurability(v);
  if (!d.has_value())
    return Bad("durability", v, "expected none|interval|sync");
  o->base.durability = *d;
  return absl::OkStatus();
}

absl::Status SetCompression(std::string_view v, Options* o) {
  if (v == "none") {
    o->base.compression = Compression::kNone;
  } else if (v == "zstd") {
    o->base.compression = Compression::kZstd;
  } else {
    return Bad("compression", v, "expected none|zstd");
  }
  return absl::OkStatus();
}

absl::Status SetApi(std::string_view v, Options* o) {
  if (v == "append") {
    o->base.api = Api::kAppend;
  } else if (v == "produce") {
    o->base.api = Api::kProduce;
  } else if (v == "prebuilt") {
    o->base.api = Api::kPrebuilt;
  } else {
    return Bad("api", v, "expected append|produce|prebuilt");
  }
  return absl::OkStatus();
}

absl::Status SetPeers(std::string_view v, Options* o) {
  o->base.peer_raw = false;
  o->base.peer_rocksdb = false;
  for (absl::string_view p : absl::StrSplit(ToAbsl(v), ',')) {
    if (p == "raw") {
      o->base.peer_raw = true;
    } else if (p == "rocksdb") {
      o->base.peer_rocksdb = true;
    } else if (p != "none" && !p.empty()) {
      return Bad("peers", v, "expected a list of raw, rocksdb (or none)");
    }
  }
  return absl::OkStatus();
}

absl::Status SetScenario(std::string_view v, Options* o) {
  if (FindScenario(v) == nullptr) {
    return Bad("scenario", v, "unknown scenario (see --list-scenarios)");
  }
  o->scenario = std::string(v);
  return absl::OkStatus();
}

absl::Status SetSeed(std::string_view v, Options* o) {
  if (!absl::SimpleAtoi(ToAbsl(v), &o->base.seed)) {
    return Bad("seed", v, "expected an unsigned integer");
  }
  return absl::OkStatus();
}

const std::vector<Flag>& Flags() {
  static const auto* flags = new std::vector<Flag>{
      {"scenario", "NAME", "start from a standard scenario", SetScenario},
      {"records", "N", "records in total",
       Int<int64_t>("records", &RunConfig::records, 1)},
      {"record-size", "BYTES", "key + value bytes per record (>= 16)",
       Int<int>("record-size", &RunConfig::record_size, 16)},
      {"batch", "N", "records per append",
       Int<int>("batch", &RunConfig::batch, 1)},
      {"producers", "P", "producer threads",
       Int<int>("producers", &RunConfig::producers, 1)},
      {"partitions", "N", "partitions of the topic",
       Int<int>("partitions", &RunConfig::partitions, 1)},
      {"consumers", "C", "consumer threads (at most one per partition)",
       Int<int>("consumers", &RunConfig::consumers, 1)},
      {"durability", "none|interval|sync", "durability of every system",
       SetDurability},
      {"compression", "none|zstd", "codec (zstd level 3)", SetCompression},
      {"idempotent", "", "idempotent Spool producers (producer ids)",
       [](std::string_view, Options* o) {
         o->base.idempotent = true;
         return absl::OkStatus();
       }},
      {"api", "append|produce|prebuilt", "Spool producer API", SetApi},
      {"preallocate", "BYTES",
       "Spool topic's preallocate_bytes (default: the engine's)",
       Int<int64_t>("preallocate", &RunConfig::preallocate_bytes, 0)},
      {"dir", "PATH", "parent of the run directory (default: temp dir)",
       [](std::string_view v, Options* o) {
         o->dir = std::string(v);
         return absl::OkStatus();
       }},
      {"json", "", "print one JSON document instead of tables",
       Bool(&Options::json)},
      {"peers", "LIST", "baselines: raw,rocksdb or none", SetPeers},
      {"raw-preallocate", "",
       "raw baseline overwrites a zero-filled, synced file",
       [](std::string_view, Options* o) {
         o->base.raw_preallocate = true;
         return absl::OkStatus();
       }},
      {"seed", "N", "seed of the generated messages", SetSeed},
      {"sweep-batch", "LIST", "one run per batch size, e.g. 1,10,100,1000",
       IntList(&Options::sweep_batch, "sweep-batch")},
      {"sweep-producers", "LIST", "one run per producer count",
       IntList(&Options::sweep_producers, "sweep-producers")},
      {"rounds", "N", "interleave the systems' produce phases in N rounds",
       Int<int>("rounds", &RunConfig::rounds, 1)},
      {"passes", "N", "timed consume passes (median reported)",
       Int<int>("passes", &RunConfig::consume_passes, 1)},
      {"fetch-bytes", "N", "max bytes per fetch",
       Int<int64_t>("fetch-bytes", &RunConfig::fetch_bytes, 1024)},
      {"flush-interval-ms", "MS", "sync period for durability interval",
       Int<int>("flush-interval-ms", &RunConfig::flush_interval_ms, 1)},
      {"settle-ms", "MS", "pause after each timed phase",
       Int<int>("settle-ms", &RunConfig::settle_ms, 0)},
      {"no-consume", "", "skip the consume phase",
       [](std::string_view, Options* o) {
         o->base.consume = false;
         return absl::OkStatus();
       }},
      {"quick", "", "smoke test: one consume pass, no settling pauses",
       [](std::string_view, Options* o) {
         o->base.quick = true;
         return absl::OkStatus();
       }},
      {"keep", "", "keep the data directories", Bool(&Options::keep)},
      {"list-scenarios", "", "list the standard scenarios",
       Bool(&Options::list_scenarios)},
      {"help", "", "show this help", Bool(&Options::help)},
  };
  return *flags;
}

const Flag* FindFlag(std::string_view name) {
  for (const Flag& f : Flags()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

struct Assignment {
  const Flag* flag;
  std::string value;
};

// Splits argv into (flag, value) pairs.
absl::StatusOr<std::vector<Assignment>> Tokenize(int argc, char** argv) {
  std::vector<Assignment> out;
  for (int i = 0; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.substr(0, 2) != "--") {
      return absl::InvalidArgumentError(
          absl::StrFormat("unexpected argument '%s'", arg));
    }
    arg.remove_prefix(2);
    std::string_view value;
    const size_t eq = arg.find('=');
    const bool inline_value = eq != std::string_view::npos;
    if (inline_value) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    const Flag* flag = FindFlag(arg);
    if (flag == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrFormat("unknown flag --%s", arg));
    }
    if (!flag->value_name.empty() && !inline_value) {
      if (i + 1 >= argc) {
        return absl::InvalidArgumentError(
            absl::StrFormat("--%s needs a value (%s)", arg, flag->value_name));
      }
      value = argv[++i];
    }
    out.push_back({flag, std::string(value)});
  }
  return out;
}

}  // namespace

std::string_view ApiName(Api api) {
  switch (api) {
    case Api::kAppend:
      return "append";
    case Api::kProduce:
      return "produce";
    case Api::kPrebuilt:
      return "prebuilt";
  }
  return "?";
}

absl::StatusOr<Options> ParseFlags(int argc, char** argv) {
  absl::StatusOr<std::vector<Assignment>> tokens = Tokenize(argc, argv);
  if (!tokens.ok()) return tokens.status();
  Options options;
  for (const Assignment& a : *tokens) {  // the scenario first
    if (a.flag->name != "scenario") continue;
    if (absl::Status s = a.flag->set(a.value, &options); !s.ok()) return s;
  }
  if (!options.scenario.empty()) {
    FindScenario(options.scenario)->apply(&options);
  }
  for (const Assignment& a : *tokens) {
    if (a.flag->name == "scenario") continue;
    if (absl::Status s = a.flag->set(a.value, &options); !s.ok()) return s;
  }
  if (options.base.quick) {
    options.base.consume_passes = 1;
    options.base.settle_ms = 0;
  }
  return options;
}

std::vector<RunConfig> ExpandRuns(const Options& options) {
  std::vector<RunConfig> runs;
  for (int b : options.sweep_batch) {
    runs.push_back(options.base);
    runs.back().batch = b;
  }
  for (int p : options.sweep_producers) {
    runs.push_back(options.base);
    runs.back().producers = p;
  }
  if (runs.empty()) runs.push_back(options.base);
  return runs;
}

std::string Usage() {
  std::string out =
      "usage: spool-bench [--scenario NAME] [flags]\n\n"
      "End-to-end benchmark: Spool against a raw sequential write/read of\n"
      "the same bytes and against RocksDB used as a queue, in one run.\n"
      "See docs/performance.md.\n\nflags:\n";
  for (const Flag& f : Flags()) {
    std::string left = "  --" + f.name;
    if (!f.value_name.empty()) left += " " + f.value_name;
    absl::StrAppendFormat(&out, "%-36s %s\n", left, f.help);
  }
  out += "\nscenarios:\n";
  for (const Scenario& s : Scenarios()) {
    absl::StrAppendFormat(&out, "  %-14s %s\n", s.name, s.summary);
  }
  return out;
}

}  // namespace spool::bench
