// The table of exported functions the ABI fuzzer calls. Every symbol of abi/exports.txt appears
// in at least one entry (the fuzzer refuses to start otherwise). To add a function, add one
// entry: its _can_implement as `first`, its _run (or _ex, _get_workspace_size, or a per-dtype
// _can_implement that must agree) as `second`, the roles of `second`'s parameters (abi_check.hpp)
// and, where the header documents them, the limits and the supported range of `first`.
#include <cmath>
#include <cstring>

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

// Paged-KV append: "D in {64, 128, 256}; 1 <= H <= 1024; 1 <= B <= 2^20; any P >= 1" and, for the
// multi-token form, "1 <= num_tokens < 2^31". Decode form (batch, page_size, H, D).
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
// Multi-token form (num_tokens, batch, page_size, H, D).
bool append_multi_exceeds(const Args& a) {
  return append_exceeds(a.i(1), a.i(3), a.i(4));
}
bool append_multi_supported(const Args& a) {
  return a.i(0) >= 1 && append_supported(a.i(1), a.i(2), a.i(3), a.i(4));
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

}  // namespace

const std::vector<Entry>& entries() {
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

      // ---- shared prefix and fused cascades ----
      {.first = BFI_FN(shared_prefix_decode_can_implement),
       .second = BFI_FN(shared_prefix_decode_run),
       .roles = "5 0 4 3 1 2 s p p p p p p p p p w S",
       .exceeds_limit = shared_prefix_exceeds,
       .documented_supported = shared_prefix_supported},
      {.first = BFI_FN(shared_prefix_decode_can_implement),
       .second = BFI_FN(shared_prefix_decode_get_workspace_size),
       .roles = "0 1 2 3 4 5 o"},
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
