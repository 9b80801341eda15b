/*
 * baracuda-flashinfer: a stable C ABI over FlashInfer's LLM-inference kernels.
 *
 * SPDX-License-Identifier: Apache-2.0
 *
 * C99, no CUDA header needed. Every symbol is prefixed `baracuda_kernels_flashinfer_`.
 *
 * Conventions shared by every function (docs/ABI.md has the per-symbol table):
 *   - Return value: a baracuda_flashinfer_status code (0 = success). On failure the calling
 *     thread's last-error message (baracuda_kernels_flashinfer_last_error()) names the argument
 *     and the limit, or carries the CUDA error text. Nothing is written and nothing is launched
 *     when validation fails.
 *   - No C++ exception ever crosses this ABI; no function aborts the process on bad input.
 *   - `*_can_implement` answers, without touching the GPU or any pointer, exactly what the
 *     matching `*_run` would answer for the same sizes: 0 means run will launch.
 *   - `*_run` functions only enqueue work on `stream`: they never allocate, never synchronise,
 *     never read device memory back to the host, and are CUDA-graph capturable.
 *     A NULL stream means the per-thread default stream (cudaStreamPerThread), as in the ABI
 *     this library replaces. Pass an explicit stream when capturing a graph.
 *   - A `*_run` works on the device its stream belongs to, whatever device is current: it makes
 *     that device current for the call and restores the previous one. The NULL / per-thread /
 *     legacy stream, and a stream being captured, mean the calling thread's current device.
 *     `*_get_workspace_size` and the `*_can_implement` that need device facts answer for the
 *     calling thread's current device.
 *   - All index arrays (indices, indptr, last_page_len, token ids) are int32 on the device.
 *   - LSE values are base 2: lse = log2(sum_j exp(sm_scale * q.k_j)). Multiply by ln(2) to get
 *     the natural-log LSE that FlashAttention / vLLM use (and divide by ln(2) to convert back).
 *   - Thread safety: every function may be called from any thread concurrently; two concurrent
 *     runs must not share a workspace or output buffer.
 */
#ifndef BARACUDA_FLASHINFER_H_
#define BARACUDA_FLASHINFER_H_

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#if defined(BARACUDA_FLASHINFER_BUILDING)
#define BARACUDA_FLASHINFER_API __declspec(dllexport)
#else
#define BARACUDA_FLASHINFER_API __declspec(dllimport)
#endif
#else
#define BARACUDA_FLASHINFER_API __attribute__((visibility("default")))
#endif

/*
 * Stability tiers (docs/ABI.md, "Stability tiers"; abi/exports.txt records each symbol's tier):
 *   stable        every declaration not marked otherwise: name, argument order, types and
 *                 meaning are kept for the life of the SOVERSION (libbaracuda_flashinfer.so.0);
 *                 abi/signatures.h is the baseline every change is checked against.
 *   experimental  declared with BARACUDA_FLASHINFER_EXPERIMENTAL: exported and tested like the
 *                 rest, but outside that promise: it may change or go in any release.
 *   deprecated    marked BARACUDA_FLASHINFER_DEPRECATED(msg): kept for the SOVERSION, a compiler
 *                 warning at each use, removed with the next SOVERSION. Define
 *                 BARACUDA_FLASHINFER_DISABLE_DEPRECATE_WARNINGS to silence the warnings.
 */
#ifndef BARACUDA_FLASHINFER_EXPERIMENTAL
#define BARACUDA_FLASHINFER_EXPERIMENTAL BARACUDA_FLASHINFER_API
#endif
#ifndef BARACUDA_FLASHINFER_DEPRECATED
#if defined(BARACUDA_FLASHINFER_DISABLE_DEPRECATE_WARNINGS)
#define BARACUDA_FLASHINFER_DEPRECATED(msg)
#elif defined(__GNUC__) || defined(__clang__)
#define BARACUDA_FLASHINFER_DEPRECATED(msg) __attribute__((deprecated(msg)))
#elif defined(_MSC_VER)
#define BARACUDA_FLASHINFER_DEPRECATED(msg) __declspec(deprecated(msg))
#else
#define BARACUDA_FLASHINFER_DEPRECATED(msg)
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------  */
/* Version                                                                                     */
/* ------------------------------------------------------------------------------------------  */

#define BARACUDA_FLASHINFER_VERSION_MAJOR 0
#define BARACUDA_FLASHINFER_VERSION_MINOR 1
#define BARACUDA_FLASHINFER_VERSION_PATCH 0
/** MAJOR * 10000 + MINOR * 100 + PATCH */
#define BARACUDA_FLASHINFER_VERSION                                                      \
  (BARACUDA_FLASHINFER_VERSION_MAJOR * 10000 + BARACUDA_FLASHINFER_VERSION_MINOR * 100 + \
   BARACUDA_FLASHINFER_VERSION_PATCH)

/** The version the library was built as (compare with BARACUDA_FLASHINFER_VERSION). */
BARACUDA_FLASHINFER_API uint32_t baracuda_kernels_flashinfer_version(void);
/** "MAJOR.MINOR.PATCH (flashinfer-python X, CCCL Y, CUDA Z)". Static storage; never NULL. */
BARACUDA_FLASHINFER_API const char* baracuda_kernels_flashinfer_version_string(void);

/* ------------------------------------------------------------------------------------------  */
/* Status                                                                                      */
/* ------------------------------------------------------------------------------------------  */

/** Stable values: never renumbered. 0-4 keep the meaning existing Rust callers map. */
enum baracuda_flashinfer_status {
  BARACUDA_FLASHINFER_SUCCESS = 0,
  BARACUDA_FLASHINFER_MISALIGNED_OPERAND = 1, /**< a pointer lacks the alignment it needs */
  BARACUDA_FLASHINFER_INVALID_PROBLEM = 2,    /**< a size, pointer or value is invalid */
  BARACUDA_FLASHINFER_UNSUPPORTED = 3,        /**< valid, but no kernel is built for it */
  BARACUDA_FLASHINFER_WORKSPACE_TOO_SMALL = 4,
  BARACUDA_FLASHINFER_CUDA_ERROR = 5, /**< the CUDA runtime failed; message has its text */
  BARACUDA_FLASHINFER_INTERNAL = 6    /**< a bug in this library; please report it */
};

/** Static name of a status ("success", "invalid problem", ...); never NULL. */
BARACUDA_FLASHINFER_API const char* baracuda_kernels_flashinfer_status_string(int32_t status);

/**
 * The calling thread's message for the last non-success status returned to it ("" if none).
 * Valid until the thread's next call into this library. Never NULL.
 */
BARACUDA_FLASHINFER_API const char* baracuda_kernels_flashinfer_last_error(void);

/** A cudaStream_t (forward-declared so no CUDA header is needed). */
typedef struct CUstream_st* baracuda_flashinfer_stream_t;

/* ------------------------------------------------------------------------------------------  */
/* Element codes                                                                               */
/* ------------------------------------------------------------------------------------------  */

/**
 * Element codes name the query/output type and, for the fp8 codes, the KV-cache type.
 * f16/bf16/f32: Q, K, V and O all share the type. The fp8 codes: Q and O are f16 or bf16,
 * K and V are 1-byte fp8 values used as they are (no scale factor; fold a K scale into
 * sm_scale and apply a V scale to the output).
 */
enum baracuda_flashinfer_element {
  BARACUDA_FLASHINFER_F16 = 0,
  BARACUDA_FLASHINFER_BF16 = 1,
  BARACUDA_FLASHINFER_F32 = 2,
  BARACUDA_FLASHINFER_F16_E4M3 = 3,  /**< Q/O f16, KV fp8 e4m3 */
  BARACUDA_FLASHINFER_F16_E5M2 = 4,  /**< Q/O f16, KV fp8 e5m2 */
  BARACUDA_FLASHINFER_BF16_E4M3 = 5, /**< Q/O bf16, KV fp8 e4m3 */
  BARACUDA_FLASHINFER_BF16_E5M2 = 6  /**< Q/O bf16, KV fp8 e5m2 */
};

/* ------------------------------------------------------------------------------------------  */
/* Batched paged-KV decode                                                                     */
/* ------------------------------------------------------------------------------------------  */
/*
 * One query token per request attends that request's paged K/V:
 *   o[b,h]   = sum_j softmax_j(sm_scale * q[b,h] . k[b,h/g,j]) * v[b,h/g,j],  g = Hq / Hkv
 *   lse[b,h] = log2 sum_j exp(sm_scale * q[b,h] . k[b,h/g,j])            (base 2)
 * A request with no KV tokens gets o = 0 and lse = -inf. sm_scale must be positive and finite
 * (status 2 otherwise, from _run and _can_implement alike): the kernels scale the running maximum.
 *
 * Shapes (B = batch_size, Hq = num_qo_heads, Hkv = num_kv_heads, D = head_dim, P = page_size),
 * all dense row-major:
 *   q, o           [B, Hq, D]                 element type of Q/O; 16-byte aligned
 *   k_data, v_data [num_pages, Hkv, P, D]     ("HND" pages); 16-byte aligned
 *   indices        [indptr[B]]                int32 physical page ids
 *   indptr         [B + 1]                    int32; request b owns indices[indptr[b]..indptr[b+1])
 *   last_page_len  [B]                        int32 in [1, P]: tokens used in the last page
 *   lse            [B, Hq]                    float32, base 2; may be NULL (not written)
 * kv_len(b) = (indptr[b+1] - indptr[b] - 1) * P + last_page_len[b], or 0 with no pages.
 * Supported: D in {64, 128, 256}; any P >= 1; any Hq, Hkv with Hq % Hkv == 0 and Hq <= 1024;
 * 1 <= B <= 2^20; sum of pages * P < 2^31.
 *
 * Split-KV: when B * Hkv CTAs cannot fill the GPU, _run splits each request's KV into chunks on
 * the device (no host copy of indptr, no synchronisation) and merges the partial states.
 * Partial outputs are stored in the output type (as FlashInfer does), which adds one rounding of
 * the output type to the result. The split needs the workspace that
 * baracuda_kernels_flashinfer_paged_decode_get_workspace_size() reports; with a smaller
 * workspace (for example the one-argument legacy size) _run decodes without splitting:
 * same result, lower speed at small batch.
 */

