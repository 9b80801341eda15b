// The versioned attention options of the C ABI (baracuda_flashinfer_attention_options): their
// defaults, reading a caller's struct of any known version, and each field's domain.
#pragma once

#include <baracuda/flashinfer.h>

#include "common/status.hpp"

namespace baracuda::flashinfer {

baracuda_flashinfer_attention_options default_attention_options();

// *out: the caller's options over the defaults (NULL: the defaults), then every field checked
// against its domain (status 2 naming the field). `known_flags`: the flags the family takes.
Status read_attention_options(const char* fn, const baracuda_flashinfer_attention_options* in,
                              int32_t known_flags, baracuda_flashinfer_attention_options* out);

}  // namespace baracuda::flashinfer

namespace baracuda::flashinfer {

// The options as the kernels take them (validated, defaults resolved).
struct AttentionVariant {
  int32_t window_left = -1;       // -1: none
  float logits_soft_cap = 0.f;    // 0: off
  float k_scale = 1.f, v_scale = 1.f;
  const float* sinks = nullptr;   // [Hq] on the device, or NULL
  bool nhd = false;               // paged K/V as [pages, page_size, Hkv, D]
  // No window mask and no soft-cap: a kernel with both off at compile time serves the call.
  bool plain_logits() const { return window_left < 0 && logits_soft_cap == 0.f; }
  bool plain() const {
    return window_left < 0 && logits_soft_cap == 0.f && k_scale == 1.f && v_scale == 1.f &&
           sinks == nullptr && !nhd;
  }
};

AttentionVariant attention_variant(const baracuda_flashinfer_attention_options& o);

}  // namespace baracuda::flashinfer
