// C ABI of the paged-decode family: validation, then the schedule (decode_schedule.hpp) sized
// for the stream's device, then the launch.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdio>

#include "common/attention_finalize.hpp"
#include "common/attention_options.hpp"
#include "common/device_context.hpp"
#include "common/status.hpp"
#include "common/stream.hpp"
#include "common/versioned.hpp"
#include "decode/decode_launch.hpp"
#include "decode/decode_validate.hpp"

namespace baracuda::flashinfer::decode {

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
  *variant = find_decode_variant(s.element, s.head_dim, s.group());
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

// FlashInfer's kernels take the running maximum of the raw scores and scale it afterwards, which
// holds for a positive scale only (a negative one gave inf on H100).
Status check_sm_scale(const char* fn, float sm_scale) {
  if (!(sm_scale > 0.f) || sm_scale == 1.f / 0.f) {
    return fail(kInvalid,
                "%s: sm_scale must be positive and finite, usually 1/sqrt(head_dim) (got %g)", fn,
                static_cast<double>(sm_scale));
  }
  return kSuccess;
}

Status check_pointers(const char* fn, float sm_scale, const DecodePointers& p) {
  BFI_CHECK(require_non_null(fn, "q", p.q));
  BFI_CHECK(require_non_null(fn, "o", p.o));
  BFI_CHECK(require_non_null(fn, "k_data", p.k_data));
  BFI_CHECK(require_non_null(fn, "v_data", p.v_data));
  BFI_CHECK(require_non_null(fn, "indices", p.indices));
  BFI_CHECK(require_non_null(fn, p.indptr_name, p.indptr));
  BFI_CHECK(require_non_null(fn, p.last_page_len_name, p.last_page_len));
  if (p.workspace == nullptr && p.workspace_bytes != 0) {
    return fail(kInvalid, "%s: workspace is NULL but workspace_bytes is %zu", fn,
                p.workspace_bytes);
  }
  BFI_CHECK(check_sm_scale(fn, sm_scale));
  BFI_CHECK(require_aligned(fn, "q", p.q, kAlign));
  BFI_CHECK(require_aligned(fn, "o", p.o, kAlign));
  BFI_CHECK(require_aligned(fn, "k_data", p.k_data, kAlign));
  BFI_CHECK(require_aligned(fn, "v_data", p.v_data, kAlign));
  BFI_CHECK(require_aligned(fn, "indices", p.indices, sizeof(int32_t)));
  BFI_CHECK(require_aligned(fn, p.indptr_name, p.indptr, sizeof(int32_t)));
  BFI_CHECK(require_aligned(fn, p.last_page_len_name, p.last_page_len, sizeof(int32_t)));
  BFI_CHECK(require_aligned(fn, "lse", p.lse, sizeof(float)));
  BFI_CHECK(require_aligned(fn, "workspace", p.workspace, kAlign));
  return kSuccess;
}

DecodeProblem to_problem(const DecodeShape& s, float sm_scale, const DecodePointers& p) {
  return DecodeProblem{s.batch_size,
                       s.page_size,
                       s.head_dim,
                       s.num_qo_heads,
                       s.num_kv_heads,
                       sm_scale,
                       p.k_data,
                       p.v_data,
                       static_cast<const int32_t*>(p.indices),
                       static_cast<const int32_t*>(p.indptr),
                       static_cast<const int32_t*>(p.last_page_len),
                       p.q,
                       p.o,
                       static_cast<float*>(p.lse),
                       AttentionVariant{}};
}

namespace {

constexpr int32_t kKnownFlags =
    BARACUDA_FLASHINFER_DECODE_NO_SPLIT | BARACUDA_FLASHINFER_DECODE_CUDA_CORES |
    BARACUDA_FLASHINFER_DECODE_TENSOR_CORES | BARACUDA_FLASHINFER_DECODE_WARP_TILES;

// Sizes and flags only (what can_implement answers for run_with).
Status check_flags(const char* fn, const DecodeShape& s, int32_t flags) {
  if ((flags & ~kKnownFlags) != 0) {
    return fail(kInvalid, "%s: flags 0x%x has unknown bits (known: 0x%x)", fn, flags, kKnownFlags);
  }
  const bool cuda_cores = flags & BARACUDA_FLASHINFER_DECODE_CUDA_CORES;
  const bool tensor_cores = flags & BARACUDA_FLASHINFER_DECODE_TENSOR_CORES;
  const bool warp_tiles = flags & BARACUDA_FLASHINFER_DECODE_WARP_TILES;
  if (int(cuda_cores) + int(tensor_cores) + int(warp_tiles) > 1) {
    return fail(kInvalid,
                "%s: flags 0x%x ask for more than one of CUDA_CORES, TENSOR_CORES, WARP_TILES", fn,
                flags);
  }
  if (warp_tiles && find_warp_tile_variant(s.element, s.head_dim) == nullptr) {
    return fail(kUnsupported,
                "%s: no warp-tile decode for element %s, head_dim %d (f16 or bf16 KV only)", fn,
                element_name(s.element), s.head_dim);
  }
  if (tensor_cores && find_tensor_core_variant(s.element, s.head_dim) == nullptr) {
    return fail(kUnsupported,
                "%s: no tensor-core decode for element %s, head_dim %d (f16 or bf16 queries only)",
                fn, element_name(s.element), s.head_dim);
  }
  return kSuccess;
}

// The schedule of a call on `context`'s device.
Status schedule_on(const char* fn, DeviceContext& context, const DecodeShape& s,
                   const DecodeVariant& v, const AttentionVariant& attn, int32_t flags,
                   size_t workspace_bytes, DecodeSchedule* out) {
  DecodeFacts facts;
  BFI_CHECK(decode_facts(fn, context, s, v, &attn, &facts));
  return schedule_decode(fn, s, facts, flags, workspace_bytes, out);
}

Status run(const char* fn, const DecodeShape& s, float sm_scale, const DecodePointers& p,
           int32_t flags, const AttentionVariant& attn, baracuda_flashinfer_stream_t stream) {
  const DecodeVariant* v = nullptr;
  BFI_CHECK(check_shape(fn, s, &v));
  BFI_CHECK(check_flags(fn, s, flags));
  BFI_CHECK(check_pointers(fn, sm_scale, p));
  BFI_CHECK(require_aligned(fn, "options->sinks", attn.sinks, sizeof(float)));
  const cudaStream_t cuda_stream = resolve_stream(stream);
  StreamDevice device;
  BFI_CHECK(device.enter(fn, cuda_stream));
  DecodeSchedule schedule;
  BFI_CHECK(schedule_on(fn, *device.context, s, *v, attn, flags, p.workspace_bytes, &schedule));

  DecodeProblem problem = to_problem(s, sm_scale, p);
  problem.attn = attn;
  // v_scale and sinks: a pass over the finished rows, from their lse (the workspace's when the
  // caller passes none).
  const bool finalize = attn.v_scale != 1.f || attn.sinks != nullptr;
  if (finalize && problem.lse == nullptr) {
    problem.lse = reinterpret_cast<float*>(static_cast<char*>(p.workspace) + schedule.layout.lse_scratch);
  }
  DecodeBuffers buffers = decode_buffers(schedule, p.workspace);
  if (schedule.single_request && schedule.path == DecodePath::kTensorCores) {
    BFI_CHECK(single_request_tables(fn, *device.context, &buffers));
  }
  BFI_CUDA_CHECK(enqueue_planner(schedule, buffers, problem, cuda_stream));
  if (schedule.path == DecodePath::kTensorCores) {
    BFI_CHECK(cuda_status(
        find_tensor_core_variant(s.element, s.head_dim)->launch(problem, buffers, cuda_stream),
        "launching tensor-core paged decode"));
  } else if (schedule.path == DecodePath::kWarpTiles) {
    BFI_CHECK(cuda_status(
        find_warp_tile_variant(s.element, s.head_dim)->launch(problem, buffers, cuda_stream),
        "launching warp-tile paged decode"));
  } else {
    BFI_CHECK(cuda_status(v->launch(problem, buffers, cuda_stream), "launching paged decode"));
  }
  if (!finalize) return kSuccess;
  const FinalizeArgs args{p.o,        problem.lse, static_cast<float*>(p.lse), attn.sinks,
                          attn.v_scale, s.batch_size, nullptr,                   s.num_qo_heads};
  return cuda_status(v->finalize(args, cuda_stream), "launching the decode options' finalize pass");
}

// Enough workspace for every path on the current device.
Status get_workspace_size(const char* fn, const DecodeShape& s, size_t* bytes) {
  const DecodeVariant* v = nullptr;
  BFI_CHECK(check_shape(fn, s, &v));
  BFI_CHECK(require_non_null(fn, "workspace_bytes", bytes));
  DeviceContext* context = nullptr;
  BFI_CHECK(current_device_context(fn, &context));
  DecodeFacts facts;
  BFI_CHECK(decode_facts(fn, *context, s, *v, /*attn=*/nullptr, &facts));
  *bytes = decode_workspace_bytes(s, facts);
  return kSuccess;
}

Status describe(const char* fn, const DecodeShape& s, int32_t flags, size_t workspace_bytes,
                baracuda_flashinfer_stream_t stream, baracuda_flashinfer_decode_schedule* out) {
  const DecodeVariant* v = nullptr;
  BFI_CHECK(check_shape(fn, s, &v));
  BFI_CHECK(check_flags(fn, s, flags));
  BFI_CHECK(require_non_null(fn, "schedule", out));
  if (out->struct_size < sizeof(size_t)) {
    return fail(kInvalid, "%s: schedule->struct_size must be set to sizeof(the struct) (got %zu)",
                fn, out->struct_size);
  }
  StreamDevice device;
  BFI_CHECK(device.enter(fn, resolve_stream(stream)));
  DecodeSchedule schedule;
  BFI_CHECK(schedule_on(fn, *device.context, s, *v, AttentionVariant{}, flags, workspace_bytes,
                        &schedule));
  baracuda_flashinfer_decode_schedule full{};
  full.struct_size = out->struct_size;
  full.path = static_cast<int32_t>(schedule.path);
  full.split = schedule.split ? 1 : 0;
  full.work_items = schedule.split || schedule.planned || schedule.path == DecodePath::kWarpTiles
                        ? schedule.padded_items
                        : s.batch_size;
  full.min_chunk_tokens = schedule.path == DecodePath::kWarpTiles ? (schedule.split ? kWarpTileChunkTokens : 0)
                         : schedule.split ? std::max(schedule.min_chunk_pages * s.page_size,
                                                    schedule.single_request
                                                        ? int32_t(kMinSingleRequestChunk)
                                                        : 0)
                                         : 0;
  full.workspace_bytes = schedule.workspace;
  write_versioned(out, full);
  return kSuccess;
}

// The options of a decode call (domains checked): the variant the kernels apply, the decode
// flags they add, and whether the finalize pass's lse takes workspace.
Status read_options(const char* fn, const baracuda_flashinfer_attention_options* options,
                    int32_t* flags, AttentionVariant* attn, DecodeShape* s) {
  baracuda_flashinfer_attention_options o;
  BFI_CHECK(read_attention_options(fn, options, BARACUDA_FLASHINFER_ATTENTION_NO_SPLIT, &o));
  if (o.flags & BARACUDA_FLASHINFER_ATTENTION_NO_SPLIT) *flags |= BARACUDA_FLASHINFER_DECODE_NO_SPLIT;
  *attn = attention_variant(o);
  s->lse_scratch = attn->v_scale != 1.f || attn->sinks != nullptr;
  s->plain_logits = attn->plain_logits();
  s->window = attn->window_left >= 0;
  s->soft_cap = attn->logits_soft_cap != 0.f;
  if (s->soft_cap && (*flags & BARACUDA_FLASHINFER_DECODE_WARP_TILES)) {
    return fail(kUnsupported,
                "%s: options->logits_soft_cap %g: the warp-tile path (flags 0x%x) has no soft-cap",
                fn, static_cast<double>(attn->logits_soft_cap), *flags);
  }
  return kSuccess;
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
    return check_shape(fn, {batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, element},
                       &v);
  });
}