/**
 * Can paged decode run this problem? 0 if yes, else the status _run would return (and a
 * message). Argument order is the seed's: (batch, Hq, Hkv, head_dim, page_size, element).
 * Thread-safe; touches no GPU.
 */
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_paged_decode_can_implement(
    int32_t batch_size, int32_t num_qo_heads, int32_t num_kv_heads, int32_t head_dim,
    int32_t page_size, int32_t element);

/**
 * Workspace bytes that let _run split KV for this problem on the current device.
 * Depends only on (batch, Hq, Hkv, head_dim, element) and the device; 0 when the problem never
 * splits. Writes *workspace_bytes; returns a status. Queries the device once, then caches.
 */
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_paged_decode_get_workspace_size(
    int32_t batch_size, int32_t num_qo_heads, int32_t num_kv_heads, int32_t head_dim,
    int32_t page_size, int32_t element, size_t* workspace_bytes);

/**
 * Legacy one-argument size: (3 * batch_size + 2) * 4 bytes, 0 if batch_size <= 0. A workspace
 * of this size is accepted by _run, which then decodes without split-KV (correct, slower at
 * small batch). Use _get_workspace_size() for full speed.
 */
BARACUDA_FLASHINFER_DEPRECATED("use paged_decode_get_workspace_size: this size disables split-KV")
BARACUDA_FLASHINFER_API size_t
baracuda_kernels_flashinfer_paged_decode_workspace_size(int32_t batch_size);

/*
 * Run symbols. Argument order is the existing ABI's: note head_dim before the head counts.
 * `workspace` may be NULL when workspace_bytes is 0. Graph-capturable: the grid depends only on
 * the sizes, so one capture stays correct when lengths and page tables change between replays.
 */
#define BARACUDA_FLASHINFER_DECLARE_PAGED_DECODE(NAME)                                             \
  BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_paged_decode_##NAME##_run(           \
      int32_t batch_size, int32_t page_size, int32_t head_dim, int32_t num_qo_heads,               \
      int32_t num_kv_heads, float sm_scale, void* k_data, void* v_data, void* indices,             \
      void* indptr, void* last_page_len, const void* q, void* o, void* lse, void* workspace,       \
      size_t workspace_bytes, baracuda_flashinfer_stream_t stream);                                \
  BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_paged_decode_##NAME##_can_implement( \
      int32_t batch_size, int32_t page_size, int32_t head_dim, int32_t num_qo_heads,               \
      int32_t num_kv_heads, float sm_scale);

BARACUDA_FLASHINFER_DECLARE_PAGED_DECODE(f16)
BARACUDA_FLASHINFER_DECLARE_PAGED_DECODE(bf16)
BARACUDA_FLASHINFER_DECLARE_PAGED_DECODE(f32)
BARACUDA_FLASHINFER_DECLARE_PAGED_DECODE(f16_e4m3)
BARACUDA_FLASHINFER_DECLARE_PAGED_DECODE(f16_e5m2)
BARACUDA_FLASHINFER_DECLARE_PAGED_DECODE(bf16_e4m3)
BARACUDA_FLASHINFER_DECLARE_PAGED_DECODE(bf16_e5m2)

/**
 * Schedule flags of paged_decode_run_with (0 = what _run does: the measured best path, split-KV
 * when it helps). For A/B checks, benchmarks and callers who know better.
 */
enum baracuda_flashinfer_decode_flags {
  BARACUDA_FLASHINFER_DECODE_AUTO = 0,
  BARACUDA_FLASHINFER_DECODE_NO_SPLIT = 1,    /**< one chunk per request (no merge) */
  BARACUDA_FLASHINFER_DECODE_CUDA_CORES = 2,  /**< FlashInfer's batch-decode kernel */
  BARACUDA_FLASHINFER_DECODE_TENSOR_CORES = 4, /**< FA2 prefill kernel, one query row per
                                                    request; not f32 */
  BARACUDA_FLASHINFER_DECODE_WARP_TILES = 8     /**< the library's warp-tile kernel: f16/bf16
                                                    KV, no soft-cap */
};

/**
 * Paged decode with explicit schedule flags; otherwise the same arguments and contract as
 * paged_decode_<element>_run. The tensor-core path needs the workspace that
 * _get_workspace_size() reports (status 4 if smaller); CUDA cores without split need none.
 */
BARACUDA_FLASHINFER_EXPERIMENTAL int32_t baracuda_kernels_flashinfer_paged_decode_run_with(
    int32_t element, int32_t flags, int32_t batch_size, int32_t page_size, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, void* k_data, void* v_data,
    void* indices, void* indptr, void* last_page_len, const void* q, void* o, void* lse,
    void* workspace, size_t workspace_bytes, baracuda_flashinfer_stream_t stream);

/** What paged_decode_run_with would answer for these sizes and flags (no GPU touched). */
BARACUDA_FLASHINFER_EXPERIMENTAL int32_t
baracuda_kernels_flashinfer_paged_decode_run_with_can_implement(int32_t element, int32_t flags,
                                                                int32_t batch_size,
                                                                int32_t page_size, int32_t head_dim,
                                                                int32_t num_qo_heads,
                                                                int32_t num_kv_heads);

/** The kernels paged decode runs on (baracuda_flashinfer_decode_schedule.path). */
enum baracuda_flashinfer_decode_path {
  BARACUDA_FLASHINFER_DECODE_PATH_CUDA_CORES = 0,  /**< FlashInfer's batch-decode kernel */
  BARACUDA_FLASHINFER_DECODE_PATH_TENSOR_CORES = 1, /**< FA2 prefill kernel, GQA rows packed */
  BARACUDA_FLASHINFER_DECODE_PATH_WARP_TILES = 2    /**< the library's kernel: a warp per KV tile
                                                         range, 8 query heads per mma, split
                                                         without a planner */
};

/**
 * How a paged-decode call would run. The caller sets struct_size = sizeof(the struct it was
 * compiled with); the library writes only the fields that fit in struct_size, so later versions
 * may append fields.
 */
typedef struct baracuda_flashinfer_decode_schedule {
  size_t struct_size;
  int32_t path;             /**< baracuda_flashinfer_decode_path */
  int32_t split;            /**< 1: KV is split into chunks on the device, then merged */
  int32_t work_items;       /**< CTAs along the batch axis (the padded grid when split) */
  int32_t min_chunk_tokens; /**< smallest chunk the device planner may pick (0 without split) */
  size_t workspace_bytes;   /**< workspace this schedule uses (0: none) */
} baracuda_flashinfer_decode_schedule;

/**
 * The schedule paged_decode_run_with(element, flags, ...) would take for these sizes with
 * `workspace_bytes` of workspace on the device of `stream` (NULL: the current device), without
 * launching anything: the path, whether it splits, and the workspace it uses (so a caller that
 * wants no split can size exactly that workspace: flags = NO_SPLIT). flags 0 gives what
 * paged_decode_<element>_run does. Statuses as _run (before pointers): 0, 2, 3, 4, 5.
 * Thread-safe; queries the device once, then caches; no synchronisation.
 */
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_paged_decode_describe(
    int32_t element, int32_t flags, int32_t batch_size, int32_t page_size, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, size_t workspace_bytes,
    baracuda_flashinfer_stream_t stream, baracuda_flashinfer_decode_schedule* schedule);

/* ------------------------------------------------------------------------------------------ */
/* Attention options                                                                           */
/* ------------------------------------------------------------------------------------------ */
/*
 * Options every attention call of the prefill family takes (NULL = all defaults: plain causal
 * or non-causal softmax attention over an HND paged or dense ragged cache). A versioned struct:
 * fill it with baracuda_kernels_flashinfer_attention_options_init() (which sets struct_size and
 * the defaults), then change fields; the library reads only the first struct_size bytes, so
 * fields appended in later versions keep their defaults for older callers. A struct_size the
 * library does not know (smaller than the first version's) is status 2.
 */
enum baracuda_flashinfer_kv_layout {
  BARACUDA_FLASHINFER_KV_LAYOUT_HND = 0, /**< pages [num_pages, Hkv, page_size, D] (default) */
  BARACUDA_FLASHINFER_KV_LAYOUT_NHD = 1  /**< pages [num_pages, page_size, Hkv, D] */
};

/** Kernel choices (options.flags; 0 = the measured best). For A/B checks and tests. */
enum baracuda_flashinfer_attention_flags {
  BARACUDA_FLASHINFER_ATTENTION_AUTO = 0,
  BARACUDA_FLASHINFER_ATTENTION_NO_SPLIT = 1, /**< never split a request's KV across CTAs */
  BARACUDA_FLASHINFER_ATTENTION_FA2 = 2       /**< FlashInfer's FA2 kernels, also on sm_90 */
};

