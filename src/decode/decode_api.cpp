// C ABI of the paged-decode family: validation, split-KV scheduling, dispatch.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "common/kernel_cache.hpp"
#include "common/status.hpp"
#include "common/stream.hpp"
#include "decode/decode_launch.hpp"

namespace baracuda::flashinfer::decode {
namespace {

constexpr int32_t kMaxBatch = 1 << 20;
constexpr int32_t kMaxQoHeads = 1024;
constexpr size_t kAlign = 16;
// Split KV on CUDA cores only when batch x (virtual) KV heads gives fewer CTAs than this per SM.
constexpr int64_t kSplitBelowCtasPerSm = 2;
// Tensor-core path: resident CTAs per SM (FlashInfer's planner assumes 2), smallest split chunk,
// and the smallest GQA group the auto rule sends there.
constexpr int64_t kTensorCoreCtasPerSm = 2;
constexpr int32_t kTensorCoreMinChunkTokens = 256;
constexpr int32_t kTensorCoreMinGroup = 4;

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
  static const char* const kNames[] = {"f16",      "bf16",      "f32",      "f16_e4m3",
                                       "f16_e5m2", "bf16_e4m3", "bf16_e5m2"};
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

size_t align_up(size_t x) {
  return (x + kAlign - 1) / kAlign * kAlign;
}

size_t output_element_bytes(int32_t element) {
  return element == BARACUDA_FLASHINFER_F32 ? 4 : 2;
}

enum class Path { kCudaCores, kTensorCores };

// How one call runs on this device and where its work items live in the workspace. Everything
// here depends only on the sizes and the device, so a captured graph stays valid when lengths
// change. workspace == 0: nothing planned on the device (CUDA cores without split).
struct Plan {
  Path path;
  bool split;
  bool single_request;  // CUDA cores, batch 1: no planner, no work-item arrays
  int32_t requests;     // requests in the page table (the batch; 1 for a shared prefix)
  int32_t qo_len;       // query rows per request (1; the batch for a shared prefix)
  int32_t padded_items, qo_tiles, min_chunk_pages;
  size_t partial_rows;  // rows of [Hq, D] partial states when split
  size_t workspace;
  size_t request_indices, qo_tile_indices, kv_tile_indices, o_indptr, q_indptr, merge_indptr,
      kv_chunk_tokens, valid_mask, tmp_o, tmp_lse;
};

// Lays out the arrays of `plan` (all but the offsets set) in the workspace.
void lay_out(const DecodeShape& s, Plan* plan) {
  const size_t padded = static_cast<size_t>(plan->padded_items);
  const bool tc = plan->path == Path::kTensorCores;
  const bool shared = plan->qo_len > 1;
  size_t offset = 0;
  auto take = [&offset](size_t bytes) {
    const size_t at = offset;
    offset = align_up(offset + bytes);
    return at;
  };
  if (plan->single_request) {  // partial states only
    plan->tmp_o =
        take(plan->partial_rows * s.num_qo_heads * s.head_dim * output_element_bytes(s.element));
    plan->tmp_lse = take(plan->partial_rows * s.num_qo_heads * sizeof(float));
    plan->workspace = offset;
    return;
  }
  plan->request_indices = take(padded * sizeof(int32_t));
  plan->qo_tile_indices = tc ? take(padded * sizeof(int32_t)) : 0;
  plan->kv_tile_indices = take(padded * sizeof(int32_t));
  plan->o_indptr = take((plan->requests + 1) * sizeof(int32_t));
  plan->q_indptr = tc ? take((plan->requests + 1) * sizeof(int32_t)) : 0;
  plan->merge_indptr = shared ? take((size_t(plan->qo_len) + 1) * sizeof(int32_t)) : 0;
  plan->kv_chunk_tokens = take(sizeof(int32_t));
  plan->valid_mask = take(padded);
  if (plan->split) {
    plan->tmp_o =
        take(plan->partial_rows * s.num_qo_heads * s.head_dim * output_element_bytes(s.element));
    plan->tmp_lse = take(plan->partial_rows * s.num_qo_heads * sizeof(float));
  }
  plan->workspace = offset;
}

// CUDA cores: split when batch x (virtual) KV heads gives fewer than kSplitBelowCtasPerSm CTAs
// per SM (measured, docs/PERFORMANCE.md: above that each CTA streaming a whole sequence keeps
// the memory busy and splitting only adds the planner and the merge); the padded grid is one
// wave of the decode kernel.
Status plan_cuda_cores(const char* fn, const DecodeShape& s, const DecodeVariant& v,
                       bool allow_split, Plan* plan) {
  *plan = Plan{};
  plan->path = Path::kCudaCores;
  plan->requests = s.batch_size;
  plan->qo_len = 1;
  plan->qo_tiles = 1;
  KernelResidency r{};
  BFI_CHECK(kernel_residency(fn, v.decode, &r));
  if (!allow_split) return kSuccess;
  const int64_t max_ctas = int64_t(r.blocks_per_sm) * r.sm_count;
  const int64_t virtual_heads = s.num_qo_heads / v.group;
  const int64_t split_below = std::min<int64_t>(max_ctas, kSplitBelowCtasPerSm * r.sm_count);
  if (int64_t(s.batch_size) * virtual_heads >= split_below) return kSuccess;
  plan->split = true;
  plan->single_request = s.batch_size == 1;
  plan->padded_items = static_cast<int32_t>(max_ctas / virtual_heads);  // > batch_size
  plan->partial_rows = static_cast<size_t>(plan->padded_items);
  plan->min_chunk_pages = std::max(min_chunk_tokens() / s.page_size, 1);
  lay_out(s, plan);
  return kSuccess;
}

// Tensor cores: one CTA per (request, query tile of packed query heads, KV head, chunk).
// Decode: one query row per request, 16-row tiles. Shared prefix: all batch_size queries as the
// rows of one request, 64-row tiles. FlashInfer's FA2 kernel runs about two CTAs per SM; split
// when the unsplit grid is below that.
Status plan_tensor_cores(const char* fn, const DecodeShape& s, bool allow_split, bool shared_prefix,
                         Plan* plan) {
  *plan = Plan{};
  plan->path = Path::kTensorCores;
  const int32_t group = s.num_qo_heads / s.num_kv_heads;
  plan->requests = shared_prefix ? 1 : s.batch_size;
  plan->qo_len = shared_prefix ? s.batch_size : 1;
  const int64_t rows = int64_t(plan->qo_len) * group;
  const int64_t tile = shared_prefix ? kSharedPrefixTileQ : kTensorCoreTileQ;
  plan->qo_tiles = static_cast<int32_t>((rows + tile - 1) / tile);
  KernelResidency r{};
  BFI_CHECK(kernel_residency(fn, plan_kernel_info(), &r));  // the SM count (and a warm planner)
  const int64_t max_ctas = int64_t(kTensorCoreCtasPerSm) * r.sm_count;
  const int64_t items = int64_t(plan->requests) * plan->qo_tiles;
  plan->split = allow_split && items * s.num_kv_heads < max_ctas;
  plan->padded_items = static_cast<int32_t>(plan->split ? max_ctas / s.num_kv_heads : items);
  // Partial rows: one per (request, chunk) for decode; (query row, chunk) for a shared prefix,
  // whose chunk count is at most padded_items / qo_tiles.
  plan->partial_rows = shared_prefix
                           ? size_t(plan->padded_items / plan->qo_tiles) * size_t(plan->qo_len)
                           : size_t(plan->padded_items);
  plan->min_chunk_pages = std::max(kTensorCoreMinChunkTokens / s.page_size, 1);
  lay_out(s, plan);
  return kSuccess;
}

// The auto rule (measured, docs/PERFORMANCE.md): tensor cores for f16/bf16 when the GQA group is
// large, CUDA cores otherwise.
bool prefer_tensor_cores(const DecodeShape& s) {
  static const int32_t min_group = env_int("BFI_DECODE_TC_MIN_GROUP", kTensorCoreMinGroup);
  const int32_t group = s.num_qo_heads / s.num_kv_heads;
  // Batch 1 splits on CUDA cores without the planner (one launch fewer), which wins up to group 4.
  if (s.batch_size == 1 && group <= kTensorCoreMinGroup) return false;
  return find_tensor_core_variant(s.element, s.head_dim) != nullptr && group >= min_group;
}

// Points `schedule` into the workspace and enqueues the planner (nothing when the plan needs no
// workspace: CUDA cores without split).
Status enqueue_plan(const Plan& plan, const DecodeProblem& problem, void* workspace,
                    cudaStream_t stream, DecodeSchedule* schedule) {
  *schedule = DecodeSchedule{};
  schedule->split = plan.split;
  schedule->single_request = plan.single_request;
  schedule->padded_items = plan.padded_items;
  schedule->qo_tiles = plan.qo_tiles;
  schedule->qo_len = plan.qo_len;
  if (plan.workspace == 0) return kSuccess;
  char* ws = static_cast<char*>(workspace);
  if (plan.single_request) {  // the decode kernel derives its chunks itself
    schedule->tmp_o = ws + plan.tmp_o;
    schedule->tmp_lse = reinterpret_cast<float*>(ws + plan.tmp_lse);
    return kSuccess;
  }
  const bool tc = plan.path == Path::kTensorCores;
  const auto at = [ws](size_t offset) { return reinterpret_cast<int32_t*>(ws + offset); };
  schedule->request_indices = at(plan.request_indices);
  schedule->qo_tile_indices = tc ? at(plan.qo_tile_indices) : nullptr;
  schedule->kv_tile_indices = at(plan.kv_tile_indices);
  schedule->o_indptr = at(plan.o_indptr);
  schedule->q_indptr = tc ? at(plan.q_indptr) : nullptr;
  // Decode (one row per request): a request's partial rows are its chunks, as o_indptr says.
  schedule->merge_indptr = plan.qo_len > 1 ? at(plan.merge_indptr) : schedule->o_indptr;
  schedule->kv_chunk_tokens = at(plan.kv_chunk_tokens);
  schedule->block_valid_mask = reinterpret_cast<bool*>(ws + plan.valid_mask);
  schedule->tmp_o = plan.split ? ws + plan.tmp_o : nullptr;
  schedule->tmp_lse = plan.split ? reinterpret_cast<float*>(ws + plan.tmp_lse) : nullptr;
  const PlanArgs args{problem.indptr,
                      plan.requests,
                      problem.page_size,
                      plan.min_chunk_pages,
                      plan.padded_items,
                      plan.qo_tiles,
                      plan.qo_len,
                      plan.split,
                      schedule->request_indices,
                      schedule->qo_tile_indices,
                      schedule->kv_tile_indices,
                      schedule->o_indptr,
                      schedule->q_indptr,
                      plan.qo_len > 1 ? schedule->merge_indptr : nullptr,
                      schedule->kv_chunk_tokens,
                      schedule->block_valid_mask};
  return cuda_status(launch_plan(args, stream), "launching the decode planner");
}

size_t legacy_workspace_bytes(int32_t batch_size) {
  return batch_size <= 0 ? 0 : (3 * size_t(batch_size) + 2) * sizeof(int32_t);
}

// Enough workspace for both paths (CUDA cores and, where built, tensor cores) on this device.
Status get_workspace_size(const char* fn, const DecodeShape& s, size_t* bytes) {
  BFI_CHECK(require_non_null(fn, "workspace_bytes", bytes));
  const DecodeVariant* v = nullptr;
  BFI_CHECK(check_shape(fn, s, &v));
  Plan cuda_cores, tensor_cores{};
  BFI_CHECK(plan_cuda_cores(fn, s, *v, /*allow_split=*/true, &cuda_cores));
  if (find_tensor_core_variant(s.element, s.head_dim) != nullptr) {
    BFI_CHECK(
        plan_tensor_cores(fn, s, /*allow_split=*/true, /*shared_prefix=*/false, &tensor_cores));
  }
  *bytes = std::max(cuda_cores.workspace, tensor_cores.workspace);
  return kSuccess;
}

struct DecodePointers {
  void *k_data, *v_data, *indices, *indptr, *last_page_len;
  const void* q;
  void *o, *lse, *workspace;
  size_t workspace_bytes;
  // What the caller calls indptr / last_page_len (the dense cascade passes its suffixes' there).
  const char* indptr_name = "indptr";
  const char* last_page_len_name = "last_page_len";
};

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
                       /*suffix_indptr=*/nullptr,
                       /*suffix_last_page_len=*/nullptr,
                       /*prefix_k=*/nullptr,
                       /*prefix_v=*/nullptr,
                       0,
                       0,
                       0};
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

// Pointers and scalars of a run (decode and shared prefix alike).
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

constexpr int32_t kKnownFlags = BARACUDA_FLASHINFER_DECODE_NO_SPLIT |
                                BARACUDA_FLASHINFER_DECODE_CUDA_CORES |
                                BARACUDA_FLASHINFER_DECODE_TENSOR_CORES;

// Sizes and flags only (what can_implement answers for run_with).
Status check_flags(const char* fn, const DecodeShape& s, int32_t flags) {
  if ((flags & ~kKnownFlags) != 0) {
    return fail(kInvalid, "%s: flags 0x%x has unknown bits (known: 0x%x)", fn, flags, kKnownFlags);
  }
  const bool cuda_cores = flags & BARACUDA_FLASHINFER_DECODE_CUDA_CORES;
  const bool tensor_cores = flags & BARACUDA_FLASHINFER_DECODE_TENSOR_CORES;
  if (cuda_cores && tensor_cores) {
    return fail(kInvalid, "%s: flags ask for both CUDA cores and tensor cores", fn);
  }
  if (tensor_cores && find_tensor_core_variant(s.element, s.head_dim) == nullptr) {
    return fail(kUnsupported,
                "%s: no tensor-core decode for element %s, head_dim %d (f16 and bf16 only)", fn,
                element_name(s.element), s.head_dim);
  }
  return kSuccess;
}

Status run(const char* fn, const DecodeShape& s, float sm_scale, const DecodePointers& p,
           int32_t flags, baracuda_flashinfer_stream_t stream) {
  const DecodeVariant* v = nullptr;
  BFI_CHECK(check_shape(fn, s, &v));
  BFI_CHECK(check_flags(fn, s, flags));
  BFI_CHECK(check_pointers(fn, sm_scale, p));

  const bool allow_split = !(flags & BARACUDA_FLASHINFER_DECODE_NO_SPLIT);
  const bool forced_cuda = flags & BARACUDA_FLASHINFER_DECODE_CUDA_CORES;
  const bool forced_tc = flags & BARACUDA_FLASHINFER_DECODE_TENSOR_CORES;
  Plan plan{};
  if (forced_tc || (!forced_cuda && prefer_tensor_cores(s))) {
    BFI_CHECK(plan_tensor_cores(fn, s, allow_split, /*shared_prefix=*/false, &plan));
    if (p.workspace_bytes < plan.workspace) {
      if (forced_tc) {
        return fail(kWorkspaceTooSmall,
                    "%s: workspace_bytes %zu is too small: the tensor-core path needs %zu bytes "
                    "(paged_decode_get_workspace_size)",
                    fn, p.workspace_bytes, plan.workspace);
      }
      plan.workspace = SIZE_MAX;  // fall back to CUDA cores below
    }
  }
  if (plan.path != Path::kTensorCores || plan.workspace == SIZE_MAX) {
    BFI_CHECK(plan_cuda_cores(fn, s, *v, allow_split, &plan));
    if (plan.split && p.workspace_bytes < plan.workspace) {
      // Callers of the ABI this replaces pass (3B+2)*4 bytes: they decode without split.
      if (p.workspace_bytes != 0 && p.workspace_bytes < legacy_workspace_bytes(s.batch_size)) {
        return fail(kWorkspaceTooSmall,
                    "%s: workspace_bytes %zu is too small: split-KV needs %zu bytes "
                    "(paged_decode_get_workspace_size); pass 0 to decode without split-KV",
                    fn, p.workspace_bytes, plan.workspace);
      }
      BFI_CHECK(plan_cuda_cores(fn, s, *v, /*allow_split=*/false, &plan));
    }
  }

  const DecodeProblem problem = to_problem(s, sm_scale, p);
  DecodeSchedule schedule{};
  const cudaStream_t cuda_stream = resolve_stream(stream);
  BFI_CHECK(enqueue_plan(plan, problem, p.workspace, cuda_stream, &schedule));
  if (plan.path == Path::kTensorCores) {
    return cuda_status(
        find_tensor_core_variant(s.element, s.head_dim)->launch(problem, schedule, cuda_stream),
        "launching tensor-core paged decode");
  }
  return cuda_status(v->launch(problem, schedule, cuda_stream), "launching paged decode");
}

// A shared prefix: every one of batch_size queries attends one request's pages (cascade level 1).
Status check_shared_prefix_shape(const char* fn, const DecodeShape& s) {
  const DecodeVariant* v = nullptr;
  BFI_CHECK(check_shape(fn, s, &v));
  if (find_tensor_core_variant(s.element, s.head_dim) == nullptr) {
    return fail(kUnsupported,
                "%s: no shared-prefix kernel for element %s, head_dim %d (f16 and bf16 only)", fn,
                element_name(s.element), s.head_dim);
  }
  return kSuccess;
}

// The sm_90a FA3 path runs where it is built for (element, head_dim) and the current device is
// compute capability 9.0 (its machine code is sm_90a only). BFI_SHARED_PREFIX_PATH=fa2 forces the
// FA2 kernel (tests and benchmarks compare both; read per call, not part of the ABI).
Status plan_prefix_sm90(const char* fn, const DecodeShape& s, const PrefixSm90Variant** variant,
                        PrefixSm90Plan* plan, bool with_suffixes = false,
                        bool dense_prefix = false) {
  *variant = nullptr;
  *plan = PrefixSm90Plan{};
  const PrefixSm90Variant* v = find_prefix_sm90_variant(s.element, s.head_dim);
  if (v == nullptr) return kSuccess;
  const char* forced = std::getenv("BFI_SHARED_PREFIX_PATH");
  if (forced != nullptr && std::strcmp(forced, "fa2") == 0) return kSuccess;
  KernelResidency r{};
  BFI_CHECK(kernel_residency(fn, plan_kernel_info(), &r));  // the device and its SM count
  int major = 0, minor = 0;
  BFI_CHECK(cuda_status(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, r.device),
                        "cudaDeviceGetAttribute(ComputeCapabilityMajor)"));
  BFI_CHECK(cuda_status(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, r.device),
                        "cudaDeviceGetAttribute(ComputeCapabilityMinor)"));
  if (major != 9 || minor != 0) return kSuccess;
  // Opts the kernels into their shared memory (once per device) and says they fit.
  KernelResidency fits{};
  BFI_CHECK(kernel_residency(fn, dense_prefix ? v->fa3_dense : v->fa3, &fits));
  if (with_suffixes) BFI_CHECK(kernel_residency(fn, v->suffix, &fits));
  *plan = make_prefix_sm90_plan(s.batch_size, s.num_qo_heads / s.num_kv_heads, s.num_kv_heads,
                                s.head_dim, output_element_bytes(s.element), r.sm_count,
                                with_suffixes, dense_prefix);
  *variant = v;
  return kSuccess;
}

