// Device side of paged-KV append: one 16-byte vector copy per thread, any head count.
// FlashInfer's AppendPagedKVCache{,Decode} kernels use a block of (head_dim/vec, num_heads)
// threads, which cannot launch above 1024 threads (e.g. 128 KV heads at hd128); this kernel
// flattens (token, head, 16-byte chunk) over a grid-stride loop instead, with the same placement
// rule as FlashInfer (page = indices[indptr[b] + pos / P], slot = pos % P, HND pages).
#include <cuda_runtime.h>

#include <algorithm>

#include "append/append_launch.hpp"

namespace baracuda::flashinfer::append {
namespace {

constexpr uint32_t kThreads = 256;
constexpr uint64_t kMaxBlocks = 1u << 20;

// kChunks = 16-byte chunks per (token, head) row; kDecode selects how a token finds its slot.
template <uint32_t kChunks, bool kDecode>
__global__ void __launch_bounds__(kThreads) append_kernel(AppendProblem p) {
  const uint32_t heads = static_cast<uint32_t>(p.num_heads);
  const uint64_t total = uint64_t(p.num_tokens) * heads * kChunks;
  const uint64_t stride = uint64_t(gridDim.x) * kThreads;
  for (uint64_t c = uint64_t(blockIdx.x) * kThreads + threadIdx.x; c < total; c += stride) {
    const uint32_t chunk = static_cast<uint32_t>(c % kChunks);
    const uint32_t row = static_cast<uint32_t>(c / kChunks);  // token * heads + head (< 2^31)
    const uint32_t token = row / heads;
    const uint32_t head = row - token * heads;
    int32_t b, page_in_request, slot;
    if (kDecode) {
      b = static_cast<int32_t>(token);
      const int32_t pages = p.indptr[b + 1] - p.indptr[b];
      const int32_t last = p.last_page_len[b];
      if (pages <= 0 || last < 1 || last > p.page_size) continue;  // nothing valid to write
      page_in_request = pages - 1;
      slot = last - 1;
    } else {
      b = p.batch_indices[token];
      if (b < 0 || b >= p.batch_size) continue;
      const int32_t pos = p.positions[token];
      const int32_t pages = p.indptr[b + 1] - p.indptr[b];
      if (pos < 0 || pages <= 0 || pos / p.page_size >= pages) continue;
      page_in_request = pos / p.page_size;
      slot = pos - page_in_request * p.page_size;
    }
    const int64_t page = p.indices[p.indptr[b] + page_in_request];
    const uint64_t dst =
        ((uint64_t(page) * heads + head) * uint64_t(p.page_size) + slot) * kChunks + chunk;
    const uint64_t src = uint64_t(row) * kChunks + chunk;
    static_cast<uint4*>(p.k_data)[dst] = static_cast<const uint4*>(p.key)[src];
    static_cast<uint4*>(p.v_data)[dst] = static_cast<const uint4*>(p.value)[src];
  }
}

template <uint32_t kChunks>
cudaError_t launch_chunks(const AppendProblem& p, cudaStream_t stream) {
  const uint64_t total = uint64_t(p.num_tokens) * uint64_t(p.num_heads) * kChunks;
  const uint64_t blocks = std::min<uint64_t>((total + kThreads - 1) / kThreads, kMaxBlocks);
  const void* kernel = p.batch_indices == nullptr
                           ? reinterpret_cast<const void*>(append_kernel<kChunks, true>)
                           : reinterpret_cast<const void*>(append_kernel<kChunks, false>);
  AppendProblem args_copy = p;
  void* args[] = {&args_copy};
  return cudaLaunchKernel(kernel, dim3(static_cast<uint32_t>(blocks)), dim3(kThreads), args, 0,
                          stream);
}

}  // namespace

cudaError_t launch_append(const AppendProblem& p, cudaStream_t stream) {
  switch (p.row_bytes) {
    case 128:
      return launch_chunks<8>(p, stream);
    case 256:
      return launch_chunks<16>(p, stream);
    case 512:
      return launch_chunks<32>(p, stream);
    case 1024:
      return launch_chunks<64>(p, stream);
    default:
      return cudaErrorInvalidValue;  // excluded by validation
  }
}

}  // namespace baracuda::flashinfer::append