typedef struct baracuda_flashinfer_attention_options {
  size_t struct_size;    /**< sizeof(baracuda_flashinfer_attention_options) */
  int32_t kv_layout;     /**< baracuda_flashinfer_kv_layout (paged caches); default HND */
  int32_t window_left;   /**< sliding window: -1 (default) = none; >= 0: query i of a request
                              keeps key j when j + qo_len + window_left >= kv_len + i;
                              >= 2^30 is read as none (it keeps every key a GPU can hold) */
  float logits_soft_cap; /**< 0 (default) = off; > 0: each scaled score s = sm_scale * q.k
                              becomes cap * tanh(s / cap) before the softmax (Gemma 2: 50) */
  float k_scale;         /**< 1 (default): the stored K times k_scale is the real K (the
                              scores are sm_scale * k_scale * q.k); fp8 caches' quantisation */
  float v_scale;         /**< 1 (default): the stored V times v_scale is the real V (o scales by
                              it; lse does not) */
  const float* sinks;    /**< NULL (default); else [Hq] float32 on the device, 4-byte aligned:
                              query head h's sink, a logit s_h in the scaled-score domain that
                              joins every row's softmax denominator as e^s_h and carries no
                              value (gpt-oss). The returned lse includes it; a row that keeps
                              no key gets o = 0, lse = s_h / ln 2. Merging such states with
                              merge_state_*: give only one of them the sink. */
  int32_t flags;         /**< baracuda_flashinfer_attention_flags */
  int32_t reserved;      /**< 0 */
} baracuda_flashinfer_attention_options;

/** Fills *options with struct_size and the defaults above. NULL is ignored. Writes exactly
 * this first version of the struct, in every later library too (a later version gets its own
 * init symbol), so it never writes past the struct a caller's header declared. */
BARACUDA_FLASHINFER_API void baracuda_kernels_flashinfer_attention_options_init(
    baracuda_flashinfer_attention_options* options);

/*
 * Paged decode with attention options (window, soft-cap, sinks, fp8 scales, NHD pages): the
 * arguments of paged_decode_run_with, plus `options` (NULL: plain attention, what
 * paged_decode_run_with does). `flags` are the decode flags above; options->flags may add
 * BARACUDA_FLASHINFER_ATTENTION_NO_SPLIT. The workspace is _ex_get_workspace_size()'s. Every
 * option applies to both decode kernels (a window keeps the last window_left + 1 keys of each
 * request, and only those are read), so the options change no path choice.
 */
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_paged_decode_ex_can_implement(
    int32_t element, int32_t flags, int32_t batch_size, int32_t page_size, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale,
    const baracuda_flashinfer_attention_options* options);
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_paged_decode_ex_get_workspace_size(
    int32_t element, int32_t flags, int32_t batch_size, int32_t page_size, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads,
    const baracuda_flashinfer_attention_options* options, size_t* workspace_bytes);
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_paged_decode_run_ex(
    int32_t element, int32_t flags, int32_t batch_size, int32_t page_size, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale,
    const baracuda_flashinfer_attention_options* options, void* k_data, void* v_data, void* indices,
    void* indptr, void* last_page_len, const void* q, void* o, void* lse, void* workspace,
    size_t workspace_bytes, baracuda_flashinfer_stream_t stream);

/* ------------------------------------------------------------------------------------------ */
/* Batch prefill (a query range per request: prompts, chunks and decode tokens)                */
/* ------------------------------------------------------------------------------------------ */
/*
 * Request b has qo_len(b) = q_indptr[b+1] - q_indptr[b] query rows (0 allowed) attending its
 * kv_len(b) keys:
 *   o[r,h]   = sum_j softmax_j(sm_scale * q[r,h] . k[b,h/g,j]) * v[b,h/g,j],  g = Hq / Hkv
 *   lse[r,h] = log2 sum_j exp(sm_scale * q[r,h] . k[b,h/g,j])                 (base 2)
 * over the keys the mask keeps. causal != 0: bottom-right aligned, query i (0-based within its
 * request) keeps keys j <= i + kv_len - qo_len; causal == 0: every key. A row that keeps no key
 * (kv_len 0, or causal with qo_len > kv_len for the first qo_len - kv_len rows) gets o = 0 and
 * lse = -inf. One call takes any mix of query lengths (1 = a decode token, up to a whole prompt)
 * on any KV lengths: chunked prefill and mixed prefill + decode batches.
 *
 * Shapes (B = batch_size, Hq, Hkv, D = head_dim, P = page_size), all dense row-major, int32 index
 * arrays on the device:
 *   q, o          [max_q_rows, Hq, D]    f16 or bf16 (the query type of `element`); 16-byte
 *                                        aligned. Rows from q_indptr[B] on are read (FA3 loads
 *                                        whole query tiles) but reach no result; o's are never
 *                                        written
 *   q_indptr      [B + 1]                non-decreasing, q_indptr[0] = 0, q_indptr[B] <= max_q_rows
 *   lse           [max_q_rows, Hq]       float32, base 2; may be NULL (not written); rows from
 *                                        q_indptr[B] on are never written
 * paged (prefill_paged_*, the cache decode and append use):
 *   k_data, v_data [num_pages, Hkv, P, D] (HND; NHD with options->kv_layout), the K/V type of
 *                                        `element` (16-bit or fp8); 16-byte aligned
 *   kv_indices    [kv_indptr[B]]         physical page ids
 *   kv_indptr     [B + 1]                page indptr: request b owns kv_indices[kv_indptr[b]..)
 *   last_page_len [B]                    in [1, P]; kv_len(b) = (pages - 1) * P + last_page_len
 * ragged (prefill_ragged_*, a contiguous K/V per batch):
 *   k, v          [max_kv_rows, Hkv, D]  the K/V type of `element`; 16-byte aligned; all
 *                                        max_kv_rows rows must hold finite values (zeros past
 *                                        kv_indptr[B] will do): FA3
 *                                        loads whole key tiles and weights the keys past a
 *                                        request's end by 0, and 0 * NaN is NaN
 *   kv_indptr     [B + 1]                row indptr: request b's keys are rows kv_indptr[b]..
 *                                        kv_indptr[b+1]-1, kv_indptr[B] <= max_kv_rows
 * Supported: element f16, bf16, and f16 or bf16 queries over fp8 K/V (3-6: e4m3 / e5m2, with
 * options->k_scale / v_scale); D in {64, 128, 256}; any P >= 1; any Hq, Hkv with Hq % Hkv == 0,
 * Hq <= 1024; 1 <= B <= 2^20; max_q_rows * Hq < 2^31; sm_scale positive and finite.
 *
 * Kernels: on a compute-capability 9.0 GPU (a build with sm_90) FlashInfer's FA3 (wgmma; TMA for
 * ragged K/V) kernels for 16-bit K/V, with FA2 taking the short requests (q_len * Hq / Hkv <= 16,
 * or 64 from group 17) when they fill the GPU; fp8 K/V, other GPUs and ATTENTION_FA2: FlashInfer's
 * FA2 kernels (fp8 K/V tiles widened to the query type in registers); on a schedule planned ON
 * THE DEVICE inside _run from q_indptr and the KV lengths: requests with few query tiles and
 * long KV are split into chunks across the GPU and merged. No host round trip: _run is graph
 * capturable, and one capture stays correct when lengths change (within the
 * static sizes). The workspace (caller-owned, 16-byte aligned) is _get_workspace_size()'s for
 * the same static sizes on the device of the run's stream; it depends on (element, batch_size,
 * max_q_rows, Hq, Hkv, head_dim, options; ragged: max_kv_rows) and the device only, not on causal
 * (an argument for symmetry with _run). Smaller: status 4.
 * Options (NULL: plain attention): every field applies on both kernels. A sliding window keeps
 * key j of query i when j + qo_len + window_left >= kv_len + i (with causal: the window_left + 1
 * keys ending at the diagonal); the kernels read only the keys some query of a tile keeps, and
 * split-KV is planned over those. See the options struct for the soft-cap, the scales and the
 * sinks; kv_layout applies to the paged cache (ragged K/V are [rows, Hkv, D]).
 */
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_prefill_paged_can_implement(
    int32_t element, int32_t batch_size, int32_t max_q_rows, int32_t page_size, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, int32_t causal,
    const baracuda_flashinfer_attention_options* options);

/** Workspace for prefill_paged_run on the current device (queries it once, then caches). */
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_prefill_paged_get_workspace_size(
    int32_t element, int32_t batch_size, int32_t max_q_rows, int32_t page_size, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, int32_t causal,
    const baracuda_flashinfer_attention_options* options, size_t* workspace_bytes);

BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_prefill_paged_run(
    int32_t element, int32_t batch_size, int32_t max_q_rows, int32_t page_size, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, int32_t causal,
    const baracuda_flashinfer_attention_options* options, const void* q, const int32_t* q_indptr,
    const void* k_data, const void* v_data, const int32_t* kv_indices, const int32_t* kv_indptr,
    const int32_t* last_page_len, void* o, float* lse, void* workspace, size_t workspace_bytes,
    baracuda_flashinfer_stream_t stream);

BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_prefill_ragged_can_implement(
    int32_t element, int32_t batch_size, int32_t max_q_rows, int32_t max_kv_rows, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, int32_t causal,
    const baracuda_flashinfer_attention_options* options);

/** Workspace for prefill_ragged_run on the current device (queries it once, then caches). */
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_prefill_ragged_get_workspace_size(
    int32_t element, int32_t batch_size, int32_t max_q_rows, int32_t max_kv_rows, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, int32_t causal,
    const baracuda_flashinfer_attention_options* options, size_t* workspace_bytes);

BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_prefill_ragged_run(
    int32_t element, int32_t batch_size, int32_t max_q_rows, int32_t max_kv_rows, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, int32_t causal,
    const baracuda_flashinfer_attention_options* options, const void* q, const int32_t* q_indptr,
    const void* k, const void* v, const int32_t* kv_indptr, void* o, float* lse, void* workspace,
    size_t workspace_bytes, baracuda_flashinfer_stream_t stream);

/*
 * The existing ABI's prefill symbols, names, argument order and meaning unchanged (HND pages,
 * plain attention, `lse` may be NULL). total_num_rows bounds q_indptr[B] (max_q_rows above) and
 * total_kv_rows bounds the ragged kv_indptr[B]. enable_split = 0 never splits KV.
 * Their signatures carry no workspace: the library keeps one per (device, stream; per thread
 * for NULL, the per-thread default stream), allocated on the first call on that stream and grown
 * when a call needs more (cudaMallocAsync on the stream). So the first call
 * on a stream, and one with larger sizes than any before on it, must not be captured (status 5
 * inside a capture); every other call is asynchronous, allocation-free and capturable. The
 * buffers live until the process exits; a stream's buffer is never shared with another stream.
 * New code should call prefill_*_run with its own workspace.
 */
#define BARACUDA_FLASHINFER_DECLARE_LEGACY_PREFILL(NAME)                                       \
  BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_paged_prefill_##NAME##_run(      \
      int32_t batch_size, int32_t total_num_rows, int32_t page_size, int32_t head_dim,         \
      int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, int32_t causal,              \
      int32_t enable_split, void* k_data, void* v_data, void* kv_indices, void* kv_indptr,     \
      void* last_page_len, const void* q, void* q_indptr, void* o, void* lse,                  \
      baracuda_flashinfer_stream_t stream);                                                    \
  BARACUDA_FLASHINFER_API int32_t                                                              \
      baracuda_kernels_flashinfer_paged_prefill_##NAME##_can_implement(                        \
          int32_t batch_size, int32_t total_num_rows, int32_t page_size, int32_t head_dim,     \
          int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, int32_t causal,          \
          int32_t enable_split);                                                               \
  BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_ragged_prefill_##NAME##_run(     \
      int32_t batch_size, int32_t total_num_rows, int32_t total_kv_rows, int32_t head_dim,     \
      int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, int32_t causal,              \
      int32_t enable_split, const void* k_data, const void* v_data, void* kv_indptr,           \
      const void* q, void* q_indptr, void* o, void* lse, baracuda_flashinfer_stream_t stream); \
  BARACUDA_FLASHINFER_API int32_t                                                              \
      baracuda_kernels_flashinfer_ragged_prefill_##NAME##_can_implement(                       \
          int32_t batch_size, int32_t total_num_rows, int32_t total_kv_rows, int32_t head_dim, \
          int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, int32_t causal);

BARACUDA_FLASHINFER_DECLARE_LEGACY_PREFILL(f16)
BARACUDA_FLASHINFER_DECLARE_LEGACY_PREFILL(bf16)

/** The existing ABI's element-free checks (f16 and bf16 alike): sizes only. */
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_paged_prefill_can_implement(
    int32_t batch_size, int32_t total_num_rows, int32_t page_size, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads);
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_ragged_prefill_can_implement(
    int32_t batch_size, int32_t total_num_rows, int32_t total_kv_rows, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads);
/* ------------------------------------------------------------------------------------------  */
/* Paged-KV append                                                                             */
/* ------------------------------------------------------------------------------------------  */
/*
 * Writes new K/V tokens into the paged cache that paged decode reads (same HND page layout):
 *   k_data, v_data [num_pages, H, P, D]   element type T; 16-byte aligned; written
 *   indices        [indptr[B]]            int32 physical page ids (as in decode); read only
 *   indptr         [B + 1]                int32 page indptr (as in decode); read only
 * H = num_heads (the KV heads), D = head_dim, P = page_size, T in {f16, bf16, f32}.
 * Only the 2*H*D elements of each new token's slot are written; every other slot is untouched.
 * The page metadata is never modified: the caller owns it and updates it itself.
 * Supported: D in {64, 128, 256}; 1 <= H <= 1024; 1 <= B <= 2^20; any P >= 1. It is a pure copy
 * (16-byte vector loads and stores), bandwidth bound, with no launch limit from H * D.
 * A token whose position falls outside its request's pages, or whose request has no pages, is
 * skipped (nothing written): bad metadata never writes outside the pages it names.
 */

/*
 * Single-token (decode) append: request b's new token is appended at the END of its sequence.
 *
 * last_page_len convention (FlashInfer's): the page metadata must ALREADY COUNT the new token.
 * Grow the request first (increment last_page_len[b], or add a page with last_page_len[b] = 1),
 * then call. With len = (indptr[b+1] - indptr[b] - 1) * P + last_page_len[b], the token goes to
 *   page indices[indptr[b] + (len - 1) / P], slot (len - 1) % P
 * which is slot last_page_len[b] - 1 of the request's last page. last_page_len[b] must be in
 * [1, P]; a request with no pages or last_page_len outside [1, P] is skipped.
 *   key, value [B, H, D]   T; 16-byte aligned; read
 * Argument order is the existing ABI's (note num_heads before head_dim).
 */
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_paged_kv_append_decode_can_implement(
    int32_t batch_size, int32_t page_size, int32_t num_heads, int32_t head_dim);

#define BARACUDA_FLASHINFER_DECLARE_APPEND_DECODE(NAME)                                            \
  BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_paged_kv_append_decode_##NAME##_run( \
      int32_t batch_size, int32_t page_size, int32_t num_heads, int32_t head_dim, void* k_data,    \
      void* v_data, void* indices, void* indptr, void* last_page_len, const void* key,             \
      const void* value, baracuda_flashinfer_stream_t stream);                                     \
  BARACUDA_FLASHINFER_API int32_t                                                                  \
      baracuda_kernels_flashinfer_paged_kv_append_decode_##NAME##_can_implement(                   \
          int32_t batch_size, int32_t page_size, int32_t num_heads, int32_t head_dim);

BARACUDA_FLASHINFER_DECLARE_APPEND_DECODE(f16)
BARACUDA_FLASHINFER_DECLARE_APPEND_DECODE(bf16)
BARACUDA_FLASHINFER_DECLARE_APPEND_DECODE(f32)

/*
 * Multi-token append (prefill chunks, speculative tokens; FlashInfer's AppendPagedKVCache):
 * token i (0 <= i < num_tokens) goes to request batch_indices[i] at absolute position
 * positions[i] (0-based, counted from the request's first token):
 *   page indices[indptr[b] + positions[i] / P], slot positions[i] % P,   b = batch_indices[i]
 * Positions are absolute, so last_page_len is not needed; the caller sizes the page lists to
 * hold the new tokens before the call (and sets its own last_page_len as it likes).
 *   batch_indices [num_tokens]   int32 in [0, B); others are skipped
 *   positions     [num_tokens]   int32 >= 0 and < (indptr[b+1]-indptr[b]) * P; others skipped
 *   key, value    [num_tokens, H, D]   T; 16-byte aligned; read
 * Two tokens with the same (request, position) race: one of them wins.
 * Argument order: the sizes (num_tokens, batch_size, page_size, num_heads, head_dim), the cache
 * (k_data, v_data, indices, indptr), the token placement (batch_indices, positions), the data.
 * Supported: num_tokens >= 1 and num_tokens * num_heads < 2^31 (status 3 beyond), the rest as
 * above.
 */
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_paged_kv_append_can_implement(
    int32_t num_tokens, int32_t batch_size, int32_t page_size, int32_t num_heads, int32_t head_dim);

#define BARACUDA_FLASHINFER_DECLARE_APPEND(NAME)                                             \
  BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_paged_kv_append_##NAME##_run(  \
      int32_t num_tokens, int32_t batch_size, int32_t page_size, int32_t num_heads,          \
      int32_t head_dim, void* k_data, void* v_data, const void* indices, const void* indptr, \
      const void* batch_indices, const void* positions, const void* key, const void* value,  \
      baracuda_flashinfer_stream_t stream);                                                  \
  BARACUDA_FLASHINFER_API int32_t                                                            \
      baracuda_kernels_flashinfer_paged_kv_append_##NAME##_can_implement(                    \
          int32_t num_tokens, int32_t batch_size, int32_t page_size, int32_t num_heads,      \
          int32_t head_dim);

BARACUDA_FLASHINFER_DECLARE_APPEND(f16)
BARACUDA_FLASHINFER_DECLARE_APPEND(bf16)
BARACUDA_FLASHINFER_DECLARE_APPEND(f32)

/* ------------------------------------------------------------------------------------------  */
/* Attention-state merge                                                                       */
/* ------------------------------------------------------------------------------------------  */
/*
 * An attention state over a set of KV tokens is (o, lse): o = softmax-weighted sum of V over
 * that set, lse = log2 sum_j exp(sm_scale * q.k_j) (BASE 2, as paged decode writes it). States
 * over disjoint sets merge exactly into the state over their union (cascade / split-KV):
 *   m = max_i lse_i,  w_i = 2^(lse_i - m),  o = sum_i w_i o_i / sum_i w_i,  lse = m + log2 sum_i w_i
 * Natural-log LSEs (FlashAttention, vLLM): lse2 = lse_e / ln(2) (= lse_e * log2(e)); back:
 * lse_e = lse2 * ln(2). An empty state is (o = 0, lse = -inf) and is the identity of the merge;
 * merging only empty states gives o = 0, lse = -inf, never NaN. LSE values must be finite or
 * -inf (+inf and NaN give unspecified results).
 * Rows (position, head) are independent. Shapes, all dense row-major, H = num_heads,
 * D = head_dim, T in {f16, bf16, f32} (o in T, lse in float32):
 *   o tensors [.., H, D] T, 16-byte aligned;  lse tensors [.., H] float32, 4-byte aligned.
 * Supported: D in {64, 128, 256}; seq_len * num_heads < 2^31; any number of states >= 1.
 * The math runs in float32; o is rounded to T once, on the final store.
 */

