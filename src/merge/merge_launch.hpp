// Host-visible description of one attention-state merge and of the compiled configurations.
// Plain C++: included by the C-ABI layer (host compiler) and by the CUDA instantiation TUs.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace baracuda::flashinfer::merge {

// One merge call; rows are (position, head) pairs, num_rows = seq_len * num_heads.
//   in place:  states (v, s) and (v_other, s_other), result written over (v, s)
//   stacked:   num_states states per position, v [seq_len, num_states, H, D]
//   varlen:    position p merges state rows indptr[p] .. indptr[p+1]-1, v [rows, H, D]
struct MergeProblem {
  int32_t num_states, seq_len, num_heads;
  const void* v;
  const float* s;
  const void* v_other;
  const float* s_other;
  const int32_t* indptr;
  void* v_out;
  float* s_out;  // may be nullptr (not written), except in place
  // Launched as a programmatic dependent of the kernel before it in the stream (decode's own
  // merges, after a kernel that triggers its dependents as it ends): the merge's launch overlaps
  // that kernel's last CTAs; the kernel waits on griddepcontrol before it reads a state.
  bool after_kernel = false;
};

// One compiled (element, head_dim): its launchers.
struct MergeVariant {
  int32_t element;
  int32_t head_dim;
  cudaError_t (*in_place)(const MergeProblem&, cudaStream_t);
  cudaError_t (*stacked)(const MergeProblem&, cudaStream_t);
  cudaError_t (*varlen)(const MergeProblem&, cudaStream_t);
};

// The variant for (element, head_dim); nullptr if not compiled (merge_table.cpp).
const MergeVariant* find_merge_variant(int32_t element, int32_t head_dim);

}  // namespace baracuda::flashinfer::merge