// Both paths' workspace, so a size queried under one path setting serves the other.
Status shared_prefix_workspace(const char* fn, const DecodeShape& s, Plan* plan,
                               const PrefixSm90Variant** sm90, PrefixSm90Plan* sm90_plan,
                               size_t* bytes) {
  BFI_CHECK(plan_tensor_cores(fn, s, /*allow_split=*/true, /*shared_prefix=*/true, plan));
  BFI_CHECK(plan_prefix_sm90(fn, s, sm90, sm90_plan));
  *bytes = std::max(plan->workspace, sm90_plan->workspace);
  return kSuccess;
}

Status shared_prefix_workspace_size(const char* fn, const DecodeShape& s, size_t* bytes) {
  BFI_CHECK(require_non_null(fn, "workspace_bytes", bytes));
  BFI_CHECK(check_shared_prefix_shape(fn, s));
  Plan plan;
  const PrefixSm90Variant* sm90 = nullptr;
  PrefixSm90Plan sm90_plan;
  return shared_prefix_workspace(fn, s, &plan, &sm90, &sm90_plan, bytes);
}

Status run_shared_prefix(const char* fn, const DecodeShape& s, float sm_scale,
                         const DecodePointers& p, baracuda_flashinfer_stream_t stream) {
  BFI_CHECK(check_shared_prefix_shape(fn, s));
  BFI_CHECK(check_pointers(fn, sm_scale, p));
  Plan plan;
  const PrefixSm90Variant* sm90 = nullptr;
  PrefixSm90Plan sm90_plan;
  size_t needed = 0;
  BFI_CHECK(shared_prefix_workspace(fn, s, &plan, &sm90, &sm90_plan, &needed));
  if (p.workspace_bytes < needed) {
    return fail(kWorkspaceTooSmall,
                "%s: workspace_bytes %zu is too small: needs %zu bytes "
                "(shared_prefix_decode_get_workspace_size)",
                fn, p.workspace_bytes, needed);
  }
  const DecodeProblem problem = to_problem(s, sm_scale, p);
  const cudaStream_t cuda_stream = resolve_stream(stream);
  if (sm90 != nullptr) {
    return cuda_status(sm90->launch(problem, sm90_plan, p.workspace, cuda_stream),
                       "launching shared-prefix attention (sm_90a)");
  }
  DecodeSchedule schedule{};
  BFI_CHECK(enqueue_plan(plan, problem, p.workspace, cuda_stream, &schedule));
  return cuda_status(find_tensor_core_variant(s.element, s.head_dim)
                         ->launch_shared_prefix(problem, schedule, cuda_stream),
                     "launching shared-prefix attention");
}