/**
 * In place: (v, s) <- merge((v, s), (v_other, s_other)).
 *   v, v_other [seq_len, H, D] T;  s, s_other [seq_len, H] float32 (s is read and written).
 */
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_merge_state_in_place_can_implement(
    int32_t seq_len, int32_t num_heads, int32_t head_dim);

#define BARACUDA_FLASHINFER_DECLARE_MERGE_IN_PLACE(NAME)                                           \
  BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_merge_state_in_place_##NAME##_run(   \
      int32_t seq_len, int32_t num_heads, int32_t head_dim, void* v, void* s, const void* v_other, \
      const void* s_other, baracuda_flashinfer_stream_t stream);                                   \
  BARACUDA_FLASHINFER_API int32_t                                                                  \
      baracuda_kernels_flashinfer_merge_state_in_place_##NAME##_can_implement(                     \
          int32_t seq_len, int32_t num_heads, int32_t head_dim);

BARACUDA_FLASHINFER_DECLARE_MERGE_IN_PLACE(f16)
BARACUDA_FLASHINFER_DECLARE_MERGE_IN_PLACE(bf16)
BARACUDA_FLASHINFER_DECLARE_MERGE_IN_PLACE(f32)

/**
 * N = num_index_sets states per position:
 *   v [seq_len, N, H, D] T;  s [seq_len, N, H] float32  ->  v_merged [seq_len, H, D] T,
 *   s_merged [seq_len, H] float32 (may be NULL: not written).
 */
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_merge_states_can_implement(
    int32_t num_index_sets, int32_t seq_len, int32_t num_heads, int32_t head_dim);

#define BARACUDA_FLASHINFER_DECLARE_MERGE_STATES(NAME)                                             \
  BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_merge_states_##NAME##_run(           \
      int32_t num_index_sets, int32_t seq_len, int32_t num_heads, int32_t head_dim, const void* v, \
      const void* s, void* v_merged, void* s_merged, baracuda_flashinfer_stream_t stream);         \
  BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_merge_states_##NAME##_can_implement( \
      int32_t num_index_sets, int32_t seq_len, int32_t num_heads, int32_t head_dim);

BARACUDA_FLASHINFER_DECLARE_MERGE_STATES(f16)
BARACUDA_FLASHINFER_DECLARE_MERGE_STATES(bf16)
BARACUDA_FLASHINFER_DECLARE_MERGE_STATES(f32)

/**
 * Variable number of states per position: position p merges state rows indptr[p] ..
 * indptr[p+1]-1 (zero rows, or only empty states, give o = 0, lse = -inf).
 *   indptr   [seq_len + 1] int32, non-decreasing, indptr[0] = 0 (not checked: device memory)
 *   v        [indptr[seq_len], H, D] T;  s [indptr[seq_len], H] float32
 *   v_merged [seq_len, H, D] T;  s_merged [seq_len, H] float32 (may be NULL: not written)
 * Extra limits (FlashInfer's 32-bit indexing): seq_len * H * D < 2^31, and the caller keeps
 * indptr[seq_len] * H * D < 2^32. float32 math, one rounding of o to T (as the other merges).
 */
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_merge_states_varlen_can_implement(
    int32_t seq_len, int32_t num_heads, int32_t head_dim);

#define BARACUDA_FLASHINFER_DECLARE_MERGE_VARLEN(NAME)                                          \
  BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_merge_states_varlen_##NAME##_run( \
      int32_t seq_len, int32_t num_heads, int32_t head_dim, const void* v, const void* s,       \
      const void* indptr, void* v_merged, void* s_merged, baracuda_flashinfer_stream_t stream); \
  BARACUDA_FLASHINFER_API int32_t                                                               \
      baracuda_kernels_flashinfer_merge_states_varlen_##NAME##_can_implement(                   \
          int32_t seq_len, int32_t num_heads, int32_t head_dim);

BARACUDA_FLASHINFER_DECLARE_MERGE_VARLEN(f16)
BARACUDA_FLASHINFER_DECLARE_MERGE_VARLEN(bf16)
BARACUDA_FLASHINFER_DECLARE_MERGE_VARLEN(f32)

/* ------------------------------------------------------------------------------------------  */
/* Shared prefix and fused cascades (decode over a prefix shared by the batch)                 */
/* ------------------------------------------------------------------------------------------  */
/*
 * Shared-prefix attention (cascade level 1): batch_size queries, one per request, all attend ONE
 * shared page list in one call that reads that KV once per tile of packed (query, head) rows
 * rather than once per request. Merge the result with each request's own suffix (decode over the suffix
 * pages) using merge_state_in_place: decode(prefix + suffix) = merge(prefix, suffix).
 *   q, o           [B, Hq, D]   f16 or bf16 (element 0 or 1); 16-byte aligned
 *   k_data, v_data [pages, Hkv, page_size, D] (HND), the same cache decode reads
 *   prefix_indices [prefix_indptr[1]] int32; prefix_indptr [2] int32 (0, number of prefix pages);
 *   prefix_last_page_len [1] int32 in [1, page_size]
 *   lse            [B, Hq] float32, base 2 (may be NULL; the merge needs it)
 * Kernels: on a compute-capability 9.0 GPU (H100, H200; a build with sm_90 in its architectures)
 * FlashInfer's FA3 (wgmma) paged prefill kernel at head dim 64, 128 and 256, scheduled by this
 * library: the queries packed per KV head, the prefix split into chunks over all SMs, the chunks
 * merged into o / lse. Elsewhere FlashInfer's FA2 prefill kernel, all queries as the rows of one
 * request, split when the rows alone cannot fill the GPU. Both are non-causal and agree to within
 * the precision bounds of docs/ABI.md (not bit for bit). The workspace is _get_workspace_size()'s
 * (it depends on the current device; status 4 if smaller). An empty prefix gives o = 0,
 * lse = -inf. Same contract as paged decode: no allocation, no synchronisation, graph-capturable.
 */
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_shared_prefix_decode_can_implement(
    int32_t batch_size, int32_t num_qo_heads, int32_t num_kv_heads, int32_t head_dim,
    int32_t page_size, int32_t element);
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_shared_prefix_decode_get_workspace_size(
    int32_t batch_size, int32_t num_qo_heads, int32_t num_kv_heads, int32_t head_dim,
    int32_t page_size, int32_t element, size_t* workspace_bytes);
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_shared_prefix_decode_run(
    int32_t element, int32_t batch_size, int32_t page_size, int32_t head_dim, int32_t num_qo_heads,
    int32_t num_kv_heads, float sm_scale, void* k_data, void* v_data, void* prefix_indices,
    void* prefix_indptr, void* prefix_last_page_len, const void* q, void* o, void* lse,
    void* workspace, size_t workspace_bytes, baracuda_flashinfer_stream_t stream);

/** Kernel choice of shared_prefix_decode_run_with (0: what shared_prefix_decode_run does). */
enum baracuda_flashinfer_shared_prefix_flags {
  BARACUDA_FLASHINFER_SHARED_PREFIX_AUTO = 0,
  BARACUDA_FLASHINFER_SHARED_PREFIX_FA2 = 1 /**< the FA2 kernel, also on sm_90 (A/B checks) */
};

/**
 * Experimental: shared_prefix_decode_run with explicit kernel flags (for A/B checks and tests);
 * otherwise the same arguments and contract. Unknown flag bits: status 2.
 */
BARACUDA_FLASHINFER_EXPERIMENTAL int32_t baracuda_kernels_flashinfer_shared_prefix_decode_run_with(
    int32_t element, int32_t flags, int32_t batch_size, int32_t page_size, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, void* k_data, void* v_data,
    void* prefix_indices, void* prefix_indptr, void* prefix_last_page_len, const void* q, void* o,
    void* lse, void* workspace, size_t workspace_bytes, baracuda_flashinfer_stream_t stream);

