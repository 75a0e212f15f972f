#include "workload.h"

#include <algorithm>
#include <chrono>
#include <random>

#include "absl/strings/str_format.h"

namespace spool::bench {
namespace {

constexpr const char* kBots[] = {"support-bot", "orders-bot", "faq-bot",
                                 "billing-bot", "shipping-bot"};
constexpr const char* kTypes[] = {"reply", "notice", "prompt", "handoff"};
constexpr const char* kPhrases[] = {
    "Thanks for reaching out! ",
    "Your order #%d has shipped and should arrive in %d days. ",
    "I can help you with that. ",
    "Could you confirm the email address on your account? ",
    "Your refund of $%d.%02d was issued to your card. ",
    "Let me connect you with a human agent. ",
    "The tracking number is ZX%d. ",
    "Is there anything else I can help you with today? ",
    "Your subscription renews on 2024-%02d-%02d. ",
    "Sorry for the wait, we are seeing a lot of requests right now. ",
    "Please restart the app and try again. ",
    "Your ticket %d has been updated. ",
};
constexpr const char* kNames[] = {"Alex",  "Sam",   "Maria",  "Chen",
                                  "Priya", "Jonas", "Fatima", "Luis"};

template <typename T, size_t N>
const T& Pick(const T (&items)[N], std::mt19937_64& rng) {
  return items[rng() % N];
}

// One phrase with each "%d" / "%02d" replaced by a random number.
std::string Phrase(std::mt19937_64& rng) {
  std::string_view p = Pick(kPhrases, rng);
  std::string out;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] != '%') {
      out += p[i];
      continue;
    }
    const bool two_digits = p.substr(i, 4) == "%02d";
    i += two_digits ? 3 : 1;
    if (two_digits) {
      absl::StrAppendFormat(&out, "%02d", rng() % 28 + 1);
    } else {
      absl::StrAppendFormat(&out, "%d", rng() % 90000 + 10000);
    }
  }
  return out;
}

// A bot message of exactly `size` bytes.
std::string Message(size_t size, std::mt19937_64& rng) {
  std::string head = absl::StrFormat(
      R"({"bot":"%s","type":"%s","lang":"en","seq":%d,"text":"Hi %s. )",
      Pick(kBots, rng), Pick(kTypes, rng), rng() % 1000, Pick(kNames, rng));
  std::string text = head;
  while (text.size() < size) text += Phrase(rng);
  text.resize(size);
  if (size >= head.size() + 2) text.replace(size - 2, 2, "\"}");
  return text;
}

// Mixes a record index into a pool slot; `salt` decorrelates keys and
// values.
size_t Slot(int64_t i, uint64_t seed, uint64_t salt, int bits) {
  uint64_t x = static_cast<uint64_t>(i) ^ (seed * 0x9E3779B97F4A7C15ULL);
  x = (x + salt) * 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 31;
  x *= 0x94D049BB133111EBULL;
  return static_cast<size_t>(x >> (64 - bits));
}

}  // namespace

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Workload::Workload(const RunConfig& config) : config_(config) {
  std::mt19937_64 rng(config.seed);
  const size_t value_bytes =
      static_cast<size_t>(std::max(config.record_size - kKeyBytes, 0));
  for (int i = 0; i < (1 << kPoolBits); ++i) {
    keys_.push_back(absl::StrFormat("conv-%07d", rng() % 10000000));
    values_.push_back(Message(value_bytes, rng));
  }
}

std::string_view Workload::Key(int64_t i) const {
  return keys_[Slot(i, config_.seed, 1, kPoolBits)];
}

std::string_view Workload::Value(int64_t i) const {
  return values_[Slot(i, config_.seed, 2, kPoolBits)];
}

ProducerPlan Workload::Plan(int producer) const {
  const int64_t n = config_.records;
  const int p = config_.producers;
  ProducerPlan plan;
  plan.first_record = n * producer / p;
  plan.end_record = n * (producer + 1) / p;
  if (p > config_.partitions) {
    plan.partitions.push_back(producer % config_.partitions);
  } else {
    for (int32_t q = producer; q < config_.partitions; q += p) {
      plan.partitions.push_back(q);
    }
  }
  return plan;
}

int Workload::consumers() const {
  return std::min(config_.consumers, config_.partitions);
}

std::vector<int32_t> Workload::ConsumerPartitions(int consumer) const {
  std::vector<int32_t> out;
  for (int32_t q = consumer; q < config_.partitions; q += consumers()) {
    out.push_back(q);
  }
  return out;
}

void Workload::AddRecords(RecordBatchBuilder* builder, int64_t first,
                          int64_t count, int64_t ts) const {
  for (int64_t i = first; i < first + count; ++i) {
    builder->Add(Key(i), Value(i), {}, ts);
  }
}

}  // namespace spool::bench
