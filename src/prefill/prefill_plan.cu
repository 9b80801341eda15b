// The device planners of batch prefill: one block reads q_indptr and the KV lengths from device
// memory and writes the work the kernels read (no host round trip, graph-capturable).
#include <cub/block/block_scan.cuh>

#include <climits>
#include <cmath>

#include "common/launch.cuh"
#include "prefill/prefill_launch.hpp"
#include "prefill/prefill_sink_rows.hpp"

namespace baracuda::flashinfer::prefill {
namespace {

constexpr int kThreads = 1024;
constexpr int kWarps = kThreads / 32;
using Scan = cub::BlockScan<int32_t, kThreads>;

__device__ __forceinline__ int32_t ceil_div(int32_t a, int32_t b) {
  return (a + b - 1) / b;
}

// Keys of request b: paged (pages - 1) * P + last_page_len (0 without pages); ragged rows.
__device__ __forceinline__ int32_t kv_len_of(const int32_t* kv_indptr, const int32_t* last_page_len,
                                             int32_t page_size, int32_t b) {
  const int32_t units = kv_indptr[b + 1] - kv_indptr[b];
  if (last_page_len == nullptr) return max(units, 0);
  return units <= 0 ? 0 : (units - 1) * page_size + last_page_len[b];
}

// Exclusive scan of `value(i)` over i in [0, n) into out[0..n] (out[n] = total), in rounds of
// kThreads. Returns the total. Every thread of the block calls it.
template <typename Value>
__device__ int32_t scan_into(Scan::TempStorage& storage, int32_t n, Value value, int32_t* out) {
  int32_t carry = 0;
  for (int32_t base = 0; base < n; base += kThreads) {
    const int32_t i = base + int32_t(threadIdx.x);
    const int32_t v = i < n ? value(i) : 0;
    int32_t offset, total;
    __syncthreads();
    Scan(storage).ExclusiveSum(v, offset, total);
    if (i < n) out[i] = carry + offset;
    carry += total;
  }
  __syncthreads();
  if (threadIdx.x == 0) out[n] = carry;
  __syncthreads();
  return carry;
}

// The smallest chunk (in granules, >= lo) such that `items(chunk) <= budget`, items
// non-increasing in the chunk; hi must be feasible. A 32-ary search: each warp tries one
// candidate per round.
template <typename Items>
__device__ int32_t smallest_chunk(int32_t lo, int32_t hi, int32_t budget, Items items,
                                  int32_t* s_warp, int32_t* s_lo, int32_t* s_hi) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (threadIdx.x == 0) {
    *s_lo = lo;
    *s_hi = max(hi, lo);
  }
  __syncthreads();
  while (*s_lo < *s_hi) {
    const int32_t l = *s_lo, h = *s_hi;
    const int32_t candidate = l + static_cast<int32_t>((int64_t(h - l) * (warp + 1)) / kWarps);
    const int64_t n = items(candidate, lane);  // this lane's share; reduced below
    int64_t total = n;
    for (int off = 16; off > 0; off /= 2) total += __shfl_xor_sync(0xffffffffu, total, off);
    __syncthreads();
    if (lane == 0) s_warp[warp] = total <= budget ? candidate : INT32_MAX;
    __syncthreads();
    if (threadIdx.x == 0) {
      int w = 0;
      while (s_warp[w] == INT32_MAX) ++w;  // the last warp tries h: feasible
      const int32_t prev = w == 0 ? l - 1 : l + static_cast<int32_t>((int64_t(h - l) * w) / kWarps);
      *s_hi = s_warp[w];
      *s_lo = max(prev + 1, l);
    }
    __syncthreads();
  }
  return *s_lo;
}

// ---- The short requests of an FA3 call (PrefillSchedule::short_packed_rows) ----------------------
__device__ __forceinline__ bool is_short(int32_t rows, const ShortRequests& r) {
  return rows >= 1 && int64_t(rows) * r.group <= r.packed_rows;
}

// Whether the call's FA2 launch takes its short requests: when they are enough (request, KV head)
// pairs to fill the GPU unsplit; else the FA3 kernel takes them with the rest (and splits them
// when they are few). Every thread of the block calls it.
__device__ bool routes_short(const int32_t* q_indptr, int32_t batch_size, const ShortRequests& r) {
  if (r.packed_rows <= 0) return false;
  int64_t n = 0;
  for (int32_t base = 0; base < batch_size; base += kThreads) {
    const int32_t b = base + int32_t(threadIdx.x);
    n += __syncthreads_count(b < batch_size && is_short(q_indptr[b + 1] - q_indptr[b], r));
  }
  return n * r.num_kv_heads >= r.min_ctas;
}

// ---- FA3 ----------------------------------------------------------------------------------------
// 1. (request, query tile) pairs with the keys each tile sees: [lo, hi) (causal: up to the tile's
//    last row; window: from the tile's first row's window start, down to a chunk granule).
// 2. If the unsplit items (tiles x heads) are fewer than the SMs, the smallest chunk such that
//    heads x sum over tiles of ceil(keys / chunk) stays within split_items.
// 3. Jobs (tile, chunk), sorted by cost (KV tiles), longest first, by a counting sort; items are
//    jobs x heads; item p goes to CTA p mod P in snake order (round r forward when even), so every
//    CTA's share of the longest items is about equal; the work table is CTA-major.
// 4. A split tile's items write partial states to slots; its merge units say where they go.
constexpr int kCostBuckets = 1024;

__global__ void __launch_bounds__(kThreads) fa3_plan_kernel(const Fa3PlanArgs a) {
  __shared__ typename Scan::TempStorage scan_storage;
  __shared__ int32_t s_warp[kWarps];
  __shared__ int32_t s_lo, s_hi;
  __shared__ int32_t s_bucket[kCostBuckets];
  const int tid = threadIdx.x;
  const int32_t B = a.batch_size, H = a.num_qo_heads, P = a.ctas;
  const int32_t granule = a.last_page_len != nullptr ? a.page_size : 1;
  int32_t* tile_offset = a.scratch;                   // [tile_cap + 1]: per request, then per tile
  int32_t* slot_base = tile_offset + a.tile_cap + 1;  // [tile_cap + 1]
  int32_t* unit_base = slot_base + a.tile_cap + 1;    // [tile_cap + 1]
  int32_t* job_offset = unit_base + a.tile_cap + 1;   // [tile_cap + 1]
  // 8-byte aligned after the four int32 arrays (their count is even: 4 * (tile_cap + 1)).
  int2* sorted_jobs = reinterpret_cast<int2*>(job_offset + a.tile_cap + 1);

  // 1. Tiles per request, then each tile's key range; the short requests the FA2 launch takes
  //    have none.
  const bool route = routes_short(a.q_indptr, B, a.short_requests);
  const auto q_len = [&](int32_t b) {
    const int32_t rows = max(a.q_indptr[b + 1] - a.q_indptr[b], 0);
    return route && is_short(rows, a.short_requests) ? 0 : rows;
  };
  const int32_t total_tiles = scan_into(
      scan_storage, B, [&](int32_t b) { return ceil_div(q_len(b), a.cta_q); }, tile_offset);
  const int32_t T = min(total_tiles, a.tile_cap);
  for (int32_t b = tid; b < B; b += kThreads) {
    const int32_t q = q_len(b);
    const int32_t L = kv_len_of(a.kv_indptr, a.last_page_len, a.page_size, b);
    const int32_t base = L - q;  // query i sees keys <= base + i (causal)
    for (int32_t t = 0, at = tile_offset[b]; t * a.cta_q < q && at < T; ++t, ++at) {
      const int32_t last_row = min((t + 1) * a.cta_q, q) - 1;
      int32_t hi = a.causal ? min(max(base + last_row + 1, 0), L) : L;
      int32_t lo = 0;
      if (a.window_left >= 0) lo = min(max(base + t * a.cta_q - a.window_left, 0), L);
      lo = lo / granule * granule;
      hi = max(hi, lo);
      a.tiles[at] = make_int4(b, t, lo, hi);
    }
  }
  __syncthreads();

  // 2. The chunk (in granules).
  int32_t chunk = 0;  // 0: one chunk per tile
  if (a.allow_split && int64_t(T) * H < a.sm_count) {
    int32_t longest = 0;
    for (int32_t i = tid; i < T; i += kThreads) longest = max(longest, a.tiles[i].w - a.tiles[i].z);
    longest = __reduce_max_sync(0xffffffffu, static_cast<unsigned>(longest));
    if (tid % 32 == 0) s_warp[tid / 32] = longest;
    __syncthreads();
    if (tid == 0) {
      int32_t m = 0;
      for (int w = 0; w < kWarps; ++w) m = max(m, s_warp[w]);
      s_hi = m;
    }
    __syncthreads();
    const int32_t lo = ceil_div(a.min_chunk_tokens, granule);
    const int32_t hi = max(ceil_div(s_hi, granule), lo);
    __syncthreads();
    const auto items = [&](int32_t candidate, int lane) {
      int64_t n = 0;
      for (int32_t i = lane; i < T; i += 32) {
        n += max(ceil_div(a.tiles[i].w - a.tiles[i].z, candidate * granule), 1);
      }
      return n * H;
    };
    chunk = smallest_chunk(lo, hi, a.split_items, items, s_warp, &s_lo, &s_hi) * granule;
  }
  const bool split = chunk > 0;
  const auto chunks_of = [&](int32_t i) {
    return split ? max(ceil_div(a.tiles[i].w - a.tiles[i].z, chunk), 1) : 1;
  };
  // Keys [begin, end) of chunk c of tile t.
  const auto chunk_range = [&](const int4& t, int32_t c) {
    const int32_t begin = split ? t.z + c * chunk : t.z;
    return make_int2(begin, split ? min(begin + chunk, t.w) : t.w);
  };

  // 3. Jobs per tile, their slots and merge units, then the counting sort by cost.
  const int32_t J = scan_into(scan_storage, T, chunks_of, job_offset);
  scan_into(
      scan_storage, T, [&](int32_t i) { return chunks_of(i) >= 2 ? chunks_of(i) * H : 0; },
      slot_base);
  const int32_t split_tiles = scan_into(
      scan_storage, T, [&](int32_t i) { return chunks_of(i) >= 2 ? 1 : 0; }, unit_base);
  const auto cost_bucket = [&](int32_t i, int32_t c) {
    const int2 keys = chunk_range(a.tiles[i], c);
    const int32_t cost = ceil_div(max(keys.y - keys.x, 0), a.cta_kv) + 1;
    return kCostBuckets - 1 - min(cost, kCostBuckets - 1);  // descending cost
  };
  for (int i = tid; i < kCostBuckets; i += kThreads) s_bucket[i] = 0;
  __syncthreads();
  for (int32_t i = tid; i < T; i += kThreads) {
    for (int32_t c = 0, n = chunks_of(i); c < n; ++c) atomicAdd(&s_bucket[cost_bucket(i, c)], 1);
  }
  __syncthreads();
  {
    int32_t count = tid < kCostBuckets ? s_bucket[tid] : 0, offset, total;
    Scan(scan_storage).ExclusiveSum(count, offset, total);
    __syncthreads();
    if (tid < kCostBuckets) s_bucket[tid] = offset;
    __syncthreads();
  }
  for (int32_t i = tid; i < T; i += kThreads) {
    for (int32_t c = 0, n = chunks_of(i); c < n; ++c) {
      sorted_jobs[atomicAdd(&s_bucket[cost_bucket(i, c)], 1)] = make_int2(i, c);
    }
  }
  __syncthreads();

  // 4. The work table, CTA-major in snake order, and each item's routing and mask.
  const int32_t N = min(J * H, a.item_cap);
  const int32_t rounds = N / P, rem = N % P;
  const auto extra_before = [&](int32_t j) {  // CTAs below j that take an item of the last round
    return rounds % 2 == 0 ? min(j, rem) : max(0, j - (P - rem));
  };
  for (int32_t j = tid; j <= P; j += kThreads) a.work_indptr[j] = j * rounds + extra_before(j);
  for (int32_t p = tid; p < N; p += kThreads) {
    const int32_t r = p / P, k = p % P;
    const int32_t cta = r % 2 == 0 ? k : P - 1 - k;
    const int32_t index = cta * rounds + extra_before(cta) + r;
    const int2 job = sorted_jobs[p / H];
    const int32_t h = p % H;
    const int4 t = a.tiles[job.x];
    const int32_t b = t.x;
    const int32_t q = q_len(b);
    const int32_t L = kv_len_of(a.kv_indptr, a.last_page_len, a.page_size, b);
    const int2 keys = chunk_range(t, job.y);
    const int32_t begin = keys.x, end = keys.y;
    const int32_t n = chunks_of(job.x);
    a.qo_tile_indices[index] = t.y;
    a.qo_indptr[index] = a.q_indptr[b];
    a.kv_indptr_out[index] = a.kv_indptr[b] + begin / granule;
    // An item without keys takes FlashInfer's store_zero path, which bounds its lse rows by
    // qo_len - tile * CTA_Q alone (up to 256 threads, past a 128-row tile): its qo_len is cut at
    // the tile's end so it cannot overwrite the next tile's lse (causal, qo_len > kv_len + CTA_Q).
    a.qo_lens[index] = end > begin ? q : min(q, (t.y + 1) * a.cta_q);
    a.kv_lens[index] = max(end - begin, 0);
    a.head_indices[index] = h;
    a.batch_indices[index] = index;
    Fa3Item item;
    item.slot = n >= 2 ? slot_base[job.x] + h * n + job.y : -1;
    item.mask_right = L - q - begin;
    item.mask_left = L - q - a.window_left - begin;
    item.flags = (a.causal ? kFa3MaskRight : 0) | (a.window_left >= 0 ? kFa3MaskLeft : 0) |
                 (a.sinks && job.y == 0 ? kFa3AddSink : 0);
    a.items[index] = item;
  }
  // Merge units: (split tile, head).
  for (int32_t i = tid; i < T; i += kThreads) {
    const int32_t n = chunks_of(i);
    if (n < 2) continue;
    const int4 t = a.tiles[i];
    const int32_t q = q_len(t.x);
    for (int32_t h = 0; h < H; ++h) {
      const int32_t u = unit_base[i] * H + h;
      if (u >= a.unit_cap) break;
      a.units[u] = MergeUnit{a.q_indptr[t.x] + t.y * a.cta_q, min(a.cta_q, q - t.y * a.cta_q), h,
                             slot_base[i] + h * n, n};
    }
  }
  if (tid == 0) {
    a.counters->units = min(split_tiles * H, a.unit_cap);
    a.counters->items = N;
  }
}

// ---- FA2 ----------------------------------------------------------------------------------------
// FlashInfer's batch-prefill kernel over (request, tile of cta_q packed (token, group head) rows,
// KV chunk) items on a grid of padded_items per KV head, as FlashInfer's own planner lays them out
// (PrefillSplitQOKVIndptr): one chunk size for every request, in whole pages; unsplit, o_indptr is
// q_indptr; split, request b's partial rows start at o_indptr[b] = sum of q_len * chunks before
// it and query row i merges partial rows merge_indptr[q_indptr[b] + i] .. + chunks.
__global__ void __launch_bounds__(kThreads) fa2_plan_kernel(const Fa2PlanArgs a) {
  __shared__ typename Scan::TempStorage scan_storage;
  __shared__ int32_t s_warp[kWarps];
  __shared__ int32_t s_lo, s_hi;
  const int tid = threadIdx.x;
  const bool ragged = a.last_page_len == nullptr;
  if (ragged) {  // rows as one-token pages
    for (int32_t i = tid; i < a.max_kv_rows; i += kThreads) a.identity_indices[i] = i;
  }
  // FlashInfer's causal kernel counts a tile's keys and its unmasked steps in unsigned
  // arithmetic from kv_len - qo_len, which wraps when a request has more query rows than keys:
  // its rows that keep no key would attend unmasked keys. So the kernel sees request b as two:
  // 2b, the first max(qo_len - kv_len, 0) rows (causal) without keys (o = 0, lse = -inf), and
  // 2b + 1, the other rows with b's keys (qo_len <= kv_len: bottom-right alignment unchanged).
  // The FA3 path's launch takes only the short requests it routes (the others: request 2b holds
  // their rows, 2b + 1 their keys, and neither gets a tile).
  const bool short_only = a.short_requests.packed_rows > 0;
  const bool route = routes_short(a.q_indptr, a.batch_size, a.short_requests);
  const auto takes = [&](int32_t b) {
    return !short_only || (route && is_short(a.q_indptr[b + 1] - a.q_indptr[b], a.short_requests));
  };
  for (int32_t b = tid; b < a.batch_size; b += kThreads) {
    const int32_t rows = max(a.q_indptr[b + 1] - a.q_indptr[b], 0);
    const int32_t keys = kv_len_of(a.kv_indptr, a.last_page_len, a.page_size, b);
    const int32_t keyless = !takes(b) ? rows : a.causal ? min(max(rows - keys, 0), rows) : 0;
    a.split_q_indptr[2 * b] = a.q_indptr[b];
    a.split_q_indptr[2 * b + 1] = a.q_indptr[b] + keyless;
    a.split_kv_indptr[2 * b] = a.kv_indptr[b];
    a.split_kv_indptr[2 * b + 1] = a.kv_indptr[b];
    a.split_last_page_len[2 * b] = 1;
    a.split_last_page_len[2 * b + 1] = ragged ? 1 : a.last_page_len[b];
  }
  if (tid == 0) {
    a.split_q_indptr[2 * a.batch_size] = a.q_indptr[a.batch_size];
    a.split_kv_indptr[2 * a.batch_size] = a.kv_indptr[a.batch_size];
  }
  __syncthreads();
  const int32_t B = 2 * a.batch_size;
  const int32_t* const q_indptr = a.split_q_indptr;
  const int32_t* const kv_indptr = a.split_kv_indptr;
  const int32_t* const last_page_len = a.split_last_page_len;
  const auto q_len = [&](int32_t b) { return max(q_indptr[b + 1] - q_indptr[b], 0); };
  const auto tiles_of = [&](int32_t b) {
    return takes(b / 2) ? ceil_div(q_len(b) * a.group, a.cta_q) : 0;
  };
  const auto pages_of = [&](int32_t b) { return max(kv_indptr[b + 1] - kv_indptr[b], 0); };
  // The longest request (pages), the chunk search's upper bound.
  int32_t local_pages = 0;
  for (int32_t b = tid; b < B; b += kThreads) local_pages = max(local_pages, pages_of(b));
  local_pages = __reduce_max_sync(0xffffffffu, static_cast<unsigned>(local_pages));
  if (tid % 32 == 0) s_warp[tid / 32] = local_pages;
  __syncthreads();
  int32_t longest = 0;
  for (int w = 0; w < kWarps; ++w) longest = max(longest, s_warp[w]);
  __syncthreads();
  // Chunks of request b for a chunk of `pages` pages, as the kernel counts them when it lays out
  // the partial rows: over the keys from the window's start (FlashInfer's
  // min(kv_len, window_left + cta_q) tokens; all of them without a window).
  const auto chunks_for = [&](int32_t b, int32_t pages) {
    if (a.window_left < 0) return ceil_div(pages_of(b), pages);
    const int32_t len = max(kv_len_of(kv_indptr, last_page_len, a.page_size, b), 1);
    return ceil_div(min(len, a.window_left + a.cta_q), pages * a.page_size);
  };
  int32_t chunk_pages = 0;  // 0: no split (the schedule decided from the sizes: allow_split)
  // FlashInfer's kernel lays a split tile's chunks out over min(kv_len, window_left + cta_q) keys,
  // which bounds a tile's keys only with causal: a non-causal window also keeps every key after
  // the query. Such a call keeps the split layout (the kernel was launched for it) with one chunk
  // per request as long as the longest, which covers every key from the tile's window start.
  if (a.allow_split && a.window_left >= 0 && !a.causal) {
    chunk_pages = max(longest, 1);
  } else if (a.allow_split) {
    const auto items = [&](int32_t candidate, int lane) {
      int64_t n = 0;
      for (int32_t b = lane; b < B; b += 32) n += int64_t(tiles_of(b)) * chunks_for(b, candidate);
      return n;
    };
    chunk_pages = smallest_chunk(a.min_chunk_pages, max(longest, a.min_chunk_pages), a.split_items,
                                 items, s_warp, &s_lo, &s_hi);
  }
  const bool split = chunk_pages > 0;
  const auto chunks_of = [&](int32_t b) { return split ? chunks_for(b, chunk_pages) : 1; };
  if (tid == 0) *a.kv_chunk_size = split ? chunk_pages * a.page_size : 0;
  // Items per request (tiles x chunks; a request with no keys has none when split: the merge
  // writes its rows o = 0, lse = -inf), then the item arrays, chunk-major within a tile.
  // o_indptr holds each request's first item until it is rewritten below.
  const int32_t items = scan_into(
      scan_storage, B, [&](int32_t b) { return tiles_of(b) * chunks_of(b); }, a.o_indptr);
  for (int32_t b = tid; b < B; b += kThreads) {
    const int32_t n = chunks_of(b);
    for (int32_t t = 0, at = a.o_indptr[b]; t < tiles_of(b); ++t) {
      for (int32_t c = 0; c < n && at < a.padded_items; ++c, ++at) {
        a.request_indices[at] = b;
        a.qo_tile_indices[at] = t;
        a.kv_tile_indices[at] = c;
        a.valid_mask[at] = true;
      }
    }
  }
  for (int32_t i = items + tid; i < a.padded_items; i += kThreads) {
    a.request_indices[i] = 0;
    a.qo_tile_indices[i] = 0;
    a.kv_tile_indices[i] = 0;
    a.valid_mask[i] = false;
  }
  __syncthreads();
  // o_indptr: partial rows (split) or q_indptr (unsplit); merge_indptr per query row.
  if (!split) {
    for (int32_t b = tid; b <= B; b += kThreads) a.o_indptr[b] = q_indptr[b];
    return;
  }
  const int32_t partial_rows = scan_into(
      scan_storage, B, [&](int32_t b) { return q_len(b) * chunks_of(b); }, a.o_indptr);
  for (int32_t b = tid; b < B; b += kThreads) {
    const int32_t n = chunks_of(b), row0 = q_indptr[b];
    for (int32_t i = 0; i < q_len(b) && row0 + i < a.max_q_rows; ++i) {
      a.merge_indptr[row0 + i] = a.o_indptr[b] + i * n;
    }
  }
  __syncthreads();
  // Rows past the last request (up to max_q_rows) merge nothing.
  const int32_t used = min(q_indptr[B], a.max_q_rows);
  for (int32_t r = used + tid; r <= a.max_q_rows; r += kThreads) a.merge_indptr[r] = partial_rows;
}

constexpr int kSinkRowThreads = 256;

__global__ void __launch_bounds__(kSinkRowThreads)
    sink_lse_of_keyless_rows_kernel(float* lse, const float* sinks, const int32_t* q_indptr,
                                    int32_t batch_size, int32_t max_q_rows, int32_t num_qo_heads) {
  const int64_t i = int64_t(blockIdx.x) * kSinkRowThreads + threadIdx.x;
  const int64_t rows = min(q_indptr[batch_size], max_q_rows);
  if (i >= rows * num_qo_heads) return;
  constexpr float kLog2e = 1.4426950408889634f;
  if (lse[i] == -INFINITY) lse[i] = sinks[i % num_qo_heads] * kLog2e;
}

}  // namespace

cudaError_t launch_sink_lse_of_keyless_rows(float* lse, const float* sinks,
                                            const int32_t* q_indptr, int32_t batch_size,
                                            int32_t max_q_rows, int32_t num_qo_heads,
                                            cudaStream_t stream) {
  const int64_t n = int64_t(max_q_rows) * num_qo_heads;
  if (n == 0) return cudaSuccess;
  return launch_kernel(sink_lse_of_keyless_rows_kernel,
                       dim3(unsigned((n + kSinkRowThreads - 1) / kSinkRowThreads)),
                       dim3(kSinkRowThreads), 0, stream, lse, sinks, q_indptr, batch_size,
                       max_q_rows, num_qo_heads);
}

cudaError_t launch_fa3_planner(const Fa3PlanArgs& args, cudaStream_t stream) {
  return launch_kernel(fa3_plan_kernel, dim3(1), dim3(kThreads), 0, stream, args);
}

cudaError_t launch_fa2_planner(const Fa2PlanArgs& args, cudaStream_t stream) {
  return launch_kernel(fa2_plan_kernel, dim3(1), dim3(kThreads), 0, stream, args);
}

}  // namespace baracuda::flashinfer::prefill