/*
 * Fused cascade: decode over (shared prefix + each request's own suffix) in ONE call, the state
 * shared_prefix_decode_run + paged_decode_run over the suffixes + merge_state_in_place give.
 *   indices                  int32 page ids of the prefix AND of every suffix (one array)
 *   prefix_indptr [2]        the prefix's range of `indices`; prefix_last_page_len [1] in [1, page_size]
 *   suffix_indptr [B + 1]    request b's suffix pages: indices[suffix_indptr[b] .. suffix_indptr[b+1])
 *   suffix_last_page_len [B] in [1, page_size] (unused for an empty suffix)
 *   q, o [B, Hq, D], lse [B, Hq] (base 2, may be NULL), k_data / v_data: as shared_prefix_decode_run
 * How: the suffixes run on a few SMs (a tensor-core decode kernel of this library) BESIDE the
 * prefix's FA3 grid on the others (a programmatic dependent launch), then one merge writes the
 * prefix chunks and the suffix into o / lse. The suffix kernel holds its SMs while the prefix runs:
 * the split of SMs assumes suffixes much shorter than the prefix (the cascade's use); for long
 * suffixes the three calls above are faster.
 * Runs on a compute-capability 9.0 GPU with the sm_90a build (f16 / bf16, head dim 64, 128, 256);
 * elsewhere can_implement answers BARACUDA_FLASHINFER_UNSUPPORTED and the three calls above do the
 * same work. can_implement and get_workspace_size query the current device. Same contract as paged
 * decode: no allocation, no synchronisation, no device-to-host read, graph-capturable.
 */
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_cascade_decode_can_implement(
    int32_t batch_size, int32_t num_qo_heads, int32_t num_kv_heads, int32_t head_dim,
    int32_t page_size, int32_t element);
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_cascade_decode_get_workspace_size(
    int32_t batch_size, int32_t num_qo_heads, int32_t num_kv_heads, int32_t head_dim,
    int32_t page_size, int32_t element, size_t* workspace_bytes);
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_cascade_decode_run(
    int32_t element, int32_t batch_size, int32_t page_size, int32_t head_dim, int32_t num_qo_heads,
    int32_t num_kv_heads, float sm_scale, void* k_data, void* v_data, void* indices,
    void* prefix_indptr, void* prefix_last_page_len, void* suffix_indptr,
    void* suffix_last_page_len, const void* q, void* o, void* lse, void* workspace,
    size_t workspace_bytes, baracuda_flashinfer_stream_t stream);

/*
 * Fused cascade over a DENSE shared prefix: as cascade_decode_run, but the prefix's K and V are
 * contiguous tensors (FlashInfer's k_shared / v_shared of its shared-prefix batch decode) rather
 * than pages of the cache, so the prefix kernel loads them with TMA (faster than the
 * page gather; docs/PERFORMANCE.md). For an engine that keeps
 * the shared prefix (a system prompt) in one buffer per layer; the suffixes stay paged.
 *   k_prefix, v_prefix      the prefix's rows: token t of KV head h at
 *                           k_prefix + t * prefix_stride_token + h * prefix_stride_head (elements),
 *                           head_dim contiguous elements each; 16-byte aligned. [L, Hkv, D] (NHD)
 *                           is strides (Hkv * D, D); [Hkv, L, D] (HND) is (D, L * D).
 *   prefix_len              L >= 1 tokens, a host value (a captured graph replays it). Nothing
 *                           past row L - 1 is read: rows past it load as zeros.
 *   prefix_stride_token, prefix_stride_head
 *                           >= head_dim and multiples of 8 elements (16 bytes, TMA's rule)
 *   indices, suffix_indptr [B + 1], suffix_last_page_len [B], k_data, v_data (the suffixes' paged
 *                           cache), q, o, lse, workspace: as cascade_decode_run
 * can_implement, get_workspace_size: the same answers as cascade_decode_*'s for the same sizes
 * (the dense prefix kernel is checked to fit the current device too). Same contract: no
 * allocation, no synchronisation, no device-to-host read, graph-capturable.
 */
BARACUDA_FLASHINFER_EXPERIMENTAL int32_t
baracuda_kernels_flashinfer_cascade_decode_dense_prefix_can_implement(
    int32_t batch_size, int32_t num_qo_heads, int32_t num_kv_heads, int32_t head_dim,
    int32_t page_size, int32_t element);
BARACUDA_FLASHINFER_EXPERIMENTAL int32_t
baracuda_kernels_flashinfer_cascade_decode_dense_prefix_get_workspace_size(
    int32_t batch_size, int32_t num_qo_heads, int32_t num_kv_heads, int32_t head_dim,
    int32_t page_size, int32_t element, size_t* workspace_bytes);
BARACUDA_FLASHINFER_EXPERIMENTAL int32_t
baracuda_kernels_flashinfer_cascade_decode_dense_prefix_run(
    int32_t element, int32_t batch_size, int32_t page_size, int32_t head_dim, int32_t num_qo_heads,
    int32_t num_kv_heads, float sm_scale, const void* k_prefix, const void* v_prefix,
    int32_t prefix_len, int64_t prefix_stride_token, int64_t prefix_stride_head, void* k_data,
    void* v_data, void* indices, void* suffix_indptr, void* suffix_last_page_len, const void* q,
    void* o, void* lse, void* workspace, size_t workspace_bytes,
    baracuda_flashinfer_stream_t stream);

/* ------------------------------------------------------------------------------------------  */
/* Sort-free sampling                                                                          */
/* ------------------------------------------------------------------------------------------  */

/*
 * Each call draws one token id from row b of a [batch, vocab] f32 probability matrix (dense
 * row-major), without sorting. Two kernels:
 *   - Threshold kernel (top_k, top_p, top_k_top_p and from_logits on compute capability >= 9.0
 *     when the row fits: vocab <= about 450k on H100): the row is read once into the shared
 *     memory of a thread-block cluster of up to 8 CTAs, an exact radix select finds the cut-off
 *     value T of the filter (the kept set below is {i : p(i) >= T}), and an exponential race
 *     draws the token: each kept i draws E_i ~ Exp(1), the smallest E_i / p(i) wins (logits:
 *     the smallest log(E_i) - logit(i), i.e. Gumbel-max with the noise in float).
 *   - FlashInfer 0.7.2's one-CTA-per-row kernels for everything else: the inverse-transform
 *     sampler, the dual-pivot rejection samplers for top-k / top-p / top-k+top-p (a few passes
 *     over the row), min-p in one pass, Gumbel-max for logits (below sm_90: noise added in the
 *     logits' type, and curand_uniform's 1.0 gives +inf noise: slightly biased, see
 *     docs/sampling.md).
 * Both draw from the same distributions (below); the tokens drawn for a given seed differ.
 * sampling_run_with (experimental, below) picks the kernel explicitly.
 * Device: a call sizes its work for, and launches on, the device that owns `stream` (for NULL,
 * cudaStreamPerThread, cudaStreamLegacy and a stream being captured: the calling thread's current
 * device), which it makes current for the duration of the call.
 *
 * Target distributions (p = the row; ties at a threshold are all kept, never split):
 *   from_probs   : p(i) / sum(p).
 *   top_k        : p restricted to {i : #{j : p(j) > p(i)} < k}, renormalised. k >= vocab (or
 *                  >= the number of non-zero entries) means no truncation.
 *   top_p        : p restricted to {i : sum_{j : p(j) > p(i)} p(j) < top_p}, renormalised
 *                  (the smallest head of the sorted row whose mass reaches top_p, plus ties).
 *   min_p        : p restricted to {i : p(i) >= max(p) * min_p}, renormalised (a row with no
 *                  positive entry draws nothing: valid = 0, as below).
 *   top_k_top_p  : both conditions at once (FlashInfer's "joint" order), renormalised.
 *   from_logits  : softmax(logits) (Gumbel-max: argmax_i logits(i) + Gumbel noise).
 *
 * Inputs and outputs:
 *   probs     [batch, vocab] f32, entries >= 0, each row summing to 1 (within float rounding):
 *             FlashInfer's samplers assume total mass 1 (NaN and negative entries count as 0; a
 *             row with a visibly smaller mass biases draws towards its last non-zero entry). The
 *             threshold kernel needs no normalisation, and flags (valid = 0, token 0) any row
 *             with a NaN, infinite or negative entry. For top-p masses it counts an entry above
 *             64 as 64 (rows are distributions).
 *             Alignment: 4 * gcd(4, vocab) bytes (16 when vocab % 4 == 0), else status 1.
 *   logits    [batch, vocab] f32 / f16 / bf16, alignment esize * gcd(16 / esize, vocab) bytes.
 *             Threshold kernel: a row with a NaN logit, or with every logit -inf, draws token 0.
 *   output    [batch] int32 token ids, always in [0, vocab).
 *   valid     [batch] 1-byte booleans, optional (NULL: not written, nothing allocated). valid[b]
 *             is 0 (and output[b] = 0) when no entry of row b can be drawn: a row that is all
 *             zero, NaN or negative, or a per-row threshold that admits no entry (see below).
 *             This holds for every sampler on either kernel (min-p: any row without a
 *             positive entry).
 *   top_k_arr [batch] int32, top_p_arr / min_p_arr [batch] f32: per-row thresholds (*_arr, or
 *             non-NULL in _ex, where they replace the scalar).
 *
 * Sizes: batch, vocab >= 1 (else status 2); batch <= 2^20 and batch * vocab <= 2^32 (else 3).
 * Scalar thresholds (status 2 and nothing launched otherwise): top_k_val >= 1 (k >= vocab: no
 * truncation); top_p_val and min_p_val in (0, 1], NaN rejected.
 * Per-row thresholds are read on the device and never range-checked; what the kernels do with
 * each value (defined, never an out-of-range token or a hang):
 *   top_k_arr[b] >= 1: as the scalar.  top_k_arr[b] < 0: read as an unsigned count >= 2^31:
 *     no truncation.  top_k_arr[b] == 0: admits nothing: valid[b] = 0 (FlashInfer's kernel
 *     only: except a row with an entry equal to 1.0, which draws it).
 *   top_p_arr[b] in (0, 1]: as the scalar; > 1: no truncation; <= 0 or NaN: admits nothing
 *     (valid[b] = 0; FlashInfer's kernel only: except a row with an entry equal to 1.0).
 *   min_p_arr[b] in (0, 1]: as the scalar; <= 0: no truncation; > 1 or NaN: admits nothing
 *     (valid[b] = 0).
 *
 * Randomness: row b draws from Philox4x32-10 with key `seed`, subsequence b (from_logits and
 * the threshold kernel: subsequence b * vocab + i for token i, one draw per kept token) and a
 * start `offset` counted in 32-bit draws. Same inputs, seed, offset and `deterministic` give
 * bit-identical tokens on the same GPU model and library version.
 * The kernels never advance the offset: between two calls that must draw fresh numbers, advance
 * it by at least the call's offset step (below); a smaller step re-uses random numbers.
 *   - *_run: seed and offset are values (baked into a captured CUDA graph: every replay
 *     repeats the same draws).
 *   - *_ex: seed_ptr / offset_ptr, when non-NULL, are device uint64 (8-byte aligned) read by
 *     every row (element 0) when the kernel runs; NULL uses seed_val / offset_val. With
 *     offset_ptr, the same call also enqueues (after the sampler, on the same stream) a 1-thread
 *     kernel doing *offset_ptr += step: a captured graph draws fresh tokens on every replay, and
 *     resetting *offset_ptr replays the same sequence.
 * Offset steps (32-bit draws per row, an upper bound of what one call consumes):
 *   from_probs, min_p, from_logits: BARACUDA_FLASHINFER_SAMPLING_OFFSET_STEP_SINGLE (4);
 *   top_k, top_p, top_k_top_p: BARACUDA_FLASHINFER_SAMPLING_OFFSET_STEP_REJECTION (256; each
 *     rejection round draws one number and float32 bounds the rounds below 152);
 *   chain speculative: 4 * ceil((num_speculative_tokens + 2) / 4).
 * `deterministic` (non-zero) selects FlashInfer's fixed-order (Blelloch) block scan for the
 * running CDF instead of cub::BlockScan, whose float summation order is an implementation
 * detail of the CUB version built in. With either setting the same call of the same build on
 * the same GPU model repeats bit-exactly; deterministic = 1 also pins the summation order
 * across CUB versions. It has no effect on from_logits and on the threshold kernel (integer
 * histograms and a fixed reduction order: always bit-reproducible). It is not a
 * tie-breaker: ties are resolved by the lowest index crossing the drawn CDF value.
 *
 * _can_implement(sizes, scalar thresholds) returns what _run returns for the same arguments
 * before any pointer is looked at. An _ex call answers as the scalar _can_implement when its
 * threshold arrays are NULL, as the *_arr one when they are given.
 * Validation order: extents (2), size limits (3), scalar thresholds (2), NULL pointers (2),
 * alignment (1); then CUDA failures (5).
 */