// The fused cascade (the suffix kernel beside the prefix's FA3 grid, one merge) takes the shapes
// the shared prefix takes and runs where its sm_90a path does; elsewhere the three-call recipe
// (docs/append-merge.md). `dense_prefix`: cascade_decode_dense_prefix_* (the same plan, the FA3
// kernel with TMA loads).
Status plan_cascade(const char* fn, const DecodeShape& s, const PrefixSm90Variant** sm90,
                    PrefixSm90Plan* plan, bool dense_prefix) {
  BFI_CHECK(check_shared_prefix_shape(fn, s));
  BFI_CHECK(plan_prefix_sm90(fn, s, sm90, plan, /*with_suffixes=*/true, dense_prefix));
  if (*sm90 == nullptr) {
    return fail(kUnsupported,
                "%s: the fused cascade needs a compute-capability 9.0 GPU, a build with sm_90 and "
                "head_dim 64, 128 or 256 (got element %s, head_dim %d); elsewhere run "
                "shared_prefix_decode_run, paged_decode_run_with and merge_state_in_place",
                fn, element_name(s.element), s.head_dim);
  }
  return kSuccess;
}

// What both cascades' can_implement answer: whether run would plan and launch for these sizes.
Status cascade_can_implement(const char* fn, const DecodeShape& s, bool dense_prefix) {
  const PrefixSm90Variant* sm90 = nullptr;
  PrefixSm90Plan plan;
  return plan_cascade(fn, s, &sm90, &plan, dense_prefix);
}

