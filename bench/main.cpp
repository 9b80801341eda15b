// The benchmark program (Google Benchmark). See usage() for the command line.
#include <baracuda/flashinfer.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <string>
#include <vector>

#include "bench_report.hpp"
#include "bench_util.hpp"

using namespace bfi_bench;

namespace {

std::vector<Section> sorted_sections() {
  std::vector<Section> s = registered_sections();
  std::sort(s.begin(), s.end(), [](const Section& a, const Section& b) {
    return a.order != b.order ? a.order < b.order : std::strcmp(a.name, b.name) < 0;
  });
  return s;
}

void list_sections() {
  for (const Section& s : sorted_sections()) std::printf("  %-14s %s\n", s.name, s.summary);
}

void usage() {
  std::printf(
      "usage: bfi_bench [SECTION...] [--timer=hold|submit] [--list] [--benchmark_...]\n"
      "\n"
      "Measures the card's copy bandwidth, then runs the benchmarks of the named sections (all\n"
      "without a name) and prints a markdown table per section at the end. Benchmarks are named\n"
      "<section>/<case>/<variant>; each reports the median of its repetitions (one timed GPU call\n"
      "each, CUDA events behind a stream hold, after an untimed warm-up).\n"
      "\n"
      "  SECTION             one of the sections below; an unknown name is an error\n"
      "  --timer=hold        (default) the events time the GPU's work: each call is enqueued\n"
      "                      behind a kernel that holds the stream until both events are queued\n"
      "  --timer=submit      the start event fires while the host submits the call\n"
      "  --list              list the sections and exit\n"
      "  --benchmark_out=FILE --benchmark_out_format=json\n"
      "                      write every result as JSON (tools/perf_table.py FILE renders it)\n"
      "  --benchmark_filter=REGEX\n"
      "                      run only the benchmarks whose name matches\n"
      "\n"
      "sections:\n");
  list_sections();
  std::printf("\nGoogle Benchmark's options:\n");
  benchmark::PrintDefaultHelp();
}

int fail_usage(const std::string& message) {
  std::fprintf(stderr, "bfi_bench: %s (bfi_bench --help for usage)\n", message.c_str());
  return 2;
}

std::string today() {
  const std::time_t now = std::time(nullptr);
  char date[32];
  std::strftime(date, sizeof(date), "%Y-%m-%d", std::gmtime(&now));
  return date;
}

}  // namespace

int main(int argc, char** argv) {
  // Google Benchmark takes its --benchmark_* flags (and --help) out of argv.
  benchmark::Initialize(&argc, argv, usage);
  bool hold = true;
  std::vector<std::string> selected;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h") {
      usage();
      return 0;
    } else if (arg == "--list") {
      list_sections();
      return 0;
    } else if (arg == "--timer=hold" || arg == "--timer=submit") {
      hold = arg == "--timer=hold";
    } else if (!arg.empty() && arg[0] == '-') {
      return fail_usage("unknown option '" + arg + "'");
    } else {
      const auto& all = registered_sections();
      if (std::none_of(all.begin(), all.end(), [&](const Section& s) { return arg == s.name; }))
        return fail_usage("unknown section '" + arg + "'");
      if (std::find(selected.begin(), selected.end(), arg) == selected.end())
        selected.push_back(arg);
    }
  }

  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::fprintf(stderr, "bfi_bench: no CUDA device, nothing measured\n");
    return 1;
  }
  init_device(hold);
  const Device& d = device();
  char copy[32];
  std::snprintf(copy, sizeof(copy), "%.1f", d.copy_gbps);
  benchmark::AddCustomContext("bfi_device", d.name);
  benchmark::AddCustomContext("bfi_sm_count", std::to_string(d.sm_count));
  benchmark::AddCustomContext("bfi_l2_bytes", std::to_string(d.l2_bytes));
  benchmark::AddCustomContext("bfi_copy_gbps", copy);
  benchmark::AddCustomContext("bfi_timer", hold ? "hold" : "submit");
  benchmark::AddCustomContext("bfi_library", baracuda_kernels_flashinfer_version_string());
  std::printf("device: %s (%d SMs, L2 %.0f MB)  library: %s\n", d.name.c_str(), d.sm_count,
              d.l2_bytes / 1e6, baracuda_kernels_flashinfer_version_string());
  std::printf("copy bandwidth (read+write): %s GB/s  timer: %s\n", copy, hold ? "hold" : "submit");

  for (const Section& s : sorted_sections()) {
    if (selected.empty() || std::find(selected.begin(), selected.end(), s.name) != selected.end())
      s.add();
  }
  TableReporter reporter;
  const size_t ran = benchmark::RunSpecifiedBenchmarks(&reporter);
  release_current_case();
  if (ran == 0) {
    std::fprintf(stderr, "bfi_bench: no benchmark matched (sections and --benchmark_filter)\n");
    return 2;
  }
  std::cout << "\n## bfi_bench: " << d.name << ", copy bandwidth " << copy
            << " GB/s (read + write), " << today() << ", "
            << baracuda_kernels_flashinfer_version_string() << ", timer "
            << (hold ? "hold" : "submit") << "\n";
  reporter.print_tables(std::cout);
  shutdown_device();
  benchmark::Shutdown();
  return 0;
}
