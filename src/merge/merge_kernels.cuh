// Device side of the merge family. In-place and stacked merges use one row kernel built on
// FlashInfer's state_t (its -inf-safe online-softmax merge), with rows flattened over the grid:
// FlashInfer's MergeStateInPlace / MergeStates (small N) put every head of a position in one
// block of (head_dim/vec, num_heads) threads, which cannot launch above 1024 threads.
// The variable-length merge is FlashInfer's persistent kernel, launched directly (the traits are
// the ones decode uses for its split-KV merge). Included only by merge_<element>.cu.
#pragma once

#include <cuda_runtime.h>

#include <flashinfer/attention/cascade.cuh>

#include "decode/decode_kernels.cuh"
#include "merge/merge_launch.hpp"

namespace baracuda::flashinfer::merge {

namespace fi = ::flashinfer;

template <typename T, uint32_t HEAD_DIM>
struct RowMergeTraits {
  static constexpr uint32_t kVecSize = std::max<uint32_t>(16 / sizeof(T), HEAD_DIM / 32);
  static constexpr uint32_t kBdx = HEAD_DIM / kVecSize;  // threads per row (<= 32)
  static constexpr uint32_t kThreads = 256;
  static constexpr uint32_t kRowsPerBlock = kThreads / kBdx;
};

// Where state k of a row lives.
template <typename T, uint32_t HEAD_DIM>
struct PairStates {  // in place: k = 0 is (v, s), k = 1 is (v_other, s_other)
  const T* v;
  const float* s;
  const T* v_other;
  const float* s_other;
  __device__ __forceinline__ uint32_t count(uint32_t) const { return 2; }
  __device__ __forceinline__ const T* v_row(uint32_t row, uint32_t k) const {
    return (k == 0 ? v : v_other) + size_t(row) * HEAD_DIM;
  }
  __device__ __forceinline__ float lse(uint32_t row, uint32_t k) const {
    return (k == 0 ? s : s_other)[row];
  }
};

template <typename T, uint32_t HEAD_DIM>
struct StackedStates {  // v [seq_len, n, H, D], s [seq_len, n, H]
  const T* v;
  const float* s;
  uint32_t n, num_heads;
  __device__ __forceinline__ uint32_t count(uint32_t) const { return n; }
  __device__ __forceinline__ size_t state_row(uint32_t row, uint32_t k) const {
    const uint32_t pos = row / num_heads, head = row - pos * num_heads;
    return (size_t(pos) * n + k) * num_heads + head;
  }
  __device__ __forceinline__ const T* v_row(uint32_t row, uint32_t k) const {
    return v + state_row(row, k) * HEAD_DIM;
  }
  __device__ __forceinline__ float lse(uint32_t row, uint32_t k) const { return s[state_row(row, k)]; }
};

// Merges the states of each row (float32 math, one rounding to T on the store). Loads are issued
// four states at a time so the bandwidth-bound loop keeps several requests in flight. v_out may
// alias the first state (in place): each thread reads its slice before writing it.
template <typename T, uint32_t HEAD_DIM, typename States>
__global__ void __launch_bounds__(RowMergeTraits<T, HEAD_DIM>::kThreads)
    merge_rows_kernel(States states, uint32_t num_rows, T* v_out, float* s_out) {
  using Tr = RowMergeTraits<T, HEAD_DIM>;
  constexpr uint32_t kVec = Tr::kVecSize;
  const uint32_t tx = threadIdx.x % Tr::kBdx;
  const uint32_t row = blockIdx.x * Tr::kRowsPerBlock + threadIdx.x / Tr::kBdx;
  if (row >= num_rows) return;
  const uint32_t n = states.count(row);
  fi::state_t<kVec> st;
  uint32_t k = 0;
  constexpr uint32_t kBatch = 4;
  for (; k + kBatch <= n; k += kBatch) {
    fi::vec_t<float, kVec> v[kBatch];
    float s[kBatch];
#pragma unroll
    for (uint32_t j = 0; j < kBatch; ++j) {
      v[j].cast_load(states.v_row(row, k + j) + tx * kVec);
      s[j] = states.lse(row, k + j);
    }
#pragma unroll
    for (uint32_t j = 0; j < kBatch; ++j) st.merge(v[j], s[j], 1.f);
  }
  for (; k < n; ++k) {
    fi::vec_t<float, kVec> v;
    v.cast_load(states.v_row(row, k) + tx * kVec);
    st.merge(v, states.lse(row, k), 1.f);
  }
  st.normalize();
  st.o.cast_store(v_out + size_t(row) * HEAD_DIM + tx * kVec);
  if (s_out != nullptr && tx == 0) s_out[row] = st.get_lse();
}

template <typename T, uint32_t HEAD_DIM, typename States>
cudaError_t launch_rows(const States& states, const MergeProblem& p, cudaStream_t stream) {
  using Tr = RowMergeTraits<T, HEAD_DIM>;
  uint32_t num_rows = static_cast<uint32_t>(p.seq_len) * static_cast<uint32_t>(p.num_heads);
  const uint32_t blocks = (num_rows + Tr::kRowsPerBlock - 1) / Tr::kRowsPerBlock;
  States states_arg = states;
  T* v_out = static_cast<T*>(p.v_out);
  float* s_out = p.s_out;
  void* args[] = {&states_arg, &num_rows, &v_out, &s_out};
  return cudaLaunchKernel(reinterpret_cast<const void*>(merge_rows_kernel<T, HEAD_DIM, States>),
                          dim3(blocks), dim3(Tr::kThreads), args, 0, stream);
}

template <typename T, uint32_t HEAD_DIM>
cudaError_t launch_in_place(const MergeProblem& p, cudaStream_t stream) {
  const PairStates<T, HEAD_DIM> states{static_cast<const T*>(p.v), p.s,
                                       static_cast<const T*>(p.v_other), p.s_other};
  return launch_rows<T, HEAD_DIM>(states, p, stream);
}

template <typename T, uint32_t HEAD_DIM>
cudaError_t launch_stacked(const MergeProblem& p, cudaStream_t stream) {
  const StackedStates<T, HEAD_DIM> states{static_cast<const T*>(p.v), p.s,
                                          static_cast<uint32_t>(p.num_states),
                                          static_cast<uint32_t>(p.num_heads)};
  return launch_rows<T, HEAD_DIM>(states, p, stream);
}

template <typename T, uint32_t HEAD_DIM>
cudaError_t launch_varlen(const MergeProblem& p, uint32_t ctas, cudaStream_t stream) {
  using M = decode::MergeKernelTraits<T, HEAD_DIM>;
  T* v = static_cast<T*>(const_cast<void*>(p.v));
  float* s = const_cast<float*>(p.s);
  int32_t* indptr = const_cast<int32_t*>(p.indptr);
  T* v_out = static_cast<T*>(p.v_out);
  float* s_out = p.s_out;
  uint32_t rows = static_cast<uint32_t>(p.seq_len);
  uint32_t* rows_ptr = nullptr;
  uint32_t heads = static_cast<uint32_t>(p.num_heads);
  void* args[] = {&v, &s, &indptr, &v_out, &s_out, &rows, &rows_ptr, &heads};
  return cudaLaunchKernel(reinterpret_cast<const void*>(M::kernel), dim3(ctas),
                          dim3(M::kBdx, M::kBdy), args, M::kSmem, stream);
}

template <typename T, uint32_t HEAD_DIM>
MergeVariant make_merge_variant(int32_t element) {
  return MergeVariant{element, static_cast<int32_t>(HEAD_DIM),
                      decode::kernel_info<decode::MergeKernelTraits<T, HEAD_DIM>>(),
                      &launch_in_place<T, HEAD_DIM>, &launch_stacked<T, HEAD_DIM>,
                      &launch_varlen<T, HEAD_DIM>};
}

}  // namespace baracuda::flashinfer::merge

// The body of merge_<NAME>.cu: the compiled head dims of one element type.
#define BFI_MERGE_INSTANCE(NAME, DTYPE, ELEMENT)                                       \
  namespace baracuda::flashinfer::merge {                                              \
  extern const MergeVariant kMergeVariants_##NAME[3];                                  \
  const MergeVariant kMergeVariants_##NAME[3] = {make_merge_variant<DTYPE, 64>(ELEMENT),  \
                                                 make_merge_variant<DTYPE, 128>(ELEMENT), \
                                                 make_merge_variant<DTYPE, 256>(ELEMENT)}; \
  }
