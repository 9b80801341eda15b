/*
 * baracuda-flashinfer: a header-only C++17 layer over the C ABI in <baracuda/flashinfer.h>.
 *
 * SPDX-License-Identifier: Apache-2.0
 *
 * Adds no exported symbol and needs no CUDA header (streams are baracuda_flashinfer_stream_t,
 * which is ABI-identical to cudaStream_t). docs/cpp.md is the guide.
 *
 *   namespace bfi = baracuda::flashinfer;
 *   bfi::DecodePlan plan = bfi::check(bfi::DecodePlan::create(desc));  // validated once
 *   std::size_t bytes = plan.workspace_size();
 *   bfi::check(plan.run(stream, q, k_cache, v_cache, indices, indptr, last_page_len, o,
 *                       lse, {workspace, bytes}));
 *
 * Errors: every fallible call returns a [[nodiscard]] Status (or Result<T>). check() turns a
 * failure into a thrown baracuda::flashinfer::Error; built with -fno-exceptions (or with
 * BARACUDA_FLASHINFER_NO_EXCEPTIONS defined) there is no Error type and check() prints the
 * message and aborts, so status-returning code works unchanged in both builds.
 *
 * Plans are immutable values that own nothing (no handle, no memory): copy them freely and use
 * one plan from several threads and streams, each run with its own workspace and outputs.
 * Tensor views never own memory either. run() checks every tensor's dtype, shape, strides
 * (dense row-major) and alignment, and the workspace, before anything is enqueued; a failure
 * names the tensor and the dimension.
 */
#ifndef BARACUDA_FLASHINFER_HPP_
#define BARACUDA_FLASHINFER_HPP_

#include <baracuda/flashinfer.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <optional>
#include <string>
#include <utility>

#if !defined(BARACUDA_FLASHINFER_NO_EXCEPTIONS) && \
    (defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND))
#define BARACUDA_FLASHINFER_HAS_EXCEPTIONS 1
#include <stdexcept>
#else
#define BARACUDA_FLASHINFER_HAS_EXCEPTIONS 0
#endif

namespace baracuda {
namespace flashinfer {

/* ----------------------------------------------------------------------------------------- */
/* Library information                                                                        */
/* ----------------------------------------------------------------------------------------- */

/** Version the library was built as (MAJOR * 10000 + MINOR * 100 + PATCH). */
inline uint32_t version() noexcept {
  return baracuda_kernels_flashinfer_version();
}
/** "MAJOR.MINOR.PATCH (flashinfer-python X, ...)". */
inline const char* version_string() noexcept {
  return baracuda_kernels_flashinfer_version_string();
}
/** Static name of a status code; never NULL. */
inline const char* status_string(int32_t code) noexcept {
  return baracuda_kernels_flashinfer_status_string(code);
}
/** The calling thread's message for the last failing C call ("" if none). */
inline const char* last_error() noexcept {
  return baracuda_kernels_flashinfer_last_error();
}

/* ----------------------------------------------------------------------------------------- */
/* Status, Result, Error, check                                                               */
/* ----------------------------------------------------------------------------------------- */

/** Status codes: the C enum baracuda_flashinfer_status. */
namespace status {
inline constexpr int32_t kSuccess = BARACUDA_FLASHINFER_SUCCESS;
inline constexpr int32_t kMisalignedOperand = BARACUDA_FLASHINFER_MISALIGNED_OPERAND;
inline constexpr int32_t kInvalidProblem = BARACUDA_FLASHINFER_INVALID_PROBLEM;
inline constexpr int32_t kUnsupported = BARACUDA_FLASHINFER_UNSUPPORTED;
inline constexpr int32_t kWorkspaceTooSmall = BARACUDA_FLASHINFER_WORKSPACE_TOO_SMALL;
inline constexpr int32_t kCudaError = BARACUDA_FLASHINFER_CUDA_ERROR;
inline constexpr int32_t kInternal = BARACUDA_FLASHINFER_INTERNAL;
}  // namespace status

/** A status code with its message. Default-constructed: success. */
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(int32_t code, std::string message) : code_(code), message_(std::move(message)) {}

  /** Wraps a code returned by a C function; the message is the library's last_error(). */
  static Status from_c(int32_t code) {
    return code == status::kSuccess ? Status() : Status(code, last_error());
  }

  bool ok() const noexcept { return code_ == status::kSuccess; }
  int32_t code() const noexcept { return code_; }
  /** The status' static name ("invalid problem", ...). */
  const char* name() const noexcept { return status_string(code_); }
  const std::string& message() const noexcept { return message_; }
  /** "<name>: <message>" ("success" when ok). */
  std::string to_string() const {
    return message_.empty() ? std::string(name()) : std::string(name()) + ": " + message_;
  }
  /** Marks a status as deliberately ignored. */
  void ignore() const noexcept {}

 private:
  int32_t code_ = status::kSuccess;
  std::string message_;
};

#if BARACUDA_FLASHINFER_HAS_EXCEPTIONS
/** Thrown by check() and Result::value() on failure: the status and the library's message. */
class Error : public std::runtime_error {
 public:
  explicit Error(Status s) : std::runtime_error(s.to_string()), status_(std::move(s)) {}
  int32_t code() const noexcept { return status_.code(); }
  const Status& status() const noexcept { return status_; }

