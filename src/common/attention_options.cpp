#include "common/attention_options.hpp"

#include <cmath>
#include <cstring>

namespace baracuda::flashinfer {
namespace {
bool finite_positive(float x) { return x > 0.f && std::isfinite(x); }
constexpr int32_t kWindowKeepsAll = int32_t(1) << 30;
}  // namespace

baracuda_flashinfer_attention_options default_attention_options() {
  baracuda_flashinfer_attention_options o{};
  o.struct_size = sizeof(o);
  o.kv_layout = BARACUDA_FLASHINFER_KV_LAYOUT_HND;
  o.window_left = -1;
  o.logits_soft_cap = 0.f;
  o.k_scale = 1.f;
  o.v_scale = 1.f;
  o.sinks = nullptr;
  o.flags = 0;
  o.reserved = 0;
  return o;
}

Status read_attention_options(const char* fn, const baracuda_flashinfer_attention_options* in,
                              int32_t known_flags, baracuda_flashinfer_attention_options* out) {
  *out = default_attention_options();
  if (in == nullptr) return kSuccess;
  // The first version is the only one: a struct_size below it is no version this library knows.
  if (in->struct_size < sizeof(baracuda_flashinfer_attention_options)) {
    return fail(kInvalid,
                "%s: options->struct_size %zu is not a size this library knows (%zu); fill the "
                "struct with baracuda_kernels_flashinfer_attention_options_init",
                fn, in->struct_size, sizeof(baracuda_flashinfer_attention_options));
  }
  std::memcpy(static_cast<void*>(out), in, sizeof(*out));
  out->struct_size = sizeof(*out);
  const baracuda_flashinfer_attention_options& o = *out;
  if (o.kv_layout != BARACUDA_FLASHINFER_KV_LAYOUT_HND &&
      o.kv_layout != BARACUDA_FLASHINFER_KV_LAYOUT_NHD) {
    return fail(kInvalid, "%s: options->kv_layout must be HND (0) or NHD (1) (got %d)", fn,
                o.kv_layout);
  }
  if (o.window_left < -1) {
    return fail(kInvalid, "%s: options->window_left must be -1 (no window) or >= 0 (got %d)", fn,
                o.window_left);
  }
  if (!(o.logits_soft_cap >= 0.f) || !std::isfinite(o.logits_soft_cap)) {
    return fail(kInvalid,
                "%s: options->logits_soft_cap must be 0 (off) or positive and finite (got %g)", fn,
                static_cast<double>(o.logits_soft_cap));
  }
  if (!finite_positive(o.k_scale)) {
    return fail(kInvalid, "%s: options->k_scale must be positive and finite (got %g)", fn,
                static_cast<double>(o.k_scale));
  }
  if (!finite_positive(o.v_scale)) {
    return fail(kInvalid, "%s: options->v_scale must be positive and finite (got %g)", fn,
                static_cast<double>(o.v_scale));
  }
  if ((o.flags & ~known_flags) != 0) {
    return fail(kInvalid, "%s: options->flags 0x%x has unknown bits (known: 0x%x)", fn, o.flags,
                known_flags);
  }
  if (o.reserved != 0) {
    return fail(kInvalid, "%s: options->reserved must be 0 (got %d)", fn, o.reserved);
  }
  // A window of 2^30 keys or more keeps every key of any cache a GPU holds, and larger values
  // would overflow FlashInfer's 32-bit window arithmetic (window_left + cta_q): no window.
  if (out->window_left >= kWindowKeepsAll) out->window_left = -1;
  return kSuccess;
}

}  // namespace baracuda::flashinfer

namespace baracuda::flashinfer {

AttentionVariant attention_variant(const baracuda_flashinfer_attention_options& o) {
  AttentionVariant v;
  v.window_left = o.window_left;
  v.logits_soft_cap = o.logits_soft_cap;
  v.k_scale = o.k_scale;
  v.v_scale = o.v_scale;
  v.sinks = o.sinks;
  v.nhd = o.kv_layout == BARACUDA_FLASHINFER_KV_LAYOUT_NHD;
  return v;
}

}  // namespace baracuda::flashinfer
