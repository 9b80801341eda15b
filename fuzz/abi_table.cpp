// The table of exported functions the ABI fuzzer calls. Every symbol of abi/exports.txt appears
// in at least one entry (the fuzzer refuses to start otherwise). To add a function, add one
// entry: its _can_implement as `first`, its _run (or _ex, _get_workspace_size, or a per-dtype
// _can_implement that must agree) as `second`, the roles of `second`'s parameters (abi_check.hpp)
// and, where the header documents them, the limits and the supported range of `first`.
#include <cmath>
#include <cstring>
#include <limits>

#include "abi_check.hpp"

namespace bfi_fuzz {
namespace {

constexpr int64_t kMaxBatch = int64_t(1) << 20;
constexpr int64_t kMaxSamplingElements = int64_t(1) << 32;

bool head_dim_documented(int32_t d) {
  return d == 64 || d == 128 || d == 256;
}
bool sm_scale_valid(float s) {
  return s > 0.f && std::isfinite(s);
}
bool probability_valid(float p) {
  return p > 0.f && p <= 1.f;
}

// Paged decode, "Supported: D in {64, 128, 256}; any P >= 1; any Hq, Hkv with Hq % Hkv == 0 and
// Hq <= 1024; 1 <= B <= 2^20".
struct DecodeSizes {
  int32_t batch, page_size, head_dim, qo_heads, kv_heads;
};
bool decode_exceeds(const DecodeSizes& s) {
  return s.batch > kMaxBatch || s.qo_heads > 1024 || !head_dim_documented(s.head_dim);
}
bool decode_supported(const DecodeSizes& s) {
  return s.batch >= 1 && s.page_size >= 1 && s.qo_heads >= 1 && s.kv_heads >= 1 &&
         s.qo_heads % s.kv_heads == 0 && !decode_exceeds(s);
}
bool element_valid(int32_t e) {
  return e >= BARACUDA_FLASHINFER_F16 && e <= BARACUDA_FLASHINFER_BF16_E5M2;
}
bool shared_prefix_element(int32_t e) {
  return e == BARACUDA_FLASHINFER_F16 || e == BARACUDA_FLASHINFER_BF16;
}
// Per-dtype order (batch, page_size, head_dim, Hq, Hkv, sm_scale).
DecodeSizes per_dtype_sizes(const Args& a) {
  return {a.i(0), a.i(1), a.i(2), a.i(3), a.i(4)};
}
// Family order (batch, Hq, Hkv, head_dim, page_size, element).
DecodeSizes family_sizes(const Args& a) {
  return {a.i(0), a.i(4), a.i(3), a.i(1), a.i(2)};
}
// run_with_can_implement order (element, flags, batch, page_size, head_dim, Hq, Hkv).
DecodeSizes run_with_sizes(const Args& a) {
  return {a.i(2), a.i(3), a.i(4), a.i(5), a.i(6)};
}
bool flags_valid(int32_t flags, int32_t element) {
  const int32_t cuda = BARACUDA_FLASHINFER_DECODE_CUDA_CORES;
  const int32_t tc = BARACUDA_FLASHINFER_DECODE_TENSOR_CORES;
  if ((flags & ~(BARACUDA_FLASHINFER_DECODE_NO_SPLIT | cuda | tc)) != 0) return false;
  if ((flags & cuda) && (flags & tc)) return false;
  return !(flags & tc) || shared_prefix_element(element);  // tensor cores: f16 / bf16 only
}

bool per_dtype_exceeds(const Args& a) {
  return decode_exceeds(per_dtype_sizes(a));
}
bool per_dtype_supported(const Args& a) {
  return decode_supported(per_dtype_sizes(a)) && sm_scale_valid(a.f(5));
}
bool family_exceeds(const Args& a) {
  return decode_exceeds(family_sizes(a));
}
bool family_supported(const Args& a) {
  return decode_supported(family_sizes(a)) && element_valid(a.i(5));
}
bool run_with_exceeds(const Args& a) {
  return decode_exceeds(run_with_sizes(a));
}
bool run_with_supported(const Args& a) {
  return decode_supported(run_with_sizes(a)) && element_valid(a.i(0)) &&
         flags_valid(a.i(1), a.i(0));
}
// Shared prefix and both cascades: the decode shapes, f16 and bf16 only.
bool shared_prefix_exceeds(const Args& a) {
  return family_exceeds(a) || (element_valid(a.i(5)) && !shared_prefix_element(a.i(5)));
}
bool shared_prefix_supported(const Args& a) {
  return decode_supported(family_sizes(a)) && shared_prefix_element(a.i(5));
}

// Attention options, "NULL = all defaults"; a struct_size below the first version's is status 2.
// Supported: the domains the struct documents (kv_layout HND or NHD, window_left -1 or >= 0,
// logits_soft_cap 0 or positive, the scales multipliers: positive and finite; flags among the
// family's, reserved 0). `sinks` is a device pointer: no can_implement looks at it.
bool options_too_small(const baracuda_flashinfer_attention_options* o) {
  return o != nullptr && o->struct_size < sizeof(*o);
}
bool options_supported(const baracuda_flashinfer_attention_options* o, int32_t family_flags) {
  if (o == nullptr) return true;
  if (options_too_small(o)) return false;
  const bool cap_ok =
      o->logits_soft_cap == 0.f || (o->logits_soft_cap > 0.f && std::isfinite(o->logits_soft_cap));
  return (o->kv_layout == BARACUDA_FLASHINFER_KV_LAYOUT_HND ||
          o->kv_layout == BARACUDA_FLASHINFER_KV_LAYOUT_NHD) &&
         o->window_left >= -1 && cap_ok && sm_scale_valid(o->k_scale) &&
         sm_scale_valid(o->v_scale) && (o->flags & ~family_flags) == 0 && o->reserved == 0;
}

// paged_decode_ex_can_implement: run_with_can_implement's arguments, then sm_scale and options;
// "options->flags may add BARACUDA_FLASHINFER_ATTENTION_NO_SPLIT".
bool decode_ex_exceeds(const Args& a) {
  return run_with_exceeds(a) || options_too_small(a.options(8));
}
bool decode_ex_supported(const Args& a) {
  return run_with_supported(a) && sm_scale_valid(a.f(7)) &&
         options_supported(a.options(8), BARACUDA_FLASHINFER_ATTENTION_NO_SPLIT);
}

// Batch prefill (element, batch, max_q_rows, page_size or max_kv_rows, head_dim, Hq, Hkv,
// sm_scale, causal, options): "element f16, bf16, and f16 or bf16 queries over fp8 K/V (3-6);
// D in {64, 128, 256}; any P >= 1; any Hq, Hkv
// with Hq % Hkv == 0, Hq <= 1024; 1 <= B <= 2^20; max_q_rows * Hq < 2^31; sm_scale positive and
// finite". The existing ABI's symbols (batch, total_num_rows, page_size or total_kv_rows,
// head_dim, Hq, Hkv[, sm_scale, ...]): the same limits, total_num_rows as max_q_rows.
bool prefill_shape_exceeds(int32_t batch, int32_t rows, int32_t head_dim, int32_t qo_heads) {
  return batch > kMaxBatch || qo_heads > 1024 || !head_dim_documented(head_dim) ||
         int64_t(rows) * qo_heads >= (int64_t(1) << 31);
}
bool prefill_shape_supported(int32_t batch, int32_t rows, int32_t kv, int32_t head_dim,
                             int32_t qo_heads, int32_t kv_heads) {
  return batch >= 1 && rows >= 1 && kv >= 1 && qo_heads >= 1 && kv_heads >= 1 &&
         qo_heads % kv_heads == 0 && !prefill_shape_exceeds(batch, rows, head_dim, qo_heads);
}
bool prefill_element(int32_t e) {
  return element_valid(e) && e != BARACUDA_FLASHINFER_F32;
}
bool prefill_exceeds(const Args& a) {
  return !prefill_element(a.i(0)) || prefill_shape_exceeds(a.i(1), a.i(2), a.i(4), a.i(5)) ||
         options_too_small(a.options(9));
}
bool prefill_supported(const Args& a) {
  return prefill_element(a.i(0)) &&
         prefill_shape_supported(a.i(1), a.i(2), a.i(3), a.i(4), a.i(5), a.i(6)) &&
         sm_scale_valid(a.f(7)) &&
         options_supported(a.options(9), BARACUDA_FLASHINFER_ATTENTION_NO_SPLIT |
                                             BARACUDA_FLASHINFER_ATTENTION_FA2);
}
bool legacy_prefill_exceeds(const Args& a) {
  return prefill_shape_exceeds(a.i(0), a.i(1), a.i(3), a.i(4));
}
bool legacy_prefill_shape_supported(const Args& a) {
  return prefill_shape_supported(a.i(0), a.i(1), a.i(2), a.i(3), a.i(4), a.i(5));
}
bool legacy_prefill_supported(const Args& a) {
  return legacy_prefill_shape_supported(a) && sm_scale_valid(a.f(6));
}

// Paged-KV append: "D in {64, 128, 256}; 1 <= H <= 1024; 1 <= B <= 2^20; any P >= 1" and, for the
// multi-token form, "num_tokens >= 1 and num_tokens * num_heads < 2^31". Decode form (batch, page_size, H, D).
bool append_exceeds(int32_t batch, int32_t heads, int32_t head_dim) {
  return batch > kMaxBatch || heads > 1024 || !head_dim_documented(head_dim);
}
bool append_supported(int32_t batch, int32_t page_size, int32_t heads, int32_t head_dim) {
  return batch >= 1 && page_size >= 1 && heads >= 1 && !append_exceeds(batch, heads, head_dim);
}
bool append_decode_exceeds(const Args& a) {
  return append_exceeds(a.i(0), a.i(2), a.i(3));
}
bool append_decode_supported(const Args& a) {
  return append_supported(a.i(0), a.i(1), a.i(2), a.i(3));
}
// Multi-token form (num_tokens, batch, page_size, H, D); it also documents
// num_tokens * num_heads < 2^31 (status 3 beyond).
bool append_multi_exceeds(const Args& a) {
  return append_exceeds(a.i(1), a.i(3), a.i(4)) ||
         int64_t(a.i(0)) * a.i(3) > std::numeric_limits<int32_t>::max();
}
bool append_multi_supported(const Args& a) {
  return a.i(0) >= 1 && append_supported(a.i(1), a.i(2), a.i(3), a.i(4)) &&
         !append_multi_exceeds(a);
}

// Merge: "D in {64, 128, 256}; seq_len * num_heads < 2^31"; varlen also seq_len * H * D < 2^31.
bool merge_exceeds(int32_t seq_len, int32_t heads, int32_t head_dim, bool varlen) {
  const __int128 rows = __int128(seq_len) * heads;
  return !head_dim_documented(head_dim) || rows >= (int64_t(1) << 31) ||
         (varlen && rows * head_dim >= (int64_t(1) << 31));
}
bool merge_supported(int32_t seq_len, int32_t heads, int32_t head_dim, bool varlen) {
  return seq_len >= 1 && heads >= 1 && !merge_exceeds(seq_len, heads, head_dim, varlen);
}
bool in_place_exceeds(const Args& a) {
  return merge_exceeds(a.i(0), a.i(1), a.i(2), false);
}
bool in_place_supported(const Args& a) {
  return merge_supported(a.i(0), a.i(1), a.i(2), false);
}
bool stacked_exceeds(const Args& a) {
  return merge_exceeds(a.i(1), a.i(2), a.i(3), false);
}
bool stacked_supported(const Args& a) {
  return a.i(0) >= 1 && merge_supported(a.i(1), a.i(2), a.i(3), false);
}
bool varlen_exceeds(const Args& a) {
  return merge_exceeds(a.i(0), a.i(1), a.i(2), true);
}
bool varlen_supported(const Args& a) {
  return merge_supported(a.i(0), a.i(1), a.i(2), true);
}

// Sampling and row filters: "batch <= 2^20 and batch * vocab <= 2^32"; thresholds "top_k_val >= 1;
// top_p_val and min_p_val in (0, 1]". Arguments (batch, vocab, ...).
bool sampling_exceeds(const Args& a) {
  return a.i(0) > kMaxBatch || __int128(a.i(0)) * a.i(1) > kMaxSamplingElements;
}
bool sampling_supported(const Args& a) {
  return a.i(0) >= 1 && a.i(1) >= 1 && !sampling_exceeds(a);
}
bool top_k_supported(const Args& a) {
  return sampling_supported(a) && a.i(2) >= 1;
}
bool p_supported(const Args& a) {
  return sampling_supported(a) && probability_valid(a.f(2));
}
bool top_k_top_p_supported(const Args& a) {
  return sampling_supported(a) && a.i(2) >= 1 && probability_valid(a.f(3));
}
// Chain speculative (batch, S, vocab): "batch, S, vocab >= 1 (2); batch <= 2^20,
// batch * (S + 1) * vocab <= 2^32 (3)".
bool speculative_exceeds(const Args& a) {
  if (a.i(0) < 1 || a.i(1) < 1 || a.i(2) < 1) return false;  // an extent error (2) first
  const __int128 elements = __int128(a.i(0)) * (__int128(a.i(1)) + 1) * a.i(2);
  return a.i(0) > kMaxBatch || elements > kMaxSamplingElements;
}
bool speculative_supported(const Args& a) {
  return a.i(0) >= 1 && a.i(1) >= 1 && a.i(2) >= 1 && !speculative_exceeds(a);
}

// sampling_run_with_can_implement (sampler, flags, batch, vocab, top_k_val, p_val): an unknown
// sampler or flags value is 2; then the sampler's own limits and thresholds. Documented as
// supported: any sampler with AUTO or FLASHINFER_KERNEL (THRESHOLD_KERNEL depends on whether the
// device holds the row, and is status 3 for from_probs and min_p).
bool run_with_sampling_exceeds(const Args& a) {
  return a.i(2) > kMaxBatch || __int128(a.i(2)) * a.i(3) > kMaxSamplingElements;
}
bool run_with_sampling_supported(const Args& a) {
  const int32_t sampler = a.i(0), flags = a.i(1);
  const bool uses_k = sampler == BARACUDA_FLASHINFER_SAMPLER_TOP_K ||
                      sampler == BARACUDA_FLASHINFER_SAMPLER_TOP_K_TOP_P;
  const bool uses_p = sampler == BARACUDA_FLASHINFER_SAMPLER_TOP_P ||
                      sampler == BARACUDA_FLASHINFER_SAMPLER_MIN_P ||
                      sampler == BARACUDA_FLASHINFER_SAMPLER_TOP_K_TOP_P;
  return sampler >= BARACUDA_FLASHINFER_SAMPLER_FROM_PROBS &&
         sampler <= BARACUDA_FLASHINFER_SAMPLER_FROM_LOGITS_BF16 &&
         (flags == BARACUDA_FLASHINFER_SAMPLING_AUTO ||
          flags == BARACUDA_FLASHINFER_SAMPLING_FLASHINFER_KERNEL) &&
         a.i(2) >= 1 && a.i(3) >= 1 && !run_with_sampling_exceeds(a) && (!uses_k || a.i(4) >= 1) &&
         (!uses_p || probability_valid(a.f(5)));
}

// Functions without a status.
bool version_ok(const Args&, const Result& r) {
  return r.value == BARACUDA_FLASHINFER_VERSION;
}
bool status_string_ok(const Args& a, const Result& r) {
  const bool known = a.i(0) >= 0 && a.i(0) <= 6;
  return r.text != nullptr && (std::strcmp(r.text, "unknown status") != 0) == known;
}
bool legacy_workspace_ok(const Args& a, const Result& r) {
  const int64_t b = a.i(0);
  return uint64_t(r.value) == (b <= 0 ? 0u : uint64_t(3 * b + 2) * 4u);
}
// "Fills *options with struct_size and the defaults above. NULL is ignored."
bool options_init_ok(const Args& a, const Result&) {
  const auto* o = reinterpret_cast<const baracuda_flashinfer_attention_options*>(a.bits.at(0));
  if (o == nullptr) return true;
  const baracuda_flashinfer_attention_options d = documented_default_options();
  return o->struct_size == d.struct_size && o->kv_layout == d.kv_layout &&
         o->window_left == d.window_left && o->logits_soft_cap == d.logits_soft_cap &&
         o->k_scale == d.k_scale && o->v_scale == d.v_scale && o->sinks == d.sinks &&
         o->flags == d.flags && o->reserved == d.reserved;
}

constexpr uint64_t kF16 = BARACUDA_FLASHINFER_F16, kBF16 = BARACUDA_FLASHINFER_BF16,
                   kF32 = BARACUDA_FLASHINFER_F32, kF16E4M3 = BARACUDA_FLASHINFER_F16_E4M3,
                   kF16E5M2 = BARACUDA_FLASHINFER_F16_E5M2,
                   kBF16E4M3 = BARACUDA_FLASHINFER_BF16_E4M3,
                   kBF16E5M2 = BARACUDA_FLASHINFER_BF16_E5M2;

// One paged-decode element type: its can_implement against its run, and against the family's
// can_implement for that element.
#define BFI_DECODE_ENTRIES(NAME, ELEMENT)                                                         \
  {.first = BFI_FN(paged_decode_##NAME##_can_implement),                                          \
   .second = BFI_FN(paged_decode_##NAME##_run),                                                   \
   .roles = "0 1 2 3 4 5 p p p p p p p p p w S",                                                  \
   .exceeds_limit = per_dtype_exceeds,                                                            \
   .documented_supported = per_dtype_supported},                                                  \
  {                                                                                               \
    .first = BFI_FN(paged_decode_can_implement),                                                  \
    .second = BFI_FN(paged_decode_##NAME##_can_implement), .roles = "0 4 3 1 2 s", .exact = true, \
    .pinned = {                                                                                   \
      {5, ELEMENT}                                                                                \
    }                                                                                             \
  }

#define BFI_APPEND_ENTRIES(NAME)                                                                  \
  {.first = BFI_FN(paged_kv_append_decode_##NAME##_can_implement),                                \
   .second = BFI_FN(paged_kv_append_decode_##NAME##_run),                                         \
   .roles = "0 1 2 3 p p p p p p p S",                                                            \
   .exceeds_limit = append_decode_exceeds,                                                        \
   .documented_supported = append_decode_supported},                                              \
      {.first = BFI_FN(paged_kv_append_decode_can_implement),                                     \
       .second = BFI_FN(paged_kv_append_decode_##NAME##_can_implement),                           \
       .roles = "0 1 2 3",                                                                        \
       .exact = true},                                                                            \
      {.first = BFI_FN(paged_kv_append_##NAME##_can_implement),                                   \
       .second = BFI_FN(paged_kv_append_##NAME##_run),                                            \
       .roles = "0 1 2 3 4 p p p p p p p p S",                                                    \
       .exceeds_limit = append_multi_exceeds,                                                     \
       .documented_supported = append_multi_supported},                                           \
  {                                                                                               \
    .first = BFI_FN(paged_kv_append_can_implement),                                               \
    .second = BFI_FN(paged_kv_append_##NAME##_can_implement), .roles = "0 1 2 3 4", .exact = true \
  }

#define BFI_MERGE_ENTRIES(NAME)                                                                   \
  {.first = BFI_FN(merge_state_in_place_##NAME##_can_implement),                                  \
   .second = BFI_FN(merge_state_in_place_##NAME##_run),                                           \
   .roles = "0 1 2 p p p p S",                                                                    \
   .exceeds_limit = in_place_exceeds,                                                             \
   .documented_supported = in_place_supported},                                                   \
      {.first = BFI_FN(merge_state_in_place_can_implement),                                       \
       .second = BFI_FN(merge_state_in_place_##NAME##_can_implement),                             \
       .roles = "0 1 2",                                                                          \
       .exact = true},                                                                            \
      {.first = BFI_FN(merge_states_##NAME##_can_implement),                                      \
       .second = BFI_FN(merge_states_##NAME##_run),                                               \
       .roles = "0 1 2 3 p p p p S",                                                              \
       .exceeds_limit = stacked_exceeds,                                                          \
       .documented_supported = stacked_supported},                                                \
      {.first = BFI_FN(merge_states_can_implement),                                               \
       .second = BFI_FN(merge_states_##NAME##_can_implement),                                     \
       .roles = "0 1 2 3",                                                                        \
       .exact = true},                                                                            \
      {.first = BFI_FN(merge_states_varlen_##NAME##_can_implement),                               \
       .second = BFI_FN(merge_states_varlen_##NAME##_run),                                        \
       .roles = "0 1 2 p p p p p S",                                                              \
       .exceeds_limit = varlen_exceeds,                                                           \
       .documented_supported = varlen_supported},                                                 \
  {                                                                                               \
    .first = BFI_FN(merge_states_varlen_can_implement),                                           \
    .second = BFI_FN(merge_states_varlen_##NAME##_can_implement), .roles = "0 1 2", .exact = true \
  }

// Top-p and min-p share their arguments: scalar run, per-row run, and _ex with the array NULL
// (answers as the scalar can_implement) or given (as the *_arr one; the scalar is then ignored).
#define BFI_P_SAMPLING_ENTRIES(NAME)                                               \
  {.first = BFI_FN(NAME##_sampling_f32_can_implement),                             \
   .second = BFI_FN(NAME##_sampling_f32_run),                                      \
   .roles = "0 1 2 x x x p p p S",                                                 \
   .exceeds_limit = sampling_exceeds,                                              \
   .documented_supported = p_supported},                                           \
      {.first = BFI_FN(NAME##_sampling_f32_arr_can_implement),                     \
       .second = BFI_FN(NAME##_sampling_f32_arr_run),                              \
       .roles = "0 1 p x x x p p p S",                                             \
       .exceeds_limit = sampling_exceeds,                                          \
       .documented_supported = sampling_supported},                                \
      {.first = BFI_FN(NAME##_sampling_f32_can_implement),                         \
       .second = BFI_FN(NAME##_sampling_f32_ex),                                   \
       .roles = "0 1 2 a x x p x p p p p S"},                                      \
  {                                                                                \
    .first = BFI_FN(NAME##_sampling_f32_arr_can_implement),                        \
    .second = BFI_FN(NAME##_sampling_f32_ex), .roles = "0 1 x p x x p x p p p p S" \
  }

#define BFI_FROM_LOGITS_ENTRIES(NAME)                                                \
  {.first = BFI_FN(sampling_from_logits_##NAME##_can_implement),                     \
   .second = BFI_FN(sampling_from_logits_##NAME##_run),                              \
   .roles = "0 1 x x p p S",                                                         \
   .exceeds_limit = sampling_exceeds,                                                \
   .documented_supported = sampling_supported},                                      \
  {                                                                                  \
    .first = BFI_FN(sampling_from_logits_##NAME##_can_implement),                    \
    .second = BFI_FN(sampling_from_logits_##NAME##_ex), .roles = "0 1 x p x p p p S" \
  }

// A row filter (threshold kernel; can_implement queries the device): the scalar threshold, and
// the per-row array with the scalar 1 passed to can_implement, as the header says.
#define BFI_ROW_FILTER_ENTRIES(CAN, RUN, SUPPORTED, PINNED_THRESHOLD)      \
  {.first = BFI_FN(CAN),                                                   \
   .second = BFI_FN(RUN),                                                  \
   .roles = "0 1 2 a p p S",                                               \
   .first_queries_device = true,                                           \
   .exceeds_limit = sampling_exceeds,                                      \
   .documented_supported = SUPPORTED},                                     \
  {                                                                        \
    .first = BFI_FN(CAN), .second = BFI_FN(RUN), .roles = "0 1 x p p p S", \
    .first_queries_device = true, .pinned = {                              \
      {2, PINNED_THRESHOLD}                                                \
    }                                                                      \
  }

// The existing ABI's prefill symbols of one element: each can_implement against its run (which
// allocates a library-owned workspace after validation: here it must stop at the device, 5),
// against the element-free check, and against the batch-prefill can_implement with no options.
#define BFI_LEGACY_PREFILL_ENTRIES(NAME, ELEMENT)                                        \
  {.first = BFI_FN(paged_prefill_##NAME##_can_implement),                                \
   .second = BFI_FN(paged_prefill_##NAME##_run),                                         \
   .roles = "0 1 2 3 4 5 6 7 8 p p p p p p p p p S",                                     \
   .exceeds_limit = legacy_prefill_exceeds,                                              \
   .documented_supported = legacy_prefill_supported},                                    \
      {.first = BFI_FN(paged_prefill_can_implement),                                     \
       .second = BFI_FN(paged_prefill_##NAME##_can_implement),                           \
       .roles = "0 1 2 3 4 5 s x x",                                                     \
       .exact = true,                                                                    \
       .exceeds_limit = legacy_prefill_exceeds,                                          \
       .documented_supported = legacy_prefill_shape_supported},                          \
      {.first = BFI_FN(prefill_paged_can_implement),                                     \
       .second = BFI_FN(paged_prefill_##NAME##_can_implement),                           \
       .roles = "1 2 3 4 5 6 7 8 x",                                                     \
       .exact = true,                                                                    \
       .pinned = {{0, ELEMENT}, {9, 0}}},                                                \
      {.first = BFI_FN(ragged_prefill_##NAME##_can_implement),                           \
       .second = BFI_FN(ragged_prefill_##NAME##_run),                                    \
       .roles = "0 1 2 3 4 5 6 7 x p p p p p p p S",                                     \
       .exceeds_limit = legacy_prefill_exceeds,                                          \
       .documented_supported = legacy_prefill_supported},                                \
      {.first = BFI_FN(ragged_prefill_can_implement),                                    \
       .second = BFI_FN(ragged_prefill_##NAME##_can_implement),                          \
       .roles = "0 1 2 3 4 5 s x",                                                       \
       .exact = true,                                                                    \
       .exceeds_limit = legacy_prefill_exceeds,                                          \
       .documented_supported = legacy_prefill_shape_supported},                          \
  {                                                                                      \
    .first = BFI_FN(prefill_ragged_can_implement),                                       \
    .second = BFI_FN(ragged_prefill_##NAME##_can_implement), .roles = "1 2 3 4 5 6 7 8", \
    .exact = true, .pinned = {                                                           \
      {0, ELEMENT},                                                                      \
      {9, 0}                                                                             \
    }                                                                                    \
  }

}  // namespace

const std::vector<Entry>& entries() {
  // sm_scale for a can_implement paired with a get_workspace_size, which takes none.
  const uint64_t valid_scale = bits_f32(0.125f);
  static const std::vector<Entry> table = {
      // ---- core ----
      {.first = BFI_FN(version), .result_ok = version_ok},
      {.first = BFI_FN(version_string)},
      {.first = BFI_FN(status_string), .result_ok = status_string_ok},
      {.first = BFI_FN(last_error)},

      // ---- paged decode ----
      BFI_DECODE_ENTRIES(f16, kF16),
      BFI_DECODE_ENTRIES(bf16, kBF16),
      BFI_DECODE_ENTRIES(f32, kF32),
      BFI_DECODE_ENTRIES(f16_e4m3, kF16E4M3),
      BFI_DECODE_ENTRIES(f16_e5m2, kF16E5M2),
      BFI_DECODE_ENTRIES(bf16_e4m3, kBF16E4M3),
      BFI_DECODE_ENTRIES(bf16_e5m2, kBF16E5M2),
      {.first = BFI_FN(paged_decode_can_implement),
       .second = BFI_FN(paged_decode_run_with),
       .roles = "5 z 0 4 3 1 2 s p p p p p p p p p w S",
       .exceeds_limit = family_exceeds,
       .documented_supported = family_supported},
      {.first = BFI_FN(paged_decode_can_implement),
       .second = BFI_FN(paged_decode_get_workspace_size),
       .roles = "0 1 2 3 4 5 o"},
      {.first = BFI_FN(paged_decode_run_with_can_implement),
       .second = BFI_FN(paged_decode_run_with),
       .roles = "0 1 2 3 4 5 6 s p p p p p p p p p w S",
       .exceeds_limit = run_with_exceeds,
       .documented_supported = run_with_supported},
      {.first = BFI_FN(paged_decode_workspace_size), .result_ok = legacy_workspace_ok},
      {.first = BFI_FN(paged_decode_run_with_can_implement),
       .second = BFI_FN(paged_decode_describe),
       .roles = "0 1 2 3 4 5 6 w S D"},

      // ---- attention options; paged decode with options ----
      {.first = BFI_FN(attention_options_init), .result_ok = options_init_ok},
      {.first = BFI_FN(paged_decode_ex_can_implement),
       .second = BFI_FN(paged_decode_run_ex),
       .roles = "0 1 2 3 4 5 6 7 O p p p p p p p p p w S",
       .exceeds_limit = decode_ex_exceeds,
       .documented_supported = decode_ex_supported},
      {.first = BFI_FN(paged_decode_ex_can_implement),
       .second = BFI_FN(paged_decode_ex_get_workspace_size),
       .roles = "0 1 2 3 4 5 6 O o",
       .pinned = {{7, valid_scale}}},
      {.first = BFI_FN(paged_decode_ex_can_implement),
       .second = BFI_FN(paged_decode_run_with_can_implement),
       .roles = "0 1 2 3 4 5 6",
       .exact = true,
       .pinned = {{7, valid_scale}, {8, 0}}},  // no options: what paged_decode_run_with takes

      // ---- batch prefill ----
      {.first = BFI_FN(prefill_paged_can_implement),
       .second = BFI_FN(prefill_paged_run),
       .roles = "0 1 2 3 4 5 6 7 8 O p p p p p p p p p p w S",
       .exceeds_limit = prefill_exceeds,
       .documented_supported = prefill_supported},
      {.first = BFI_FN(prefill_paged_can_implement),
       .second = BFI_FN(prefill_paged_get_workspace_size),
       .roles = "0 1 2 3 4 5 6 8 O o",
       .pinned = {{7, valid_scale}}},
      {.first = BFI_FN(prefill_ragged_can_implement),
       .second = BFI_FN(prefill_ragged_run),
       .roles = "0 1 2 3 4 5 6 7 8 O p p p p p p p p w S",
       .exceeds_limit = prefill_exceeds,
       .documented_supported = prefill_supported},
      {.first = BFI_FN(prefill_ragged_can_implement),
       .second = BFI_FN(prefill_ragged_get_workspace_size),
       .roles = "0 1 2 3 4 5 6 8 O o",
       .pinned = {{7, valid_scale}}},
      {.first = BFI_FN(prefill_paged_can_implement),  // page_size and max_kv_rows alike
       .second = BFI_FN(prefill_ragged_can_implement),
       .roles = "0 1 2 3 4 5 6 7 8 O",
       .exact = true},
      BFI_LEGACY_PREFILL_ENTRIES(f16, kF16),
      BFI_LEGACY_PREFILL_ENTRIES(bf16, kBF16),

      // ---- shared prefix and fused cascades ----
      {.first = BFI_FN(shared_prefix_decode_can_implement),
       .second = BFI_FN(shared_prefix_decode_run),
       .roles = "5 0 4 3 1 2 s p p p p p p p p p w S",
       .exceeds_limit = shared_prefix_exceeds,
       .documented_supported = shared_prefix_supported},
      {.first = BFI_FN(shared_prefix_decode_can_implement),
       .second = BFI_FN(shared_prefix_decode_get_workspace_size),
       .roles = "0 1 2 3 4 5 o"},
      {.first = BFI_FN(shared_prefix_decode_can_implement),
       .second = BFI_FN(shared_prefix_decode_run_with),
       .roles = "5 x 0 4 3 1 2 s p p p p p p p p p w S",
       .exceeds_limit = shared_prefix_exceeds,
       .documented_supported = shared_prefix_supported},
      {.first = BFI_FN(cascade_decode_can_implement),
       .second = BFI_FN(cascade_decode_run),
       .roles = "5 0 4 3 1 2 s p p p p p p p p p p p w S",
       .first_queries_device = true,
       .exceeds_limit = shared_prefix_exceeds,
       .documented_supported = shared_prefix_supported},
      {.first = BFI_FN(cascade_decode_can_implement),
       .second = BFI_FN(cascade_decode_get_workspace_size),
       .roles = "0 1 2 3 4 5 o",
       .first_queries_device = true},
      {.first = BFI_FN(cascade_decode_can_implement),
       .second = BFI_FN(cascade_decode_dense_prefix_can_implement),
       .roles = "0 1 2 3 4 5",
       .exact = true,
       .first_queries_device = true},
      {.first = BFI_FN(cascade_decode_dense_prefix_can_implement),
       .second = BFI_FN(cascade_decode_dense_prefix_run),
       .roles = "5 0 4 3 1 2 s p p n t t p p p p p p p p p w S",
       .first_queries_device = true,
       .exceeds_limit = shared_prefix_exceeds,
       .documented_supported = shared_prefix_supported},
      {.first = BFI_FN(cascade_decode_dense_prefix_can_implement),
       .second = BFI_FN(cascade_decode_dense_prefix_get_workspace_size),
       .roles = "0 1 2 3 4 5 o",
       .first_queries_device = true},

      // ---- paged-KV append ----
      BFI_APPEND_ENTRIES(f16),
      BFI_APPEND_ENTRIES(bf16),
      BFI_APPEND_ENTRIES(f32),

      // ---- merge ----
      BFI_MERGE_ENTRIES(f16),
      BFI_MERGE_ENTRIES(bf16),
      BFI_MERGE_ENTRIES(f32),

      // ---- sampling ----
      {.first = BFI_FN(sampling_from_probs_f32_can_implement),
       .second = BFI_FN(sampling_from_probs_f32_run),
       .roles = "0 1 x x x p p p S",
       .exceeds_limit = sampling_exceeds,
       .documented_supported = sampling_supported},
      {.first = BFI_FN(sampling_from_probs_f32_can_implement),
       .second = BFI_FN(sampling_from_probs_f32_ex),
       .roles = "0 1 x x p x p p p p S"},
      {.first = BFI_FN(top_k_sampling_f32_can_implement),
       .second = BFI_FN(top_k_sampling_f32_run),
       .roles = "0 1 2 x x x p p p S",
       .exceeds_limit = sampling_exceeds,
       .documented_supported = top_k_supported},
      {.first = BFI_FN(top_k_sampling_f32_arr_can_implement),
       .second = BFI_FN(top_k_sampling_f32_arr_run),
       .roles = "0 1 p x x x p p p S",
       .exceeds_limit = sampling_exceeds,
       .documented_supported = sampling_supported},
      {.first = BFI_FN(top_k_sampling_f32_can_implement),
       .second = BFI_FN(top_k_sampling_f32_ex),
       .roles = "0 1 2 a x x p x p p p p S"},
      {.first = BFI_FN(top_k_sampling_f32_arr_can_implement),
       .second = BFI_FN(top_k_sampling_f32_ex),
       .roles = "0 1 x p x x p x p p p p S"},
      BFI_P_SAMPLING_ENTRIES(top_p),
      BFI_P_SAMPLING_ENTRIES(min_p),
      {.first = BFI_FN(top_k_top_p_sampling_f32_can_implement),
       .second = BFI_FN(top_k_top_p_sampling_f32_run),
       .roles = "0 1 2 3 x x x p p p S",
       .exceeds_limit = sampling_exceeds,
       .documented_supported = top_k_top_p_supported},
      {.first = BFI_FN(top_k_top_p_sampling_f32_arr_can_implement),
       .second = BFI_FN(top_k_top_p_sampling_f32_arr_run),
       .roles = "0 1 p p x x x p p p S",
       .exceeds_limit = sampling_exceeds,
       .documented_supported = sampling_supported},
      {.first = BFI_FN(top_k_top_p_sampling_f32_can_implement),
       .second = BFI_FN(top_k_top_p_sampling_f32_ex),
       .roles = "0 1 2 a 3 a x x p x p p p p S"},
      {.first = BFI_FN(top_k_top_p_sampling_f32_arr_can_implement),
       .second = BFI_FN(top_k_top_p_sampling_f32_ex),
       .roles = "0 1 x p x p x x p x p p p p S"},
      BFI_FROM_LOGITS_ENTRIES(f32),
      BFI_FROM_LOGITS_ENTRIES(f16),
      BFI_FROM_LOGITS_ENTRIES(bf16),
      // The explicit kernel choice: any sampler and flags (THRESHOLD_KERNEL asks the device),
      // and AUTO and FLASHINFER_KERNEL pinned, whose can_implement touches no device.
      {.first = BFI_FN(sampling_run_with_can_implement),
       .second = BFI_FN(sampling_run_with),
       .roles = "0 1 2 3 4 a 5 a x x p x p p p p S",
       .first_queries_device = true,
       .exceeds_limit = run_with_sampling_exceeds,
       .documented_supported = run_with_sampling_supported},
      {.first = BFI_FN(sampling_run_with_can_implement),
       .second = BFI_FN(sampling_run_with),
       .roles = "0 1 2 3 4 a 5 a x x p x p p p p S",
       .pinned = {{1, BARACUDA_FLASHINFER_SAMPLING_AUTO}},
       .exceeds_limit = run_with_sampling_exceeds,
       .documented_supported = run_with_sampling_supported},
      {.first = BFI_FN(sampling_run_with_can_implement),
       .second = BFI_FN(sampling_run_with),
       .roles = "0 1 2 3 4 a 5 a x x p x p p p p S",
       .pinned = {{1, BARACUDA_FLASHINFER_SAMPLING_FLASHINFER_KERNEL}},
       .exceeds_limit = run_with_sampling_exceeds,
       .documented_supported = run_with_sampling_supported},
      {.first = BFI_FN(chain_speculative_sampling_f32_can_implement),
       .second = BFI_FN(chain_speculative_sampling_f32_run),
       .roles = "0 1 2 x x x p p p p p p S",
       .exceeds_limit = speculative_exceeds,
       .documented_supported = speculative_supported},
      {.first = BFI_FN(chain_speculative_sampling_f32_can_implement),
       .second = BFI_FN(chain_speculative_sampling_f32_ex),
       .roles = "0 1 2 x x p x p p p p p p p S"},

      // ---- row filters ----
      BFI_ROW_FILTER_ENTRIES(top_k_renorm_probs_f32_can_implement, top_k_renorm_probs_f32_run,
                             top_k_supported, 1),
      BFI_ROW_FILTER_ENTRIES(top_p_renorm_probs_f32_can_implement, top_p_renorm_probs_f32_run,
                             p_supported, bits_f32(1.f)),
      BFI_ROW_FILTER_ENTRIES(top_k_mask_logits_f32_can_implement, top_k_mask_logits_f32_run,
                             top_k_supported, 1),
      BFI_ROW_FILTER_ENTRIES(top_k_mask_logits_f16_can_implement, top_k_mask_logits_f16_run,
                             top_k_supported, 1),
      BFI_ROW_FILTER_ENTRIES(top_k_mask_logits_bf16_can_implement, top_k_mask_logits_bf16_run,
                             top_k_supported, 1),
  };
  return table;
}

}  // namespace bfi_fuzz
