// The threshold kernel (see threshold.hpp). Never build with -use_fast_math: the race below
// needs IEEE log1pf and division.
//
// Kept set. With count(>v) and mass(>v) the number and the sum of the row's entries strictly
// greater than v, entry x is kept iff count(>x) < k and mass(>x) < p (FlashInfer's acceptance
// test for its pivots). Both tests only get easier as x grows, so the kept set is {x >= T} for
// one cut-off T, the smallest entry that passes. Ties at T are all kept.
//
// Radix select of T. Non-negative floats order like their bit patterns (logits use the usual
// sign-flip map), so T is found digit by digit, 8 bits per pass, high to low. A pass histograms
// (count, mass) of the entries that share the digits found so far; a bin can hold T iff it is
// non-empty and the entries above it (higher bins plus everything above the current prefix) pass
// both tests; T's digit is the lowest such bin. The row's maximum always passes (k >= 1, p > 0),
// so a bin is always found. Masses are summed in 2^-40 fixed point (integer atomics are
// order-independent, so T and the drawn token are bit-reproducible).
//
// Floor: before the passes, a cheap lower bound of T from the row's warp maxima (find_floor in the
// kernel) leaves only a few hundred entries per row to histogram; they are visited by index.
//
// Warp aggregation: entries crowd into a few exponent bins, and shared-memory atomics on one
// address serialise, so each warp first groups equal bins (match.any) and one lane adds the
// group's count and fixed-point mass. (redux.sync with a per-group mask would also sum a group,
// but the groups then run one after another; docs/PERFORMANCE.md has the measured steps.)
//
// Draw: the exponential race. Each kept entry x_i draws E_i ~ Exp(1) from its own Philox
// subsequence (row * vocab + i, at the call's offset) and the smallest E_i / x_i wins: token i
// wins with probability x_i / sum of kept x, with no prefix sum and no second pass.
#include "sampling/threshold.hpp"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <curand_kernel.h>

#include <cfloat>

#include <cooperative_groups.h>  // in both passes: host and device must see the same declarations

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
#define BFI_HAS_CLUSTERS 1
#else
#define BFI_HAS_CLUSTERS 0
#endif

#include "sampling/threshold_config.hpp"

