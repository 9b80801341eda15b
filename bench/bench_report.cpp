#include "bench_report.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include <unistd.h>

namespace bfi_bench {

namespace {

// The counters a table shows, in column order ("x_vs_" stands for every x_vs_<variant>).
const char* const kTableCounters[] = {"frac", "tflops", "x_vs_"};

bool shown_counter(const std::string& name, const char* kind) {
  const std::string k(kind);
  return k == "x_vs_" ? name.rfind(k, 0) == 0 : name == k;
}

std::string header(const std::string& variant, const std::string& counter) {
  if (counter == "us") return variant + " µs";
  if (counter == "tflops") return variant + " TFLOP/s";
  if (counter.rfind("x_vs_", 0) == 0) return variant + " × vs " + counter.substr(5);
  return variant + " " + counter;
}

std::string format(const std::string& counter, double v) {
  char buf[32];
  const char* f = counter == "frac" ? "%.2f" : counter == "tflops" ? "%.0f" : "%.1f";
  if (counter.rfind("x_vs_", 0) == 0) f = "%.2f";
  std::snprintf(buf, sizeof(buf), f, v);
  return buf;
}

std::vector<std::string> split(const std::string& s, const std::string& sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t at; (at = s.find(sep, start)) != std::string::npos; start = at + sep.size())
    parts.push_back(s.substr(start, at - start));
  parts.push_back(s.substr(start));
  return parts;
}

}  // namespace

TableReporter::TableReporter()
    : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_ColorTabular : OO_Tabular) {}

void TableReporter::ReportRuns(const std::vector<Run>& reports) {
  ConsoleReporter::ReportRuns(reports);
  const Run* chosen = nullptr;  // the median aggregate, or the one run without repetitions
  for (const Run& r : reports) {
    if (r.error_occurred) continue;
    if (r.run_type == Run::RT_Aggregate ? r.aggregate_name == "median" : chosen == nullptr)
      chosen = &r;
  }
  if (chosen == nullptr) return;
  const std::string& name = chosen->run_name.function_name;  // section/case/variant
  const size_t first = name.find('/'), last = name.rfind('/');
  if (first == std::string::npos || first == last) return;
  const std::string section = name.substr(0, first), variant = name.substr(last + 1),
                    case_name = name.substr(first + 1, last - first - 1);
  if (!tables_.count(section)) section_order_.push_back(section);
  Table& t = tables_[section];
  if (std::find(t.cases.begin(), t.cases.end(), case_name) == t.cases.end())
    t.cases.push_back(case_name);
  if (std::find(t.variants.begin(), t.variants.end(), variant) == t.variants.end())
    t.variants.push_back(variant);
  Result& r = t.results[case_name][variant];
  r.us = chosen->GetAdjustedRealTime();  // the benchmarks report in microseconds
  for (const auto& [counter, value] : chosen->counters) r.counters[counter] = value.value;
  r.label = chosen->report_label;
}

void TableReporter::print_tables(std::ostream& out) const {
  for (const std::string& section : section_order_) {
    const Table& t = tables_.at(section);
    // Columns: (variant, counter) pairs that some case has.
    std::vector<std::pair<std::string, std::string>> columns;
    for (const std::string& v : t.variants) {
      columns.emplace_back(v, "us");
      for (const char* kind : kTableCounters) {
        std::vector<std::string> names;
        for (const auto& [case_name, by_variant] : t.results) {
          const auto it = by_variant.find(v);
          if (it == by_variant.end()) continue;
          for (const auto& kv : it->second.counters) {
            if (shown_counter(kv.first, kind) &&
                std::find(names.begin(), names.end(), kv.first) == names.end())
              names.push_back(kv.first);
          }
        }
        std::sort(names.begin(), names.end());
        for (const std::string& n : names) columns.emplace_back(v, n);
      }
    }
    out << "\n### " << section << "\n\n| case |";
    for (const auto& [v, c] : columns) out << " " << header(v, c) << " |";
    out << " notes |\n|---|";
    for (size_t i = 0; i < columns.size(); ++i) out << "---|";
    out << "---|\n";
    for (const std::string& case_name : t.cases) {
      const auto& by_variant = t.results.at(case_name);
      out << "| " << case_name << " |";
      for (const auto& [v, c] : columns) {
        const auto it = by_variant.find(v);
        std::string cell;
        if (it != by_variant.end()) {
          if (c == "us") {
            cell = format(c, it->second.us);
          } else if (it->second.counters.count(c)) {
            cell = format(c, it->second.counters.at(c));
          }
        }
        out << " " << cell << " |";
      }
      std::vector<std::string> notes;
      for (const std::string& v : t.variants) {
        const auto it = by_variant.find(v);
        if (it == by_variant.end() || it->second.label.empty()) continue;
        for (const std::string& part : split(it->second.label, "; ")) {
          std::istringstream target(part);
          std::string word, counter, op;
          double goal = 0;
          if (target >> word >> counter >> op >> goal && word == "target" &&
              (op == ">=" || op == "<=")) {
            const bool known = counter == "us" || it->second.counters.count(counter);
            const double value = counter == "us" ? it->second.us
                                 : known         ? it->second.counters.at(counter)
                                                 : 0.0;
            const bool met = op == ">=" ? value >= goal : value <= goal;
            notes.push_back(v + " " + counter + " " + op + " " + format(counter, goal) + ": " +
                            (!known ? "not measured"
                             : met  ? "PASS"
                                    : "FAIL"));
          } else {
            notes.push_back(v + ": " + part);
          }
        }
      }
      std::string joined;
      for (const std::string& n : notes) joined += (joined.empty() ? "" : "; ") + n;
      out << " " << joined << " |\n";
    }
  }
}

}  // namespace bfi_bench