Status cascade_workspace_size(const char* fn, const DecodeShape& s, bool dense_prefix,
                              size_t* bytes) {
  BFI_CHECK(require_non_null(fn, "workspace_bytes", bytes));
  const PrefixSm90Variant* sm90 = nullptr;
  PrefixSm90Plan plan;
  BFI_CHECK(plan_cascade(fn, s, &sm90, &plan, dense_prefix));
  *bytes = plan.workspace;
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
// bytes below 2^40 bytes.
Status check_dense_prefix(const char* fn, const DecodeShape& s, const DensePrefix& d) {
  BFI_CHECK(require_non_null(fn, "k_prefix", d.k));
  BFI_CHECK(require_non_null(fn, "v_prefix", d.v));
  BFI_CHECK(require_aligned(fn, "k_prefix", d.k, kAlign));
  BFI_CHECK(require_aligned(fn, "v_prefix", d.v, kAlign));
  if (d.tokens < 1) {
    return fail(
        kInvalid,
        "%s: prefix_len must be at least 1 (got %d); without a shared prefix, run paged_decode_run",
        fn, d.tokens);
  }
  const int64_t elems_per_16_bytes = int64_t(kAlign / output_element_bytes(s.element));
  const int64_t max_stride = (int64_t(1) << 40) / int64_t(output_element_bytes(s.element));
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
  // Every argument before the device query in plan_cascade.
  BFI_CHECK(check_pointers(fn, sm_scale, p));
  BFI_CHECK(require_non_null(fn, "suffix_indptr", suffix_indptr));
  BFI_CHECK(require_non_null(fn, "suffix_last_page_len", suffix_last_page_len));
  BFI_CHECK(require_aligned(fn, "suffix_indptr", suffix_indptr, sizeof(int32_t)));
  BFI_CHECK(require_aligned(fn, "suffix_last_page_len", suffix_last_page_len, sizeof(int32_t)));
  if (dense != nullptr) {
    BFI_CHECK(check_shared_prefix_shape(fn, s));  // head_dim and element, before the strides
    BFI_CHECK(check_dense_prefix(fn, s, *dense));
  }
  const PrefixSm90Variant* sm90 = nullptr;
  PrefixSm90Plan plan;
  BFI_CHECK(plan_cascade(fn, s, &sm90, &plan, dense != nullptr));
  if (p.workspace_bytes < plan.workspace) {
    return fail(kWorkspaceTooSmall, "%s: workspace_bytes %zu is too small: needs %zu bytes (%s)",
                fn, p.workspace_bytes, plan.workspace,
                dense != nullptr ? "cascade_decode_dense_prefix_get_workspace_size"
                                 : "cascade_decode_get_workspace_size");
  }
  DecodeProblem problem = to_problem(s, sm_scale, p);
  problem.suffix_indptr = static_cast<const int32_t*>(suffix_indptr);
  problem.suffix_last_page_len = static_cast<const int32_t*>(suffix_last_page_len);
  if (dense != nullptr) {
    problem.indptr = problem.last_page_len = nullptr;
    problem.prefix_k = dense->k;
    problem.prefix_v = dense->v;
    problem.prefix_tokens = dense->tokens;
    problem.prefix_stride_token = dense->stride_token;
    problem.prefix_stride_head = dense->stride_head;
  }
  return cuda_status(sm90->launch_cascade(problem, plan, p.workspace, resolve_stream(stream)),
                     "launching the fused cascade (sm_90a)");
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
    return run(
        fn, {batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, element}, sm_scale,
        {k_data, v_data, indices, indptr, last_page_len, q, o, lse, workspace, workspace_bytes},
        flags, stream);
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
        stream);
  });
}