 private:
  Status status_;
};
#endif

namespace detail {
[[noreturn]] inline void raise(const Status& s) {
#if BARACUDA_FLASHINFER_HAS_EXCEPTIONS
  throw Error(s);
#else
  std::fprintf(stderr, "baracuda::flashinfer: %s\n", s.to_string().c_str());
  std::abort();
#endif
}
}  // namespace detail

/** A value or the Status that prevented it. */
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status s) : status_(std::move(s)) {     // NOLINT(google-explicit-constructor)
    if (status_.ok()) status_ = Status(status::kInternal, "Result built from a success Status");
  }

  bool ok() const noexcept { return value_.has_value(); }
  const Status& status() const noexcept { return status_; }

  /** The value; on failure throws Error (aborts with -fno-exceptions). */
  T& value() & {
    if (!ok()) detail::raise(status_);
    return *value_;
  }
  const T& value() const& {
    if (!ok()) detail::raise(status_);
    return *value_;
  }
  T&& value() && {
    if (!ok()) detail::raise(status_);
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

/** Throws Error on failure (with -fno-exceptions: prints the message and aborts). */
inline void check(const Status& s) {
  if (!s.ok()) detail::raise(s);
}
/** The value of a Result, or throws Error (with -fno-exceptions: prints and aborts). */
template <class T>
T check(Result<T>&& r) {
  return std::move(r).value();
}

/* ----------------------------------------------------------------------------------------- */
/* Dtypes, element codes, tensor views                                                        */
/* ----------------------------------------------------------------------------------------- */

/** Element type of one tensor. */
enum class Dtype : int32_t { f16, bf16, f32, f8_e4m3, f8_e5m2, i32, i64, u8 };

inline const char* dtype_name(Dtype d) noexcept {
  switch (d) {
    case Dtype::f16:
      return "f16";
    case Dtype::bf16:
      return "bf16";
    case Dtype::f32:
      return "f32";
    case Dtype::f8_e4m3:
      return "f8_e4m3";
    case Dtype::f8_e5m2:
      return "f8_e5m2";
    case Dtype::i32:
      return "i32";
    case Dtype::i64:
      return "i64";
    case Dtype::u8:
      return "u8";
  }
  return "?";
}

inline std::size_t dtype_size(Dtype d) noexcept {
  switch (d) {
    case Dtype::f16:
    case Dtype::bf16:
      return 2;
    case Dtype::f32:
    case Dtype::i32:
      return 4;
    case Dtype::i64:
      return 8;
    case Dtype::f8_e4m3:
    case Dtype::f8_e5m2:
    case Dtype::u8:
      return 1;
  }
  return 0;
}

/** The C element codes (baracuda_flashinfer_element): the attention kernels' type pair. */
enum class Element : int32_t {
  f16 = BARACUDA_FLASHINFER_F16,
  bf16 = BARACUDA_FLASHINFER_BF16,
  f32 = BARACUDA_FLASHINFER_F32,
  f16_e4m3 = BARACUDA_FLASHINFER_F16_E4M3,  ///< Q/O f16, KV fp8 e4m3
  f16_e5m2 = BARACUDA_FLASHINFER_F16_E5M2,  ///< Q/O f16, KV fp8 e5m2
  bf16_e4m3 = BARACUDA_FLASHINFER_BF16_E4M3,
  bf16_e5m2 = BARACUDA_FLASHINFER_BF16_E5M2,
};

inline const char* element_name(Element e) noexcept {
  switch (e) {
    case Element::f16:
      return "f16";
    case Element::bf16:
      return "bf16";
    case Element::f32:
      return "f32";
    case Element::f16_e4m3:
      return "f16_e4m3";
    case Element::f16_e5m2:
      return "f16_e5m2";
    case Element::bf16_e4m3:
      return "bf16_e4m3";
    case Element::bf16_e5m2:
      return "bf16_e5m2";
  }
  return "?";
}
/** Dtype of Q and O (and of everything else but the KV cache). */
inline Dtype query_dtype(Element e) noexcept {
  switch (e) {
    case Element::bf16:
    case Element::bf16_e4m3:
    case Element::bf16_e5m2:
      return Dtype::bf16;
    case Element::f32:
      return Dtype::f32;
    default:
      return Dtype::f16;
  }
}
/** Dtype of the K/V cache. */
inline Dtype kv_dtype(Element e) noexcept {
  switch (e) {
    case Element::f16_e4m3:
    case Element::bf16_e4m3:
      return Dtype::f8_e4m3;
    case Element::f16_e5m2:
    case Element::bf16_e5m2:
      return Dtype::f8_e5m2;
    default:
      return query_dtype(e);
  }
}

/**
 * A non-owning view of a device tensor: pointer, dtype, shape and strides (in elements).
 * The library's kernels need dense row-major tensors; contiguous() builds one.
 */
template <int N>
struct TensorView {
  static_assert(N >= 1, "TensorView needs at least one dimension");
  void* data = nullptr;
  Dtype dtype = Dtype::f32;
  std::array<int64_t, N> shape{};
  std::array<int64_t, N> stride{};

  /** Dense row-major strides for `shape`. */
  static std::array<int64_t, N> contiguous_strides(const std::array<int64_t, N>& shape) noexcept {
    std::array<int64_t, N> s{};
    int64_t step = 1;
    for (int i = N - 1; i >= 0; --i) {
      s[i] = step;
      step *= shape[i];
    }
    return s;
  }
  /** A dense row-major view (const pointers are accepted: inputs are never written). */
  static TensorView contiguous(const void* data, Dtype dtype,
                               const std::array<int64_t, N>& shape) noexcept {
    return TensorView{const_cast<void*>(data), dtype, shape, contiguous_strides(shape)};
  }
  int64_t numel() const noexcept {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  std::size_t bytes() const noexcept {
    return static_cast<std::size_t>(numel()) * dtype_size(dtype);
  }
};

/** Makes a dense row-major view: contiguous<3>(ptr, Dtype::f16, {B, H, D}). */
template <int N>
TensorView<N> contiguous(const void* data, Dtype dtype, const std::array<int64_t, N>& shape) {
  return TensorView<N>::contiguous(data, dtype, shape);
}

/** Caller-owned device scratch memory for one run at a time. */
struct Workspace {
  void* data = nullptr;
  std::size_t bytes = 0;
};

namespace detail {

inline constexpr int64_t kAny = -1;  // a dimension any size >= 0 satisfies

/** Validates tensors against a plan; keeps the first failure. */
class Checker {
 public:
  explicit Checker(const char* where) : where_(where) {}
  const Status& status() const noexcept { return status_; }
  bool ok() const noexcept { return status_.ok(); }

  /**
   * `name` must have `dtype`, shape `expect` (kAny: free) and dense row-major strides from
   * dimension `dense_from` on (the outer ones are free); `dims[i]` names dimension i.
   * `alignment` applies to the pointer; a NULL pointer fails unless the tensor is empty.
   */
  template <int N>
  void tensor(const char* name, const TensorView<N>& t, Dtype dtype,
              const std::array<int64_t, N>& expect, const std::array<const char*, N>& dims,
              std::size_t alignment, int dense_from = 0) {
    if (!ok()) return;
    if (t.dtype != dtype) {
      return fail(status::kInvalidProblem, "%s: dtype is %s, expected %s", name,
                  dtype_name(t.dtype), dtype_name(dtype));
    }
    for (int i = 0; i < N; ++i) {
      if (t.shape[i] < 0 || (expect[i] != kAny && t.shape[i] != expect[i])) {
        if (expect[i] == kAny) {
          return fail(status::kInvalidProblem, "%s: dimension %d (%s) is %lld, must be >= 0", name,
                      i, dims[i], ll(t.shape[i]));
        }
        return fail(status::kInvalidProblem, "%s: dimension %d (%s) is %lld, expected %lld", name,
                    i, dims[i], ll(t.shape[i]), ll(expect[i]));
      }
    }
    const std::array<int64_t, N> dense = TensorView<N>::contiguous_strides(t.shape);
    for (int i = dense_from; i < N; ++i) {
      if (t.shape[i] > 1 && t.stride[i] != dense[i]) {
        return fail(status::kInvalidProblem,
                    "%s: stride of dimension %d (%s) is %lld, expected %lld (dense row-major)",
                    name, i, dims[i], ll(t.stride[i]), ll(dense[i]));
      }
    }
    if (t.data == nullptr) {
      if (t.numel() != 0) fail(status::kInvalidProblem, "%s: data is NULL", name);
      return;
    }
    if (reinterpret_cast<uintptr_t>(t.data) % alignment != 0) {
      fail(status::kMisalignedOperand, "%s: data %p is not %zu-byte aligned", name, t.data,
           alignment);
    }
  }

  /** Dimension `dim` of `name` must equal `value`, which `other` fixed. */
  void same(const char* name, int dim, const char* dim_name, int64_t got, const char* other,
            int64_t value) {
    if (ok() && got != value) {
      fail(status::kInvalidProblem, "%s: dimension %d (%s) is %lld, expected %lld (as %s)", name,
           dim, dim_name, ll(got), ll(value), other);
    }
  }

  void workspace(const Workspace& w, std::size_t required, const char* plan) {
    if (!ok()) return;
    if (w.data == nullptr && w.bytes != 0) {
      return fail(status::kInvalidProblem, "workspace: data is NULL but bytes is %zu", w.bytes);
    }
    if (w.data == nullptr && required != 0) {
      return fail(status::kWorkspaceTooSmall,
                  "workspace: missing; this %s needs %zu bytes (workspace_size())", plan, required);
    }
    if (w.bytes < required) {
      return fail(status::kWorkspaceTooSmall,
                  "workspace: %zu bytes is too small; this %s needs %zu bytes (workspace_size())",
                  w.bytes, plan, required);
    }
    if (w.data != nullptr && reinterpret_cast<uintptr_t>(w.data) % 16 != 0) {
      fail(status::kMisalignedOperand, "workspace: data %p is not 16-byte aligned", w.data);
    }
  }

  template <class... Args>
  void fail(int32_t code, const char* fmt, Args... args) {
    char msg[512];
    int n = std::snprintf(msg, sizeof(msg), "%s: ", where_);
    if (n < 0 || n >= static_cast<int>(sizeof(msg))) n = 0;
    std::snprintf(msg + n, sizeof(msg) - static_cast<std::size_t>(n), fmt, args...);
    status_ = Status(code, msg);
  }

 private:
  static long long ll(int64_t v) noexcept { return static_cast<long long>(v); }
  const char* where_;
  Status status_;
};

inline bool is_finite(float x) noexcept {
  return std::isfinite(x);
}

/** The softmax scale a plan uses: the caller's, or 1 / sqrt(head_dim). */
inline float resolve_sm_scale(const std::optional<float>& sm_scale, int32_t head_dim) noexcept {
  return sm_scale ? *sm_scale : 1.0f / std::sqrt(static_cast<float>(head_dim));
}

/** The tensors every paged attention plan shares: q, o [B, Hq, D], the K / V caches
 * [num_pages, Hkv, P, D], the page ids, and the optional lse [B, Hq]. */
struct AttentionSizes {
  int64_t batch, num_qo_heads, num_kv_heads, head_dim, page_size;
  Element element;
};
inline void check_attention_tensors(Checker& c, const AttentionSizes& z, const TensorView<3>& q,
                                    const TensorView<4>& k_cache, const TensorView<4>& v_cache,
                                    const char* indices_name, const TensorView<1>& indices,
                                    const TensorView<3>& o,
                                    const std::optional<TensorView<2>>& lse) {
  const Dtype qt = query_dtype(z.element), kvt = kv_dtype(z.element);
  c.tensor<3>("q", q, qt, {z.batch, z.num_qo_heads, z.head_dim},
              {"batch", "num_qo_heads", "head_dim"}, 16);
  c.tensor<4>("k_cache", k_cache, kvt, {kAny, z.num_kv_heads, z.page_size, z.head_dim},
              {"num_pages", "num_kv_heads", "page_size", "head_dim"}, 16);
  c.tensor<4>("v_cache", v_cache, kvt, {kAny, z.num_kv_heads, z.page_size, z.head_dim},
              {"num_pages", "num_kv_heads", "page_size", "head_dim"}, 16);
  c.same("v_cache", 0, "num_pages", v_cache.shape[0], "k_cache", k_cache.shape[0]);
  c.tensor<1>(indices_name, indices, Dtype::i32, {kAny}, {"nnz_pages"}, 4);
  c.tensor<3>("o", o, qt, {z.batch, z.num_qo_heads, z.head_dim},
              {"batch", "num_qo_heads", "head_dim"}, 16);
  if (lse) {
    c.tensor<2>("lse", *lse, Dtype::f32, {z.batch, z.num_qo_heads}, {"batch", "num_qo_heads"}, 4);
  }
}

}  // namespace detail

/* ----------------------------------------------------------------------------------------- */
/* Batched paged-KV decode                                                                    */
/* ----------------------------------------------------------------------------------------- */

/** Which decode kernel runs (the C flags of paged_decode_run_with). automatic: the library's
 * measured rule (tensor cores for GQA groups of 4 or more with 16-bit KV, of 2 or more with fp8
 * KV; CUDA cores for f32); cuda_cores suits short contexts such as a cascade's suffixes
 * (docs/append-merge.md); warp_tiles is the library's own kernel (f16/bf16 KV, no soft-cap). */
enum class DecodeKernel : int32_t {
  automatic = BARACUDA_FLASHINFER_DECODE_AUTO,
  cuda_cores = BARACUDA_FLASHINFER_DECODE_CUDA_CORES,
  tensor_cores = BARACUDA_FLASHINFER_DECODE_TENSOR_CORES,
  warp_tiles = BARACUDA_FLASHINFER_DECODE_WARP_TILES
};

/** What a DecodePlan is for; the C header's "Batched paged-KV decode" section has the math. */
struct DecodeDesc {
  int32_t batch_size = 0;    ///< B
  int32_t num_qo_heads = 0;  ///< Hq
  int32_t num_kv_heads = 0;  ///< Hkv; Hq % Hkv == 0
  int32_t head_dim = 0;      ///< D
  int32_t page_size = 0;     ///< P: tokens per KV page
  Element element = Element::f16;
  std::optional<float> sm_scale;  ///< softmax scale; default 1 / sqrt(head_dim)
  /** Split long KV across CTAs when the batch cannot fill the GPU (needs a workspace). With
   * false, the plan needs no workspace and runs one CTA per (request, KV head). */
  bool split_kv = true;
  DecodeKernel kernel = DecodeKernel::automatic;
};

/**
 * A validated decode problem. create() asks the C _can_implement (and, with split_kv or the
 * tensor-core kernel, the device-dependent workspace size: that query needs a GPU); run()
 * checks the tensors:
 *   q, o            [B, Hq, D]                query_dtype(element), 16-byte aligned
 *   k_cache, v_cache [num_pages, Hkv, P, D]   kv_dtype(element), 16-byte aligned
 *   kv_indices      [nnz]                     i32 page ids
 *   kv_indptr       [B + 1]                   i32
 *   kv_last_page_len [B]                      i32 in [1, P]
 *   lse             [B, Hq]                   f32 (base 2), optional
 */
class DecodePlan {
 public:
  static Result<DecodePlan> create(const DecodeDesc& desc) {
    const int32_t code =
        desc.kernel == DecodeKernel::automatic
            ? baracuda_kernels_flashinfer_paged_decode_can_implement(
                  desc.batch_size, desc.num_qo_heads, desc.num_kv_heads, desc.head_dim,
                  desc.page_size, static_cast<int32_t>(desc.element))
            : baracuda_kernels_flashinfer_paged_decode_run_with_can_implement(
                  static_cast<int32_t>(desc.element), flags(desc), desc.batch_size, desc.page_size,
                  desc.head_dim, desc.num_qo_heads, desc.num_kv_heads);
    if (code != status::kSuccess) return Status::from_c(code);
    DecodePlan plan;
    plan.desc_ = desc;
    plan.sm_scale_ = detail::resolve_sm_scale(desc.sm_scale, desc.head_dim);
    if (!(plan.sm_scale_ > 0.f) || !detail::is_finite(plan.sm_scale_)) {
      return Status(status::kInvalidProblem,
                    "DecodePlan::create: sm_scale must be positive and finite");
    }
    plan.desc_.sm_scale = plan.sm_scale_;
    if (needs_workspace(desc)) {
      const int32_t ws = baracuda_kernels_flashinfer_paged_decode_get_workspace_size(
          desc.batch_size, desc.num_qo_heads, desc.num_kv_heads, desc.head_dim, desc.page_size,
          static_cast<int32_t>(desc.element), &plan.workspace_bytes_);
      if (ws != status::kSuccess) return Status::from_c(ws);
    }
    return plan;
  }

  const DecodeDesc& desc() const noexcept { return desc_; }
  float sm_scale() const noexcept { return sm_scale_; }
  /** Bytes the workspace passed to run() must have (0: none needed). */
  std::size_t workspace_size() const noexcept { return workspace_bytes_; }

  /** Checks tensors and workspace against the plan; nothing is enqueued. */
  Status check(const TensorView<3>& q, const TensorView<4>& k_cache, const TensorView<4>& v_cache,
               const TensorView<1>& kv_indices, const TensorView<1>& kv_indptr,
               const TensorView<1>& kv_last_page_len, const TensorView<3>& o,
               const std::optional<TensorView<2>>& lse, const Workspace& workspace) const {
    const DecodeDesc& x = desc_;
    const int64_t b = x.batch_size;
    detail::Checker c("DecodePlan::run");
    detail::check_attention_tensors(
        c, {b, x.num_qo_heads, x.num_kv_heads, x.head_dim, x.page_size, x.element}, q, k_cache,
        v_cache, "kv_indices", kv_indices, o, lse);
    c.tensor<1>("kv_indptr", kv_indptr, Dtype::i32, {b + 1}, {"batch + 1"}, 4);
    c.tensor<1>("kv_last_page_len", kv_last_page_len, Dtype::i32, {b}, {"batch"}, 4);
    c.workspace(workspace, workspace_bytes_, "DecodePlan");
    return c.status();
  }

  /** Checks everything (see check()), then enqueues the decode on `stream` (NULL: per-thread
   * default stream). Graph-capturable; never allocates or synchronises. */
  Status run(baracuda_flashinfer_stream_t stream, const TensorView<3>& q,
             const TensorView<4>& k_cache, const TensorView<4>& v_cache,
             const TensorView<1>& kv_indices, const TensorView<1>& kv_indptr,
             const TensorView<1>& kv_last_page_len, const TensorView<3>& o,
             const std::optional<TensorView<2>>& lse, const Workspace& workspace) const {
    Status s =
        check(q, k_cache, v_cache, kv_indices, kv_indptr, kv_last_page_len, o, lse, workspace);
    if (!s.ok()) return s;
    void* lse_ptr = lse ? lse->data : nullptr;
    const DecodeDesc& x = desc_;
    // A plan without a workspace passes none: the automatic C run then never splits.
    void* ws = needs_workspace(x) ? workspace.data : nullptr;
    const std::size_t ws_bytes = needs_workspace(x) ? workspace.bytes : 0;
    if (x.kernel != DecodeKernel::automatic) {
      return Status::from_c(baracuda_kernels_flashinfer_paged_decode_run_with(
          static_cast<int32_t>(x.element), flags(x), x.batch_size, x.page_size, x.head_dim,
          x.num_qo_heads, x.num_kv_heads, sm_scale_, k_cache.data, v_cache.data, kv_indices.data,
          kv_indptr.data, kv_last_page_len.data, q.data, o.data, lse_ptr, ws, ws_bytes, stream));
    }
    return Status::from_c(run_fn(x.element)(x.batch_size, x.page_size, x.head_dim, x.num_qo_heads,
                                            x.num_kv_heads, sm_scale_, k_cache.data, v_cache.data,
                                            kv_indices.data, kv_indptr.data, kv_last_page_len.data,
                                            q.data, o.data, lse_ptr, ws, ws_bytes, stream));
  }

 private:
  DecodePlan() = default;
  // The C flags of an explicit kernel choice; without split_kv, NO_SPLIT.
  static int32_t flags(const DecodeDesc& d) noexcept {
    return static_cast<int32_t>(d.kernel) | (d.split_kv ? 0 : BARACUDA_FLASHINFER_DECODE_NO_SPLIT);
  }
  // Split-KV and the tensor-core kernel (split or not) need the device-sized workspace.
  static bool needs_workspace(const DecodeDesc& d) noexcept {
    return d.split_kv || d.kernel == DecodeKernel::tensor_cores;
  }
  using RunFn = int32_t (*)(int32_t, int32_t, int32_t, int32_t, int32_t, float, void*, void*, void*,
                            void*, void*, const void*, void*, void*, void*, std::size_t,
                            baracuda_flashinfer_stream_t);
  static RunFn run_fn(Element e) noexcept {
    switch (e) {
      case Element::bf16:
        return &baracuda_kernels_flashinfer_paged_decode_bf16_run;
      case Element::f32:
        return &baracuda_kernels_flashinfer_paged_decode_f32_run;
      case Element::f16_e4m3:
        return &baracuda_kernels_flashinfer_paged_decode_f16_e4m3_run;
      case Element::f16_e5m2:
        return &baracuda_kernels_flashinfer_paged_decode_f16_e5m2_run;
      case Element::bf16_e4m3:
        return &baracuda_kernels_flashinfer_paged_decode_bf16_e4m3_run;
      case Element::bf16_e5m2:
        return &baracuda_kernels_flashinfer_paged_decode_bf16_e5m2_run;
      default:
        return &baracuda_kernels_flashinfer_paged_decode_f16_run;
    }
  }

  DecodeDesc desc_{};
  float sm_scale_ = 0.f;
  std::size_t workspace_bytes_ = 0;
};

/* ----------------------------------------------------------------------------------------- */
/* Shared prefix (cascade level 1)                                                            */
/* ----------------------------------------------------------------------------------------- */

/** What a SharedPrefixPlan is for: every request's query against ONE shared page list. */
struct SharedPrefixDesc {
  int32_t batch_size = 0;          ///< B
  int32_t num_qo_heads = 0;        ///< Hq
  int32_t num_kv_heads = 0;        ///< Hkv; Hq % Hkv == 0
  int32_t head_dim = 0;            ///< D
  int32_t page_size = 0;           ///< P
  Element element = Element::f16;  ///< f16 or bf16
  std::optional<float> sm_scale;   ///< default 1 / sqrt(head_dim)
};

namespace detail {

/** What SharedPrefixPlan and the cascade plans share: the sizes, the resolved scale, the
 * workspace size, and the checks of q / k / v / the prefix's page list / the suffixes' page
 * lists / o / lse / workspace. Their create() differ only in the C _can_implement and
 * _get_workspace_size asked. */
class PrefixPlanBase {
 public:
  const SharedPrefixDesc& desc() const noexcept { return desc_; }
  float sm_scale() const noexcept { return sm_scale_; }
  /** Bytes the workspace passed to run() must have. */
  std::size_t workspace_size() const noexcept { return workspace_bytes_; }

 protected:
  using CanImplement = int32_t (*)(int32_t, int32_t, int32_t, int32_t, int32_t, int32_t);
  using WorkspaceSize = int32_t (*)(int32_t, int32_t, int32_t, int32_t, int32_t, int32_t,
                                    std::size_t*);

  Status init(const SharedPrefixDesc& desc, const char* who, CanImplement can_implement,
              WorkspaceSize query_workspace) {
    const int32_t code =
        can_implement(desc.batch_size, desc.num_qo_heads, desc.num_kv_heads, desc.head_dim,
                      desc.page_size, static_cast<int32_t>(desc.element));
    if (code != status::kSuccess) return Status::from_c(code);
    desc_ = desc;
    sm_scale_ = resolve_sm_scale(desc.sm_scale, desc.head_dim);
    if (!(sm_scale_ > 0.f) || !is_finite(sm_scale_)) {
      return Status(status::kInvalidProblem,
                    std::string(who) + ": sm_scale must be positive and finite");
    }
    desc_.sm_scale = sm_scale_;
    return Status::from_c(query_workspace(desc.batch_size, desc.num_qo_heads, desc.num_kv_heads,
                                          desc.head_dim, desc.page_size,
                                          static_cast<int32_t>(desc.element), &workspace_bytes_));
  }

  void check_prefix(Checker& c, const char* plan, const TensorView<3>& q,
                    const TensorView<4>& k_cache, const TensorView<4>& v_cache,
                    const char* indices_name, const TensorView<1>& indices,
                    const TensorView<1>& prefix_indptr, const TensorView<1>& prefix_last_page_len,
                    const TensorView<3>& o, const std::optional<TensorView<2>>& lse,
                    const Workspace& workspace) const {
    check_attention_tensors(c, sizes(), q, k_cache, v_cache, indices_name, indices, o, lse);
    c.tensor<1>("prefix_indptr", prefix_indptr, Dtype::i32, {2}, {"2"}, 4);
    c.tensor<1>("prefix_last_page_len", prefix_last_page_len, Dtype::i32, {1}, {"1"}, 4);
    c.workspace(workspace, workspace_bytes_, plan);
  }

  AttentionSizes sizes() const noexcept {
    const SharedPrefixDesc& x = desc_;
    return {x.batch_size, x.num_qo_heads, x.num_kv_heads, x.head_dim, x.page_size, x.element};
  }

  /** The fused cascades' page lists of each request's suffix. */
  void check_suffixes(Checker& c, const TensorView<1>& suffix_indptr,
                      const TensorView<1>& suffix_last_page_len) const {
    const int64_t b = desc_.batch_size;
    c.tensor<1>("suffix_indptr", suffix_indptr, Dtype::i32, {b + 1}, {"batch + 1"}, 4);
    c.tensor<1>("suffix_last_page_len", suffix_last_page_len, Dtype::i32, {b}, {"batch"}, 4);
  }

  SharedPrefixDesc desc_{};
  float sm_scale_ = 0.f;
  std::size_t workspace_bytes_ = 0;
};

}  // namespace detail

/**
 * A validated shared-prefix problem (the C shared_prefix_decode_*). create() asks the C
 * _can_implement and the device-dependent workspace size (a GPU query); run() checks:
 *   q, o                 [B, Hq, D]              query_dtype(element), 16-byte aligned
 *   k_cache, v_cache     [num_pages, Hkv, P, D]  kv_dtype(element), 16-byte aligned
 *   prefix_indices       [nnz]                   i32 page ids of the shared prefix
 *   prefix_indptr        [2]                     i32 {0, number of prefix pages}
 *   prefix_last_page_len [1]                     i32 in [1, P]
 *   lse                  [B, Hq]                 f32 (base 2), optional
 * The cascade: this, a DecodePlan over each request's suffix (DecodeKernel::cuda_cores for
 * short suffixes) and MergePlan::run_in_place (docs/append-merge.md); or, on sm_90, CascadePlan.
 */
class SharedPrefixPlan : public detail::PrefixPlanBase {
 public:
  static Result<SharedPrefixPlan> create(const SharedPrefixDesc& desc) {
    SharedPrefixPlan plan;
    Status s = plan.init(desc, "SharedPrefixPlan::create",
                         &baracuda_kernels_flashinfer_shared_prefix_decode_can_implement,
                         &baracuda_kernels_flashinfer_shared_prefix_decode_get_workspace_size);
    if (!s.ok()) return s;
    return plan;
  }

  /** Checks tensors and workspace against the plan; nothing is enqueued. */
  Status check(const TensorView<3>& q, const TensorView<4>& k_cache, const TensorView<4>& v_cache,
               const TensorView<1>& prefix_indices, const TensorView<1>& prefix_indptr,
               const TensorView<1>& prefix_last_page_len, const TensorView<3>& o,
               const std::optional<TensorView<2>>& lse, const Workspace& workspace) const {
    detail::Checker c("SharedPrefixPlan::run");
    check_prefix(c, "SharedPrefixPlan", q, k_cache, v_cache, "prefix_indices", prefix_indices,
                 prefix_indptr, prefix_last_page_len, o, lse, workspace);
    return c.status();
  }

  /** Checks everything (see check()), then enqueues on `stream` (NULL: per-thread default
   * stream). Graph-capturable; never allocates or synchronises. */
  Status run(baracuda_flashinfer_stream_t stream, const TensorView<3>& q,
             const TensorView<4>& k_cache, const TensorView<4>& v_cache,
             const TensorView<1>& prefix_indices, const TensorView<1>& prefix_indptr,
             const TensorView<1>& prefix_last_page_len, const TensorView<3>& o,
             const std::optional<TensorView<2>>& lse, const Workspace& workspace) const {
    Status s = check(q, k_cache, v_cache, prefix_indices, prefix_indptr, prefix_last_page_len, o,
                     lse, workspace);
    if (!s.ok()) return s;
    const SharedPrefixDesc& x = desc_;
    return Status::from_c(baracuda_kernels_flashinfer_shared_prefix_decode_run(
        static_cast<int32_t>(x.element), x.batch_size, x.page_size, x.head_dim, x.num_qo_heads,
        x.num_kv_heads, sm_scale_, k_cache.data, v_cache.data, prefix_indices.data,
        prefix_indptr.data, prefix_last_page_len.data, q.data, o.data, lse ? lse->data : nullptr,
        workspace.data, workspace.bytes, stream));
  }

 private:
  SharedPrefixPlan() = default;
};

/**
 * The fused cascade (the C cascade_decode_*, sm_90): decode over the shared prefix plus each
 * request's own suffix in one call. create() answers kUnsupported where the C symbol does (no
 * compute-capability 9.0 GPU, or no sm_90 build): use the three plans then. run() checks, beside
 * q, k_cache, v_cache, o, lse and the workspace as SharedPrefixPlan does:
 *   indices              [nnz]    i32 page ids of the prefix and of every suffix
 *   prefix_indptr        [2]      i32 the prefix's range of `indices`
 *   prefix_last_page_len [1]      i32 in [1, P]
 *   suffix_indptr        [B + 1]  i32 request b's suffix: indices[suffix_indptr[b] ..)
 *   suffix_last_page_len [B]      i32 in [1, P]
 * With the prefix in one buffer per layer rather than in pages: DensePrefixCascadePlan.
 */
class CascadePlan : public detail::PrefixPlanBase {
 public:
  static Result<CascadePlan> create(const SharedPrefixDesc& desc) {
    CascadePlan plan;
    Status s = plan.init(desc, "CascadePlan::create",
                         &baracuda_kernels_flashinfer_cascade_decode_can_implement,
                         &baracuda_kernels_flashinfer_cascade_decode_get_workspace_size);
    if (!s.ok()) return s;
    return plan;
  }

  /** Checks tensors and workspace against the plan; nothing is enqueued. */
  Status check(const TensorView<3>& q, const TensorView<4>& k_cache, const TensorView<4>& v_cache,
               const TensorView<1>& indices, const TensorView<1>& prefix_indptr,
               const TensorView<1>& prefix_last_page_len, const TensorView<1>& suffix_indptr,
               const TensorView<1>& suffix_last_page_len, const TensorView<3>& o,
               const std::optional<TensorView<2>>& lse, const Workspace& workspace) const {
    detail::Checker c("CascadePlan::run");
    check_prefix(c, "CascadePlan", q, k_cache, v_cache, "indices", indices, prefix_indptr,
                 prefix_last_page_len, o, lse, workspace);
    check_suffixes(c, suffix_indptr, suffix_last_page_len);
    return c.status();
  }

  /** Checks everything (see check()), then enqueues on `stream` (NULL: per-thread default
   * stream). Graph-capturable; never allocates or synchronises. */
  Status run(baracuda_flashinfer_stream_t stream, const TensorView<3>& q,
             const TensorView<4>& k_cache, const TensorView<4>& v_cache,
             const TensorView<1>& indices, const TensorView<1>& prefix_indptr,
             const TensorView<1>& prefix_last_page_len, const TensorView<1>& suffix_indptr,
             const TensorView<1>& suffix_last_page_len, const TensorView<3>& o,
             const std::optional<TensorView<2>>& lse, const Workspace& workspace) const {
    Status s = check(q, k_cache, v_cache, indices, prefix_indptr, prefix_last_page_len,
                     suffix_indptr, suffix_last_page_len, o, lse, workspace);
    if (!s.ok()) return s;
    const SharedPrefixDesc& x = desc_;
    return Status::from_c(baracuda_kernels_flashinfer_cascade_decode_run(
        static_cast<int32_t>(x.element), x.batch_size, x.page_size, x.head_dim, x.num_qo_heads,
        x.num_kv_heads, sm_scale_, k_cache.data, v_cache.data, indices.data, prefix_indptr.data,
        prefix_last_page_len.data, suffix_indptr.data, suffix_last_page_len.data, q.data, o.data,
        lse ? lse->data : nullptr, workspace.data, workspace.bytes, stream));
  }

 private:
  CascadePlan() = default;
};

/**
 * The fused cascade over a DENSE shared prefix (the C cascade_decode_dense_prefix_*, sm_90): as
 * CascadePlan, but the prefix's K and V are one strided tensor each (a system prompt kept in one
 * buffer per layer), loaded with TMA; the suffixes stay paged. create() answers as CascadePlan's
 * does. run() checks q, k_cache, v_cache, o, lse and the workspace as SharedPrefixPlan does, and:
 *   k_prefix, v_prefix   [L, Hkv, D]  kv_dtype(element), 16-byte aligned, the same L (the prefix
 *                                     length, 1 <= L < 2^31) and strides; head_dim dense, the
 *                                     strides of L and Hkv free: contiguous<3>(k, dtype,
 *                                     {L, Hkv, D}) is NHD, strides {D, L * D, 1} are HND
 *   indices              [nnz]        i32 page ids of every suffix
 *   suffix_indptr        [B + 1]      i32 request b's suffix: indices[suffix_indptr[b] ..)
 *   suffix_last_page_len [B]          i32 in [1, P]
 * The C run adds TMA's rules on the strides of L and Hkv (multiples of 16 bytes, >= head_dim,
 * below 2^40 bytes) and answers kInvalidProblem naming prefix_stride_token / prefix_stride_head.
 */
class DensePrefixCascadePlan : public detail::PrefixPlanBase {
 public:
  static Result<DensePrefixCascadePlan> create(const SharedPrefixDesc& desc) {
    DensePrefixCascadePlan plan;
    Status s =
        plan.init(desc, "DensePrefixCascadePlan::create",
                  &baracuda_kernels_flashinfer_cascade_decode_dense_prefix_can_implement,
                  &baracuda_kernels_flashinfer_cascade_decode_dense_prefix_get_workspace_size);
    if (!s.ok()) return s;
    return plan;
  }

  /** Checks tensors and workspace against the plan; nothing is enqueued. */
  Status check(const TensorView<3>& q, const TensorView<3>& k_prefix, const TensorView<3>& v_prefix,
               const TensorView<4>& k_cache, const TensorView<4>& v_cache,
               const TensorView<1>& indices, const TensorView<1>& suffix_indptr,
               const TensorView<1>& suffix_last_page_len, const TensorView<3>& o,
               const std::optional<TensorView<2>>& lse, const Workspace& workspace) const {
    detail::Checker c("DensePrefixCascadePlan::run");
    detail::check_attention_tensors(c, sizes(), q, k_cache, v_cache, "indices", indices, o, lse);
    const std::array<int64_t, 3> expect = {detail::kAny, desc_.num_kv_heads, desc_.head_dim};
    const std::array<const char*, 3> dims = {"prefix_len", "num_kv_heads", "head_dim"};
    const Dtype kvt = kv_dtype(desc_.element);
    c.tensor<3>("k_prefix", k_prefix, kvt, expect, dims, 16, /*dense_from=*/2);
    c.tensor<3>("v_prefix", v_prefix, kvt, expect, dims, 16, /*dense_from=*/2);
    c.same("v_prefix", 0, "prefix_len", v_prefix.shape[0], "k_prefix", k_prefix.shape[0]);
    for (int i = 0; i < 2 && c.ok(); ++i) {  // the C run takes one pair of strides
      if (k_prefix.shape[i] > 1 && v_prefix.stride[i] != k_prefix.stride[i]) {
        c.fail(status::kInvalidProblem,
               "v_prefix: stride of dimension %d (%s) is %lld, expected %lld (as k_prefix)", i,
               dims[i], static_cast<long long>(v_prefix.stride[i]),
               static_cast<long long>(k_prefix.stride[i]));
      }
    }
    if (c.ok() && (k_prefix.shape[0] < 1 || k_prefix.shape[0] > INT32_MAX)) {
      c.fail(status::kInvalidProblem,
             "k_prefix: dimension 0 (prefix_len) is %lld, must be in [1, 2^31)",
             static_cast<long long>(k_prefix.shape[0]));
    }
    check_suffixes(c, suffix_indptr, suffix_last_page_len);
    c.workspace(workspace, workspace_bytes_, "DensePrefixCascadePlan");
    return c.status();
  }

  /** Checks everything (see check()), then enqueues on `stream` (NULL: per-thread default
   * stream). Graph-capturable; never allocates or synchronises. */
  Status run(baracuda_flashinfer_stream_t stream, const TensorView<3>& q,
             const TensorView<3>& k_prefix, const TensorView<3>& v_prefix,
             const TensorView<4>& k_cache, const TensorView<4>& v_cache,
             const TensorView<1>& indices, const TensorView<1>& suffix_indptr,
             const TensorView<1>& suffix_last_page_len, const TensorView<3>& o,
             const std::optional<TensorView<2>>& lse, const Workspace& workspace) const {
    Status s = check(q, k_prefix, v_prefix, k_cache, v_cache, indices, suffix_indptr,
                     suffix_last_page_len, o, lse, workspace);
    if (!s.ok()) return s;
    const SharedPrefixDesc& x = desc_;
    return Status::from_c(baracuda_kernels_flashinfer_cascade_decode_dense_prefix_run(
        static_cast<int32_t>(x.element), x.batch_size, x.page_size, x.head_dim, x.num_qo_heads,
        x.num_kv_heads, sm_scale_, k_prefix.data, v_prefix.data,
        static_cast<int32_t>(k_prefix.shape[0]), k_prefix.stride[0], k_prefix.stride[1],
        k_cache.data, v_cache.data, indices.data, suffix_indptr.data, suffix_last_page_len.data,
        q.data, o.data, lse ? lse->data : nullptr, workspace.data, workspace.bytes, stream));
  }

 private:
  DensePrefixCascadePlan() = default;
};

/* ----------------------------------------------------------------------------------------- */
/* Batch prefill                                                                              */
/* ----------------------------------------------------------------------------------------- */

/** Where a PrefillPlan's keys are. */
enum class PrefillKv : int32_t {
  paged,  ///< the paged cache decode and append use: k_cache / v_cache [num_pages, Hkv, P, D]
  ragged  ///< one K and one V per batch, request after request: [max_kv_rows, Hkv, D]
};

/** Which prefill kernels run (the C options' flags). */
enum class PrefillKernel : int32_t {
  automatic =
      BARACUDA_FLASHINFER_ATTENTION_AUTO,  ///< FA3 on a compute-capability 9.0 GPU, else FA2
  fa2 = BARACUDA_FLASHINFER_ATTENTION_FA2  ///< FlashInfer's FA2 kernels everywhere
};

/** What a PrefillPlan is for; the C header's "Batch prefill" section has the math. */
struct PrefillDesc {
  PrefillKv kv = PrefillKv::paged;
  int32_t batch_size = 0;          ///< B: requests (each any number of query rows, 0 too)
  int32_t max_q_rows = 0;          ///< rows of q and o: a bound on q_indptr[B]
  int32_t num_qo_heads = 0;        ///< Hq
  int32_t num_kv_heads = 0;        ///< Hkv; Hq % Hkv == 0
  int32_t head_dim = 0;            ///< D
  int32_t page_size = 0;           ///< paged: P, tokens per page
  int32_t max_kv_rows = 0;         ///< ragged: rows of k and v, a bound on kv_indptr[B]
  Element element = Element::f16;  ///< f16 or bf16
  bool causal = true;              ///< bottom-right aligned: a prompt, a chunk on its prefix
  std::optional<float> sm_scale;   ///< softmax scale; default 1 / sqrt(head_dim)
  /** Split long KV across the GPU when the query tiles alone cannot fill it (more workspace).
   * false: one CTA per (request, query tile, head) whatever the lengths. */
  bool split_kv = true;
  PrefillKernel kernel = PrefillKernel::automatic;
};

/**
 * A validated batch prefill (the C prefill_paged_* / prefill_ragged_*): any mix of query lengths
 * (prompts, chunks, decode tokens) over any KV lengths in one call, planned on the device, so one
 * capture stays correct when the lengths change. create() asks the C _can_implement, then the
 * workspace size for the current device (that query needs a GPU). run() checks the tensors:
 *   q, o              [max_q_rows, Hq, D]      query_dtype(element), 16-byte aligned
 *   q_indptr          [B + 1]                  i32: request b's rows q_indptr[b] .. q_indptr[b+1]-1
 *   lse               [max_q_rows, Hq]         f32 (base 2), optional
 * paged (PrefillKv::paged):
 *   k_cache, v_cache  [num_pages, Hkv, P, D]   16-byte aligned, the same num_pages
 *   kv_indices        [nnz]                    i32 page ids
 *   kv_indptr         [B + 1]                  i32 page indptr
 *   kv_last_page_len  [B]                      i32 in [1, P]
 * ragged (PrefillKv::ragged):
 *   k, v              [max_kv_rows, Hkv, D]    16-byte aligned
 *   kv_indptr         [B + 1]                  i32 row indptr
 * Rows of q, o and lse past q_indptr[B] are neither used nor written.
 */
class PrefillPlan {
 public:
  static Result<PrefillPlan> create(const PrefillDesc& desc) {
    if (desc.kv != PrefillKv::paged && desc.kv != PrefillKv::ragged) {
      return Status(status::kInvalidProblem,
                    "PrefillPlan::create: kv must be PrefillKv::paged or PrefillKv::ragged");
    }
    PrefillPlan plan;
    plan.desc_ = desc;
    plan.sm_scale_ = detail::resolve_sm_scale(desc.sm_scale, desc.head_dim);
    const baracuda_flashinfer_attention_options o = plan.options();
    const PrefillDesc& x = desc;
    const int32_t e = static_cast<int32_t>(x.element), causal = x.causal ? 1 : 0;
    const bool paged = x.kv == PrefillKv::paged;
    const int32_t code = paged ? baracuda_kernels_flashinfer_prefill_paged_can_implement(
                                     e, x.batch_size, x.max_q_rows, x.page_size, x.head_dim,
                                     x.num_qo_heads, x.num_kv_heads, plan.sm_scale_, causal, &o)
                               : baracuda_kernels_flashinfer_prefill_ragged_can_implement(
                                     e, x.batch_size, x.max_q_rows, x.max_kv_rows, x.head_dim,
                                     x.num_qo_heads, x.num_kv_heads, plan.sm_scale_, causal, &o);
    if (code != status::kSuccess) return Status::from_c(code);
    plan.desc_.sm_scale = plan.sm_scale_;
    const int32_t ws =
        paged ? baracuda_kernels_flashinfer_prefill_paged_get_workspace_size(
                    e, x.batch_size, x.max_q_rows, x.page_size, x.head_dim, x.num_qo_heads,
                    x.num_kv_heads, causal, &o, &plan.workspace_bytes_)
              : baracuda_kernels_flashinfer_prefill_ragged_get_workspace_size(
                    e, x.batch_size, x.max_q_rows, x.max_kv_rows, x.head_dim, x.num_qo_heads,
                    x.num_kv_heads, causal, &o, &plan.workspace_bytes_);
    if (ws != status::kSuccess) return Status::from_c(ws);
    return plan;
  }

  const PrefillDesc& desc() const noexcept { return desc_; }
  float sm_scale() const noexcept { return sm_scale_; }
  /** Bytes the workspace passed to run() must have. */
  std::size_t workspace_size() const noexcept { return workspace_bytes_; }
  /** The C options the plan passes: the defaults, with the flags of split_kv and kernel. */
  baracuda_flashinfer_attention_options options() const noexcept {
    baracuda_flashinfer_attention_options o;
    baracuda_kernels_flashinfer_attention_options_init(&o);
    o.flags = static_cast<int32_t>(desc_.kernel) |
              (desc_.split_kv ? 0 : BARACUDA_FLASHINFER_ATTENTION_NO_SPLIT);
    return o;
  }

  /** Paged: checks tensors and workspace against the plan; nothing is enqueued. */
  Status check(const TensorView<3>& q, const TensorView<1>& q_indptr, const TensorView<4>& k_cache,
               const TensorView<4>& v_cache, const TensorView<1>& kv_indices,
               const TensorView<1>& kv_indptr, const TensorView<1>& kv_last_page_len,
               const TensorView<3>& o, const std::optional<TensorView<2>>& lse,
               const Workspace& workspace) const {
    detail::Checker c("PrefillPlan::run");
    if (!expect_kv(c, PrefillKv::paged)) return c.status();
    const PrefillDesc& x = desc_;
    const int64_t b = x.batch_size, any = detail::kAny;
    const std::array<const char*, 4> cache = {"num_pages", "num_kv_heads", "page_size", "head_dim"};
    check_rows(c, "q", q);
    c.tensor<1>("q_indptr", q_indptr, Dtype::i32, {b + 1}, {"batch + 1"}, 4);
    c.tensor<4>("k_cache", k_cache, kv_dtype(x.element),
                {any, x.num_kv_heads, x.page_size, x.head_dim}, cache, 16);
    c.tensor<4>("v_cache", v_cache, kv_dtype(x.element),
                {any, x.num_kv_heads, x.page_size, x.head_dim}, cache, 16);
    c.same("v_cache", 0, "num_pages", v_cache.shape[0], "k_cache", k_cache.shape[0]);
    c.tensor<1>("kv_indices", kv_indices, Dtype::i32, {any}, {"nnz_pages"}, 4);
    c.tensor<1>("kv_indptr", kv_indptr, Dtype::i32, {b + 1}, {"batch + 1"}, 4);
    c.tensor<1>("kv_last_page_len", kv_last_page_len, Dtype::i32, {b}, {"batch"}, 4);
    check_outputs(c, o, lse, workspace);
    return c.status();
  }

  /** Paged: checks everything (see check()), then enqueues on `stream` (NULL: per-thread
   * default stream). Graph-capturable; never allocates or synchronises. */
  Status run(baracuda_flashinfer_stream_t stream, const TensorView<3>& q,
             const TensorView<1>& q_indptr, const TensorView<4>& k_cache,
             const TensorView<4>& v_cache, const TensorView<1>& kv_indices,
             const TensorView<1>& kv_indptr, const TensorView<1>& kv_last_page_len,
             const TensorView<3>& o, const std::optional<TensorView<2>>& lse,
             const Workspace& workspace) const {
    Status s = check(q, q_indptr, k_cache, v_cache, kv_indices, kv_indptr, kv_last_page_len, o, lse,
                     workspace);
    if (!s.ok()) return s;
    const PrefillDesc& x = desc_;
    const baracuda_flashinfer_attention_options opts = options();
    return Status::from_c(baracuda_kernels_flashinfer_prefill_paged_run(
        static_cast<int32_t>(x.element), x.batch_size, x.max_q_rows, x.page_size, x.head_dim,
        x.num_qo_heads, x.num_kv_heads, sm_scale_, x.causal ? 1 : 0, &opts, q.data,
        static_cast<const int32_t*>(q_indptr.data), k_cache.data, v_cache.data,
        static_cast<const int32_t*>(kv_indices.data), static_cast<const int32_t*>(kv_indptr.data),
        static_cast<const int32_t*>(kv_last_page_len.data), o.data,
        lse ? static_cast<float*>(lse->data) : nullptr, workspace.data, workspace.bytes, stream));
  }

  /** Ragged: checks tensors and workspace against the plan; nothing is enqueued. */
  Status check(const TensorView<3>& q, const TensorView<1>& q_indptr, const TensorView<3>& k,
               const TensorView<3>& v, const TensorView<1>& kv_indptr, const TensorView<3>& o,
               const std::optional<TensorView<2>>& lse, const Workspace& workspace) const {
    detail::Checker c("PrefillPlan::run");
    if (!expect_kv(c, PrefillKv::ragged)) return c.status();
    const PrefillDesc& x = desc_;
    const int64_t b = x.batch_size;
    const std::array<int64_t, 3> rows = {x.max_kv_rows, x.num_kv_heads, x.head_dim};
    const std::array<const char*, 3> dims = {"max_kv_rows", "num_kv_heads", "head_dim"};
    check_rows(c, "q", q);
    c.tensor<1>("q_indptr", q_indptr, Dtype::i32, {b + 1}, {"batch + 1"}, 4);
    c.tensor<3>("k", k, kv_dtype(x.element), rows, dims, 16);
    c.tensor<3>("v", v, kv_dtype(x.element), rows, dims, 16);
    c.tensor<1>("kv_indptr", kv_indptr, Dtype::i32, {b + 1}, {"batch + 1"}, 4);
    check_outputs(c, o, lse, workspace);
    return c.status();
  }

  /** Ragged: checks everything (see check()), then enqueues on `stream` (NULL: per-thread
   * default stream). Graph-capturable; never allocates or synchronises. */
  Status run(baracuda_flashinfer_stream_t stream, const TensorView<3>& q,
             const TensorView<1>& q_indptr, const TensorView<3>& k, const TensorView<3>& v,
             const TensorView<1>& kv_indptr, const TensorView<3>& o,
             const std::optional<TensorView<2>>& lse, const Workspace& workspace) const {
    Status s = check(q, q_indptr, k, v, kv_indptr, o, lse, workspace);
    if (!s.ok()) return s;
    const PrefillDesc& x = desc_;
    const baracuda_flashinfer_attention_options opts = options();
    return Status::from_c(baracuda_kernels_flashinfer_prefill_ragged_run(
        static_cast<int32_t>(x.element), x.batch_size, x.max_q_rows, x.max_kv_rows, x.head_dim,
        x.num_qo_heads, x.num_kv_heads, sm_scale_, x.causal ? 1 : 0, &opts, q.data,
        static_cast<const int32_t*>(q_indptr.data), k.data, v.data,
        static_cast<const int32_t*>(kv_indptr.data), o.data,
        lse ? static_cast<float*>(lse->data) : nullptr, workspace.data, workspace.bytes, stream));
  }

 private:
  PrefillPlan() = default;

  // The run overload must match the plan's keys.
  bool expect_kv(detail::Checker& c, PrefillKv kv) const {
    if (desc_.kv == kv) return true;
    c.fail(status::kInvalidProblem, "this plan's keys are %s (PrefillDesc::kv): call run() with %s",
           desc_.kv == PrefillKv::paged ? "paged" : "ragged",
           desc_.kv == PrefillKv::paged
               ? "k_cache, v_cache, kv_indices, kv_indptr and kv_last_page_len"
               : "k, v and kv_indptr");
    return false;
  }
  // q or o: [max_q_rows, Hq, D] of the query dtype.
  void check_rows(detail::Checker& c, const char* name, const TensorView<3>& t) const {
    const PrefillDesc& x = desc_;
    c.tensor<3>(name, t, query_dtype(x.element), {x.max_q_rows, x.num_qo_heads, x.head_dim},
                {"max_q_rows", "num_qo_heads", "head_dim"}, 16);
  }
  void check_outputs(detail::Checker& c, const TensorView<3>& o,
                     const std::optional<TensorView<2>>& lse, const Workspace& workspace) const {
    check_rows(c, "o", o);
    if (lse) {
      c.tensor<2>("lse", *lse, Dtype::f32, {desc_.max_q_rows, desc_.num_qo_heads},
                  {"max_q_rows", "num_qo_heads"}, 4);
    }
    c.workspace(workspace, workspace_bytes_, "PrefillPlan");
  }

  PrefillDesc desc_{};
  float sm_scale_ = 0.f;
  std::size_t workspace_bytes_ = 0;
};

/* ----------------------------------------------------------------------------------------- */
/* Paged-KV append (decode: one new token per request)                                        */
/* ----------------------------------------------------------------------------------------- */

/** What an AppendPlan is for: writes each request's new token into the paged KV cache. */
struct AppendDesc {
  int32_t batch_size = 0;    ///< B
  int32_t num_heads = 0;     ///< H (the KV heads)
  int32_t head_dim = 0;      ///< D
  int32_t page_size = 0;     ///< P
  Dtype dtype = Dtype::f16;  ///< f16, bf16 or f32 (cache and new tokens)
};

/**
 * Decode-time KV append (the C paged_kv_append_decode_*): the page metadata must already count
 * the new token (grow last_page_len / add a page first). Tensors:
 *   key, value       [B, H, D]                dtype, 16-byte aligned
 *   k_cache, v_cache [num_pages, H, P, D]     dtype, 16-byte aligned (written)
 *   kv_indices [nnz] i32, kv_indptr [B + 1] i32, kv_last_page_len [B] i32
 * Needs no workspace.
 */
class AppendPlan {
 public:
  static Result<AppendPlan> create(const AppendDesc& desc) {
    const auto can = can_fn(desc.dtype);
    if (can == nullptr) {
      return Status(status::kUnsupported, std::string("AppendPlan::create: dtype ") +
                                              dtype_name(desc.dtype) +
                                              " is not supported (f16, bf16, f32)");
    }
    const int32_t code = can(desc.batch_size, desc.page_size, desc.num_heads, desc.head_dim);
    if (code != status::kSuccess) return Status::from_c(code);
    AppendPlan plan;
    plan.desc_ = desc;
    return plan;
  }
  const AppendDesc& desc() const noexcept { return desc_; }
  std::size_t workspace_size() const noexcept { return 0; }

  Status check(const TensorView<3>& key, const TensorView<3>& value, const TensorView<4>& k_cache,
               const TensorView<4>& v_cache, const TensorView<1>& kv_indices,
               const TensorView<1>& kv_indptr, const TensorView<1>& kv_last_page_len) const {
    const int64_t b = desc_.batch_size, h = desc_.num_heads, d = desc_.head_dim;
    const int64_t p = desc_.page_size, any = detail::kAny;
    detail::Checker c("AppendPlan::run");
    c.tensor<3>("key", key, desc_.dtype, {b, h, d}, {"batch", "num_heads", "head_dim"}, 16);
    c.tensor<3>("value", value, desc_.dtype, {b, h, d}, {"batch", "num_heads", "head_dim"}, 16);
    c.tensor<4>("k_cache", k_cache, desc_.dtype, {any, h, p, d},
                {"num_pages", "num_heads", "page_size", "head_dim"}, 16);
    c.tensor<4>("v_cache", v_cache, desc_.dtype, {any, h, p, d},
                {"num_pages", "num_heads", "page_size", "head_dim"}, 16);
    c.same("v_cache", 0, "num_pages", v_cache.shape[0], "k_cache", k_cache.shape[0]);
    c.tensor<1>("kv_indices", kv_indices, Dtype::i32, {any}, {"nnz_pages"}, 4);
    c.tensor<1>("kv_indptr", kv_indptr, Dtype::i32, {b + 1}, {"batch + 1"}, 4);
    c.tensor<1>("kv_last_page_len", kv_last_page_len, Dtype::i32, {b}, {"batch"}, 4);
    return c.status();
  }

  Status run(baracuda_flashinfer_stream_t stream, const TensorView<3>& key,
             const TensorView<3>& value, const TensorView<4>& k_cache, const TensorView<4>& v_cache,
             const TensorView<1>& kv_indices, const TensorView<1>& kv_indptr,
             const TensorView<1>& kv_last_page_len) const {
    Status s = check(key, value, k_cache, v_cache, kv_indices, kv_indptr, kv_last_page_len);
    if (!s.ok()) return s;
    using RunFn = int32_t (*)(int32_t, int32_t, int32_t, int32_t, void*, void*, void*, void*, void*,
                              const void*, const void*, baracuda_flashinfer_stream_t);
    RunFn fn =
        desc_.dtype == Dtype::bf16  ? &baracuda_kernels_flashinfer_paged_kv_append_decode_bf16_run
        : desc_.dtype == Dtype::f32 ? &baracuda_kernels_flashinfer_paged_kv_append_decode_f32_run
                                    : &baracuda_kernels_flashinfer_paged_kv_append_decode_f16_run;
    return Status::from_c(fn(desc_.batch_size, desc_.page_size, desc_.num_heads, desc_.head_dim,
                             k_cache.data, v_cache.data, kv_indices.data, kv_indptr.data,
                             kv_last_page_len.data, key.data, value.data, stream));
  }

 private:
  AppendPlan() = default;
  using CanFn = int32_t (*)(int32_t, int32_t, int32_t, int32_t);
  static CanFn can_fn(Dtype d) noexcept {
    switch (d) {
      case Dtype::f16:
        return &baracuda_kernels_flashinfer_paged_kv_append_decode_f16_can_implement;
      case Dtype::bf16:
        return &baracuda_kernels_flashinfer_paged_kv_append_decode_bf16_can_implement;
      case Dtype::f32:
        return &baracuda_kernels_flashinfer_paged_kv_append_decode_f32_can_implement;
      default:
        return nullptr;
    }
  }
  AppendDesc desc_{};
};

/* ----------------------------------------------------------------------------------------- */
/* Attention-state merge                                                                      */
/* ----------------------------------------------------------------------------------------- */

/** What a MergePlan is for. LSEs are base 2 (as paged decode writes them). */
struct MergeDesc {
  int32_t seq_len = 0;       ///< rows (positions)
  int32_t num_heads = 0;     ///< H
  int32_t head_dim = 0;      ///< D
  Dtype dtype = Dtype::f16;  ///< of the o tensors: f16, bf16 or f32 (lse is always f32)
  /** 0: run_in_place() merges two states, (v, s) <- merge((v, s), (v_other, s_other)).
   * N >= 1: run() merges N states per row: v [seq, N, H, D] -> v_merged [seq, H, D]. */
  int32_t num_states = 0;
};

class MergePlan {
 public:
  static Result<MergePlan> create(const MergeDesc& desc) {
    if (desc.dtype != Dtype::f16 && desc.dtype != Dtype::bf16 && desc.dtype != Dtype::f32) {
      return Status(status::kUnsupported, std::string("MergePlan::create: dtype ") +
                                              dtype_name(desc.dtype) +
                                              " is not supported (f16, bf16, f32)");
    }
    const int e = desc.dtype == Dtype::f16 ? 0 : desc.dtype == Dtype::bf16 ? 1 : 2;
    int32_t code;
    if (desc.num_states == 0) {
      static constexpr int32_t (*kCan[])(int32_t, int32_t, int32_t) = {
          &baracuda_kernels_flashinfer_merge_state_in_place_f16_can_implement,
          &baracuda_kernels_flashinfer_merge_state_in_place_bf16_can_implement,
          &baracuda_kernels_flashinfer_merge_state_in_place_f32_can_implement};
      code = kCan[e](desc.seq_len, desc.num_heads, desc.head_dim);
    } else {
      static constexpr int32_t (*kCan[])(int32_t, int32_t, int32_t, int32_t) = {
          &baracuda_kernels_flashinfer_merge_states_f16_can_implement,
          &baracuda_kernels_flashinfer_merge_states_bf16_can_implement,
          &baracuda_kernels_flashinfer_merge_states_f32_can_implement};
      code = kCan[e](desc.num_states, desc.seq_len, desc.num_heads, desc.head_dim);
    }
    if (code != status::kSuccess) return Status::from_c(code);
    MergePlan plan;
    plan.desc_ = desc;
    return plan;
  }
  const MergeDesc& desc() const noexcept { return desc_; }
  std::size_t workspace_size() const noexcept { return 0; }

  /** num_states == 0: v, v_other [seq, H, D] dtype; s, s_other [seq, H] f32 (s is updated). */
  Status run_in_place(baracuda_flashinfer_stream_t stream, const TensorView<3>& v,
                      const TensorView<2>& s, const TensorView<3>& v_other,
                      const TensorView<2>& s_other) const {
    const int64_t n = desc_.seq_len, h = desc_.num_heads, d = desc_.head_dim;
    detail::Checker c("MergePlan::run_in_place");
    if (desc_.num_states != 0) {
      c.fail(status::kInvalidProblem, "the plan merges %d states: use run()", desc_.num_states);
    }
    c.tensor<3>("v", v, desc_.dtype, {n, h, d}, {"seq_len", "num_heads", "head_dim"}, 16);
    c.tensor<2>("s", s, Dtype::f32, {n, h}, {"seq_len", "num_heads"}, 4);
    c.tensor<3>("v_other", v_other, desc_.dtype, {n, h, d}, {"seq_len", "num_heads", "head_dim"},
                16);
    c.tensor<2>("s_other", s_other, Dtype::f32, {n, h}, {"seq_len", "num_heads"}, 4);
    if (!c.ok()) return c.status();
    using Fn = int32_t (*)(int32_t, int32_t, int32_t, void*, void*, const void*, const void*,
                           baracuda_flashinfer_stream_t);
    Fn fn = desc_.dtype == Dtype::bf16  ? &baracuda_kernels_flashinfer_merge_state_in_place_bf16_run
            : desc_.dtype == Dtype::f32 ? &baracuda_kernels_flashinfer_merge_state_in_place_f32_run
                                        : &baracuda_kernels_flashinfer_merge_state_in_place_f16_run;
    return Status::from_c(fn(desc_.seq_len, desc_.num_heads, desc_.head_dim, v.data, s.data,
                             v_other.data, s_other.data, stream));
  }

  /** num_states N >= 1: v [seq, N, H, D], s [seq, N, H] f32 -> v_merged [seq, H, D],
   * s_merged [seq, H] f32 (optional). */
  Status run(baracuda_flashinfer_stream_t stream, const TensorView<4>& v, const TensorView<3>& s,
             const TensorView<3>& v_merged, const std::optional<TensorView<2>>& s_merged) const {
    const int64_t n = desc_.seq_len, k = desc_.num_states, h = desc_.num_heads, d = desc_.head_dim;
    detail::Checker c("MergePlan::run");
    if (desc_.num_states == 0)
      c.fail(status::kInvalidProblem, "%s", "the plan merges in place: use run_in_place()");
    c.tensor<4>("v", v, desc_.dtype, {n, k, h, d},
                {"seq_len", "num_states", "num_heads", "head_dim"}, 16);
    c.tensor<3>("s", s, Dtype::f32, {n, k, h}, {"seq_len", "num_states", "num_heads"}, 4);
    c.tensor<3>("v_merged", v_merged, desc_.dtype, {n, h, d}, {"seq_len", "num_heads", "head_dim"},
                16);
    if (s_merged)
      c.tensor<2>("s_merged", *s_merged, Dtype::f32, {n, h}, {"seq_len", "num_heads"}, 4);
    if (!c.ok()) return c.status();
    using Fn = int32_t (*)(int32_t, int32_t, int32_t, int32_t, const void*, const void*, void*,
                           void*, baracuda_flashinfer_stream_t);
    Fn fn = desc_.dtype == Dtype::bf16  ? &baracuda_kernels_flashinfer_merge_states_bf16_run
            : desc_.dtype == Dtype::f32 ? &baracuda_kernels_flashinfer_merge_states_f32_run
                                        : &baracuda_kernels_flashinfer_merge_states_f16_run;
    return Status::from_c(fn(desc_.num_states, desc_.seq_len, desc_.num_heads, desc_.head_dim,
                             v.data, s.data, v_merged.data, s_merged ? s_merged->data : nullptr,
                             stream));
  }

 private:
  MergePlan() = default;
  MergeDesc desc_{};
};

/* ----------------------------------------------------------------------------------------- */
/* Sort-free sampling                                                                         */
/* ----------------------------------------------------------------------------------------- */

namespace detail {
/**
 * Bytes the C samplers need their input aligned to: FlashInfer loads gcd(16 / element size,
 * vocab) elements at a time (the C header's alignment rule: 4 * gcd(4, vocab) for f32). The
 * library computes the same in its own sources, which this header-only layer over the C ABI
 * cannot include.
 */
inline std::size_t sampling_input_alignment(std::size_t element_bytes, int64_t vocab) noexcept {
  const std::size_t v = vocab > 0 ? static_cast<std::size_t>(vocab) : 1;
  return std::gcd(16 / element_bytes, v) * element_bytes;
}
}  // namespace detail

enum class SamplingKind : int32_t { from_probs, top_k, top_p, min_p, top_k_top_p, from_logits };

/** What a SamplingPlan is for: one token per row of a [batch, vocab] matrix. */
struct SamplingDesc {
  int32_t batch_size = 0;
  int32_t vocab_size = 0;
  SamplingKind kind = SamplingKind::from_probs;
  int32_t top_k = 0;          ///< top_k, top_k_top_p: >= 1
  float top_p = 1.0f;         ///< top_p, top_k_top_p: in (0, 1]
  float min_p = 0.0f;         ///< min_p: in (0, 1]
  bool deterministic = true;  ///< fixed-order CDF scan (see the C header)
  Dtype dtype = Dtype::f32;   ///< of the input: f32 probabilities; from_logits: f32, f16 or bf16
  /** top_k, top_k_top_p: run() takes a per-row k ([B] i32) that replaces top_k (not checked). */
  bool per_row_top_k = false;
  /** top_p, min_p, top_k_top_p: run() takes a per-row p ([B] f32) that replaces the scalar. */
  bool per_row_p = false;
};

/**
 * Where a sampler's Philox seed and offset come from (the C header's "Randomness"). values():
 * baked into a captured CUDA graph, every replay repeats the same draws. device(): read on the
 * device when the kernel runs; the run also advances *offset_ptr by the plan's offset_step()
 * (same stream), so each replay of a captured graph draws fresh tokens.
 */
struct Rng {
  uint64_t seed = 0;                   ///< used when seed_ptr is null
  uint64_t offset = 0;                 ///< used when offset_ptr is null
  const uint64_t* seed_ptr = nullptr;  ///< device uint64, 8-byte aligned
  uint64_t* offset_ptr = nullptr;      ///< device uint64, 8-byte aligned (advanced by each run)
  static Rng values(uint64_t seed, uint64_t offset) noexcept {
    return Rng{seed, offset, nullptr, nullptr};
  }
  static Rng device(const uint64_t* seed_ptr, uint64_t* offset_ptr) noexcept {
    return Rng{0, 0, seed_ptr, offset_ptr};
  }
};

/** The per-row thresholds of a plan created with per_row_top_k / per_row_p. */
struct SamplingThresholds {
  std::optional<TensorView<1>> top_k;  ///< [B] i32
  std::optional<TensorView<1>> p;      ///< [B] f32: top-p, or min-p for a min_p plan
};

namespace detail {
inline void check_rng(Checker& c, const Rng& rng) {
  const std::pair<const char*, const void*> ptrs[] = {{"rng.seed_ptr", rng.seed_ptr},
                                                      {"rng.offset_ptr", rng.offset_ptr}};
  for (const auto& [name, p] : ptrs) {
    if (c.ok() && reinterpret_cast<uintptr_t>(p) % 8 != 0) {
      c.fail(status::kMisalignedOperand, "%s: %p is not 8-byte aligned", name, p);
    }
  }
}
}  // namespace detail

/**
 * One token per row. Tensors: input [B, V] of the plan's dtype ("probs": f32, rows summing to 1;
 * "logits" for from_logits), aligned to esize * gcd(16 / esize, V) bytes (16 for f32 when
 * V % 4 == 0); output [B] i32 (written); valid [B] u8 (optional, written; from_logits has none).
 * Two runs: run(..., seed, offset) is the C *_run (values); run(..., Rng, SamplingThresholds) is
 * the C *_ex (a device seed / offset and the per-row thresholds). Advance the offset by
 * offset_step() between calls that must draw fresh numbers (a device offset advances itself).
 */
class SamplingPlan {
 public:
  static Result<SamplingPlan> create(const SamplingDesc& desc) {
    const int32_t b = desc.batch_size, v = desc.vocab_size;
    const SamplingKind kind = desc.kind;
    const bool takes_k = kind == SamplingKind::top_k || kind == SamplingKind::top_k_top_p;
    const bool takes_p = kind == SamplingKind::top_p || kind == SamplingKind::min_p ||
                         kind == SamplingKind::top_k_top_p;
    if (kind < SamplingKind::from_probs || kind > SamplingKind::from_logits) {
      return Status(status::kInvalidProblem, "SamplingPlan::create: unknown SamplingKind");
    }
    const bool logits = kind == SamplingKind::from_logits;
    if (logits ? desc.dtype != Dtype::f32 && desc.dtype != Dtype::f16 && desc.dtype != Dtype::bf16
               : desc.dtype != Dtype::f32) {
      return Status(
          status::kUnsupported,
          std::string("SamplingPlan::create: dtype ") + dtype_name(desc.dtype) +
              (logits ? " (from_logits takes f32, f16 or bf16)" : " (probabilities are f32)"));
    }
    if ((desc.per_row_top_k && !takes_k) || (desc.per_row_p && !takes_p)) {
      return Status(status::kInvalidProblem,
                    desc.per_row_top_k && !takes_k
                        ? "SamplingPlan::create: per_row_top_k needs a top_k or top_k_top_p plan"
                        : "SamplingPlan::create: per_row_p needs a top_p, min_p or top_k_top_p "
                          "plan");
    }
    // What the C run answers for these sizes: a per-row threshold replaces its scalar.
    const bool k_arr = desc.per_row_top_k, p_arr = desc.per_row_p;
    int32_t code = status::kSuccess;
    switch (kind) {
      case SamplingKind::from_probs:
        code = baracuda_kernels_flashinfer_sampling_from_probs_f32_can_implement(b, v);
        break;
      case SamplingKind::top_k:
        code = k_arr
                   ? baracuda_kernels_flashinfer_top_k_sampling_f32_arr_can_implement(b, v)
                   : baracuda_kernels_flashinfer_top_k_sampling_f32_can_implement(b, v, desc.top_k);
        break;
      case SamplingKind::top_p:
        code = p_arr
                   ? baracuda_kernels_flashinfer_top_p_sampling_f32_arr_can_implement(b, v)
                   : baracuda_kernels_flashinfer_top_p_sampling_f32_can_implement(b, v, desc.top_p);
        break;
      case SamplingKind::min_p:
        code = p_arr
                   ? baracuda_kernels_flashinfer_min_p_sampling_f32_arr_can_implement(b, v)
                   : baracuda_kernels_flashinfer_min_p_sampling_f32_can_implement(b, v, desc.min_p);
        break;
      case SamplingKind::top_k_top_p:
        // One scalar replaced: the other is checked (1 and 1.0 are valid stand-ins).
        code = k_arr && p_arr
                   ? baracuda_kernels_flashinfer_top_k_top_p_sampling_f32_arr_can_implement(b, v)
                   : baracuda_kernels_flashinfer_top_k_top_p_sampling_f32_can_implement(
                         b, v, k_arr ? 1 : desc.top_k, p_arr ? 1.0f : desc.top_p);
        break;
      case SamplingKind::from_logits:
        code = desc.dtype == Dtype::f16
                   ? baracuda_kernels_flashinfer_sampling_from_logits_f16_can_implement(b, v)
               : desc.dtype == Dtype::bf16
                   ? baracuda_kernels_flashinfer_sampling_from_logits_bf16_can_implement(b, v)
                   : baracuda_kernels_flashinfer_sampling_from_logits_f32_can_implement(b, v);
        break;
    }
    if (code != status::kSuccess) return Status::from_c(code);
    SamplingPlan plan;
    plan.desc_ = desc;
    return plan;
  }
  const SamplingDesc& desc() const noexcept { return desc_; }
  std::size_t workspace_size() const noexcept { return 0; }
  /** 32-bit draws per row one run may consume: the minimum offset advance between runs. */
  uint64_t offset_step() const noexcept {
    return desc_.kind == SamplingKind::from_probs || desc_.kind == SamplingKind::min_p ||
                   desc_.kind == SamplingKind::from_logits
               ? BARACUDA_FLASHINFER_SAMPLING_OFFSET_STEP_SINGLE
               : BARACUDA_FLASHINFER_SAMPLING_OFFSET_STEP_REJECTION;
  }

  /** The C *_run: seed and offset as values; the plan's scalar thresholds. */
  Status run(baracuda_flashinfer_stream_t stream, const TensorView<2>& probs,
             const TensorView<1>& output, const std::optional<TensorView<1>>& valid, uint64_t seed,
             uint64_t offset) const {
    detail::Checker c("SamplingPlan::run");
    if (desc_.per_row_top_k || desc_.per_row_p) {
      c.fail(status::kInvalidProblem, "%s",
             "the plan takes per-row thresholds: use run(stream, input, output, valid, Rng, "
             "SamplingThresholds)");
    }
    check_tensors(c, probs, output, valid);
    if (!c.ok()) return c.status();
    const int32_t det = desc_.deterministic ? 1 : 0;
    void* valid_data = valid ? valid->data : nullptr;
    const int32_t bi = desc_.batch_size, vi = desc_.vocab_size;
    int32_t code = status::kInternal;
    switch (desc_.kind) {
      case SamplingKind::from_probs:
        code = baracuda_kernels_flashinfer_sampling_from_probs_f32_run(
            bi, vi, det, seed, offset, probs.data, output.data, valid_data, stream);
        break;
      case SamplingKind::top_k:
        code = baracuda_kernels_flashinfer_top_k_sampling_f32_run(
            bi, vi, desc_.top_k, det, seed, offset, probs.data, output.data, valid_data, stream);
        break;
      case SamplingKind::top_p:
        code = baracuda_kernels_flashinfer_top_p_sampling_f32_run(
            bi, vi, desc_.top_p, det, seed, offset, probs.data, output.data, valid_data, stream);
        break;
      case SamplingKind::min_p:
        code = baracuda_kernels_flashinfer_min_p_sampling_f32_run(
            bi, vi, desc_.min_p, det, seed, offset, probs.data, output.data, valid_data, stream);
        break;
      case SamplingKind::top_k_top_p:
        code = baracuda_kernels_flashinfer_top_k_top_p_sampling_f32_run(
            bi, vi, desc_.top_k, desc_.top_p, det, seed, offset, probs.data, output.data,
            valid_data, stream);
        break;
      case SamplingKind::from_logits:
        code = desc_.dtype == Dtype::f16
                   ? baracuda_kernels_flashinfer_sampling_from_logits_f16_run(
                         bi, vi, seed, offset, probs.data, output.data, stream)
               : desc_.dtype == Dtype::bf16
                   ? baracuda_kernels_flashinfer_sampling_from_logits_bf16_run(
                         bi, vi, seed, offset, probs.data, output.data, stream)
                   : baracuda_kernels_flashinfer_sampling_from_logits_f32_run(
                         bi, vi, seed, offset, probs.data, output.data, stream);
        break;
    }
    return Status::from_c(code);
  }

  /** The C *_ex: the seed and offset from `rng` (values or device pointers) and the per-row
   * thresholds the plan was created for (per_row.top_k / per_row.p, [B]). */
  Status run(baracuda_flashinfer_stream_t stream, const TensorView<2>& input,
             const TensorView<1>& output, const std::optional<TensorView<1>>& valid, const Rng& rng,
             const SamplingThresholds& per_row = {}) const {
    const int64_t b = desc_.batch_size;
    detail::Checker c("SamplingPlan::run");
    check_tensors(c, input, output, valid);
    check_per_row(c, "per_row.top_k", per_row.top_k, desc_.per_row_top_k, "per_row_top_k",
                  Dtype::i32, b);
    check_per_row(c, "per_row.p", per_row.p, desc_.per_row_p, "per_row_p", Dtype::f32, b);
    detail::check_rng(c, rng);
    if (!c.ok()) return c.status();
    const int32_t det = desc_.deterministic ? 1 : 0;
    void* valid_data = valid ? valid->data : nullptr;
    const void* k_arr = per_row.top_k ? per_row.top_k->data : nullptr;
    const void* p_arr = per_row.p ? per_row.p->data : nullptr;
    const int32_t bi = desc_.batch_size, vi = desc_.vocab_size;
    int32_t code = status::kInternal;
    switch (desc_.kind) {
      case SamplingKind::from_probs:
        code = baracuda_kernels_flashinfer_sampling_from_probs_f32_ex(
            bi, vi, det, rng.seed, rng.seed_ptr, rng.offset, rng.offset_ptr, input.data,
            output.data, valid_data, stream);
        break;
      case SamplingKind::top_k:
        code = baracuda_kernels_flashinfer_top_k_sampling_f32_ex(
            bi, vi, desc_.top_k, k_arr, det, rng.seed, rng.seed_ptr, rng.offset, rng.offset_ptr,
            input.data, output.data, valid_data, stream);
        break;
      case SamplingKind::top_p:
        code = baracuda_kernels_flashinfer_top_p_sampling_f32_ex(
            bi, vi, desc_.top_p, p_arr, det, rng.seed, rng.seed_ptr, rng.offset, rng.offset_ptr,
            input.data, output.data, valid_data, stream);
        break;
      case SamplingKind::min_p:
        code = baracuda_kernels_flashinfer_min_p_sampling_f32_ex(
            bi, vi, desc_.min_p, p_arr, det, rng.seed, rng.seed_ptr, rng.offset, rng.offset_ptr,
            input.data, output.data, valid_data, stream);
        break;
      case SamplingKind::top_k_top_p:
        code = baracuda_kernels_flashinfer_top_k_top_p_sampling_f32_ex(
            bi, vi, desc_.top_k, k_arr, desc_.top_p, p_arr, det, rng.seed, rng.seed_ptr, rng.offset,
            rng.offset_ptr, input.data, output.data, valid_data, stream);
        break;
      case SamplingKind::from_logits:
        code = desc_.dtype == Dtype::f16 ? baracuda_kernels_flashinfer_sampling_from_logits_f16_ex(
                                               bi, vi, rng.seed, rng.seed_ptr, rng.offset,
                                               rng.offset_ptr, input.data, output.data, stream)
               : desc_.dtype == Dtype::bf16
                   ? baracuda_kernels_flashinfer_sampling_from_logits_bf16_ex(
                         bi, vi, rng.seed, rng.seed_ptr, rng.offset, rng.offset_ptr, input.data,
                         output.data, stream)
                   : baracuda_kernels_flashinfer_sampling_from_logits_f32_ex(
                         bi, vi, rng.seed, rng.seed_ptr, rng.offset, rng.offset_ptr, input.data,
                         output.data, stream);
        break;
    }
    return Status::from_c(code);
  }

 private:
  SamplingPlan() = default;
  void check_tensors(detail::Checker& c, const TensorView<2>& input, const TensorView<1>& output,
                     const std::optional<TensorView<1>>& valid) const {
    const int64_t b = desc_.batch_size, v = desc_.vocab_size;
    const bool logits = desc_.kind == SamplingKind::from_logits;
    c.tensor<2>(logits ? "logits" : "probs", input, desc_.dtype, {b, v}, {"batch", "vocab"},
                detail::sampling_input_alignment(dtype_size(desc_.dtype), v));
    c.tensor<1>("output", output, Dtype::i32, {b}, {"batch"}, 4);
    if (valid && logits) {
      c.fail(status::kInvalidProblem, "%s",
             "valid: from_logits writes no valid flags (pass "
             "std::nullopt)");
    }
    if (valid) c.tensor<1>("valid", *valid, Dtype::u8, {b}, {"batch"}, 1);
  }
  static void check_per_row(detail::Checker& c, const char* name,
                            const std::optional<TensorView<1>>& t, bool declared, const char* flag,
                            Dtype dtype, int64_t batch) {
    if (!c.ok()) return;
    if (t.has_value() != declared) {
      c.fail(status::kInvalidProblem,
             declared ? "%s: missing; the plan was created with %s"
                      : "%s: given, but the plan was created without %s",
             name, flag);
      return;
    }
    if (t) c.tensor<1>(name, *t, dtype, {batch}, {"batch"}, 4);
  }
  SamplingDesc desc_{};
};

/** What a SpeculativeSamplingPlan is for: chain speculative sampling (the C
 * chain_speculative_sampling_f32_*), verifying S draft tokens per request. */
struct SpeculativeSamplingDesc {
  int32_t batch_size = 0;
  int32_t num_speculative_tokens = 0;  ///< S >= 1
  int32_t vocab_size = 0;
  bool deterministic = true;  ///< fixed-order CDF scan (see the C header)
};

/**
 * Tensors (the C header's chain speculative sampling): draft_probs [B, S, V] f32 and
 * target_probs [B, S + 1, V] f32, both aligned to 4 * gcd(4, V) bytes; draft_token_ids [B, S]
 * i32; written: output_token_ids [B, S + 1] i32, output_accepted_token_num [B] i32,
 * output_emitted_draft_token_num [B] i32.
 */
class SpeculativeSamplingPlan {
 public:
  static Result<SpeculativeSamplingPlan> create(const SpeculativeSamplingDesc& desc) {
    const int32_t code = baracuda_kernels_flashinfer_chain_speculative_sampling_f32_can_implement(
        desc.batch_size, desc.num_speculative_tokens, desc.vocab_size);
    if (code != status::kSuccess) return Status::from_c(code);
    SpeculativeSamplingPlan plan;
    plan.desc_ = desc;
    return plan;
  }
  const SpeculativeSamplingDesc& desc() const noexcept { return desc_; }
  std::size_t workspace_size() const noexcept { return 0; }
  /** 32-bit draws per row one run may consume: 4 * ceil((S + 2) / 4). */
  uint64_t offset_step() const noexcept {
    return (static_cast<uint64_t>(desc_.num_speculative_tokens) + 2 + 3) / 4 * 4;
  }

  /** The C _run: seed and offset as values. */
  Status run(baracuda_flashinfer_stream_t stream, const TensorView<3>& draft_probs,
             const TensorView<2>& draft_token_ids, const TensorView<3>& target_probs,
             const TensorView<2>& output_token_ids, const TensorView<1>& output_accepted_token_num,
             const TensorView<1>& output_emitted_draft_token_num, uint64_t seed,
             uint64_t offset) const {
    detail::Checker c("SpeculativeSamplingPlan::run");
    check_tensors(c, draft_probs, draft_token_ids, target_probs, output_token_ids,
                  output_accepted_token_num, output_emitted_draft_token_num);
    if (!c.ok()) return c.status();
    return Status::from_c(baracuda_kernels_flashinfer_chain_speculative_sampling_f32_run(
        desc_.batch_size, desc_.num_speculative_tokens, desc_.vocab_size,
        desc_.deterministic ? 1 : 0, seed, offset, draft_probs.data, draft_token_ids.data,
        target_probs.data, output_token_ids.data, output_accepted_token_num.data,
        output_emitted_draft_token_num.data, stream));
  }

  /** The C _ex: the seed and offset from `rng` (values or device pointers). */
  Status run(baracuda_flashinfer_stream_t stream, const TensorView<3>& draft_probs,
             const TensorView<2>& draft_token_ids, const TensorView<3>& target_probs,
             const TensorView<2>& output_token_ids, const TensorView<1>& output_accepted_token_num,
             const TensorView<1>& output_emitted_draft_token_num, const Rng& rng) const {
    detail::Checker c("SpeculativeSamplingPlan::run");
    check_tensors(c, draft_probs, draft_token_ids, target_probs, output_token_ids,
                  output_accepted_token_num, output_emitted_draft_token_num);
    detail::check_rng(c, rng);
    if (!c.ok()) return c.status();
    return Status::from_c(baracuda_kernels_flashinfer_chain_speculative_sampling_f32_ex(
        desc_.batch_size, desc_.num_speculative_tokens, desc_.vocab_size,
        desc_.deterministic ? 1 : 0, rng.seed, rng.seed_ptr, rng.offset, rng.offset_ptr,
        draft_probs.data, draft_token_ids.data, target_probs.data, output_token_ids.data,
        output_accepted_token_num.data, output_emitted_draft_token_num.data, stream));
  }

 private:
  SpeculativeSamplingPlan() = default;
  void check_tensors(detail::Checker& c, const TensorView<3>& draft_probs,
                     const TensorView<2>& draft_token_ids, const TensorView<3>& target_probs,
                     const TensorView<2>& output_token_ids,
                     const TensorView<1>& output_accepted_token_num,
                     const TensorView<1>& output_emitted_draft_token_num) const {
    const int64_t b = desc_.batch_size, s = desc_.num_speculative_tokens, v = desc_.vocab_size;
    const std::size_t probs_align = detail::sampling_input_alignment(4, v);
    c.tensor<3>("draft_probs", draft_probs, Dtype::f32, {b, s, v},
                {"batch", "num_speculative_tokens", "vocab"}, probs_align);
    c.tensor<2>("draft_token_ids", draft_token_ids, Dtype::i32, {b, s},
                {"batch", "num_speculative_tokens"}, 4);
    c.tensor<3>("target_probs", target_probs, Dtype::f32, {b, s + 1, v},
                {"batch", "num_speculative_tokens + 1", "vocab"}, probs_align);
    c.tensor<2>("output_token_ids", output_token_ids, Dtype::i32, {b, s + 1},
                {"batch", "num_speculative_tokens + 1"}, 4);
    c.tensor<1>("output_accepted_token_num", output_accepted_token_num, Dtype::i32, {b}, {"batch"},
                4);
    c.tensor<1>("output_emitted_draft_token_num", output_emitted_draft_token_num, Dtype::i32, {b},
                {"batch"}, 4);
  }
  SpeculativeSamplingDesc desc_{};
};

/* ----------------------------------------------------------------------------------------- */
/* Top-k / top-p renormalisation and top-k logits masking                                     */
/* ----------------------------------------------------------------------------------------- */

enum class FilterKind : int32_t { top_k_renorm_probs, top_p_renorm_probs, top_k_mask_logits };

/** What a FilterPlan is for: one filtered copy of each row of a [batch, vocab] matrix. */
struct FilterDesc {
  int32_t batch_size = 0;
  int32_t vocab_size = 0;
  FilterKind kind = FilterKind::top_k_renorm_probs;
  Dtype dtype = Dtype::f32;  ///< renorm: f32; mask: f32, f16 or bf16
  int32_t top_k = 0;         ///< top_k_*: >= 1 (>= vocab keeps everything)
  float top_p = 1.0f;        ///< top_p_renorm_probs: in (0, 1]
};

/**
 * Tensors: input and output [B, V] of the plan's dtype (output may be input), aligned to the
 * element size; per_row (optional) [B] i32 k (top_k_*) or f32 p (top_p_*), replacing the
 * scalar. Creation asks the C _can_implement, which needs the current device (see the C header).
 */
class FilterPlan {
 public:
  static Result<FilterPlan> create(const FilterDesc& desc) {
    const int32_t b = desc.batch_size, v = desc.vocab_size;
    int32_t code = status::kSuccess;
    const bool renorm = desc.kind != FilterKind::top_k_mask_logits;
    if (desc.kind != FilterKind::top_k_renorm_probs &&
        desc.kind != FilterKind::top_p_renorm_probs && desc.kind != FilterKind::top_k_mask_logits) {
      return Status(status::kInvalidProblem, "FilterPlan::create: unknown FilterKind");
    }
    if (renorm
            ? desc.dtype != Dtype::f32
            : desc.dtype != Dtype::f32 && desc.dtype != Dtype::f16 && desc.dtype != Dtype::bf16) {
      return Status(status::kUnsupported,
                    std::string("FilterPlan::create: dtype ") + dtype_name(desc.dtype) +
                        (renorm ? " (renorm takes f32)" : " (masking takes f32, f16 or bf16)"));
    }
    switch (desc.kind) {
      case FilterKind::top_k_renorm_probs:
        code = baracuda_kernels_flashinfer_top_k_renorm_probs_f32_can_implement(b, v, desc.top_k);
        break;
      case FilterKind::top_p_renorm_probs:
        code = baracuda_kernels_flashinfer_top_p_renorm_probs_f32_can_implement(b, v, desc.top_p);
        break;
      case FilterKind::top_k_mask_logits:
        code =
            desc.dtype == Dtype::f16
                ? baracuda_kernels_flashinfer_top_k_mask_logits_f16_can_implement(b, v, desc.top_k)
            : desc.dtype == Dtype::bf16
                ? baracuda_kernels_flashinfer_top_k_mask_logits_bf16_can_implement(b, v, desc.top_k)
                : baracuda_kernels_flashinfer_top_k_mask_logits_f32_can_implement(b, v, desc.top_k);
        break;
    }
    if (code != status::kSuccess) return Status::from_c(code);
    FilterPlan plan;
    plan.desc_ = desc;
    return plan;
  }
  const FilterDesc& desc() const noexcept { return desc_; }
  std::size_t workspace_size() const noexcept { return 0; }

  Status run(baracuda_flashinfer_stream_t stream, const TensorView<2>& input,
             const TensorView<2>& output,
             const std::optional<TensorView<1>>& per_row = std::nullopt) const {
    const int64_t b = desc_.batch_size, v = desc_.vocab_size;
    const std::size_t esize = desc_.dtype == Dtype::f32 ? 4 : 2;
    const bool by_k = desc_.kind != FilterKind::top_p_renorm_probs;
    detail::Checker c("FilterPlan::run");
    c.tensor<2>("input", input, desc_.dtype, {b, v}, {"batch", "vocab"}, esize);
    c.tensor<2>("output", output, desc_.dtype, {b, v}, {"batch", "vocab"}, esize);
    if (per_row) {
      c.tensor<1>("per_row", *per_row, by_k ? Dtype::i32 : Dtype::f32, {b}, {"batch"}, 4);
    }
    if (!c.ok()) return c.status();
    const void* arr = per_row ? per_row->data : nullptr;
    const int32_t bi = desc_.batch_size, vi = desc_.vocab_size, k = desc_.top_k;
    int32_t code = status::kInternal;
    switch (desc_.kind) {
      case FilterKind::top_k_renorm_probs:
        code = baracuda_kernels_flashinfer_top_k_renorm_probs_f32_run(bi, vi, k, arr, input.data,
                                                                      output.data, stream);
        break;
      case FilterKind::top_p_renorm_probs:
        code = baracuda_kernels_flashinfer_top_p_renorm_probs_f32_run(
            bi, vi, desc_.top_p, arr, input.data, output.data, stream);
        break;
      case FilterKind::top_k_mask_logits:
        code = desc_.dtype == Dtype::f16 ? baracuda_kernels_flashinfer_top_k_mask_logits_f16_run(
                                               bi, vi, k, arr, input.data, output.data, stream)
               : desc_.dtype == Dtype::bf16
                   ? baracuda_kernels_flashinfer_top_k_mask_logits_bf16_run(
                         bi, vi, k, arr, input.data, output.data, stream)
                   : baracuda_kernels_flashinfer_top_k_mask_logits_f32_run(
                         bi, vi, k, arr, input.data, output.data, stream);
        break;
    }
    return Status::from_c(code);
  }

 private:
  FilterPlan() = default;
  FilterDesc desc_{};
};

}  // namespace flashinfer
}  // namespace baracuda

#endif  // BARACUDA_FLASHINFER_HPP_
