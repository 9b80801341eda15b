// C ABI of the batch-prefill family: validation (in the documented order), the schedule for the
// stream's device, the launch; and the existing ABI's workspace-free prefill symbols on top.
#include <cuda_runtime_api.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>
#include <utility>

#include "common/attention_options.hpp"
#include "common/device_context.hpp"
#include "common/elements.hpp"
#include "common/status.hpp"
#include "common/stream.hpp"
#include "prefill/prefill_launch.hpp"
#include "prefill/prefill_sink_rows.hpp"

namespace baracuda::flashinfer::prefill {
namespace {

constexpr int32_t kMaxBatch = 1 << 20;
constexpr int32_t kMaxQoHeads = 1024;
constexpr int32_t kKnownFlags =
    BARACUDA_FLASHINFER_ATTENTION_NO_SPLIT | BARACUDA_FLASHINFER_ATTENTION_FA2;

bool finite_positive(float x) {
  return x > 0.f && std::isfinite(x);
}

// The schedule's view of the options (their domains checked already): every option runs on both
// paths.
void variant_of(const baracuda_flashinfer_attention_options& o, PrefillVariant* v) {
  v->window_left = o.window_left;
  v->allow_split = !(o.flags & BARACUDA_FLASHINFER_ATTENTION_NO_SPLIT);
  v->force_fa2 = (o.flags & BARACUDA_FLASHINFER_ATTENTION_FA2) != 0;
  v->finalize_pass = o.v_scale != 1.f || o.sinks != nullptr;
}

Status check_scale(const char* fn, float sm_scale) {
  if (!finite_positive(sm_scale)) {
    return fail(kInvalid,
                "%s: sm_scale must be positive and finite, usually 1/sqrt(head_dim) (got %g)", fn,
                static_cast<double>(sm_scale));
  }
  return kSuccess;
}

// The names a message gives the arguments: the symbol's own, so the existing ABI's callers read
// total_num_rows where the new symbols say max_q_rows.
struct ArgNames {
  const char *q_rows, *kv_rows, *k, *v;
};
constexpr ArgNames kPagedNames{"max_q_rows", "max_kv_rows", "k_data", "v_data"};
constexpr ArgNames kRaggedNames{"max_q_rows", "max_kv_rows", "k", "v"};
constexpr ArgNames kLegacyNames{"total_num_rows", "total_kv_rows", "k_data", "v_data"};
const ArgNames& names_of(const PrefillShape& s) {
  return s.paged ? kPagedNames : kRaggedNames;
}

// Element, extents, divisibility, limits, head dims, options: everything can_implement checks
// besides sm_scale.
Status check_shape(const char* fn, const PrefillShape& s,
                   const baracuda_flashinfer_attention_options* options, const ArgNames& n,
                   PrefillVariant* v) {
  if (s.element < BARACUDA_FLASHINFER_F16 || s.element > BARACUDA_FLASHINFER_BF16_E5M2) {
    return fail(kInvalid, "%s: element must be an element code 0..6 (got %d)", fn, s.element);
  }
  BFI_CHECK(require_positive(fn, "batch_size", s.batch_size));
  BFI_CHECK(require_positive(fn, n.q_rows, s.max_q_rows));
  if (s.paged) {
    BFI_CHECK(require_positive(fn, "page_size", s.page_size));
  } else {
    BFI_CHECK(require_positive(fn, n.kv_rows, s.max_kv_rows));
  }
  BFI_CHECK(require_positive(fn, "head_dim", s.head_dim));
  BFI_CHECK(require_positive(fn, "num_qo_heads", s.num_qo_heads));
  BFI_CHECK(require_positive(fn, "num_kv_heads", s.num_kv_heads));
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
  if (int64_t(s.max_q_rows) * s.num_qo_heads >= (int64_t(1) << 31)) {
    return fail(kUnsupported, "%s: %s * num_qo_heads (%lld) must be below 2^31", fn, n.q_rows,
                static_cast<long long>(int64_t(s.max_q_rows) * s.num_qo_heads));
  }
  if (s.element == BARACUDA_FLASHINFER_F32) {
    return fail(kUnsupported,
                "%s: prefill takes f16 or bf16 queries over 16-bit or fp8 K/V (element 0, 1 or "
                "3-6; got f32)",
                fn);
  }
  if (find_fa2_prefill(s.element, s.head_dim) == nullptr) {
    return fail(kUnsupported, "%s: head_dim %d is not built for prefill (64, 128, 256)", fn,
                s.head_dim);
  }
  baracuda_flashinfer_attention_options o;
  BFI_CHECK(read_attention_options(fn, options, kKnownFlags, &o));
  variant_of(o, v);
  return kSuccess;
}

struct Pointers {
  const float* sinks;  // options->sinks
  const void* q;
  const int32_t* q_indptr;
  const void *k, *v;
  const int32_t *kv_indices, *kv_indptr, *last_page_len;
  void* o;
  float* lse;
  void* workspace;
  size_t workspace_bytes;
};

Status check_pointers(const char* fn, const PrefillShape& s, float sm_scale, const ArgNames& n,
                      const Pointers& p) {
  BFI_CHECK(require_non_null(fn, "q", p.q));
  BFI_CHECK(require_non_null(fn, "q_indptr", p.q_indptr));
  BFI_CHECK(require_non_null(fn, n.k, p.k));
  BFI_CHECK(require_non_null(fn, n.v, p.v));
  if (s.paged) BFI_CHECK(require_non_null(fn, "kv_indices", p.kv_indices));
  BFI_CHECK(require_non_null(fn, "kv_indptr", p.kv_indptr));
  if (s.paged) BFI_CHECK(require_non_null(fn, "last_page_len", p.last_page_len));
  BFI_CHECK(require_non_null(fn, "o", p.o));
  if (p.workspace == nullptr && p.workspace_bytes != 0) {
    return fail(kInvalid, "%s: workspace is NULL but workspace_bytes is %zu", fn,
                p.workspace_bytes);
  }
  BFI_CHECK(check_scale(fn, sm_scale));
  BFI_CHECK(require_aligned(fn, "q", p.q, kAlign));
  BFI_CHECK(require_aligned(fn, "q_indptr", p.q_indptr, sizeof(int32_t)));
  BFI_CHECK(require_aligned(fn, n.k, p.k, kAlign));
  BFI_CHECK(require_aligned(fn, n.v, p.v, kAlign));
  BFI_CHECK(require_aligned(fn, "kv_indices", p.kv_indices, sizeof(int32_t)));
  BFI_CHECK(require_aligned(fn, "kv_indptr", p.kv_indptr, sizeof(int32_t)));
  BFI_CHECK(require_aligned(fn, "last_page_len", p.last_page_len, sizeof(int32_t)));
  BFI_CHECK(require_aligned(fn, "o", p.o, kAlign));
  BFI_CHECK(require_aligned(fn, "lse", p.lse, sizeof(float)));
  BFI_CHECK(require_aligned(fn, "workspace", p.workspace, kAlign));
  BFI_CHECK(require_aligned(fn, "options->sinks", p.sinks, sizeof(float)));
  return kSuccess;
}

// The schedule on `context`'s device; FA3's kernels opted into their shared memory there.
Status schedule_on(const char* fn, DeviceContext& context, const PrefillShape& s,
                   const PrefillVariant& v, PrefillSchedule* out,
                   const PrefillVariantTable** table) {
  const PrefillVariantTable* fa3 = find_fa3_prefill(s.element, s.head_dim);
  PrefillFacts facts;
  facts.sm_count = context.facts().sm_count;
  facts.sm90a = context.facts().runs_sm90a();
  facts.fa3_built = fa3 != nullptr;
  *out = make_prefill_schedule(s, v, facts);
  *table = out->path == PrefillPath::kFa3 ? fa3 : find_fa2_prefill(s.element, s.head_dim);
  if (out->path == PrefillPath::kFa3) {
    int32_t blocks = 0;
    BFI_CHECK(context.residency(fn, s.paged ? fa3->paged_kernel : fa3->ragged_kernel, &blocks));
  }
  return kSuccess;
}

Status workspace_size(const char* fn, const PrefillShape& s,
                      const baracuda_flashinfer_attention_options* options, size_t* bytes) {
  PrefillVariant v;
  BFI_CHECK(check_shape(fn, s, options, names_of(s), &v));
  BFI_CHECK(require_non_null(fn, "workspace_bytes", bytes));
  DeviceContext* context = nullptr;
  BFI_CHECK(current_device_context(fn, &context));
  PrefillSchedule schedule;
  const PrefillVariantTable* table = nullptr;
  BFI_CHECK(schedule_on(fn, *context, s, v, &schedule, &table));
  *bytes = schedule.workspace;
  return kSuccess;
}

Status can_implement(const char* fn, const PrefillShape& s, float sm_scale,
                     const baracuda_flashinfer_attention_options* options, const ArgNames& n) {
  PrefillVariant v;
  BFI_CHECK(check_shape(fn, s, options, n, &v));
  return check_scale(fn, sm_scale);
}

Status run(const char* fn, const PrefillShape& s, float sm_scale,
           const baracuda_flashinfer_attention_options* options, const ArgNames& n,
           const Pointers& p, baracuda_flashinfer_stream_t stream) {
  PrefillVariant v;
  BFI_CHECK(check_shape(fn, s, options, n, &v));
  baracuda_flashinfer_attention_options o;
  BFI_CHECK(read_attention_options(fn, options, kKnownFlags, &o));
  Pointers with_sinks = p;
  with_sinks.sinks = o.sinks;
  BFI_CHECK(check_pointers(fn, s, sm_scale, n, with_sinks));
  const cudaStream_t cuda_stream = resolve_stream(stream);
  StreamDevice device;
  BFI_CHECK(device.enter(fn, cuda_stream));
  PrefillSchedule schedule;
  const PrefillVariantTable* table = nullptr;
  BFI_CHECK(schedule_on(fn, *device.context, s, v, &schedule, &table));
  if (p.workspace_bytes < schedule.workspace) {
    return fail(kWorkspaceTooSmall, "%s: workspace_bytes %zu is too small: needs %zu bytes (%s)",
                fn, p.workspace_bytes, schedule.workspace,
                s.paged ? "prefill_paged_get_workspace_size" : "prefill_ragged_get_workspace_size");
  }
  const PrefillProblem problem{s,
                               sm_scale,
                               p.q,
                               p.q_indptr,
                               p.k,
                               p.v,
                               p.kv_indices,
                               p.kv_indptr,
                               p.last_page_len,
                               p.o,
                               p.lse,
                               attention_variant(o)};
  const PrefillRun launch = s.paged ? table->run_paged : table->run_ragged;
  const bool fa3 = schedule.path == PrefillPath::kFa3;
  if (fa3 && schedule.short_packed_rows > 0) {
    // The short requests (decode tokens, drafts) on FA2, which packs the GQA group into its tile;
    // disjoint rows from the FA3 launch's (both planners route alike).
    const PrefillVariantTable* fa2 = find_fa2_prefill(s.element, s.head_dim);
    BFI_CHECK(cuda_status(
        (s.paged ? fa2->run_paged : fa2->run_ragged)(problem, schedule, p.workspace, cuda_stream),
        "launching batch prefill (FA2: the short requests of an FA3 call)"));
  }
  BFI_CHECK(cuda_status(launch(problem, schedule, p.workspace, cuda_stream),
                        fa3 ? "launching batch prefill (FA3, sm_90a)"
                            : "launching batch prefill (FA2)"));
  if (!fa3 || o.sinks == nullptr || p.lse == nullptr) return kSuccess;
  return cuda_status(launch_sink_lse_of_keyless_rows(p.lse, o.sinks, p.q_indptr, s.batch_size,
                                                     s.max_q_rows, s.num_qo_heads, cuda_stream),
                     "launching the sink pass of rows without keys (FA3)");
}

PrefillShape paged_shape(int32_t element, int32_t batch, int32_t max_q_rows, int32_t page_size,
                         int32_t head_dim, int32_t hq, int32_t hkv, int32_t causal) {
  return PrefillShape{element,  batch, max_q_rows, 0,           page_size,
                      head_dim, hq,    hkv,        causal != 0, true};
}
PrefillShape ragged_shape(int32_t element, int32_t batch, int32_t max_q_rows, int32_t max_kv_rows,
                          int32_t head_dim, int32_t hq, int32_t hkv, int32_t causal) {
  return PrefillShape{element,  batch, max_q_rows, max_kv_rows, 1,
                      head_dim, hq,    hkv,        causal != 0, false};
}

// The existing ABI's symbols carry no workspace: one per (device, stream; and thread for the
// per-thread default stream), grown on demand, kept until exit. The
// mutex is held while a call enqueues its work, so a buffer is never replaced under a call that
// is still being enqueued; the stream orders the GPU work that uses it.
class LegacyWorkspaces {
 public:
  // *out: at least `bytes` of workspace for `stream` on the current device; the caller holds lock().
  Status get(const char* fn, cudaStream_t stream, size_t bytes, void** out) {
    int device = 0;
    BFI_CHECK(cuda_status(cudaGetDevice(&device), "cudaGetDevice"));
    // cudaStreamPerThread is one handle naming a different stream in each thread: its buffers
    // are per thread (a token never reused, unlike a std::thread::id), or two threads' streams
    // would share one buffer unordered.
    const uint64_t owner = stream == cudaStreamPerThread ? this_thread_token() : 0;
    Buffer& b = buffers_[Key{device, stream, owner}];
    if (b.bytes < bytes) {
      cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
      BFI_CHECK(cuda_status(cudaStreamIsCapturing(stream, &capture), "cudaStreamIsCapturing"));
      if (capture != cudaStreamCaptureStatusNone) {
        return fail(kCudaError,
                    "%s: this call needs a larger library-owned workspace (%zu bytes, %zu held "
                    "for this stream), which cannot be allocated during graph capture: make one "
                    "call of these sizes on this stream before capturing, or use the prefill_*_run "
                    "symbols with a workspace of your own",
                    fn, bytes, b.bytes);
      }
      if (b.ptr != nullptr) BFI_CHECK(cuda_status(cudaFreeAsync(b.ptr, stream), "cudaFreeAsync"));
      b.ptr = nullptr;
      b.bytes = 0;
      BFI_CHECK(cuda_status(cudaMallocAsync(&b.ptr, bytes, stream),
                            "cudaMallocAsync (the legacy prefill workspace)"));
      b.bytes = bytes;
    }
    *out = b.ptr;
    return kSuccess;
  }
  std::mutex& lock() { return mutex_; }

