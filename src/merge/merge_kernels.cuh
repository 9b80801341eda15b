// Device side of the merge family, also used by decode to combine its split-KV partial states.
// One row kernel built on FlashInfer's state_t (its -inf-safe online-softmax merge), with rows
// flattened over the grid: FlashInfer's MergeStateInPlace / MergeStates (small N) put every head
// of a position in one block of (head_dim/vec, num_heads) threads, which cannot launch above 1024
// threads, and its persistent variable-length merge walks a row's states with one CTA, which is
// slow both for many short rows and for a few long ones. Here a row's states are spread over
// kGroupsPerRow thread groups (chosen from the row count at launch) and combined in shared memory
// by a tree.
// Included by merge_<element>.cu and by the decode instantiation TUs.
#pragma once

#include <cuda_runtime.h>

#include <baracuda/flashinfer.h>
#include <flashinfer/attention/state.cuh>
#include <flashinfer/vec_dtypes.cuh>

#include "common/launch.cuh"
#include "merge/merge_launch.hpp"

namespace baracuda::flashinfer::merge {

namespace fi = ::flashinfer;

// Row-count thresholds of launch_rows_spread.
constexpr uint32_t kVeryFewRows = 256;
constexpr uint32_t kFewRows = 2048;
constexpr uint32_t kManyRows = 32768;

template <typename T, uint32_t HEAD_DIM>
struct RowMergeTraits {
  static constexpr uint32_t kVecSize = std::max<uint32_t>(16 / sizeof(T), HEAD_DIM / 32);
  static constexpr uint32_t kBdx = HEAD_DIM / kVecSize;  // threads per row (<= 32)
  static constexpr uint32_t kThreads = 256;
  static constexpr uint32_t kGroups = kThreads / kBdx;  // thread groups of kBdx per block
  static constexpr uint32_t kWideThreads = 512;         // one row per block, for very few rows
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
  __device__ __forceinline__ float lse(uint32_t row, uint32_t k) const {
    return s[state_row(row, k)];
  }
};

template <typename T, uint32_t HEAD_DIM>
struct VarlenStates {  // position p merges state rows indptr[p] .. indptr[p+1]-1 of v [*, H, D]
  const T* v;
  const float* s;
  const int32_t* indptr;
  uint32_t num_heads;
  __device__ __forceinline__ uint32_t count(uint32_t row) const {
    const uint32_t pos = row / num_heads;
    return static_cast<uint32_t>(indptr[pos + 1] - indptr[pos]);
  }
  __device__ __forceinline__ size_t state_row(uint32_t row, uint32_t k) const {
    const uint32_t pos = row / num_heads, head = row - pos * num_heads;
    return (size_t(indptr[pos]) + k) * num_heads + head;
  }
  __device__ __forceinline__ const T* v_row(uint32_t row, uint32_t k) const {
    return v + state_row(row, k) * HEAD_DIM;
  }
  __device__ __forceinline__ float lse(uint32_t row, uint32_t k) const {
    return s[state_row(row, k)];
  }
};

// Merges the states of each row (float32 math, one rounding to T on the store). A block of
// kThreads threads holds kThreads / kBdx thread groups; group `part` of a row takes states part,
// part + G, part + 2G, ... (G = kGroupsPerRow), kBatch loads in flight at a time (the loop is
// latency-bound), and the row's G partial states are then combined in shared memory by a tree
// (log2 G levels). v_out may alias the first state (in place, G = 1): each thread reads its slice
// before writing it.
template <typename T, uint32_t HEAD_DIM, uint32_t kGroupsPerRow, uint32_t kThreads, typename States>
__global__ void __launch_bounds__(kThreads)
    merge_rows_kernel(States states, uint32_t num_rows, T* v_out, float* s_out) {
  using Tr = RowMergeTraits<T, HEAD_DIM>;
  constexpr uint32_t kVec = Tr::kVecSize;
  constexpr uint32_t kGroups = kThreads / Tr::kBdx;
  constexpr uint32_t kRowsPerBlock = kGroups / kGroupsPerRow;
  static_assert(kGroups % kGroupsPerRow == 0, "groups per row must divide the block");
  static_assert((kGroupsPerRow & (kGroupsPerRow - 1)) == 0, "the combine tree needs 2^n groups");
  const uint32_t tx = threadIdx.x % Tr::kBdx, group = threadIdx.x / Tr::kBdx;
  const uint32_t part = group % kGroupsPerRow;
  const uint32_t row = blockIdx.x * kRowsPerBlock + group / kGroupsPerRow;
  const bool active = row < num_rows;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  // The states may come from the kernel before this one (MergeProblem::after_kernel): wait until
  // it has completed and its writes are visible. Without the programmatic launch: a no-op.
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
  fi::state_t<kVec> st;
  if (active) {
    const uint32_t n = states.count(row);
    constexpr uint32_t kBatch = 4;
    for (uint32_t k = part; k < n; k += kBatch * kGroupsPerRow) {
      fi::vec_t<float, kVec> v[kBatch];
      float s[kBatch];
      // Past the row's end the index is clamped to its last state (a cached re-read) instead of
      // predicating the loads, which the compiler then issued one after another (measured:
      // merge_states N = 8 fell from 0.96 to 0.80 of copy bandwidth).
#pragma unroll
      for (uint32_t j = 0; j < kBatch; ++j) {
        const uint32_t kj = min(k + j * kGroupsPerRow, n - 1);
        v[j].cast_load(states.v_row(row, kj) + tx * kVec);
        s[j] = states.lse(row, kj);
      }
#pragma unroll
      for (uint32_t j = 0; j < kBatch; ++j) {
        if (k + j * kGroupsPerRow < n) st.merge(v[j], s[j], 1.f);
      }
    }
  }
  if constexpr (kGroupsPerRow > 1) {
    __shared__ alignas(16) float smem_o[kGroups][HEAD_DIM];
    __shared__ float smem_md[kGroups][2];
    st.o.store(&smem_o[group][tx * kVec]);
    if (tx == 0) {
      smem_md[group][0] = st.m;
      smem_md[group][1] = st.d;
    }
    __syncthreads();
    // Level `stride`: groups part < stride fold in group part + stride (reads and writes of one
    // level touch disjoint groups).
#pragma unroll
    for (uint32_t stride = kGroupsPerRow / 2; stride > 0; stride /= 2) {
      if (part < stride) {
        fi::vec_t<float, kVec> o;
        o.load(&smem_o[group + stride][tx * kVec]);
        st.merge(o, smem_md[group + stride][0], smem_md[group + stride][1]);
        if (stride > 1) {
          st.o.store(&smem_o[group][tx * kVec]);
          if (tx == 0) {
            smem_md[group][0] = st.m;
            smem_md[group][1] = st.d;
          }
        }
      }
      __syncthreads();
    }
    if (part != 0) return;
  }
  if (!active) return;
  st.normalize();
  st.o.cast_store(v_out + size_t(row) * HEAD_DIM + tx * kVec);
  if (s_out != nullptr && tx == 0) s_out[row] = st.get_lse();
}

template <typename T, uint32_t HEAD_DIM, uint32_t kGroupsPerRow,
          uint32_t kThreads = RowMergeTraits<T, HEAD_DIM>::kThreads, typename States>
cudaError_t launch_rows_with(const States& states, uint32_t num_rows, void* v_out_ptr, float* s_out,
                             bool after_kernel, cudaStream_t stream) {
  using Tr = RowMergeTraits<T, HEAD_DIM>;
  constexpr uint32_t kRowsPerBlock = kThreads / Tr::kBdx / kGroupsPerRow;
  const uint32_t blocks = (num_rows + kRowsPerBlock - 1) / kRowsPerBlock;
  return launch_kernel(merge_rows_kernel<T, HEAD_DIM, kGroupsPerRow, kThreads, States>,
                       dim3(blocks), dim3(kThreads), 0, stream,
                       LaunchOptions{/*programmatic=*/after_kernel}, states, num_rows,
                       static_cast<T*>(v_out_ptr), s_out);
}

// Rows of exactly two states (in place): one thread group per row.
template <typename T, uint32_t HEAD_DIM, typename States>
cudaError_t launch_rows(const States& states, const MergeProblem& p, cudaStream_t stream) {
  const uint32_t num_rows = static_cast<uint32_t>(p.seq_len) * static_cast<uint32_t>(p.num_heads);
  return launch_rows_with<T, HEAD_DIM, 1>(states, num_rows, p.v_out, p.s_out, p.after_kernel, stream);
}

// Rows whose state count is unknown on the host or may be large (stacked, variable-length): the
// spread over thread groups is chosen from the row count alone: few rows (a small batch split into
// many chunks) get a whole block each, many rows (many short lists) one thread group each.
template <typename T, uint32_t HEAD_DIM, typename States>
cudaError_t launch_rows_spread(const States& states, const MergeProblem& p, cudaStream_t stream) {
  using Tr = RowMergeTraits<T, HEAD_DIM>;
  const uint32_t num_rows = static_cast<uint32_t>(p.seq_len) * static_cast<uint32_t>(p.num_heads);
  if (num_rows < kVeryFewRows) {  // e.g. batch-1 decode: 32 heads x ~130 chunks
    constexpr uint32_t kWide = Tr::kWideThreads / Tr::kBdx;
    return launch_rows_with<T, HEAD_DIM, kWide, Tr::kWideThreads>(states, num_rows, p.v_out,
                                                                  p.s_out, p.after_kernel, stream);
  }
  if (num_rows < kFewRows) {
    return launch_rows_with<T, HEAD_DIM, Tr::kGroups>(states, num_rows, p.v_out, p.s_out, p.after_kernel, stream);
  }
  if (num_rows < kManyRows) {
    return launch_rows_with<T, HEAD_DIM, 4>(states, num_rows, p.v_out, p.s_out, p.after_kernel, stream);
  }
  return launch_rows_with<T, HEAD_DIM, 1>(states, num_rows, p.v_out, p.s_out, p.after_kernel, stream);
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
  return launch_rows_spread<T, HEAD_DIM>(states, p, stream);
}

template <typename T, uint32_t HEAD_DIM>
cudaError_t launch_varlen(const MergeProblem& p, cudaStream_t stream) {
  const VarlenStates<T, HEAD_DIM> states{static_cast<const T*>(p.v), p.s, p.indptr,
                                         static_cast<uint32_t>(p.num_heads)};
  return launch_rows_spread<T, HEAD_DIM>(states, p, stream);
}

template <typename T, uint32_t HEAD_DIM>
MergeVariant make_merge_variant(int32_t element) {
  return MergeVariant{element, static_cast<int32_t>(HEAD_DIM), &launch_in_place<T, HEAD_DIM>,
                      &launch_stacked<T, HEAD_DIM>, &launch_varlen<T, HEAD_DIM>};
}

}  // namespace baracuda::flashinfer::merge

// The body of merge_<NAME>.cu: the compiled head dims of one element type.
#define BFI_MERGE_INSTANCE(NAME, DTYPE, ELEMENT)                                           \
  namespace baracuda::flashinfer::merge {                                                  \
  extern const MergeVariant kMergeVariants_##NAME[3];                                      \
  const MergeVariant kMergeVariants_##NAME[3] = {make_merge_variant<DTYPE, 64>(ELEMENT),   \
                                                 make_merge_variant<DTYPE, 128>(ELEMENT),  \
                                                 make_merge_variant<DTYPE, 256>(ELEMENT)}; \
  }
