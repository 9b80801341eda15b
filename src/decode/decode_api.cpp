// C ABI of the paged-decode family: validation, split-KV scheduling, dispatch.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "common/kernel_cache.hpp"
#include "common/status.hpp"
#include "common/stream.hpp"
#include "decode/decode_launch.hpp"

namespace baracuda::flashinfer::decode {
namespace {

constexpr int32_t kMaxBatch = 1 << 20;
constexpr int32_t kMaxQoHeads = 1024;
constexpr size_t kAlign = 16;
// Split KV only when batch x (virtual) KV heads gives fewer CTAs than this per SM.
constexpr int64_t kSplitBelowCtasPerSm = 2;

// Tuning overrides for benchmarks (read once; not part of the ABI): BFI_DECODE_MIN_CHUNK_TOKENS
// (smallest split chunk, default 128 tokens, as FlashInfer's planner) and BFI_DECODE_MAX_GROUP
// (cap on the compiled GQA group a CTA serves; smaller values trade KV re-reads for occupancy).
int32_t env_int(const char* name, int32_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && std::atoi(value) > 0 ? std::atoi(value) : fallback;
}
int32_t min_chunk_tokens() {
  static const int32_t tokens = env_int("BFI_DECODE_MIN_CHUNK_TOKENS", 128);
  return tokens;
}

struct DecodeShape {
  int32_t batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, element;
};

const char* element_name(int32_t element) {
  static const char* const kNames[] = {"f16", "bf16", "f32", "f16_e4m3", "f16_e5m2",
                                       "bf16_e4m3", "bf16_e5m2"};
  return element >= 0 && element < 7 ? kNames[element] : "?";
}

// Everything can_implement checks: sizes only, no pointer, no GPU. On success *variant is set.
Status check_shape(const char* fn, const DecodeShape& s, const DecodeVariant** variant) {
  if (s.element < BARACUDA_FLASHINFER_F16 || s.element > BARACUDA_FLASHINFER_BF16_E5M2) {
    return fail(kInvalid, "%s: element must be an element code 0..6 (got %d)", fn, s.element);
  }
  BFI_CHECK(require_positive(fn, "batch_size", s.batch_size));
  BFI_CHECK(require_positive(fn, "page_size", s.page_size));
  BFI_CHECK(require_positive(fn, "num_qo_heads", s.num_qo_heads));
  BFI_CHECK(require_positive(fn, "num_kv_heads", s.num_kv_heads));
  BFI_CHECK(require_positive(fn, "head_dim", s.head_dim));
  if (s.num_qo_heads % s.num_kv_heads != 0) {
    return fail(kInvalid, "%s: num_qo_heads (%d) must be a multiple of num_kv_heads (%d)", fn,
                s.num_qo_heads, s.num_kv_heads);
  }
  if (s.batch_size > kMaxBatch) {
    return fail(kUnsupported, "%s: batch_size %d exceeds the supported maximum %d", fn,
                s.batch_size, kMaxBatch);
  }
  if (s.num_qo_heads > kMaxQoHeads) {
    return fail(kUnsupported, "%s: num_qo_heads %d exceeds the supported maximum %d", fn,
                s.num_qo_heads, kMaxQoHeads);
  }
  static const int32_t max_group = env_int("BFI_DECODE_MAX_GROUP", 1 << 30);
  *variant = find_decode_variant(s.element, s.head_dim, s.num_qo_heads / s.num_kv_heads, max_group);
  if (*variant == nullptr) {
    int32_t dims[8];
    const int32_t n = decode_head_dims(s.element, dims, 8);
    char list[64] = "";
    for (int32_t i = 0, len = 0; i < n; ++i) {
      len += std::snprintf(list + len, sizeof(list) - len, i ? ", %d" : "%d", dims[i]);
    }
    return fail(kUnsupported, "%s: head_dim %d is not built for element %s (built: {%s})", fn,
                s.head_dim, element_name(s.element), list);
  }
  return kSuccess;
}

size_t align_up(size_t x) { return (x + kAlign - 1) / kAlign * kAlign; }

// Split-KV geometry for this device, and where it lives in the workspace. required == 0 means
// the problem fills the GPU without splitting.
struct SplitLayout {
  size_t required;
  int32_t padded_items;
  size_t request_indices, kv_tile_indices, o_indptr, kv_chunk_tokens, valid_mask, tmp_o, tmp_lse;
};

size_t output_element_bytes(int32_t element) {
  return element == BARACUDA_FLASHINFER_F32 ? 4 : 2;
}

Status split_layout(const char* fn, const DecodeShape& s, const DecodeVariant& v, SplitLayout* out) {
  *out = SplitLayout{};
  KernelResidency decode{};
  BFI_CHECK(kernel_residency(fn, v.decode, &decode));
  const int64_t max_ctas = int64_t(decode.blocks_per_sm) * decode.sm_count;
  const int64_t virtual_heads = s.num_qo_heads / v.group;
  // Measured (docs/PERFORMANCE.md): once the unsplit grid gives every SM a few CTAs, each
  // streaming a whole sequence, splitting only adds the planner and the merge.
  const int64_t split_below = std::min<int64_t>(max_ctas, kSplitBelowCtasPerSm * decode.sm_count);
  if (int64_t(s.batch_size) * virtual_heads >= split_below) return kSuccess;
  const int64_t padded = max_ctas / virtual_heads;  // > batch_size by the test above
  out->padded_items = static_cast<int32_t>(padded);
  size_t offset = 0;
  auto take = [&offset](size_t bytes) {
    const size_t at = offset;
    offset = align_up(offset + bytes);
    return at;
  };
  out->request_indices = take(padded * sizeof(int32_t));
  out->kv_tile_indices = take(padded * sizeof(int32_t));
  out->o_indptr = take((s.batch_size + 1) * sizeof(int32_t));
  out->kv_chunk_tokens = take(sizeof(int32_t));
  out->valid_mask = take(padded);
  out->tmp_o = take(padded * s.num_qo_heads * s.head_dim * output_element_bytes(s.element));
  out->tmp_lse = take(padded * s.num_qo_heads * sizeof(float));
  out->required = offset;
  return kSuccess;
}

size_t legacy_workspace_bytes(int32_t batch_size) {
  return batch_size <= 0 ? 0 : (3 * size_t(batch_size) + 2) * sizeof(int32_t);
}

Status get_workspace_size(const char* fn, const DecodeShape& s, size_t* bytes) {
  BFI_CHECK(require_non_null(fn, "workspace_bytes", bytes));
  const DecodeVariant* v = nullptr;
  BFI_CHECK(check_shape(fn, s, &v));
  SplitLayout layout;
  BFI_CHECK(split_layout(fn, s, *v, &layout));
  *bytes = layout.required;
  return kSuccess;
}

struct DecodePointers {
  void *k_data, *v_data, *indices, *indptr, *last_page_len;
  const void* q;
  void *o, *lse, *workspace;
  size_t workspace_bytes;
};

Status run(const char* fn, const DecodeShape& s, float sm_scale, const DecodePointers& p,
           bool allow_split, baracuda_flashinfer_stream_t stream) {
  const DecodeVariant* v = nullptr;
  BFI_CHECK(check_shape(fn, s, &v));
  BFI_CHECK(require_non_null(fn, "q", p.q));
  BFI_CHECK(require_non_null(fn, "o", p.o));
  BFI_CHECK(require_non_null(fn, "k_data", p.k_data));
  BFI_CHECK(require_non_null(fn, "v_data", p.v_data));
  BFI_CHECK(require_non_null(fn, "indices", p.indices));
  BFI_CHECK(require_non_null(fn, "indptr", p.indptr));
  BFI_CHECK(require_non_null(fn, "last_page_len", p.last_page_len));
  if (p.workspace == nullptr && p.workspace_bytes != 0) {
    return fail(kInvalid, "%s: workspace is NULL but workspace_bytes is %zu", fn, p.workspace_bytes);
  }
  if (!(sm_scale == sm_scale) || sm_scale == 1.f / 0.f || sm_scale == -1.f / 0.f) {
    return fail(kInvalid, "%s: sm_scale must be finite (got %g)", fn, static_cast<double>(sm_scale));
  }
  BFI_CHECK(require_aligned(fn, "q", p.q, kAlign));
  BFI_CHECK(require_aligned(fn, "o", p.o, kAlign));
  BFI_CHECK(require_aligned(fn, "k_data", p.k_data, kAlign));
  BFI_CHECK(require_aligned(fn, "v_data", p.v_data, kAlign));
  BFI_CHECK(require_aligned(fn, "indices", p.indices, sizeof(int32_t)));
  BFI_CHECK(require_aligned(fn, "indptr", p.indptr, sizeof(int32_t)));
  BFI_CHECK(require_aligned(fn, "last_page_len", p.last_page_len, sizeof(int32_t)));
  BFI_CHECK(require_aligned(fn, "lse", p.lse, sizeof(float)));
  BFI_CHECK(require_aligned(fn, "workspace", p.workspace, kAlign));

  SplitLayout layout{};
  if (allow_split) BFI_CHECK(split_layout(fn, s, *v, &layout));
  const bool split = layout.required != 0 && p.workspace_bytes >= layout.required;
  if (layout.required != 0 && !split && p.workspace_bytes != 0 &&
      p.workspace_bytes < legacy_workspace_bytes(s.batch_size)) {
    return fail(kWorkspaceTooSmall,
                "%s: workspace_bytes %zu is too small: split-KV needs %zu bytes "
                "(paged_decode_get_workspace_size); pass 0 to decode without split-KV",
                fn, p.workspace_bytes, layout.required);
  }

  DecodeProblem problem{s.batch_size, s.page_size, s.head_dim, s.num_qo_heads, s.num_kv_heads,
                        sm_scale, p.k_data, p.v_data,
                        static_cast<const int32_t*>(p.indices),
                        static_cast<const int32_t*>(p.indptr),
                        static_cast<const int32_t*>(p.last_page_len), p.q, p.o,
                        static_cast<float*>(p.lse)};
  DecodeSchedule schedule{};
  const cudaStream_t cuda_stream = resolve_stream(stream);
  if (split) {
    char* ws = static_cast<char*>(p.workspace);
    schedule.split = true;
    schedule.padded_items = layout.padded_items;
    schedule.request_indices = reinterpret_cast<int32_t*>(ws + layout.request_indices);
    schedule.kv_tile_indices = reinterpret_cast<int32_t*>(ws + layout.kv_tile_indices);
    schedule.o_indptr = reinterpret_cast<int32_t*>(ws + layout.o_indptr);
    schedule.kv_chunk_tokens = reinterpret_cast<int32_t*>(ws + layout.kv_chunk_tokens);
    schedule.block_valid_mask = reinterpret_cast<bool*>(ws + layout.valid_mask);
    schedule.tmp_o = ws + layout.tmp_o;
    schedule.tmp_lse = reinterpret_cast<float*>(ws + layout.tmp_lse);
    const int32_t min_chunk_pages = std::max(min_chunk_tokens() / s.page_size, 1);
    BFI_CHECK(cuda_status(launch_plan(problem.indptr, s.batch_size, s.page_size, min_chunk_pages,
                                      schedule, cuda_stream),
                          "launching the split-KV planner"));
  } else {
    // No split: grid (batch, heads) must be launchable and the kernel resident.
    KernelResidency r{};
    BFI_CHECK(kernel_residency(fn, v->decode, &r));
  }
  return cuda_status(v->launch(problem, schedule, cuda_stream), "launching paged decode");
}

}  // namespace
}  // namespace baracuda::flashinfer::decode