 private:
  static uint64_t this_thread_token() {
    static std::atomic<uint64_t> next{1};
    thread_local const uint64_t token = next++;
    return token;
  }
  struct Buffer {
    void* ptr = nullptr;
    size_t bytes = 0;
  };
  std::mutex mutex_;
  struct Key {
    int device;
    cudaStream_t stream;
    uint64_t thread;
    bool operator<(const Key& o) const {
      return std::tie(device, stream, thread) < std::tie(o.device, o.stream, o.thread);
    }
  };
  std::map<Key, Buffer> buffers_;
};

LegacyWorkspaces& legacy_workspaces() {
  static LegacyWorkspaces* w = new LegacyWorkspaces;  // lives until exit, like its buffers
  return *w;
}

Status legacy_run(const char* fn, const PrefillShape& s, float sm_scale, int32_t enable_split,
                  Pointers p, baracuda_flashinfer_stream_t stream) {
  baracuda_flashinfer_attention_options o = default_attention_options();
  if (enable_split == 0) o.flags = BARACUDA_FLASHINFER_ATTENTION_NO_SPLIT;
  PrefillVariant v;
  BFI_CHECK(check_shape(fn, s, &o, kLegacyNames, &v));
  p.workspace = nullptr;
  p.workspace_bytes = 0;
  BFI_CHECK(check_pointers(fn, s, sm_scale, kLegacyNames, p));
  const cudaStream_t cuda_stream = resolve_stream(stream);
  StreamDevice device;
  BFI_CHECK(device.enter(fn, cuda_stream));
  PrefillSchedule schedule;
  const PrefillVariantTable* table = nullptr;
  BFI_CHECK(schedule_on(fn, *device.context, s, v, &schedule, &table));
  LegacyWorkspaces& ws = legacy_workspaces();
  std::lock_guard<std::mutex> lock(ws.lock());
  BFI_CHECK(ws.get(fn, cuda_stream, schedule.workspace, &p.workspace));
  p.workspace_bytes = schedule.workspace;
  return run(fn, s, sm_scale, &o, kLegacyNames, p, stream);
}

}  // namespace
}  // namespace baracuda::flashinfer::prefill

