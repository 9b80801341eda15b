// The console output of bfi_bench: Google Benchmark's own lines while the benchmarks run, then one
// markdown table per section (tools/perf_table.py renders the same tables from the JSON that
// --benchmark_out writes).
//
// A table has a row per case and, for each variant in the order they ran, its median time and
// the counters worth a column: frac, tflops and x_vs_<variant>. The last column checks the
// targets stated in the variants' labels ("target <counter> >= <value>"; "us" is the time).
#pragma once

#include <benchmark/benchmark.h>

#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace bfi_bench {

class TableReporter : public benchmark::ConsoleReporter {
 public:
  // Colours only on a terminal (Google Benchmark 1.7 reads TERM, not whether stdout is one).
  TableReporter();
  void ReportRuns(const std::vector<Run>& reports) override;
  // The tables of every section that ran, in the order the sections ran.
  void print_tables(std::ostream& out) const;

 private:
  struct Result {
    double us = 0;
    std::map<std::string, double> counters;
    std::string label;
  };
  struct Table {
    std::vector<std::string> cases, variants;                      // in order of first appearance
    std::map<std::string, std::map<std::string, Result>> results;  // case -> variant -> result
  };
  std::vector<std::string> section_order_;
  std::map<std::string, Table> tables_;
};

}  // namespace bfi_bench