int32_t baracuda_kernels_flashinfer_cascade_decode_can_implement(
    int32_t batch_size, int32_t num_qo_heads, int32_t num_kv_heads, int32_t head_dim,
    int32_t page_size, int32_t element) {
  return guarded(__func__, [&](const char* fn) {
    return cascade_can_implement(
        fn, {batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, element},
        /*dense_prefix=*/false);
  });
}

int32_t baracuda_kernels_flashinfer_cascade_decode_get_workspace_size(
    int32_t batch_size, int32_t num_qo_heads, int32_t num_kv_heads, int32_t head_dim,
    int32_t page_size, int32_t element, size_t* workspace_bytes) {
  return guarded(__func__, [&](const char* fn) {
    return cascade_workspace_size(
        fn, {batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, element},
        /*dense_prefix=*/false, workspace_bytes);
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
    return cascade_can_implement(
        fn, {batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, element},
        /*dense_prefix=*/true);
  });
}

int32_t baracuda_kernels_flashinfer_cascade_decode_dense_prefix_get_workspace_size(
    int32_t batch_size, int32_t num_qo_heads, int32_t num_kv_heads, int32_t head_dim,
    int32_t page_size, int32_t element, size_t* workspace_bytes) {
  return guarded(__func__, [&](const char* fn) {
    return cascade_workspace_size(
        fn, {batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, element},
        /*dense_prefix=*/true, workspace_bytes);
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
    DecodePointers p{k_data, v_data, indices, suffix_indptr, suffix_last_page_len,
                     q,      o,      lse,     workspace,     workspace_bytes};
    p.indptr_name = "suffix_indptr";
    p.last_page_len_name = "suffix_last_page_len";
    return run_cascade(fn, {batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, element},
                       sm_scale, p, suffix_indptr, suffix_last_page_len, &dense, stream);
  });
}