using namespace baracuda::flashinfer;
using namespace baracuda::flashinfer::prefill;

extern "C" {

void baracuda_kernels_flashinfer_attention_options_init(
    baracuda_flashinfer_attention_options* options) {
  // This symbol fills the first version forever (a later version gets its own init), so a caller
  // compiled against this header is never written past its struct.
  static_assert(sizeof(baracuda_flashinfer_attention_options) == 48,
                "the first version of the options is 48 bytes on LP64");
  if (options != nullptr) *options = default_attention_options();
}

int32_t baracuda_kernels_flashinfer_prefill_paged_can_implement(
    int32_t element, int32_t batch_size, int32_t max_q_rows, int32_t page_size, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, int32_t causal,
    const baracuda_flashinfer_attention_options* options) {
  return guarded(__func__, [&](const char* fn) {
    return can_implement(fn,
                         paged_shape(element, batch_size, max_q_rows, page_size, head_dim,
                                     num_qo_heads, num_kv_heads, causal),
                         sm_scale, options, kPagedNames);
  });
}

int32_t baracuda_kernels_flashinfer_prefill_paged_get_workspace_size(
    int32_t element, int32_t batch_size, int32_t max_q_rows, int32_t page_size, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, int32_t causal,
    const baracuda_flashinfer_attention_options* options, size_t* workspace_bytes) {
  return guarded(__func__, [&](const char* fn) {
    return workspace_size(fn,
                          paged_shape(element, batch_size, max_q_rows, page_size, head_dim,
                                      num_qo_heads, num_kv_heads, causal),
                          options, workspace_bytes);
  });
}

int32_t baracuda_kernels_flashinfer_prefill_paged_run(
    int32_t element, int32_t batch_size, int32_t max_q_rows, int32_t page_size, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, int32_t causal,
    const baracuda_flashinfer_attention_options* options, const void* q, const int32_t* q_indptr,
    const void* k_data, const void* v_data, const int32_t* kv_indices, const int32_t* kv_indptr,
    const int32_t* last_page_len, void* o, float* lse, void* workspace, size_t workspace_bytes,
    baracuda_flashinfer_stream_t stream) {
  return guarded(__func__, [&](const char* fn) {
    return run(fn,
               paged_shape(element, batch_size, max_q_rows, page_size, head_dim, num_qo_heads,
                           num_kv_heads, causal),
               sm_scale, options, kPagedNames,
               {nullptr, q, q_indptr, k_data, v_data, kv_indices, kv_indptr, last_page_len, o, lse,
                workspace, workspace_bytes},
               stream);
  });
}

int32_t baracuda_kernels_flashinfer_prefill_ragged_can_implement(
    int32_t element, int32_t batch_size, int32_t max_q_rows, int32_t max_kv_rows, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, int32_t causal,
    const baracuda_flashinfer_attention_options* options) {
  return guarded(__func__, [&](const char* fn) {
    return can_implement(fn,
                         ragged_shape(element, batch_size, max_q_rows, max_kv_rows, head_dim,
                                      num_qo_heads, num_kv_heads, causal),
                         sm_scale, options, kRaggedNames);
  });
}

int32_t baracuda_kernels_flashinfer_prefill_ragged_get_workspace_size(
    int32_t element, int32_t batch_size, int32_t max_q_rows, int32_t max_kv_rows, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, int32_t causal,
    const baracuda_flashinfer_attention_options* options, size_t* workspace_bytes) {
  return guarded(__func__, [&](const char* fn) {
    return workspace_size(fn,
                          ragged_shape(element, batch_size, max_q_rows, max_kv_rows, head_dim,
                                       num_qo_heads, num_kv_heads, causal),
                          options, workspace_bytes);
  });
}

int32_t baracuda_kernels_flashinfer_prefill_ragged_run(
    int32_t element, int32_t batch_size, int32_t max_q_rows, int32_t max_kv_rows, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, int32_t causal,
    const baracuda_flashinfer_attention_options* options, const void* q, const int32_t* q_indptr,
    const void* k, const void* v, const int32_t* kv_indptr, void* o, float* lse, void* workspace,
    size_t workspace_bytes, baracuda_flashinfer_stream_t stream) {
  return guarded(__func__, [&](const char* fn) {
    return run(fn,
               ragged_shape(element, batch_size, max_q_rows, max_kv_rows, head_dim, num_qo_heads,
                            num_kv_heads, causal),
               sm_scale, options, kRaggedNames,
               {nullptr, q, q_indptr, k, v, nullptr, kv_indptr, nullptr, o, lse, workspace,
                workspace_bytes},
               stream);
  });
}

#define BFI_DEFINE_LEGACY_PREFILL(NAME, ELEMENT)                                                   \
  int32_t baracuda_kernels_flashinfer_paged_prefill_##NAME##_run(                                  \
      int32_t batch_size, int32_t total_num_rows, int32_t page_size, int32_t head_dim,             \
      int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, int32_t causal,                  \
      int32_t enable_split, void* k_data, void* v_data, void* kv_indices, void* kv_indptr,         \
      void* last_page_len, const void* q, void* q_indptr, void* o, void* lse,                      \
      baracuda_flashinfer_stream_t stream) {                                                       \
    return guarded(__func__, [&](const char* fn) {                                                 \
      return legacy_run(                                                                           \
          fn,                                                                                      \
          paged_shape(ELEMENT, batch_size, total_num_rows, page_size, head_dim, num_qo_heads,      \
                      num_kv_heads, causal),                                                       \
          sm_scale, enable_split,                                                                  \
          {nullptr, q, static_cast<const int32_t*>(q_indptr), k_data, v_data,                      \
           static_cast<const int32_t*>(kv_indices), static_cast<const int32_t*>(kv_indptr),        \
           static_cast<const int32_t*>(last_page_len), o, static_cast<float*>(lse), nullptr, 0},   \
          stream);                                                                                 \
    });                                                                                            \
  }                                                                                                \
  int32_t baracuda_kernels_flashinfer_paged_prefill_##NAME##_can_implement(                        \
      int32_t batch_size, int32_t total_num_rows, int32_t page_size, int32_t head_dim,             \
      int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, int32_t causal,                  \
      int32_t enable_split) {                                                                      \
    return guarded(__func__, [&](const char* fn) {                                                 \
      (void)enable_split;                                                                          \
      return can_implement(fn,                                                                     \
                           paged_shape(ELEMENT, batch_size, total_num_rows, page_size, head_dim,   \
                                       num_qo_heads, num_kv_heads, causal),                        \
                           sm_scale, nullptr, kLegacyNames);                                       \
    });                                                                                            \
  }                                                                                                \
  int32_t baracuda_kernels_flashinfer_ragged_prefill_##NAME##_run(                                 \
      int32_t batch_size, int32_t total_num_rows, int32_t total_kv_rows, int32_t head_dim,         \
      int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, int32_t causal,                  \
      int32_t enable_split, const void* k_data, const void* v_data, void* kv_indptr,               \
      const void* q, void* q_indptr, void* o, void* lse, baracuda_flashinfer_stream_t stream) {    \
    return guarded(__func__, [&](const char* fn) {                                                 \
      return legacy_run(fn,                                                                        \
                        ragged_shape(ELEMENT, batch_size, total_num_rows, total_kv_rows, head_dim, \
                                     num_qo_heads, num_kv_heads, causal),                          \
                        sm_scale, enable_split,                                                    \
                        {nullptr, q, static_cast<const int32_t*>(q_indptr), k_data, v_data,        \
                         nullptr, static_cast<const int32_t*>(kv_indptr), nullptr, o,              \
                         static_cast<float*>(lse), nullptr, 0},                                    \
                        stream);                                                                   \
    });                                                                                            \
  }                                                                                                \
  int32_t baracuda_kernels_flashinfer_ragged_prefill_##NAME##_can_implement(                       \
      int32_t batch_size, int32_t total_num_rows, int32_t total_kv_rows, int32_t head_dim,         \
      int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, int32_t causal) {                \
    return guarded(__func__, [&](const char* fn) {                                                 \
      return can_implement(fn,                                                                     \
                           ragged_shape(ELEMENT, batch_size, total_num_rows, total_kv_rows,        \
                                        head_dim, num_qo_heads, num_kv_heads, causal),             \
                           sm_scale, nullptr, kLegacyNames);                                       \
    });                                                                                            \
  }

