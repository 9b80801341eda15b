// On-device split-KV planner: chooses the KV chunk size from the page table in device memory
// and writes FlashInfer's work-item arrays, so _run never copies indptr to the host.
#include <cub/block/block_scan.cuh>

#include "common/launch.cuh"
#include "decode/decode_launch.hpp"

namespace baracuda::flashinfer::decode {
namespace {

constexpr int kPlanThreads = 1024;

__device__ __forceinline__ int32_t ceil_div(int32_t a, int32_t b) { return (a + b - 1) / b; }

// The pages of request b the kernel reads: all of them, or with a window (CUDA cores) those from
// the one holding the first of its last window_left + 1 keys.
__device__ __forceinline__ int32_t pages_read(const PlannerArgs& a, int32_t b) {
  const int32_t pages = a.indptr[b + 1] - a.indptr[b];
  if (a.window_left < 0 || a.window_tile_rows > 0 || pages == 0) return pages;
  const int32_t len = (pages - 1) * a.page_size + a.last_page_len[b];
  return pages - max(len - a.window_left - 1, 0) / a.page_size;
}

// Chunks of `chunk` pages for request b, as the decode kernel counts them.
__device__ __forceinline__ int32_t chunks_of(const PlannerArgs& a, int32_t b, int32_t chunk) {
  if (a.window_left < 0 || a.window_tile_rows == 0) return ceil_div(pages_read(a, b), chunk);
  // FlashInfer's FA2 kernel: over min(kv_len, window_left + its query tile's rows) keys.
  const int32_t pages = a.indptr[b + 1] - a.indptr[b];
  if (pages == 0) return 0;
  const int32_t len = (pages - 1) * a.page_size + a.last_page_len[b];
  return ceil_div(min(len, a.window_left + a.window_tile_rows), chunk * a.page_size);
}

// One block of 32 warps.
//
// Split (args.split): finds the smallest chunk (in pages, >= min_chunk_pages) with
//   qo_tiles * sum_b ceil(pages_b / chunk) <= padded_items
// by a 32-ary search between bounds from the total and the largest request (each warp evaluates
// one candidate per round, so a 2^15-page range takes three rounds rather than fifteen block
// reductions; equal lengths take none or one), then writes one work item per
// (request, query tile, chunk): request_indices, qo_tile_indices, kv_tile_indices, o_indptr (the
// per-request chunk prefix sum: where its partial states go and what the merge reads), the chunk
// size in tokens and the valid mask. Requests with no pages get no item; the merge writes o = 0,
// lse = -inf for them.
// No split (tensor-core path only): one item per (request, query tile), o_indptr[b] = b.
// q_indptr (tensor-core path): b * qo_len (decode: the identity, one query row per request).
// merge_indptr (shared prefix, one request): query row r merges partial rows r*n .. (r+1)*n-1.
__global__ void __launch_bounds__(kPlanThreads) plan_kernel(const PlannerArgs args) {
  using Scan = cub::BlockScan<int32_t, kPlanThreads>;
  constexpr int kWarps = kPlanThreads / 32;
  __shared__ typename Scan::TempStorage scan_storage;
  __shared__ int32_t s_warp_value[kWarps];
  __shared__ long long s_warp_sum[kWarps];
  __shared__ int32_t s_lo, s_hi;
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int32_t batch_size = args.batch_size, tiles = args.qo_tiles;

  if (args.q_indptr != nullptr) {
    for (int32_t b = tid; b <= batch_size; b += kPlanThreads) args.q_indptr[b] = b * args.qo_len;
  }
  if (!args.split) {
    for (int32_t b = tid; b <= batch_size; b += kPlanThreads) args.o_indptr[b] = b;
    if (tid == 0) *args.kv_chunk_tokens = 0;  // read, unused without split
    for (int32_t i = tid; i < args.padded_items; i += kPlanThreads) {
      const bool valid = i < batch_size * tiles;
      args.request_indices[i] = valid ? i / tiles : 0;
      if (args.qo_tile_indices) args.qo_tile_indices[i] = valid ? i % tiles : 0;
      args.kv_tile_indices[i] = 0;
      args.block_valid_mask[i] = valid;
    }
    return;
  }

  // Largest request and all requests together, in pages.
  int32_t local_max = 0;
  long long local_sum = 0;
  for (int32_t b = tid; b < batch_size; b += kPlanThreads) {
    const int32_t pages = pages_read(args, b);
    local_max = max(local_max, pages);
    local_sum += pages;
  }
  local_max = __reduce_max_sync(0xffffffffu, static_cast<unsigned>(local_max));
  for (int offset = 16; offset > 0; offset /= 2)
    local_sum += __shfl_down_sync(0xffffffffu, local_sum, offset);
  if (lane == 0) {
    s_warp_value[warp] = local_max;
    s_warp_sum[warp] = local_sum;
  }
  __syncthreads();
  if (tid == 0) {
    int32_t m = 0;
    long long total = 0;
    for (int w = 0; w < kWarps; ++w) {
      m = max(m, s_warp_value[w]);
      total += s_warp_sum[w];
    }
    const int32_t min_chunk = args.min_chunk_pages;
    int32_t lo = min_chunk;
    int32_t hi = max(m, min_chunk);  // always feasible: one chunk per non-empty request
    // Without the FA2 window count, a request of p pages takes ceil(p / c) chunks, so with
    // K = padded_items / qo_tiles items per tile row: every c < total / K is infeasible, and
    // c = ceil(m / floor(K / batch)) is feasible. The search starts from these bounds (batch 1:
    // they meet, no search round).
    if (args.window_left < 0 || args.window_tile_rows == 0) {
      const int32_t k = max(args.padded_items / tiles, 1);
      const long long lower = (total + k - 1) / k;
      lo = lower >= hi ? hi : max(lo, static_cast<int32_t>(lower));
      const int32_t per_request = k / batch_size;
      if (per_request > 0) hi = min(hi, max(ceil_div(m, per_request), min_chunk));
      lo = min(lo, hi);  // with a valid page table lo <= hi already
    }
    s_lo = lo;
    s_hi = hi;
  }
  __syncthreads();

  // Invariant: hi is feasible and every chunk below lo is not.
  while (s_lo < s_hi) {
    const int32_t lo = s_lo, hi = s_hi;
    const int32_t candidate = lo + static_cast<int32_t>((int64_t(hi - lo) * (warp + 1)) / kWarps);
    int32_t chunks = 0;
    for (int32_t b = lane; b < batch_size; b += 32)
      chunks += chunks_of(args, b, candidate);
    chunks = static_cast<int32_t>(__reduce_add_sync(0xffffffffu, static_cast<unsigned>(chunks)));
    __syncthreads();  // everyone has read s_lo / s_hi
    if (lane == 0)
      s_warp_value[warp] = int64_t(chunks) * tiles <= args.padded_items ? candidate : INT32_MAX;
    __syncthreads();
    if (tid == 0) {
      // Candidates ascend with the warp index; the first feasible one bounds the answer.
      int w = 0;
      while (s_warp_value[w] == INT32_MAX) ++w;  // the last warp evaluates hi: feasible
      const int32_t prev =
          w == 0 ? lo - 1 : lo + static_cast<int32_t>((int64_t(hi - lo) * w) / kWarps);
      s_hi = s_warp_value[w];
      s_lo = max(prev + 1, lo);
    }
    __syncthreads();
  }
  const int32_t chunk_pages = s_lo;

  // Exclusive scan of chunks per request, tile by tile, carrying the running total.
  int32_t carry = 0;
  for (int32_t base = 0; base < batch_size; base += kPlanThreads) {
    const int32_t b = base + tid;
    const int32_t chunks = b < batch_size ? chunks_of(args, b, chunk_pages) : 0;
    int32_t offset, tile_total;
    __syncthreads();
    Scan(scan_storage).ExclusiveSum(chunks, offset, tile_total);
    if (b < batch_size) args.o_indptr[b] = offset + carry;
    carry += tile_total;
  }
  const int32_t total_items = carry * tiles;
  if (tid == 0) {
    args.o_indptr[batch_size] = carry;
    *args.kv_chunk_tokens = chunk_pages * args.page_size;
  }
  if (args.merge_indptr != nullptr) {  // one request: its carry chunks per query row
    for (int32_t r = tid; r <= args.qo_len; r += kPlanThreads) args.merge_indptr[r] = r * carry;
  }
  __syncthreads();  // o_indptr (global) is visible to the whole block after the barrier
  // One item per thread: its request by binary search over tiles * o_indptr. Padded CTAs exit on
  // the mask; they still get in-range indices (never stale workspace).
  const int32_t* __restrict__ o_indptr = args.o_indptr;
  for (int32_t i = tid; i < args.padded_items; i += kPlanThreads) {
    const bool valid = i < total_items;
    int32_t request = 0, qo_tile = 0, kv_tile = 0;
    if (valid) {
      int32_t lo = 0, hi = batch_size - 1;  // last request whose first item <= i
      while (lo < hi) {
        const int32_t mid = (lo + hi + 1) / 2;
        if (o_indptr[mid] * tiles <= i)
          lo = mid;
        else
          hi = mid - 1;
      }
      // Chunk-major: the query tiles of one KV chunk are neighbouring CTAs, so all but the
      // first read that chunk from L2 (a shared prefix has several tiles per chunk).
      const int32_t local = i - o_indptr[lo] * tiles;
      request = lo;
      kv_tile = local / tiles;
      qo_tile = local - kv_tile * tiles;
    }
    args.request_indices[i] = request;
    if (args.qo_tile_indices) args.qo_tile_indices[i] = qo_tile;
    args.kv_tile_indices[i] = kv_tile;
    args.block_valid_mask[i] = valid;
  }
}

}  // namespace

// The constant work-item tables of a single request split without the planner.
struct SingleRequestTables {
  int32_t zeros[kMaxSingleRequestItems + 1];
  int32_t iota[kMaxSingleRequestItems + 1];
  int32_t merge_indptr[kMaxSingleRequestItems + 1][2];  // row n: {0, n}
};
constexpr SingleRequestTables make_single_request_tables() {
  SingleRequestTables t{};
  for (int32_t i = 0; i <= kMaxSingleRequestItems; ++i) {
    t.iota[i] = i;
    t.merge_indptr[i][1] = i;
  }
  return t;
}
__device__ const SingleRequestTables kSingleRequestTables = make_single_request_tables();

cudaError_t launch_planner(const PlannerArgs& args, cudaStream_t stream) {
  return launch_kernel(plan_kernel, dim3(1), dim3(kPlanThreads), 0, stream, args);
}

DecodeBuffers decode_buffers(const DecodeSchedule& sched, void* workspace) {
  DecodeBuffers b{};
  b.split = sched.split;
  b.single_request = sched.single_request;
  b.padded_items = sched.padded_items;
  b.qo_tiles = sched.qo_tiles;
  b.tile_rows = sched.tile_rows;
  b.min_chunk_pages = sched.min_chunk_pages;
  b.chunks = sched.chunks;
  if (sched.workspace == 0) return b;
  char* ws = static_cast<char*>(workspace);
  const DecodeLayout& l = sched.layout;
  if (sched.split) {
    b.tmp_o = ws + l.tmp_o;
    b.tmp_lse = reinterpret_cast<float*>(ws + l.tmp_lse);
  }
  if (!sched.planned) return b;  // batch 1 on CUDA cores: the kernel derives its chunks itself
  const bool tc = sched.path == DecodePath::kTensorCores;
  const auto at = [ws](size_t offset) { return reinterpret_cast<int32_t*>(ws + offset); };
  b.request_indices = at(l.request_indices);
  b.qo_tile_indices = tc ? at(l.qo_tile_indices) : nullptr;
  b.kv_tile_indices = at(l.kv_tile_indices);
  b.o_indptr = at(l.o_indptr);
  b.q_indptr = tc ? at(l.q_indptr) : nullptr;
  // Decode (one row per request): a request's partial rows are its chunks, as o_indptr says.
  b.merge_indptr = sched.qo_len > 1 ? at(l.merge_indptr) : b.o_indptr;
  b.kv_chunk_tokens = at(l.kv_chunk_tokens);
  b.block_valid_mask = reinterpret_cast<bool*>(ws + l.valid_mask);
  return b;
}

Status single_request_tables(const char* fn, DeviceContext& context, DecodeBuffers* b) {
  void* address = nullptr;
  BFI_CHECK(context.symbol_address(fn, &kSingleRequestTables, &address));
  auto* t = static_cast<SingleRequestTables*>(address);
  b->request_indices = t->zeros;
  b->qo_tile_indices = t->zeros;
  b->kv_tile_indices = t->iota;
  b->o_indptr = t->zeros;
  b->q_indptr = t->iota;
  b->merge_indptr = t->merge_indptr[b->padded_items];
  b->kv_chunk_tokens = nullptr;  // the kernel's chunk comes from the length (decode_tc.cuh)
  b->block_valid_mask = nullptr;
  return kSuccess;
}

cudaError_t enqueue_planner(const DecodeSchedule& sched, const DecodeBuffers& b,
                            const DecodeProblem& p, cudaStream_t stream) {
  if (!sched.planned) return cudaSuccess;
  const bool tc = sched.path == DecodePath::kTensorCores;
  const PlannerArgs args{p.indptr,
                         p.last_page_len,
                         p.attn.window_left,
                         tc ? sched.tile_rows : 0,
                         sched.requests,
                         p.page_size,
                         sched.min_chunk_pages,
                         sched.padded_items,
                         sched.qo_tiles,
                         sched.qo_len,
                         sched.split,
                         b.request_indices,
                         b.qo_tile_indices,
                         b.kv_tile_indices,
                         b.o_indptr,
                         b.q_indptr,
                         sched.qo_len > 1 ? b.merge_indptr : nullptr,
                         b.kv_chunk_tokens,
                         b.block_valid_mask};
  return launch_planner(args, stream);
}

}  // namespace baracuda::flashinfer::decode