#define BFI_DEFINE_PAGED_DECODE(NAME, ELEMENT)                                                     \
  int32_t baracuda_kernels_flashinfer_paged_decode_##NAME##_run(                                   \
      int32_t batch_size, int32_t page_size, int32_t head_dim, int32_t num_qo_heads,               \
      int32_t num_kv_heads, float sm_scale, void* k_data, void* v_data, void* indices,             \
      void* indptr, void* last_page_len, const void* q, void* o, void* lse, void* workspace,       \
      size_t workspace_bytes, baracuda_flashinfer_stream_t stream) {                               \
    return guarded(__func__, [&](const char* fn) {                                                 \
      return run(                                                                                  \
          fn, {batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, ELEMENT}, sm_scale,    \
          {k_data, v_data, indices, indptr, last_page_len, q, o, lse, workspace, workspace_bytes}, \
          /*flags=*/0, stream);                                                                    \
    });                                                                                            \
  }                                                                                                \
  int32_t baracuda_kernels_flashinfer_paged_decode_##NAME##_can_implement(                         \
      int32_t batch_size, int32_t page_size, int32_t head_dim, int32_t num_qo_heads,               \
      int32_t num_kv_heads, float sm_scale) {                                                      \
    return guarded(__func__, [&](const char* fn) {                                                 \
      BFI_CHECK(check_sm_scale(fn, sm_scale));                                                     \
      const DecodeVariant* v = nullptr;                                                            \
      return check_shape(                                                                          \
          fn, {batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, ELEMENT}, &v);         \
    });                                                                                            \
  }

BFI_DEFINE_PAGED_DECODE(f16, BARACUDA_FLASHINFER_F16)
BFI_DEFINE_PAGED_DECODE(bf16, BARACUDA_FLASHINFER_BF16)
BFI_DEFINE_PAGED_DECODE(f32, BARACUDA_FLASHINFER_F32)
BFI_DEFINE_PAGED_DECODE(f16_e4m3, BARACUDA_FLASHINFER_F16_E4M3)
BFI_DEFINE_PAGED_DECODE(f16_e5m2, BARACUDA_FLASHINFER_F16_E5M2)
BFI_DEFINE_PAGED_DECODE(bf16_e4m3, BARACUDA_FLASHINFER_BF16_E4M3)
BFI_DEFINE_PAGED_DECODE(bf16_e5m2, BARACUDA_FLASHINFER_BF16_E5M2)

}  // extern "C"