BFI_DEFINE_LEGACY_PREFILL(f16, BARACUDA_FLASHINFER_F16)
BFI_DEFINE_LEGACY_PREFILL(bf16, BARACUDA_FLASHINFER_BF16)

int32_t baracuda_kernels_flashinfer_paged_prefill_can_implement(int32_t batch_size,
                                                                int32_t total_num_rows,
                                                                int32_t page_size, int32_t head_dim,
                                                                int32_t num_qo_heads,
                                                                int32_t num_kv_heads) {
  return guarded(__func__, [&](const char* fn) {
    PrefillVariant v;
    return check_shape(fn,
                       paged_shape(BARACUDA_FLASHINFER_F16, batch_size, total_num_rows, page_size,
                                   head_dim, num_qo_heads, num_kv_heads, /*causal=*/0),
                       nullptr, kLegacyNames, &v);
  });
}

int32_t baracuda_kernels_flashinfer_ragged_prefill_can_implement(
    int32_t batch_size, int32_t total_num_rows, int32_t total_kv_rows, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads) {
  return guarded(__func__, [&](const char* fn) {
    PrefillVariant v;
    return check_shape(fn,
                       ragged_shape(BARACUDA_FLASHINFER_F16, batch_size, total_num_rows,
                                    total_kv_rows, head_dim, num_qo_heads, num_kv_heads,
                                    /*causal=*/0),
                       nullptr, kLegacyNames, &v);
  });
}

}  // extern "C"