#define BARACUDA_FLASHINFER_SAMPLING_OFFSET_STEP_SINGLE 4
#define BARACUDA_FLASHINFER_SAMPLING_OFFSET_STEP_REJECTION 256

/* Sampling from probabilities with no filter. */
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_sampling_from_probs_f32_run(
    int32_t batch, int32_t vocab, int32_t deterministic, uint64_t seed_val, uint64_t offset_val,
    const void* probs, void* output, void* valid, baracuda_flashinfer_stream_t stream);
BARACUDA_FLASHINFER_API int32_t
baracuda_kernels_flashinfer_sampling_from_probs_f32_can_implement(int32_t batch, int32_t vocab);
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_sampling_from_probs_f32_ex(
    int32_t batch, int32_t vocab, int32_t deterministic, uint64_t seed_val, const void* seed_ptr,
    uint64_t offset_val, void* offset_ptr, const void* probs, void* output, void* valid,
    baracuda_flashinfer_stream_t stream);

/* Top-k. Argument order of the existing ABI. */
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_top_k_sampling_f32_run(
    int32_t batch, int32_t vocab, int32_t top_k_val, int32_t deterministic, uint64_t seed_val,
    uint64_t offset_val, const void* probs, void* output, void* valid,
    baracuda_flashinfer_stream_t stream);
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_top_k_sampling_f32_can_implement(
    int32_t batch, int32_t vocab, int32_t top_k_val);
/* Per-row k (int32 [batch], honoured: the existing ABI read it as floats and ignored it). */
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_top_k_sampling_f32_arr_run(
    int32_t batch, int32_t vocab, const void* top_k_arr, int32_t deterministic, uint64_t seed_val,
    uint64_t offset_val, const void* probs, void* output, void* valid,
    baracuda_flashinfer_stream_t stream);
BARACUDA_FLASHINFER_API int32_t
baracuda_kernels_flashinfer_top_k_sampling_f32_arr_can_implement(int32_t batch, int32_t vocab);
/* top_k_arr NULL: top_k_val for every row. */
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_top_k_sampling_f32_ex(
    int32_t batch, int32_t vocab, int32_t top_k_val, const void* top_k_arr, int32_t deterministic,
    uint64_t seed_val, const void* seed_ptr, uint64_t offset_val, void* offset_ptr,
    const void* probs, void* output, void* valid, baracuda_flashinfer_stream_t stream);

/* Top-p and min-p: same arguments (p_val is top_p_val / min_p_val, p_arr f32 [batch]). */
#define BARACUDA_FLASHINFER_DECLARE_P_SAMPLING(NAME)                                               \
  BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_##NAME##_sampling_f32_run(           \
      int32_t batch, int32_t vocab, float p_val, int32_t deterministic, uint64_t seed_val,         \
      uint64_t offset_val, const void* probs, void* output, void* valid,                           \
      baracuda_flashinfer_stream_t stream);                                                        \
  BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_##NAME##_sampling_f32_can_implement( \
      int32_t batch, int32_t vocab, float p_val);                                                  \
  BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_##NAME##_sampling_f32_arr_run(       \
      int32_t batch, int32_t vocab, const void* p_arr, int32_t deterministic, uint64_t seed_val,   \
      uint64_t offset_val, const void* probs, void* output, void* valid,                           \
      baracuda_flashinfer_stream_t stream);                                                        \
  BARACUDA_FLASHINFER_API int32_t                                                                  \
      baracuda_kernels_flashinfer_##NAME##_sampling_f32_arr_can_implement(int32_t batch,           \
                                                                          int32_t vocab);          \
  BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_##NAME##_sampling_f32_ex(            \
      int32_t batch, int32_t vocab, float p_val, const void* p_arr, int32_t deterministic,         \
      uint64_t seed_val, const void* seed_ptr, uint64_t offset_val, void* offset_ptr,              \
      const void* probs, void* output, void* valid, baracuda_flashinfer_stream_t stream);

BARACUDA_FLASHINFER_DECLARE_P_SAMPLING(top_p)
BARACUDA_FLASHINFER_DECLARE_P_SAMPLING(min_p)

/* Joint top-k + top-p. Either array may be NULL in _ex (that row threshold is the scalar). */
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_top_k_top_p_sampling_f32_run(
    int32_t batch, int32_t vocab, int32_t top_k_val, float top_p_val, int32_t deterministic,
    uint64_t seed_val, uint64_t offset_val, const void* probs, void* output, void* valid,
    baracuda_flashinfer_stream_t stream);
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_top_k_top_p_sampling_f32_can_implement(
    int32_t batch, int32_t vocab, int32_t top_k_val, float top_p_val);
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_top_k_top_p_sampling_f32_arr_run(
    int32_t batch, int32_t vocab, const void* top_k_arr, const void* top_p_arr,
    int32_t deterministic, uint64_t seed_val, uint64_t offset_val, const void* probs, void* output,
    void* valid, baracuda_flashinfer_stream_t stream);
BARACUDA_FLASHINFER_API int32_t
baracuda_kernels_flashinfer_top_k_top_p_sampling_f32_arr_can_implement(int32_t batch,
                                                                       int32_t vocab);
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_top_k_top_p_sampling_f32_ex(
    int32_t batch, int32_t vocab, int32_t top_k_val, const void* top_k_arr, float top_p_val,
    const void* top_p_arr, int32_t deterministic, uint64_t seed_val, const void* seed_ptr,
    uint64_t offset_val, void* offset_ptr, const void* probs, void* output, void* valid,
    baracuda_flashinfer_stream_t stream);

/* Sampling from logits (softmax implied, no softmax pass). No `valid`: every row yields a token
 * in [0, vocab); -inf logits are never drawn unless the whole row is -inf; logits must not be
 * NaN (a NaN may win the argmax). f32 draws softmax(logits) up to float rounding; f16 / bf16
 * add the noise in their own precision (FlashInfer 0.7.2), which biases the draws near ties by
 * up to a few percent in total variation for bf16. Use f32 logits where exactness matters. */
#define BARACUDA_FLASHINFER_DECLARE_FROM_LOGITS(NAME)                                             \
  BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_sampling_from_logits_##NAME##_run(  \
      int32_t batch, int32_t vocab, uint64_t seed_val, uint64_t offset_val, const void* logits,   \
      void* output, baracuda_flashinfer_stream_t stream);                                         \
  BARACUDA_FLASHINFER_API int32_t                                                                 \
      baracuda_kernels_flashinfer_sampling_from_logits_##NAME##_can_implement(int32_t batch,      \
                                                                              int32_t vocab);     \
  BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_sampling_from_logits_##NAME##_ex(   \
      int32_t batch, int32_t vocab, uint64_t seed_val, const void* seed_ptr, uint64_t offset_val, \
      void* offset_ptr, const void* logits, void* output, baracuda_flashinfer_stream_t stream);

BARACUDA_FLASHINFER_DECLARE_FROM_LOGITS(f32)
BARACUDA_FLASHINFER_DECLARE_FROM_LOGITS(f16)
BARACUDA_FLASHINFER_DECLARE_FROM_LOGITS(bf16)

