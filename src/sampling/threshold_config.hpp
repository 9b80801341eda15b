// The threshold kernel's block, cluster and shared-memory layout: read by the kernel
// (threshold.cu) and by the host code that sizes its launches (threshold_host.cpp), so both see
// one sizeof(Shared). Plain C++.
#pragma once

#include <cstdint>

namespace baracuda::flashinfer::sampling::threshold {

// Threads per CTA: 16 warps. The kernel needs at least kBins threads (each radix pass reduces one
// bin per thread) and a multiple of 32 warp maxima per cluster (warp 0 ranks them, kMaxCluster *
// kWarps / 32 per lane). The profile behind docs/PERFORMANCE.md ("Sampling: the threshold
// kernel") found the kernel latency-bound at 16 warps per SM; the value is not retuned per card.
constexpr uint32_t kThreads = 512;
constexpr uint32_t kWarps = kThreads / 32;
// Histogram bins of one radix pass: 8-bit digits, so 4 passes cover a 32-bit key.
constexpr uint32_t kBins = 256;
// CTAs per thread-block cluster at most: the portable cluster size (no non-portable opt-in).
constexpr uint32_t kMaxCluster = 8;
// Entries per CTA before another CTA joins the row (measured at vocab 128256: a target of 16384
// ran the same as 4096, both 8 CTAs; 65536 (2 CTAs) was about 1.5x slower at every batch).
constexpr uint32_t kTargetChunk = 4096;
// Entries per CTA the radix passes visit by index (4 KB of indices). The floor usually leaves a
// few hundred entries per row (docs/sampling.md); a CTA holding more than this scans its whole
// chunk instead, with the same result.
constexpr uint32_t kListCap = 1024;

static_assert(kThreads >= kBins, "each radix pass reduces one bin per thread");
static_assert(kBins % 32 == 0, "bin totals are reduced warp by warp");
static_assert(kMaxCluster * kWarps % 32 == 0 && kMaxCluster * kWarps <= kThreads,
              "warp 0 ranks the row's warp maxima, the same number per lane");

struct alignas(16) Shared {
  // Double-buffered (one cluster barrier per pass). A bin's mass is a 64-bit integer kept as two
  // 32-bit words: shared-memory atomics are native for 32 bits only (64-bit adds would be
  // compare-and-swap loops, which crowded bins turn into retry storms).
  uint32_t mass_lo[2][kBins], mass_hi[2][kBins];
  uint32_t count[2][kBins];
  unsigned long long warp_mass[kWarps];
  uint32_t warp_count[kWarps];
  unsigned long long stage[kWarps][32];  // per-warp staging of fixed-point masses
  // Published to the other CTAs of the cluster (read remotely, never overwritten).
  uint32_t bad;
  uint32_t warp_max[kWarps];
  float kept_mass;
  float best_score;
  uint32_t best_index;
  // Block-local decisions.
  uint32_t row_bad, row_max, chosen_bin, next_above_count;
  unsigned long long next_above_mass;
  float row_kept_mass;
  uint32_t floor_key;                       // a lower bound of T (threshold.cu)
  uint32_t gathered[kMaxCluster * kWarps];  // the row's warp maxima (CTA rank major)
  uint32_t maxima[kMaxCluster * kWarps];    // the same, sorted descending
  uint32_t list_count;
  uint32_t list[kListCap];  // indices of this CTA's entries >= floor_key
};
static_assert(sizeof(Shared) % 16 == 0, "keys start 16-byte aligned");

}  // namespace baracuda::flashinfer::sampling::threshold