int32_t baracuda_kernels_flashinfer_paged_decode_get_workspace_size(
    int32_t batch_size, int32_t num_qo_heads, int32_t num_kv_heads, int32_t head_dim,
    int32_t page_size, int32_t element, size_t* workspace_bytes) {
  return guarded(__func__, [&](const char* fn) {
    return get_workspace_size(
        fn, {batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, element},
        workspace_bytes);
  });
}

size_t baracuda_kernels_flashinfer_paged_decode_workspace_size(int32_t batch_size) {
  return legacy_workspace_bytes(batch_size);
}

int32_t baracuda_kernels_flashinfer_paged_decode_run_with(
    int32_t element, int32_t flags, int32_t batch_size, int32_t page_size, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, void* k_data, void* v_data,
    void* indices, void* indptr, void* last_page_len, const void* q, void* o, void* lse,
    void* workspace, size_t workspace_bytes, baracuda_flashinfer_stream_t stream) {
  return guarded(__func__, [&](const char* fn) {
    return run(fn, {batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, element},
               sm_scale,
               {k_data, v_data, indices, indptr, last_page_len, q, o, lse, workspace,
                workspace_bytes},
               flags, AttentionVariant{}, stream);
  });
}

int32_t baracuda_kernels_flashinfer_paged_decode_run_with_can_implement(
    int32_t element, int32_t flags, int32_t batch_size, int32_t page_size, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads) {
  return guarded(__func__, [&](const char* fn) {
    const DecodeShape shape{batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, element};
    const DecodeVariant* v = nullptr;
    BFI_CHECK(check_shape(fn, shape, &v));
    return check_flags(fn, shape, flags);
  });
}