/* Experimental: the samplers of sampling_run_with. */
enum baracuda_flashinfer_sampler {
  BARACUDA_FLASHINFER_SAMPLER_FROM_PROBS = 0,
  BARACUDA_FLASHINFER_SAMPLER_TOP_K = 1,
  BARACUDA_FLASHINFER_SAMPLER_TOP_P = 2,
  BARACUDA_FLASHINFER_SAMPLER_MIN_P = 3,
  BARACUDA_FLASHINFER_SAMPLER_TOP_K_TOP_P = 4,
  BARACUDA_FLASHINFER_SAMPLER_FROM_LOGITS_F32 = 5,
  BARACUDA_FLASHINFER_SAMPLER_FROM_LOGITS_F16 = 6,
  BARACUDA_FLASHINFER_SAMPLER_FROM_LOGITS_BF16 = 7
};

/* Experimental: the kernel choice (`flags`) of sampling_run_with. */
enum baracuda_flashinfer_sampling_flags {
  BARACUDA_FLASHINFER_SAMPLING_AUTO = 0,             /**< what the sampler's own symbols do */
  BARACUDA_FLASHINFER_SAMPLING_THRESHOLD_KERNEL = 1, /**< the threshold kernel, any device */
  BARACUDA_FLASHINFER_SAMPLING_FLASHINFER_KERNEL = 2 /**< FlashInfer's one-CTA-per-row kernel */
};

/*
 * Experimental: any sampler with an explicit kernel choice, for A/B checks, tests and
 * benchmarks. `sampler` is a baracuda_flashinfer_sampler code and `flags` a
 * baracuda_flashinfer_sampling_flags value (else status 2, checked first); the other arguments
 * are those of the sampler's _ex symbol, and the ones it does not take are ignored (neither read
 * nor checked: top_k_val / top_k_arr without top-k, p_val / p_arr without top-p or min-p, `valid`
 * and `deterministic` for the logits samplers). Then the sampler's own validation order.
 *   AUTO: exactly the sampler's _ex.
 *   THRESHOLD_KERNEL: the threshold kernel on any device where the row fits (one CTA per row
 *     below compute capability 9.0). Status 3 for a sampler without a threshold form (from_probs,
 *     min_p; reported after the scalar thresholds) or for a row that does not fit (after the
 *     pointers).
 *   FLASHINFER_KERNEL: FlashInfer's one-CTA-per-row kernel on every device.
 * _can_implement checks the sampler, the flags, the sizes and the scalar thresholds (pass valid
 * ones where arrays will replace them) and, with THRESHOLD_KERNEL only, asks the current device
 * whether the row fits (status 5 without a device).
 */
BARACUDA_FLASHINFER_EXPERIMENTAL int32_t baracuda_kernels_flashinfer_sampling_run_with(
    int32_t sampler, int32_t flags, int32_t batch, int32_t vocab, int32_t top_k_val,
    const void* top_k_arr, float p_val, const void* p_arr, int32_t deterministic, uint64_t seed_val,
    const void* seed_ptr, uint64_t offset_val, void* offset_ptr, const void* input, void* output,
    void* valid, baracuda_flashinfer_stream_t stream);
BARACUDA_FLASHINFER_EXPERIMENTAL int32_t
baracuda_kernels_flashinfer_sampling_run_with_can_implement(int32_t sampler, int32_t flags,
                                                            int32_t batch, int32_t vocab,
                                                            int32_t top_k_val, float p_val);

/*
 * Chain speculative sampling (verification of S = num_speculative_tokens draft tokens):
 *   draft_probs [batch, S, vocab] f32, draft_token_ids [batch, S] int32 in [0, vocab) (not
 *   checked: an id outside reads out of bounds), target_probs [batch, S + 1, vocab] f32.
 *   Row b accepts draft token i while u * draft(i) < target(i) (u uniform in (0, 1]); at the
 *   first rejection pos it draws output[pos] from relu(target[pos] - draft[pos]) renormalised
 *   (pos == S: the bonus token from target[S]) and sets output[pos+1..S] = -1.
 *   output_token_ids [batch, S + 1] int32, written.
 *   output_accepted_token_num [batch] int32: WRITTEN (this library zeroes both counters in the
 *     same enqueue; the existing ABI accumulated with +=): pos plus the later draft tokens that
 *     would also have passed.
 *   output_emitted_draft_token_num [batch] int32: WRITTEN: pos.
 *   The output distribution of token pos equals the target's (the speculative-sampling theorem).
 *   Sizes: batch, S, vocab >= 1 (2); batch <= 2^20, batch * (S + 1) * vocab <= 2^32 (3).
 */
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_chain_speculative_sampling_f32_run(
    int32_t batch, int32_t num_speculative_tokens, int32_t vocab, int32_t deterministic,
    uint64_t seed_val, uint64_t offset_val, const void* draft_probs, const void* draft_token_ids,
    const void* target_probs, void* output_token_ids, void* output_accepted_token_num,
    void* output_emitted_draft_token_num, baracuda_flashinfer_stream_t stream);
BARACUDA_FLASHINFER_API int32_t
baracuda_kernels_flashinfer_chain_speculative_sampling_f32_can_implement(
    int32_t batch, int32_t num_speculative_tokens, int32_t vocab);
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_chain_speculative_sampling_f32_ex(
    int32_t batch, int32_t num_speculative_tokens, int32_t vocab, int32_t deterministic,
    uint64_t seed_val, const void* seed_ptr, uint64_t offset_val, void* offset_ptr,
    const void* draft_probs, const void* draft_token_ids, const void* target_probs,
    void* output_token_ids, void* output_accepted_token_num, void* output_emitted_draft_token_num,
    baracuda_flashinfer_stream_t stream);

/*
 * Top-k / top-p renormalisation of probabilities and top-k masking of logits, on the threshold
 * kernel (one radix select per row, see the sampling notes above; one read and one write of the
 * row). Kept sets are the samplers' (ties at the cut-off all kept, so a row may keep more than
 * k entries):
 *   top_k_renorm_probs : out(i) = p(i) / sum of kept p if #{j : p(j) > p(i)} < k, else 0.
 *   top_p_renorm_probs : out(i) = p(i) / sum of kept p if sum_{j : p(j) > p(i)} p(j) < top_p,
 *                        else 0 (rows need not be normalised).
 *   top_k_mask_logits  : out(i) = logits(i) if #{j : logits(j) > logits(i)} < k, else -inf.
 *                        f32 / f16 / bf16 in and out (the same type).
 * Shapes: [batch, vocab] dense row-major; the output may be the input (in place); any other
 * overlap is undefined. Alignment: the element size (4 or 2 bytes) for input and output, 4 for
 * the threshold arrays (else status 1).
 * Thresholds: as the samplers (top_k_val >= 1, k >= vocab keeps everything; top_p_val in
 * (0, 1]); a non-NULL top_k_arr / top_p_arr [batch] replaces the scalar (then not checked;
 * _can_implement takes the scalar: pass 1 when the array will be used). Per-row values that
 * admit nothing (k == 0, top_p <= 0 or NaN) give a row of zeros (renorm) or of -inf (mask).
 * Malformed rows: renorm writes zeros for a row with a NaN, infinite or negative entry or with
 * no positive entry; mask writes NaN over a row that contains a NaN (+-inf logits are fine).
 * Device: one CTA per row below compute capability 9.0, a cluster of up to 8 CTAs from 9.0 on;
 * the row must fit that shared memory: vocab <= about 450k on H100, about 40k on A100 (else
 * status 3, naming the limit). _can_implement therefore queries the current device (status 5
 * without one) after checking sizes and thresholds.
 * Sizes: batch, vocab >= 1 (2); batch <= 2^20, batch * vocab <= 2^32 (3).
 * Contract: no allocation, no synchronisation, graph-capturable (make one call per device
 * before capturing: the first call sets the kernel's shared-memory attribute); thread-safe.
 */
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_top_k_renorm_probs_f32_run(
    int32_t batch, int32_t vocab, int32_t top_k_val, const void* top_k_arr, const void* probs,
    void* renormed_probs, baracuda_flashinfer_stream_t stream);
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_top_k_renorm_probs_f32_can_implement(
    int32_t batch, int32_t vocab, int32_t top_k_val);
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_top_p_renorm_probs_f32_run(
    int32_t batch, int32_t vocab, float top_p_val, const void* top_p_arr, const void* probs,
    void* renormed_probs, baracuda_flashinfer_stream_t stream);
BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_top_p_renorm_probs_f32_can_implement(
    int32_t batch, int32_t vocab, float top_p_val);

#define BARACUDA_FLASHINFER_DECLARE_MASK_LOGITS(NAME)                                             \
  BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_top_k_mask_logits_##NAME##_run(     \
      int32_t batch, int32_t vocab, int32_t top_k_val, const void* top_k_arr, const void* logits, \
      void* masked_logits, baracuda_flashinfer_stream_t stream);                                  \
  BARACUDA_FLASHINFER_API int32_t                                                                 \
      baracuda_kernels_flashinfer_top_k_mask_logits_##NAME##_can_implement(                       \
          int32_t batch, int32_t vocab, int32_t top_k_val);
BARACUDA_FLASHINFER_DECLARE_MASK_LOGITS(f32)
BARACUDA_FLASHINFER_DECLARE_MASK_LOGITS(f16)
BARACUDA_FLASHINFER_DECLARE_MASK_LOGITS(bf16)

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* BARACUDA_FLASHINFER_H_ */
