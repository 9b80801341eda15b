// On-device split-KV planner: chooses the KV chunk size from the page table in device memory
// and writes FlashInfer's work-item arrays, so _run never copies indptr to the host.
#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>

#include "decode/decode_launch.hpp"

namespace baracuda::flashinfer::decode {
namespace {

constexpr int kPlanThreads = 1024;

__device__ __forceinline__ int32_t pages_of(const int32_t* indptr, int32_t b) {
  return indptr[b + 1] - indptr[b];
}

__device__ __forceinline__ int32_t ceil_div(int32_t a, int32_t b) { return (a + b - 1) / b; }

// One block. Finds the smallest chunk (in pages, >= min_chunk_pages) with
//   sum_b ceil(pages_b / chunk) <= padded_items,
// then writes one work item per (request, chunk): request_indices, kv_tile_indices, o_indptr
// (the per-request item prefix sum the merge reads), the chunk size in tokens and the valid mask.
// Requests with no pages get no item; the merge writes o = 0, lse = -inf for them.
__global__ void __launch_bounds__(kPlanThreads)
    plan_split_kernel(const int32_t* __restrict__ indptr, int32_t batch_size, int32_t page_size,
                      int32_t min_chunk_pages, int32_t padded_items,
                      int32_t* __restrict__ request_indices, int32_t* __restrict__ kv_tile_indices,
                      int32_t* __restrict__ o_indptr, int32_t* __restrict__ kv_chunk_tokens,
                      bool* __restrict__ block_valid_mask) {
  using Reduce = cub::BlockReduce<int32_t, kPlanThreads>;
  using Scan = cub::BlockScan<int32_t, kPlanThreads>;
  __shared__ union {
    typename Reduce::TempStorage reduce;
    typename Scan::TempStorage scan;
  } temp;
  __shared__ int32_t s_value;
  const int tid = threadIdx.x;

  int32_t local_max = 0;
  for (int32_t b = tid; b < batch_size; b += kPlanThreads) local_max = max(local_max, pages_of(indptr, b));
  int32_t max_pages = Reduce(temp.reduce).Reduce(local_max, cuda::maximum<>{});
  if (tid == 0) s_value = max_pages;
  __syncthreads();
  max_pages = s_value;

  // Binary search: `hi` always satisfies the bound (one item per non-empty request <= batch).
  int32_t lo = min_chunk_pages, hi = max(max_pages, min_chunk_pages);
  while (lo < hi) {
    const int32_t mid = lo + (hi - lo) / 2;
    int32_t local = 0;
    for (int32_t b = tid; b < batch_size; b += kPlanThreads) local += ceil_div(pages_of(indptr, b), mid);
    __syncthreads();  // temp.reduce and s_value are reused
    const int32_t total = Reduce(temp.reduce).Sum(local);
    if (tid == 0) s_value = total;
    __syncthreads();
    if (s_value <= padded_items) hi = mid; else lo = mid + 1;
  }
  const int32_t chunk_pages = lo;

  // Exclusive scan of items per request, tile by tile, carrying the running total.
  int32_t carry = 0;
  for (int32_t base = 0; base < batch_size; base += kPlanThreads) {
    const int32_t b = base + tid;
    const int32_t items = b < batch_size ? ceil_div(pages_of(indptr, b), chunk_pages) : 0;
    int32_t offset, tile_total;
    __syncthreads();
    Scan(temp.scan).ExclusiveSum(items, offset, tile_total);
    offset += carry;
    if (b < batch_size) {
      o_indptr[b] = offset;
      for (int32_t t = 0; t < items; ++t) {
        request_indices[offset + t] = b;
        kv_tile_indices[offset + t] = t;
      }
    }
    carry += tile_total;
  }
  const int32_t total_items = carry;
  if (tid == 0) {
    o_indptr[batch_size] = total_items;
    *kv_chunk_tokens = chunk_pages * page_size;
  }
  // Padded CTAs exit on the mask; give them in-range indices too (never stale workspace).
  for (int32_t i = tid; i < padded_items; i += kPlanThreads) {
    block_valid_mask[i] = i < total_items;
    if (i >= total_items) {
      request_indices[i] = 0;
      kv_tile_indices[i] = 0;
    }
  }
}

}  // namespace

KernelInfo plan_kernel_info() {
  return KernelInfo{reinterpret_cast<const void*>(plan_split_kernel), kPlanThreads, 0};
}

cudaError_t launch_plan(const int32_t* indptr, int32_t batch_size, int32_t page_size,
                        int32_t min_chunk_pages, const DecodeSchedule& s, cudaStream_t stream) {
  void* args[] = {&indptr,           &batch_size,          &page_size,
                  &min_chunk_pages,  const_cast<int32_t*>(&s.padded_items),
                  const_cast<int32_t**>(&s.request_indices),
                  const_cast<int32_t**>(&s.kv_tile_indices),
                  const_cast<int32_t**>(&s.o_indptr),
                  const_cast<int32_t**>(&s.kv_chunk_tokens),
                  const_cast<bool**>(&s.block_valid_mask)};
  return cudaLaunchKernel(reinterpret_cast<const void*>(plan_split_kernel), dim3(1),
                          dim3(kPlanThreads), args, 0, stream);
}

}  // namespace baracuda::flashinfer::decode