namespace baracuda::flashinfer::sampling::threshold {
namespace {

// Global loads in flight per thread in the load phase (the loop is latency-bound; 16 was a
// measured step, docs/PERFORMANCE.md "Sampling: the threshold kernel").
constexpr uint32_t kLoadBatch = 16;
// Masses in 2^-40 fixed point: integer atomics are order-independent, so T is bit-reproducible.
constexpr float kFixedScale = 1099511627776.f;  // 2^40
constexpr float kMassCap = 64.f;  // entries above count as 64 (keeps row sums in 64 bits)

// The CTA's place in its row: a cluster on sm_90, or the whole row for a cluster of one.
struct Group {
  uint32_t size, rank;
  __device__ void sync() const {
#if BFI_HAS_CLUSTERS
    if (size > 1) {
      cooperative_groups::this_cluster().sync();
      return;
    }
#endif
    __syncthreads();
  }
  template <typename T>
  __device__ const T* remote(const T* local, uint32_t r) const {
#if BFI_HAS_CLUSTERS
    if (size > 1) return cooperative_groups::this_cluster().map_shared_rank(local, r);
#endif
    return local;
  }
};

__device__ Group this_group() {
#if BFI_HAS_CLUSTERS
  const uint32_t n = cooperative_groups::this_cluster().num_blocks();
  if (n > 1) return Group{n, cooperative_groups::this_cluster().block_rank()};
#endif
  return Group{1, 0};
}

__device__ __forceinline__ float load_float(const float* p) {
  return __ldg(p);
}
__device__ __forceinline__ float load_float(const __half* p) {
  return __half2float(__ldg(p));
}
__device__ __forceinline__ float load_float(const __nv_bfloat16* p) {
  return __bfloat162float(__ldg(p));
}
__device__ __forceinline__ void store_float(float* p, float x) {
  *p = x;
}
__device__ __forceinline__ void store_float(__half* p, float x) {
  *p = __float2half_rn(x);
}
__device__ __forceinline__ void store_float(__nv_bfloat16* p, float x) {
  *p = __float2bfloat16_rn(x);
}

// Probabilities: valid iff finite and >= 0; -0 maps to key 0. The sign bit is always 0, so the
// key drops it (shift left by one): the first radix pass then splits on the whole exponent.
__device__ __forceinline__ bool prob_key(float x, uint32_t* key) {
  const bool ok = x >= 0.f && x <= FLT_MAX;
  *key = ok ? (__float_as_uint(x) << 1) : 0u;
  return ok;
}
__device__ __forceinline__ float prob_of_key(uint32_t key) {
  return __uint_as_float(key >> 1);
}
// Logits: valid iff not NaN; order-preserving map of every float (-0 folded into +0).
__device__ __forceinline__ bool logit_key(float x, uint32_t* key) {
  const uint32_t bits = __float_as_uint(x + 0.f);
  *key = (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
  return !isnan(x);
}
constexpr uint32_t kMinusInfLogitKey = ~0xff800000u;  // logit_key(-inf)
__device__ __forceinline__ float logit_of_key(uint32_t key) {
  return __uint_as_float((key & 0x80000000u) ? (key & 0x7fffffffu) : ~key);
}

__device__ __forceinline__ unsigned long long fixed_mass(uint32_t key) {
  return __float2ull_rz(fminf(prob_of_key(key), kMassCap) * kFixedScale);
}

// Adds (count 1, mass of key) to bin `bin` for every lane with `active`. Lanes of a warp that
// share a bin are combined first (match.any): one lane adds the group's count (popc) and mass
// (summed from the warp's staging slots), so a crowded bin costs one atomic per warp, not 32.
// Called by whole warps (uniform trip counts).
template <bool USE_P>
__device__ __forceinline__ void histogram_add(bool active, uint32_t bin, uint32_t key,
                                              uint32_t* count, uint32_t* mass_lo, uint32_t* mass_hi,
                                              unsigned long long* stage, uint32_t lane) {
  if (!__any_sync(0xffffffffu, active)) return;
  const uint32_t peers = __match_any_sync(0xffffffffu, active ? bin : kBins);
  if constexpr (USE_P) {
    if (active) stage[lane] = fixed_mass(key);
    __syncwarp();
  }
  if (active && lane == __ffs(peers) - 1u) {
    atomicAdd(&count[bin], static_cast<uint32_t>(__popc(peers)));
    if constexpr (USE_P) {
      unsigned long long group_mass = 0;
      for (uint32_t rest = peers; rest != 0; rest &= rest - 1) group_mass += stage[__ffs(rest) - 1];
      // 64-bit add from two 32-bit atomics: the low word's old value tells whether this add
      // carried, and the carry goes to the high word with this add's high part.
      const uint32_t lo = static_cast<uint32_t>(group_mass);
      const uint32_t hi = static_cast<uint32_t>(group_mass >> 32);
      const uint32_t old = atomicAdd(&mass_lo[bin], lo);
      const uint32_t carry_and_hi = hi + (old + lo < old ? 1u : 0u);
      if (carry_and_hi != 0) atomicAdd(&mass_hi[bin], carry_and_hi);
    }
  }
  if constexpr (USE_P) __syncwarp();  // the staging slots are reused by the next call
}

__device__ __forceinline__ bool better(float s, uint32_t i, float best_s, uint32_t best_i) {
  return s < best_s || (s == best_s && i < best_i);
}

// Where a thread stands: its CTA's group and chunk of the row, and its place in the CTA.
struct Place {
  Group group;
  uint32_t row;    // the row this CTA works on
  uint32_t begin;  // the chunk's first entry in the row
  uint32_t n;      // entries in the chunk (0 for a CTA past the row's end)
  uint32_t tid, lane, warp;
};

__device__ __forceinline__ Place this_place(uint32_t vocab, uint32_t chunk) {
  Place at;
  at.group = this_group();
  at.row = blockIdx.x / at.group.size;
  at.tid = threadIdx.x;
  at.lane = at.tid & 31u;
  at.warp = at.tid >> 5;
  at.begin = at.group.rank * chunk;
  at.n = at.begin < vocab ? min(chunk, vocab - at.begin) : 0u;
  return at;
}

// ---- 1. Load the chunk once, as ordered keys; flag malformed entries; publish the warp maxima.
// kLoadBatch loads per thread are issued before any is used (the loop is latency-bound).
template <typename In, bool kLogits>
__device__ __forceinline__ void load_chunk(const Place& at, const In* src, uint32_t* keys,
                                           Shared& sh) {
  bool bad = false;
  uint32_t max_key = 0;
  for (uint32_t base = 0; base < at.n; base += kThreads * kLoadBatch) {
    float x[kLoadBatch];
#pragma unroll
    for (uint32_t j = 0; j < kLoadBatch; ++j) {
      const uint32_t i = base + j * kThreads + at.tid;
      x[j] = i < at.n ? load_float(src + i) : 0.f;
    }
#pragma unroll
    for (uint32_t j = 0; j < kLoadBatch; ++j) {
      const uint32_t i = base + j * kThreads + at.tid;
      if (i < at.n) {
        uint32_t key;
        bad |= !(kLogits ? logit_key(x[j], &key) : prob_key(x[j], &key));
        keys[i] = key;
        max_key = max(max_key, key);
      }
    }
  }
  bad = __syncthreads_or(bad);
  max_key = __reduce_max_sync(0xffffffffu, max_key);
  if (at.lane == 0) sh.warp_max[at.warp] = max_key;
  if (at.tid == 0) {
    sh.bad = bad;
    sh.list_count = 0;
  }
}

// ---- 2. Thresholds of this row.
struct Thresholds {
  uint32_t k;                  // 0xffffffff without top-k
  unsigned long long p_fixed;  // top-p in fixed point; ~0 without top-p or for p >= kMassCap
  bool admits_nothing;         // k == 0, or top-p <= 0 or NaN
};

// k < 0 in a per-row array reads as "no truncation".
template <bool USE_K, bool USE_P>
__device__ __forceinline__ Thresholds row_thresholds(const Call& prm, uint32_t row) {
  Thresholds t;
  t.k =
      USE_K ? (prm.top_k_arr ? static_cast<uint32_t>(prm.top_k_arr[row]) : prm.top_k) : 0xffffffffu;
  const float p = USE_P ? (prm.p_arr ? prm.p_arr[row] : prm.p) : 1.f;
  t.admits_nothing = (USE_K && t.k == 0) || (USE_P && !(p > 0.f));
  t.p_fixed = ~0ull;
  if (USE_P && p < kMassCap) t.p_fixed = max(1ull, __float2ull_rz(p * kFixedScale));
  return t;
}

// Floor: a lower bound of T from the row's warp maxima (distinct entries of the row). With
// v_j the j-th largest maximum, at least k entries are >= v_k, so no entry below v_k passes
// the count test; if v_1 + ... + v_j >= p, no entry below v_j passes the mass test. The radix
// passes then only visit entries >= floor (usually a few hundred per row), by index.
// Starts with the cluster barrier that publishes every CTA's flags and warp maxima; also sets
// sh.row_bad and sh.row_max.
template <bool USE_K, bool USE_P>
__device__ __forceinline__ uint32_t find_floor(const Place& at, const Thresholds& t, Shared& sh) {
  at.group.sync();  // every CTA's flags and warp maxima are published
  const uint32_t num_maxima = at.group.size * kWarps;
  uint32_t my_max = 0;
  if (at.tid < num_maxima) my_max = at.group.remote(sh.warp_max, at.tid / kWarps)[at.tid % kWarps];
  if (at.warp == 0) {
    uint32_t b = at.lane < at.group.size ? *at.group.remote(&sh.bad, at.lane) : 0u;
    b = __reduce_or_sync(0xffffffffu, b);
    if (at.lane == 0) sh.row_bad = b;
  }
  if (at.tid < kMaxCluster * kWarps) {
    sh.gathered[at.tid] = my_max;
    sh.maxima[at.tid] = 0;
  }
  __syncthreads();
  if (at.tid < num_maxima) {  // rank by value, ties by position: a permutation
    uint32_t rank = 0;
    for (uint32_t j = 0; j < num_maxima; ++j) {
      const uint32_t v = sh.gathered[j];
      rank += v > my_max || (v == my_max && j < at.tid);
    }
    sh.maxima[rank] = my_max;
  }
  __syncthreads();
  if (at.warp == 0) {
    const uint32_t lane = at.lane;
    constexpr uint32_t kPerLane = kMaxCluster * kWarps / 32;
    uint32_t floor = 0;
    if (USE_K && t.k >= 1 && t.k <= num_maxima) floor = sh.maxima[t.k - 1];
    if constexpr (USE_P) {
      unsigned long long local[kPerLane], run = 0;
#pragma unroll
      for (uint32_t j = 0; j < kPerLane; ++j)
        local[j] = run += fixed_mass(sh.maxima[lane * kPerLane + j]);
      unsigned long long before = run;  // inclusive scan of the lanes' totals, then exclusive
#pragma unroll
      for (uint32_t o = 1; o < 32; o <<= 1) {
        const unsigned long long s = __shfl_up_sync(0xffffffffu, before, o);
        if (lane >= o) before += s;
      }
      before -= run;
      uint32_t first = 0xffffffffu;  // first position whose prefix mass reaches p
#pragma unroll
      for (uint32_t j = kPerLane; j-- > 0;) {
        if (before + local[j] >= t.p_fixed) first = lane * kPerLane + j;
      }
      first = __reduce_min_sync(0xffffffffu, first);
      if (first < num_maxima) floor = max(floor, sh.maxima[first]);
    }
    if (lane == 0) {
      sh.floor_key = floor;
      sh.row_max = sh.maxima[0];
    }
  }
  __syncthreads();
  return sh.floor_key;
}

// The entries the radix passes and the race look at.
struct Candidates {
  bool use_list;    // by index from sh.list, else the whole chunk
  uint32_t visits;  // how many
};

// Indices of the entries >= floor (warp-aggregated slots; order is irrelevant to the
// histograms and to the race). More than kListCap: this CTA scans its whole chunk instead.
template <bool kFiltered>
__device__ __forceinline__ Candidates list_candidates(const Place& at, const uint32_t* keys,
                                                      uint32_t floor_key, bool skip, Shared& sh) {
  if (!skip && kFiltered) {
    const uint32_t lane = at.lane;
    for (uint32_t base = 0; base < at.n; base += kThreads) {
      const uint32_t i = base + at.tid;
      const bool listed = i < at.n && keys[i] >= floor_key;
      const uint32_t ballot = __ballot_sync(0xffffffffu, listed);
      if (ballot == 0) continue;
      const uint32_t leader = __ffs(ballot) - 1u;
      uint32_t slot = 0;
      if (lane == leader) slot = atomicAdd(&sh.list_count, static_cast<uint32_t>(__popc(ballot)));
      slot = __shfl_sync(0xffffffffu, slot, leader) + __popc(ballot & ((1u << lane) - 1u));
      if (listed && slot < kListCap) sh.list[slot] = i;
    }
  }
  __syncthreads();
  const bool use_list = kFiltered && sh.list_count <= kListCap;
  return Candidates{use_list, use_list ? sh.list_count : at.n};
}

// ---- 3. Radix select of the cut-off key T: entry i is kept iff keys[i] >= T.
template <bool USE_P>
__device__ __forceinline__ uint32_t radix_select(const Place& at, const uint32_t* keys,
                                                 const Candidates& c, uint32_t floor_key,
                                                 const Thresholds& t, Shared& sh) {
  const uint32_t tid = at.tid, lane = at.lane, warp = at.warp;
  uint32_t prefix = 0, above_count = 0;
  unsigned long long above_mass = 0;
  for (uint32_t pass = 0; pass < 4; ++pass) {
    const uint32_t shift = 24 - 8 * pass, buf = pass & 1u;
    const uint32_t high_mask = pass == 0 ? 0u : (0xffffffffu << (shift + 8));
    uint32_t* count = sh.count[buf];
    uint32_t* mass_lo = sh.mass_lo[buf];
    uint32_t* mass_hi = sh.mass_hi[buf];
    if (tid < kBins) {
      count[tid] = 0;
      if (USE_P) {
        mass_lo[tid] = 0;
        mass_hi[tid] = 0;
      }
    }
    __syncthreads();
    for (uint32_t base = 0; base < c.visits; base += kThreads) {
      const uint32_t j = base + tid;
      const uint32_t key = j < c.visits ? keys[c.use_list ? sh.list[j] : j] : 0u;
      const bool active = j < c.visits && key >= floor_key && (key & high_mask) == prefix;
      histogram_add<USE_P>(active, (key >> shift) & 0xffu, key, count, mass_lo, mass_hi,
                           sh.stage[warp], lane);
    }
    at.group.sync();  // every CTA's histogram of this pass is complete

    // Row totals of bin `tid`, then the entries strictly above it (exclusive suffix sums).
    uint32_t bin_count = 0;
    unsigned long long bin_mass = 0;
    if (tid < kBins) {
#pragma unroll
      for (uint32_t r = 0; r < kMaxCluster; ++r) {  // unrolled: all remote loads in flight
        if (r < at.group.size) {
          bin_count += at.group.remote(count, r)[tid];
          if (USE_P) {
            bin_mass += (static_cast<unsigned long long>(at.group.remote(mass_hi, r)[tid]) << 32) |
                        at.group.remote(mass_lo, r)[tid];
          }
        }
      }
    }
    uint32_t count_incl = bin_count;
    unsigned long long mass_incl = bin_mass;
#pragma unroll
    for (uint32_t o = 1; o < 32; o <<= 1) {
      const uint32_t n = __shfl_down_sync(0xffffffffu, count_incl, o);
      const unsigned long long m = __shfl_down_sync(0xffffffffu, mass_incl, o);
      if (lane + o < 32) {
        count_incl += n;
        mass_incl += m;
      }
    }
    if (tid < kBins && lane == 0) {
      sh.warp_count[warp] = count_incl;
      sh.warp_mass[warp] = mass_incl;
    }
    if (tid == 0) sh.chosen_bin = kBins;
    __syncthreads();
    uint32_t count_above = above_count + count_incl - bin_count;
    unsigned long long mass_above = above_mass + mass_incl - bin_mass;
    if (tid < kBins) {
      for (uint32_t w = warp + 1; w < kBins / 32; ++w) {
        count_above += sh.warp_count[w];
        mass_above += sh.warp_mass[w];
      }
      if (bin_count > 0 && count_above < t.k && (!USE_P || mass_above < t.p_fixed)) {
        atomicMin(&sh.chosen_bin, tid);
      }
    }
    __syncthreads();
    const uint32_t chosen = min(sh.chosen_bin, kBins - 1);
    if (tid == chosen) {
      sh.next_above_count = count_above;
      sh.next_above_mass = mass_above;
    }
    __syncthreads();
    above_count = sh.next_above_count;
    above_mass = sh.next_above_mass;
    prefix |= chosen << shift;
  }
  return prefix;
}

// ---- 4. Epilogues on the kept set {keys >= cut}.

// Draw: the exponential race over the kept entries, then the row's winner across the cluster;
// rank 0 writes the token and its valid flag.
template <bool kLogits>
__device__ __forceinline__ void epilogue_sample(const Place& at, const Call& prm,
                                                const uint32_t* keys, const Candidates& c,
                                                uint32_t cut, bool skip, Shared& sh) {
  const uint32_t vocab = prm.vocab;
  float best_s = __int_as_float(0x7f800000);
  uint32_t best_i = 0xffffffffu;
  if (!skip) {
    const uint64_t seed = prm.rng.seed_ptr ? *prm.rng.seed_ptr : prm.rng.seed;
    const uint64_t offset = prm.rng.offset_ptr ? *prm.rng.offset_ptr : prm.rng.offset;
    for (uint32_t j = at.tid; j < c.visits; j += kThreads) {  // every kept entry is >= floor
      const uint32_t i = c.use_list ? sh.list[j] : j;
      const uint32_t key = keys[i];
      if (key < cut || (!kLogits && key == 0)) continue;  // zero entries can never win
      const uint32_t token = at.begin + i;
      curandStatePhilox4_32_10_t state;
      curand_init(seed, uint64_t(at.row) * vocab + token, offset, &state);
      // E = -log(1 - w), w in (0, 1) from all 32 bits: E > 0 and finely resolved near 0,
      // where the race is decided (curand_uniform's 1.0 would make E = 0 and win outright).
      const float w = fmaf(__uint2float_rn(~curand(&state)), 0x1p-32f, 0x1p-33f);
      const float e = -log1pf(-w);
      // Probabilities: smallest E / p. Logits: smallest log(E) - logit, the same race on
      // exp(logit) (Gumbel-max with the noise in float, whatever the logits' type).
      const float s = kLogits ? logf(e) - logit_of_key(key) : e / prob_of_key(key);
      if (better(s, token, best_s, best_i)) {
        best_s = s;
        best_i = token;
      }
    }
  }
#pragma unroll
  for (uint32_t o = 16; o > 0; o >>= 1) {
    const float s = __shfl_xor_sync(0xffffffffu, best_s, o);
    const uint32_t i = __shfl_xor_sync(0xffffffffu, best_i, o);
    if (better(s, i, best_s, best_i)) {
      best_s = s;
      best_i = i;
    }
  }
  if (at.lane == 0) {
    sh.warp_mass[at.warp] = __float_as_uint(best_s);
    sh.warp_count[at.warp] = best_i;
  }
  __syncthreads();
  if (at.tid == 0) {
    for (uint32_t w = 1; w < kWarps; ++w) {
      const float s = __uint_as_float(static_cast<uint32_t>(sh.warp_mass[w]));
      if (better(s, sh.warp_count[w], best_s, best_i)) {
        best_s = s;
        best_i = sh.warp_count[w];
      }
    }
    sh.best_score = best_s;
    sh.best_index = best_i;
  }
  at.group.sync();
  if (at.group.rank == 0 && at.tid == 0) {
    for (uint32_t r = 1; r < at.group.size; ++r) {
      const float s = *at.group.remote(&sh.best_score, r);
      const uint32_t i = *at.group.remote(&sh.best_index, r);
      if (better(s, i, best_s, best_i)) {
        best_s = s;
        best_i = i;
      }
    }
    const bool ok = !skip && best_i < vocab;
    static_cast<int32_t*>(prm.output)[at.row] = ok ? static_cast<int32_t>(best_i) : 0;
    prm.valid[at.row] = ok;
  }
}

// Renormalise: kept entries divided by the kept mass, summed in a fixed order (thread, warp
// tree, warp index, CTA rank), so every CTA of the row computes the same total; others 0.
template <typename In>
__device__ __forceinline__ void epilogue_renorm(const Place& at, const Call& prm,
                                                const uint32_t* keys, uint32_t cut, bool skip,
                                                Shared& sh) {
  float kept = 0.f;
  if (!skip) {
    for (uint32_t i = at.tid; i < at.n; i += kThreads) {
      const uint32_t key = keys[i];
      if (key >= cut) kept += prob_of_key(key);
    }
  }
#pragma unroll
  for (uint32_t o = 16; o > 0; o >>= 1) kept += __shfl_xor_sync(0xffffffffu, kept, o);
  if (at.lane == 0) sh.warp_mass[at.warp] = __float_as_uint(kept);
  __syncthreads();
  if (at.tid == 0) {
    float total = 0.f;
    for (uint32_t w = 0; w < kWarps; ++w) {
      total += __uint_as_float(static_cast<uint32_t>(sh.warp_mass[w]));
    }
    sh.kept_mass = total;
  }
  at.group.sync();
  if (at.tid == 0) {
    float total = 0.f;
    for (uint32_t r = 0; r < at.group.size; ++r) total += *at.group.remote(&sh.kept_mass, r);
    sh.row_kept_mass = total;
  }
  __syncthreads();
  const float inv = skip ? 0.f : 1.f / sh.row_kept_mass;
  In* dst = static_cast<In*>(prm.output) + size_t(at.row) * prm.vocab + at.begin;
  for (uint32_t i = at.tid; i < at.n; i += kThreads) {
    const uint32_t key = keys[i];
    store_float(dst + i, !skip && key >= cut ? prob_of_key(key) * inv : 0.f);
  }
}

// Mask: kept logits unchanged, the rest -inf; a row with a NaN becomes all NaN.
template <typename In>
__device__ __forceinline__ void epilogue_mask(const Place& at, const Call& prm,
                                              const uint32_t* keys, uint32_t cut, bool skip,
                                              bool malformed) {
  In* dst = static_cast<In*>(prm.output) + size_t(at.row) * prm.vocab + at.begin;
  const float fill = malformed ? __int_as_float(0x7fc00000) : -__int_as_float(0x7f800000);
  for (uint32_t i = at.tid; i < at.n; i += kThreads) {
    const uint32_t key = keys[i];
    store_float(dst + i, !skip && key >= cut ? logit_of_key(key) : fill);
  }
}

template <typename In, Epilogue E, bool USE_K, bool USE_P>
__global__ void __launch_bounds__(kThreads) threshold_kernel(Call prm, uint32_t chunk) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  Shared& sh = *reinterpret_cast<Shared*>(smem_raw);
  uint32_t* keys = reinterpret_cast<uint32_t*>(smem_raw + sizeof(Shared));
  constexpr bool kLogits = E == Epilogue::kMask || E == Epilogue::kSampleLogits;
  constexpr bool kFiltered = USE_K || USE_P;  // else every entry is kept (no select)
  const Place at = this_place(prm.vocab, chunk);
  const In* src = static_cast<const In*>(prm.input) + size_t(at.row) * prm.vocab + at.begin;

  load_chunk<In, kLogits>(at, src, keys, sh);
  const Thresholds t = row_thresholds<USE_K, USE_P>(prm, at.row);
  const uint32_t floor_key = find_floor<USE_K, USE_P>(at, t, sh);
  // Probabilities need a positive entry; logits to mask need no NaN, logits to sample also a
  // finite maximum (a row of -inf has no softmax).
  const bool malformed = sh.row_bad != 0 || (!kLogits && sh.row_max == 0) ||
                         (E == Epilogue::kSampleLogits && sh.row_max <= kMinusInfLogitKey);
  const bool skip = malformed || t.admits_nothing;
  const Candidates c = list_candidates<kFiltered>(at, keys, floor_key, skip, sh);
  const uint32_t cut = !skip && kFiltered ? radix_select<USE_P>(at, keys, c, floor_key, t, sh) : 0u;

  if constexpr (E == Epilogue::kSample || E == Epilogue::kSampleLogits) {
    epilogue_sample<kLogits>(at, prm, keys, c, cut, skip, sh);
  } else if constexpr (E == Epilogue::kRenorm) {
    epilogue_renorm<In>(at, prm, keys, cut, skip, sh);
  } else {
    epilogue_mask<In>(at, prm, keys, cut, skip, malformed);
  }
  at.group.sync();  // no CTA leaves while another may still read its shared memory
}

// The forms the family launches: samplers (probabilities: top-k, top-p, both; logits: every
// element type, no filter) and row filters (renorm: top-k or top-p; mask: top-k, every type).
template <typename In, Epilogue E, bool USE_K, bool USE_P>
constexpr Kernel form() {
  return &threshold_kernel<In, E, USE_K, USE_P>;
}

}  // namespace

Kernel kernel_for(const Variant& v) {
  const Filter f = v.filter;
  switch (v.epilogue) {
    case Epilogue::kSample:
      if (v.element != Element::kF32 || !(f.use_k || f.use_p)) return nullptr;
      if (f.use_k && f.use_p) return form<float, Epilogue::kSample, true, true>();
      if (f.use_k) return form<float, Epilogue::kSample, true, false>();
      return form<float, Epilogue::kSample, false, true>();
    case Epilogue::kRenorm:
      if (v.element != Element::kF32 || f.use_k == f.use_p) return nullptr;
      if (f.use_k) return form<float, Epilogue::kRenorm, true, false>();
      return form<float, Epilogue::kRenorm, false, true>();
    case Epilogue::kSampleLogits:
      if (f.use_k || f.use_p) return nullptr;
      if (v.element == Element::kF16) return form<__half, Epilogue::kSampleLogits, false, false>();
      if (v.element == Element::kBF16) {
        return form<__nv_bfloat16, Epilogue::kSampleLogits, false, false>();
      }
      return form<float, Epilogue::kSampleLogits, false, false>();
    case Epilogue::kMask:
      if (!f.use_k || f.use_p) return nullptr;
      if (v.element == Element::kF16) return form<__half, Epilogue::kMask, true, false>();
      if (v.element == Element::kBF16) return form<__nv_bfloat16, Epilogue::kMask, true, false>();
      return form<float, Epilogue::kMask, true, false>();
  }
  return nullptr;
}

}  // namespace baracuda::flashinfer::sampling::threshold
