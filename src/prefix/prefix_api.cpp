// C ABI of the shared-prefix family: shared_prefix_decode_* (FA3 on sm_90a, FA2 elsewhere) and
// the two fused cascades (sm_90a only). Validation order as every family: sizes, pointers, then
// what needs the device (its compute capability and SM count).
#include <cuda_runtime_api.h>

#include <algorithm>
#include <utility>

#include "common/device_context.hpp"
#include "common/status.hpp"
#include "common/stream.hpp"
#include "decode/decode_validate.hpp"
#include "prefix/prefix_launch.hpp"

namespace baracuda::flashinfer::prefix {
namespace {

using decode::DecodePointers;
using decode::DecodeSchedule;
using decode::DecodeShape;

constexpr int32_t kKnownFlags = BARACUDA_FLASHINFER_SHARED_PREFIX_FA2;

// A shared prefix: every one of batch_size queries attends one request's pages. f16 / bf16 at the
// head dims with a tensor-core build (FA2 runs everywhere).
Status check_shared_prefix_shape(const char* fn, const DecodeShape& s) {
  const decode::DecodeVariant* v = nullptr;
  BFI_CHECK(decode::check_shape(fn, s, &v));
  const decode::TensorCoreVariant* tc = decode::find_tensor_core_variant(s.element, s.head_dim);
  if (tc == nullptr || tc->launch_shared_prefix == nullptr) {
    return fail(kUnsupported,
                "%s: no shared-prefix kernel for element %s, head_dim %d (f16 and bf16 only)", fn,
                element_name(s.element), s.head_dim);
  }
  return kSuccess;
}

Status check_flags(const char* fn, int32_t flags) {
  if ((flags & ~kKnownFlags) != 0) {
    return fail(kInvalid, "%s: flags 0x%x has unknown bits (known: 0x%x)", fn, flags, kKnownFlags);
  }
  return kSuccess;
}

// The sm_90a FA3 schedule where it is built for (element, head_dim) and `context`'s device is
// compute capability 9.0 (its machine code is sm_90a only); *variant stays NULL otherwise. Opts the
// FA3 (and suffix) kernels into their shared memory on that device.
Status fa3_schedule(const char* fn, DeviceContext& context, const DecodeShape& s,
                    bool with_suffixes, bool dense_prefix, const PrefixSm90Variant** variant,
                    PrefixSchedule* schedule) {
  *variant = nullptr;
  *schedule = PrefixSchedule{};
  const PrefixSm90Variant* v = find_prefix_sm90_variant(s.element, s.head_dim);
  if (v == nullptr || !context.facts().runs_sm90a()) return kSuccess;
  int32_t blocks = 0;
  BFI_CHECK(context.residency(fn, dense_prefix ? v->fa3_dense : v->fa3, &blocks));
  if (with_suffixes) BFI_CHECK(context.residency(fn, v->suffix, &blocks));
  *schedule = make_prefix_schedule(s.batch_size, s.group(), s.num_kv_heads, s.head_dim,
                                   decode::output_element_bytes(s.element),
                                   context.facts().sm_count, with_suffixes, dense_prefix);
  *variant = v;
  return kSuccess;
}

// The FA2 shared-prefix schedule (every query as the rows of one request).
DecodeSchedule fa2_schedule(const DeviceContext& context, const DecodeShape& s) {
  decode::DecodeFacts facts;
  facts.sm_count = context.facts().sm_count;
  facts.tensor_cores_built = true;
  return decode::schedule_tensor_cores(s, facts, /*allow_split=*/true, /*shared_prefix=*/true);
}

// Both paths' workspace, so a size queried for one path serves the other.
Status shared_prefix_workspace(const char* fn, DeviceContext& context, const DecodeShape& s,
                               size_t* bytes) {
  const PrefixSm90Variant* sm90 = nullptr;
  PrefixSchedule fa3;
  BFI_CHECK(fa3_schedule(fn, context, s, false, false, &sm90, &fa3));
  *bytes = std::max(fa2_schedule(context, s).workspace, fa3.workspace);
  return kSuccess;
}

Status shared_prefix_workspace_size(const char* fn, const DecodeShape& s, size_t* bytes) {
  BFI_CHECK(check_shared_prefix_shape(fn, s));
  BFI_CHECK(require_non_null(fn, "workspace_bytes", bytes));
  DeviceContext* context = nullptr;
  BFI_CHECK(current_device_context(fn, &context));
  return shared_prefix_workspace(fn, *context, s, bytes);
}

Status run_shared_prefix(const char* fn, const DecodeShape& s, float sm_scale,
                         const DecodePointers& p, int32_t flags,
                         baracuda_flashinfer_stream_t stream) {
  BFI_CHECK(check_shared_prefix_shape(fn, s));
  BFI_CHECK(check_flags(fn, flags));
  BFI_CHECK(decode::check_pointers(fn, sm_scale, p));
  const cudaStream_t cuda_stream = resolve_stream(stream);
  StreamDevice device;
  BFI_CHECK(device.enter(fn, cuda_stream));
  size_t needed = 0;
  BFI_CHECK(shared_prefix_workspace(fn, *device.context, s, &needed));
  if (p.workspace_bytes < needed) {
    return fail(kWorkspaceTooSmall,
                "%s: workspace_bytes %zu is too small: needs %zu bytes "
                "(shared_prefix_decode_get_workspace_size)",
                fn, p.workspace_bytes, needed);
  }
  PrefixProblem problem;
  problem.paged = decode::to_problem(s, sm_scale, p);
  const PrefixSm90Variant* sm90 = nullptr;
  PrefixSchedule fa3;
  if (!(flags & BARACUDA_FLASHINFER_SHARED_PREFIX_FA2)) {
    BFI_CHECK(fa3_schedule(fn, *device.context, s, false, false, &sm90, &fa3));
  }
  if (sm90 != nullptr) {
    return cuda_status(sm90->launch(problem, fa3, p.workspace, cuda_stream),
                       "launching shared-prefix attention (sm_90a)");
  }
  const DecodeSchedule fa2 = fa2_schedule(*device.context, s);
  const decode::DecodeBuffers buffers = decode::decode_buffers(fa2, p.workspace);
  BFI_CUDA_CHECK(decode::enqueue_planner(fa2, buffers, problem.paged, cuda_stream));
  return cuda_status(decode::find_tensor_core_variant(s.element, s.head_dim)
                         ->launch_shared_prefix(problem.paged, buffers, cuda_stream),
                     "launching shared-prefix attention");
}

// The fused cascade (the suffix kernel beside the prefix's FA3 grid, one merge) takes the shapes
// the shared prefix takes and runs where its sm_90a path does; elsewhere the three-call recipe
// (docs/append-merge.md). `dense_prefix`: cascade_decode_dense_prefix_* (the same schedule, the FA3
// kernel with TMA loads).
Status cascade_schedule(const char* fn, DeviceContext& context, const DecodeShape& s,
                        bool dense_prefix, const PrefixSm90Variant** sm90,
                        PrefixSchedule* schedule) {
  BFI_CHECK(fa3_schedule(fn, context, s, /*with_suffixes=*/true, dense_prefix, sm90, schedule));
  if (*sm90 == nullptr) {
    return fail(kUnsupported,
                "%s: the fused cascade needs a compute-capability 9.0 GPU and a build with sm_90 "
                "(device %d is %d.%d; element %s, head_dim %d); elsewhere run "
                "shared_prefix_decode_run, paged_decode_run_with and merge_state_in_place",
                fn, context.facts().ordinal, context.facts().cc_major, context.facts().cc_minor,
                element_name(s.element), s.head_dim);
  }
  return kSuccess;
}

// Both cascades' can_implement / get_workspace_size: the sizes, the result pointer (when asked
// for one), then the current device.
Status cascade_query(const char* fn, const DecodeShape& s, bool dense_prefix, size_t* bytes,
                     bool wants_bytes) {
  BFI_CHECK(check_shared_prefix_shape(fn, s));
  if (wants_bytes) BFI_CHECK(require_non_null(fn, "workspace_bytes", bytes));
  DeviceContext* context = nullptr;
  BFI_CHECK(current_device_context(fn, &context));
  const PrefixSm90Variant* sm90 = nullptr;
  PrefixSchedule schedule;
  BFI_CHECK(cascade_schedule(fn, *context, s, dense_prefix, &sm90, &schedule));
  if (bytes != nullptr) *bytes = schedule.workspace;
  return kSuccess;
}

// A dense shared prefix (cascade_decode_dense_prefix_run): its K / V rows as the FA3 kernel's TMA
// descriptors take them.
struct DensePrefix {
  const void *k, *v;
  int32_t tokens;
  int64_t stride_token, stride_head;
};

// TMA's rules for a global tensor: a 16-byte aligned base and strides that are multiples of 16
// bytes below 2^40 bytes. prefix_len and the strides are sizes: checked with the sizes.
Status check_dense_prefix_sizes(const char* fn, const DecodeShape& s, const DensePrefix& d) {
  if (d.tokens < 1) {
    return fail(
        kInvalid,
        "%s: prefix_len must be at least 1 (got %d); without a shared prefix, run paged_decode_run",
        fn, d.tokens);
  }
  const int64_t element_bytes = int64_t(decode::output_element_bytes(s.element));
  const int64_t elems_per_16_bytes = int64_t(kAlign) / element_bytes;
  const int64_t max_stride = (int64_t(1) << 40) / element_bytes;
  const std::pair<const char*, int64_t> strides[] = {{"prefix_stride_token", d.stride_token},
                                                     {"prefix_stride_head", d.stride_head}};
  for (const auto& [name, stride] : strides) {
    if (stride < s.head_dim || stride % elems_per_16_bytes != 0 || stride >= max_stride) {
      return fail(kInvalid,
                  "%s: %s must be a multiple of %lld elements (16 bytes), at least head_dim %d and "
                  "below 2^40 bytes (got %lld)",
                  fn, name, static_cast<long long>(elems_per_16_bytes), s.head_dim,
                  static_cast<long long>(stride));
    }
  }
  return kSuccess;
}

// Both cascades: the prefix paged (dense == nullptr; p.indptr / p.last_page_len the prefix's) or
// dense (p.indptr / p.last_page_len are then the suffixes').
Status run_cascade(const char* fn, const DecodeShape& s, float sm_scale, const DecodePointers& p,
                   const void* suffix_indptr, const void* suffix_last_page_len,
                   const DensePrefix* dense, baracuda_flashinfer_stream_t stream) {
  BFI_CHECK(check_shared_prefix_shape(fn, s));
  if (dense != nullptr) BFI_CHECK(check_dense_prefix_sizes(fn, s, *dense));
  BFI_CHECK(decode::check_pointers(fn, sm_scale, p));
  BFI_CHECK(require_non_null(fn, "suffix_indptr", suffix_indptr));
  BFI_CHECK(require_non_null(fn, "suffix_last_page_len", suffix_last_page_len));
  if (dense != nullptr) {
    BFI_CHECK(require_non_null(fn, "k_prefix", dense->k));
    BFI_CHECK(require_non_null(fn, "v_prefix", dense->v));
    BFI_CHECK(require_aligned(fn, "k_prefix", dense->k, kAlign));
    BFI_CHECK(require_aligned(fn, "v_prefix", dense->v, kAlign));
  }
  BFI_CHECK(require_aligned(fn, "suffix_indptr", suffix_indptr, sizeof(int32_t)));
  BFI_CHECK(require_aligned(fn, "suffix_last_page_len", suffix_last_page_len, sizeof(int32_t)));
  const cudaStream_t cuda_stream = resolve_stream(stream);
  StreamDevice device;
  BFI_CHECK(device.enter(fn, cuda_stream));
  const PrefixSm90Variant* sm90 = nullptr;
  PrefixSchedule schedule;
  BFI_CHECK(cascade_schedule(fn, *device.context, s, dense != nullptr, &sm90, &schedule));
  if (p.workspace_bytes < schedule.workspace) {
    return fail(kWorkspaceTooSmall, "%s: workspace_bytes %zu is too small: needs %zu bytes (%s)",
                fn, p.workspace_bytes, schedule.workspace,
                dense != nullptr ? "cascade_decode_dense_prefix_get_workspace_size"
                                 : "cascade_decode_get_workspace_size");
  }
  PrefixProblem problem;
  problem.paged = decode::to_problem(s, sm_scale, p);
  problem.suffix_indptr = static_cast<const int32_t*>(suffix_indptr);
  problem.suffix_last_page_len = static_cast<const int32_t*>(suffix_last_page_len);
  if (dense != nullptr) {
    problem.paged.indptr = problem.paged.last_page_len = nullptr;
    problem.prefix_k = dense->k;
    problem.prefix_v = dense->v;
    problem.prefix_tokens = dense->tokens;
    problem.prefix_stride_token = dense->stride_token;
    problem.prefix_stride_head = dense->stride_head;
  }
  return cuda_status(sm90->launch_cascade(problem, schedule, p.workspace, cuda_stream),
                     "launching the fused cascade (sm_90a)");
}

}  // namespace
}  // namespace baracuda::flashinfer::prefix

