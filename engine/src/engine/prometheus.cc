#include "engine/prometheus.h"

#include <cmath>

#include "absl/strings/str_format.h"

namespace spool {

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace {

std::string FormatValue(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    return absl::StrFormat("%d", static_cast<int64_t>(v));
  }
  return absl::StrFormat("%.9g", v);
}

}  // namespace

PrometheusWriter::Family& PrometheusWriter::GetFamily(std::string_view name,
                                                      std::string_view type,
                                                      std::string_view help) {
  auto it = families_.find(name);
  if (it != families_.end()) return it->second;
  order_.emplace_back(name);
  Family& f = families_[std::string(name)];
  f.type = std::string(type);
  f.help = std::string(help);
  return f;
}

void PrometheusWriter::AppendSample(std::string* out, std::string_view name,
                                    const Labels& labels, double value) {
  absl::StrAppendFormat(out, "%s", name);
  if (!labels.empty()) {
    out->push_back('{');
    for (size_t i = 0; i < labels.size(); ++i) {
      absl::StrAppendFormat(out, "%s%s=\"%s\"", i == 0 ? "" : ",",
                            labels[i].first,
                            EscapeLabelValue(labels[i].second));
    }
    out->push_back('}');
  }
  absl::StrAppendFormat(out, " %s\n", FormatValue(value));
}

void PrometheusWriter::Counter(std::string_view name, std::string_view help,
                               const Labels& labels, double value) {
  AppendSample(&GetFamily(name, "counter", help).samples, name, labels, value);
}

void PrometheusWriter::Gauge(std::string_view name, std::string_view help,
                             const Labels& labels, double value) {
  AppendSample(&GetFamily(name, "gauge", help).samples, name, labels, value);
}

void PrometheusWriter::Histogram(std::string_view name, std::string_view help,
                                 const Labels& labels,
                                 const BucketHistogram& h) {
  Family& f = GetFamily(name, "histogram", help);
  const std::string bucket = absl::StrFormat("%s_bucket", name);
  for (size_t i = 0; i <= h.bounds().size(); ++i) {
    Labels with_le = labels;
    with_le.emplace_back("le", i < h.bounds().size()
                                   ? absl::StrFormat("%g", h.bounds()[i])
                                   : std::string("+Inf"));
    AppendSample(&f.samples, bucket, with_le,
                 static_cast<double>(h.CumulativeCount(i)));
  }
  AppendSample(&f.samples, absl::StrFormat("%s_sum", name), labels, h.sum());
  AppendSample(&f.samples, absl::StrFormat("%s_count", name), labels,
               static_cast<double>(h.count()));
}

std::string PrometheusWriter::Finish() const {
  std::string out;
  for (const std::string& name : order_) {
    const Family& f = families_.find(name)->second;
    absl::StrAppendFormat(&out, "# HELP %s %s\n# TYPE %s %s\n%s", name, f.help,
                          name, f.type, f.samples);
  }
  return out;
}

}  // namespace spool