using namespace baracuda::flashinfer;
using namespace baracuda::flashinfer::decode;

extern "C" {

int32_t baracuda_kernels_flashinfer_paged_decode_can_implement(int32_t batch_size,
                                                               int32_t num_qo_heads,
                                                               int32_t num_kv_heads,
                                                               int32_t head_dim, int32_t page_size,
                                                               int32_t element) {
  return guarded(__func__, [&](const char* fn) {
    const DecodeVariant* v = nullptr;
    return check_shape(fn, {batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, element}, &v);
  });
}

int32_t baracuda_kernels_flashinfer_paged_decode_get_workspace_size(
    int32_t batch_size, int32_t num_qo_heads, int32_t num_kv_heads, int32_t head_dim,
    int32_t page_size, int32_t element, size_t* workspace_bytes) {
  return guarded(__func__, [&](const char* fn) {
    return get_workspace_size(fn, {batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, element},
                              workspace_bytes);
  });
}

size_t baracuda_kernels_flashinfer_paged_decode_workspace_size(int32_t batch_size) {
  return legacy_workspace_bytes(batch_size);
}

int32_t baracuda_kernels_flashinfer_paged_decode_nosplit_run(
    int32_t element, int32_t batch_size, int32_t page_size, int32_t head_dim, int32_t num_qo_heads,
    int32_t num_kv_heads, float sm_scale, void* k_data, void* v_data, void* indices, void* indptr,
    void* last_page_len, const void* q, void* o, void* lse, baracuda_flashinfer_stream_t stream) {
  return guarded(__func__, [&](const char* fn) {
    return run(fn, {batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, element},
               sm_scale, {k_data, v_data, indices, indptr, last_page_len, q, o, lse, nullptr, 0},
               /*allow_split=*/false, stream);
  });
}

#define BFI_DEFINE_PAGED_DECODE(NAME, ELEMENT)                                                   \
  int32_t baracuda_kernels_flashinfer_paged_decode_##NAME##_run(                                 \
      int32_t batch_size, int32_t page_size, int32_t head_dim, int32_t num_qo_heads,             \
      int32_t num_kv_heads, float sm_scale, void* k_data, void* v_data, void* indices,           \
      void* indptr, void* last_page_len, const void* q, void* o, void* lse, void* workspace,     \
      size_t workspace_bytes, baracuda_flashinfer_stream_t stream) {                             \
    return guarded(__func__, [&](const char* fn) {                                                               \
      return run(fn, {batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, ELEMENT}, \
                 sm_scale,                                                                       \
                 {k_data, v_data, indices, indptr, last_page_len, q, o, lse, workspace,          \
                  workspace_bytes},                                                              \
                 /*allow_split=*/true, stream);                                                  \
    });                                                                                          \
  }                                                                                              \
  int32_t baracuda_kernels_flashinfer_paged_decode_##NAME##_can_implement(                       \
      int32_t batch_size, int32_t page_size, int32_t head_dim, int32_t num_qo_heads,             \
      int32_t num_kv_heads, float /*sm_scale*/) {                                                \
    return guarded(__func__, [&](const char* fn) {                                                               \
      const DecodeVariant* v = nullptr;                                                          \
      return check_shape(fn, {batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, ELEMENT}, \
                         &v);                                                                    \
    });                                                                                          \
  }

BFI_DEFINE_PAGED_DECODE(f16, BARACUDA_FLASHINFER_F16)
BFI_DEFINE_PAGED_DECODE(bf16, BARACUDA_FLASHINFER_BF16)
BFI_DEFINE_PAGED_DECODE(f32, BARACUDA_FLASHINFER_F32)
BFI_DEFINE_PAGED_DECODE(f16_e4m3, BARACUDA_FLASHINFER_F16_E4M3)
BFI_DEFINE_PAGED_DECODE(f16_e5m2, BARACUDA_FLASHINFER_F16_E5M2)
BFI_DEFINE_PAGED_DECODE(bf16_e4m3, BARACUDA_FLASHINFER_BF16_E4M3)
BFI_DEFINE_PAGED_DECODE(bf16_e5m2, BARACUDA_FLASHINFER_BF16_E5M2)

}  // extern "C"