using namespace baracuda::flashinfer;
using namespace baracuda::flashinfer::prefix;

extern "C" {

int32_t baracuda_kernels_flashinfer_shared_prefix_decode_can_implement(
    int32_t batch_size, int32_t num_qo_heads, int32_t num_kv_heads, int32_t head_dim,
    int32_t page_size, int32_t element) {
  return guarded(__func__, [&](const char* fn) {
    return check_shared_prefix_shape(
        fn, {batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, element});
  });
}

int32_t baracuda_kernels_flashinfer_shared_prefix_decode_get_workspace_size(
    int32_t batch_size, int32_t num_qo_heads, int32_t num_kv_heads, int32_t head_dim,
    int32_t page_size, int32_t element, size_t* workspace_bytes) {
  return guarded(__func__, [&](const char* fn) {
    return shared_prefix_workspace_size(
        fn, {batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, element},
        workspace_bytes);
  });
}

int32_t baracuda_kernels_flashinfer_shared_prefix_decode_run(
    int32_t element, int32_t batch_size, int32_t page_size, int32_t head_dim, int32_t num_qo_heads,
    int32_t num_kv_heads, float sm_scale, void* k_data, void* v_data, void* prefix_indices,
    void* prefix_indptr, void* prefix_last_page_len, const void* q, void* o, void* lse,
    void* workspace, size_t workspace_bytes, baracuda_flashinfer_stream_t stream) {
  return guarded(__func__, [&](const char* fn) {
    return run_shared_prefix(
        fn, {batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, element}, sm_scale,
        {k_data, v_data, prefix_indices, prefix_indptr, prefix_last_page_len, q, o, lse, workspace,
         workspace_bytes},
        /*flags=*/0, stream);
  });
}

int32_t baracuda_kernels_flashinfer_shared_prefix_decode_run_with(
    int32_t element, int32_t flags, int32_t batch_size, int32_t page_size, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, void* k_data, void* v_data,
    void* prefix_indices, void* prefix_indptr, void* prefix_last_page_len, const void* q, void* o,
    void* lse, void* workspace, size_t workspace_bytes, baracuda_flashinfer_stream_t stream) {
  return guarded(__func__, [&](const char* fn) {
    return run_shared_prefix(
        fn, {batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, element}, sm_scale,
        {k_data, v_data, prefix_indices, prefix_indptr, prefix_last_page_len, q, o, lse, workspace,
         workspace_bytes},
        flags, stream);
  });
}

int32_t baracuda_kernels_flashinfer_cascade_decode_can_implement(int32_t batch_size,
                                                                 int32_t num_qo_heads,
                                                                 int32_t num_kv_heads,
                                                                 int32_t head_dim,
                                                                 int32_t page_size,
                                                                 int32_t element) {
  return guarded(__func__, [&](const char* fn) {
    return cascade_query(fn, {batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, element},
                         /*dense_prefix=*/false, nullptr, false);
  });
}

int32_t baracuda_kernels_flashinfer_cascade_decode_get_workspace_size(
    int32_t batch_size, int32_t num_qo_heads, int32_t num_kv_heads, int32_t head_dim,
    int32_t page_size, int32_t element, size_t* workspace_bytes) {
  return guarded(__func__, [&](const char* fn) {
    return cascade_query(fn, {batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, element},
                         /*dense_prefix=*/false, workspace_bytes, true);
  });
}

int32_t baracuda_kernels_flashinfer_cascade_decode_run(
    int32_t element, int32_t batch_size, int32_t page_size, int32_t head_dim, int32_t num_qo_heads,
    int32_t num_kv_heads, float sm_scale, void* k_data, void* v_data, void* indices,
    void* prefix_indptr, void* prefix_last_page_len, void* suffix_indptr,
    void* suffix_last_page_len, const void* q, void* o, void* lse, void* workspace,
    size_t workspace_bytes, baracuda_flashinfer_stream_t stream) {
  return guarded(__func__, [&](const char* fn) {
    return run_cascade(fn, {batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, element},
                       sm_scale,
                       {k_data, v_data, indices, prefix_indptr, prefix_last_page_len, q, o, lse,
                        workspace, workspace_bytes},
                       suffix_indptr, suffix_last_page_len, /*dense=*/nullptr, stream);
  });
}

int32_t baracuda_kernels_flashinfer_cascade_decode_dense_prefix_can_implement(
    int32_t batch_size, int32_t num_qo_heads, int32_t num_kv_heads, int32_t head_dim,
    int32_t page_size, int32_t element) {
  return guarded(__func__, [&](const char* fn) {
    return cascade_query(fn, {batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, element},
                         /*dense_prefix=*/true, nullptr, false);
  });
}

int32_t baracuda_kernels_flashinfer_cascade_decode_dense_prefix_get_workspace_size(
    int32_t batch_size, int32_t num_qo_heads, int32_t num_kv_heads, int32_t head_dim,
    int32_t page_size, int32_t element, size_t* workspace_bytes) {
  return guarded(__func__, [&](const char* fn) {
    return cascade_query(fn, {batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, element},
                         /*dense_prefix=*/true, workspace_bytes, true);
  });
}

int32_t baracuda_kernels_flashinfer_cascade_decode_dense_prefix_run(
    int32_t element, int32_t batch_size, int32_t page_size, int32_t head_dim, int32_t num_qo_heads,
    int32_t num_kv_heads, float sm_scale, const void* k_prefix, const void* v_prefix,
    int32_t prefix_len, int64_t prefix_stride_token, int64_t prefix_stride_head, void* k_data,
    void* v_data, void* indices, void* suffix_indptr, void* suffix_last_page_len, const void* q,
    void* o, void* lse, void* workspace, size_t workspace_bytes,
    baracuda_flashinfer_stream_t stream) {
  return guarded(__func__, [&](const char* fn) {
    const DensePrefix dense{k_prefix, v_prefix, prefix_len, prefix_stride_token,
                            prefix_stride_head};
    DecodePointers p{k_data,        v_data, indices, suffix_indptr, suffix_last_page_len, q, o, lse,
                     workspace,     workspace_bytes};
    p.indptr_name = "suffix_indptr";
    p.last_page_len_name = "suffix_last_page_len";
    return run_cascade(fn, {batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, element},
                       sm_scale, p, suffix_indptr, suffix_last_page_len, &dense, stream);
  });
}

}  // extern "C"