int32_t baracuda_kernels_flashinfer_paged_decode_describe(
    int32_t element, int32_t flags, int32_t batch_size, int32_t page_size, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, size_t workspace_bytes,
    baracuda_flashinfer_stream_t stream, baracuda_flashinfer_decode_schedule* schedule) {
  return guarded(__func__, [&](const char* fn) {
    return describe(fn, {batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, element},
                    flags, workspace_bytes, stream, schedule);
  });
}

int32_t baracuda_kernels_flashinfer_paged_decode_ex_can_implement(
    int32_t element, int32_t flags, int32_t batch_size, int32_t page_size, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale,
    const baracuda_flashinfer_attention_options* options) {
  return guarded(__func__, [&](const char* fn) {
    DecodeShape shape{batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, element};
    const DecodeVariant* v = nullptr;
    BFI_CHECK(check_shape(fn, shape, &v));
    BFI_CHECK(check_flags(fn, shape, flags));
    AttentionVariant attn;
    BFI_CHECK(read_options(fn, options, &flags, &attn, &shape));
    return check_sm_scale(fn, sm_scale);
  });
}

int32_t baracuda_kernels_flashinfer_paged_decode_ex_get_workspace_size(
    int32_t element, int32_t flags, int32_t batch_size, int32_t page_size, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads,
    const baracuda_flashinfer_attention_options* options, size_t* workspace_bytes) {
  return guarded(__func__, [&](const char* fn) {
    DecodeShape shape{batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, element};
    const DecodeVariant* v = nullptr;
    BFI_CHECK(check_shape(fn, shape, &v));
    BFI_CHECK(check_flags(fn, shape, flags));
    AttentionVariant attn;
    BFI_CHECK(read_options(fn, options, &flags, &attn, &shape));
    return get_workspace_size(fn, shape, workspace_bytes);
  });
}

