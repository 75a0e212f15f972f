// Builds Prometheus text exposition (format 0.0.4): metric families with
// one HELP and TYPE line each, samples grouped under their family.
//
// Thread-compatible.

#ifndef SPOOL_ENGINE_PROMETHEUS_H_
#define SPOOL_ENGINE_PROMETHEUS_H_

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/histogram.h"

namespace spool {

class PrometheusWriter {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;

  void Counter(std::string_view name, std::string_view help,
               const Labels& labels, double value);
  void Gauge(std::string_view name, std::string_view help, const Labels& labels,
             double value);
  void Histogram(std::string_view name, std::string_view help,
                 const Labels& labels, const BucketHistogram& h);

  // The exposition text, families in the order first added.
  std::string Finish() const;

 private:
  struct Family {
    std::string type;
    std::string help;
    std::string samples;
  };
  Family& GetFamily(std::string_view name, std::string_view type,
                    std::string_view help);
  static void AppendSample(std::string* out, std::string_view name,
                           const Labels& labels, double value);

  std::vector<std::string> order_;
  std::map<std::string, Family, std::less<>> families_;
};

// Escapes a label value: backslash, double quote and newline.
std::string EscapeLabelValue(std::string_view v);

}  // namespace spool

#endif  // SPOOL_ENGINE_PROMETHEUS_H_
