// The finalize pass of the attention options (common/attention_finalize.cuh): its arguments, in a
// plain header for the host code that fills them.
#pragma once

#include <cstdint>

namespace baracuda::flashinfer {

struct FinalizeArgs {
  void* o;                // [rows, H, D]
  const float* lse_in;    // [rows, H]: the kernel's lse
  float* lse_out;         // [rows, H] or NULL (may alias lse_in)
  const float* sinks;     // [H] natural-log logits, or NULL
  float v_scale;
  int64_t max_rows;       // the grid covers this many rows ...
  const int32_t* rows;    // ... of which *rows are real (NULL: all)
  int32_t num_heads;
};

}  // namespace baracuda::flashinfer