int32_t baracuda_kernels_flashinfer_paged_decode_run_ex(
    int32_t element, int32_t flags, int32_t batch_size, int32_t page_size, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale,
    const baracuda_flashinfer_attention_options* options, void* k_data, void* v_data,
    void* indices, void* indptr, void* last_page_len, const void* q, void* o, void* lse,
    void* workspace, size_t workspace_bytes, baracuda_flashinfer_stream_t stream) {
  return guarded(__func__, [&](const char* fn) {
    DecodeShape shape{batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, element};
    const DecodeVariant* v = nullptr;
    BFI_CHECK(check_shape(fn, shape, &v));
    BFI_CHECK(check_flags(fn, shape, flags));
    AttentionVariant attn;
    BFI_CHECK(read_options(fn, options, &flags, &attn, &shape));
    return run(fn, shape, sm_scale,
               {k_data, v_data, indices, indptr, last_page_len, q, o, lse, workspace,
                workspace_bytes},
               flags, attn, stream);
  });
}

// The per-dtype can_implement checks what run checks, in run's order: the sizes, then sm_scale.
#define BFI_DEFINE_PAGED_DECODE(NAME, ELEMENT)                                                    \
  int32_t baracuda_kernels_flashinfer_paged_decode_##NAME##_run(                                  \
      int32_t batch_size, int32_t page_size, int32_t head_dim, int32_t num_qo_heads,              \
      int32_t num_kv_heads, float sm_scale, void* k_data, void* v_data, void* indices,            \
      void* indptr, void* last_page_len, const void* q, void* o, void* lse, void* workspace,      \
      size_t workspace_bytes, baracuda_flashinfer_stream_t stream) {                              \
    return guarded(__func__, [&](const char* fn) {                                                \
      return run(fn, {batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, ELEMENT},      \
                 sm_scale,                                                                        \
                 {k_data, v_data, indices, indptr, last_page_len, q, o, lse, workspace,           \
                  workspace_bytes},                                                               \
                 /*flags=*/0, AttentionVariant{}, stream);                                        \
    });                                                                                           \
  }                                                                                               \
  int32_t baracuda_kernels_flashinfer_paged_decode_##NAME##_can_implement(                        \
      int32_t batch_size, int32_t page_size, int32_t head_dim, int32_t num_qo_heads,              \
      int32_t num_kv_heads, float sm_scale) {                                                     \
    return guarded(__func__, [&](const char* fn) {                                                \
      const DecodeVariant* v = nullptr;                                                           \
      BFI_CHECK(check_shape(                                                                      \
          fn, {batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, ELEMENT}, &v));       \
      return check_sm_scale(fn, sm_scale);                                                        \
    });                                                                                           \
  }

BFI_DEFINE_PAGED_DECODE(f16, BARACUDA_FLASHINFER_F16)
BFI_DEFINE_PAGED_DECODE(bf16, BARACUDA_FLASHINFER_BF16)
BFI_DEFINE_PAGED_DECODE(f32, BARACUDA_FLASHINFER_F32)
BFI_DEFINE_PAGED_DECODE(f16_e4m3, BARACUDA_FLASHINFER_F16_E4M3)
BFI_DEFINE_PAGED_DECODE(f16_e5m2, BARACUDA_FLASHINFER_F16_E5M2)
BFI_DEFINE_PAGED_DECODE(bf16_e4m3, BARACUDA_FLASHINFER_BF16_E4M3)
BFI_DEFINE_PAGED_DECODE(bf16_e5m2, BARACUDA_FLASHINFER_BF16_E5M2)

}  // extern "C"
