// The attention variant of FlashInfer's FA2 prefill and CUDA-core decode kernels with the logits
// soft-cap and the sliding window as run-time values (FlashInfer's DefaultAttention makes each a
// template flag, which would multiply every instantiation by four): the kernels read the window
// from `window_left` (FA2 also skips the keys before it) and call LogitsMask on the tiles it cuts.
// Reads params.logits_soft_cap (0: off), params.sm_scale and params.window_left (-1: none).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include <flashinfer/attention/variant_helper.cuh>
#include <flashinfer/attention/variants.cuh>
#include <flashinfer/math.cuh>

namespace baracuda::flashinfer {

struct RuntimeAttention : ::flashinfer::AttentionVariantBase {
  static constexpr bool use_softmax = true;

  uint32_t qo_len, kv_len;
  uint32_t window_left;
  float sm_scale_log2;
  float soft_cap_pre_tanh_scale;
  bool soft_cap;

  template <typename Params>
  __device__ __host__ RuntimeAttention(const Params& params, uint32_t batch_idx, uint8_t*) {
    qo_len = params.get_qo_len(batch_idx);
    kv_len = params.get_kv_len(batch_idx);
    soft_cap = params.logits_soft_cap > 0.f;
    // cap * tanh(sm_scale * s / cap), then exp2 of that times log2(e).
    soft_cap_pre_tanh_scale = soft_cap ? params.sm_scale / params.logits_soft_cap : 0.f;
    sm_scale_log2 =
        (soft_cap ? params.logits_soft_cap : params.sm_scale) * ::flashinfer::math::log2e;
    window_left = params.window_left >= 0 ? uint32_t(params.window_left) : kv_len;
  }

  REGISTER_LOGITS_TRANSFORM(params, logits, batch_idx, qo_idx, kv_idx, qo_head_idx, kv_head_idx, {
    if (soft_cap) logits = float(::flashinfer::math::tanh(logits * soft_cap_pre_tanh_scale));
    return logits;
  })

  // The window: query qo_idx keeps key kv_idx when kv_idx + qo_len + window_left >=
  // kv_len + qo_idx (always true without a window: window_left = kv_len).
  REGISTER_LOGITS_MASK(params, batch_idx, qo_idx, kv_idx, qo_head_idx, kv_head_idx,
                       { return kv_idx + qo_len + window_left >= kv_len + qo_idx; })
};

// The same logits with the window and the soft-cap off at compile time: the kernels of calls whose
// options have neither (AttentionVariant::plain_logits).
using PlainAttention = ::flashinfer::DefaultAttention</*custom_mask=*/false, /*sliding_window=*/false,
                                                    /*soft_cap=*/false, /*alibi=*/false>;

}  // namespace baracuda::flashinfer
