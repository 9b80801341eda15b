// C ABI of the paged-KV append family: validation and dispatch (single-token decode append and
// multi-token append share one validator and one launcher).
#include <climits>

#include "append/append_launch.hpp"
#include "common/status.hpp"
#include "common/stream.hpp"

namespace baracuda::flashinfer::append {
namespace {

constexpr int32_t kMaxBatch = 1 << 20;
constexpr int32_t kMaxHeads = 1024;
constexpr size_t kAlign = 16;

// Sizes of one call. num_tokens == batch_size in decode mode.
struct AppendShape {
  bool decode;
  int32_t num_tokens, batch_size, page_size, num_heads, head_dim, element_bytes;
};

// Everything can_implement checks: sizes only, no pointer, no GPU.
Status check_shape(const char* fn, const AppendShape& s) {
  if (!s.decode) BFI_CHECK(require_positive(fn, "num_tokens", s.num_tokens));
  BFI_CHECK(require_positive(fn, "batch_size", s.batch_size));
  BFI_CHECK(require_positive(fn, "page_size", s.page_size));
  BFI_CHECK(require_positive(fn, "num_heads", s.num_heads));
  BFI_CHECK(require_positive(fn, "head_dim", s.head_dim));
  if (s.head_dim != 64 && s.head_dim != 128 && s.head_dim != 256) {
    return fail(kUnsupported, "%s: head_dim %d is not supported (supported: {64, 128, 256})", fn,
                s.head_dim);
  }
  if (s.batch_size > kMaxBatch) {
    return fail(kUnsupported, "%s: batch_size %d exceeds the supported maximum %d", fn,
                s.batch_size, kMaxBatch);
  }
  if (s.num_heads > kMaxHeads) {
    return fail(kUnsupported, "%s: num_heads %d exceeds the supported maximum %d", fn, s.num_heads,
                kMaxHeads);
  }
  if (int64_t(s.num_tokens) * s.num_heads > INT32_MAX) {
    return fail(kUnsupported, "%s: num_tokens (%d) * num_heads (%d) must be < 2^31", fn,
                s.num_tokens, s.num_heads);
  }
  return kSuccess;
}

struct AppendPointers {
  void *k_data, *v_data;
  const void *indices, *indptr, *last_page_len, *batch_indices, *positions, *key, *value;
};

Status run(const char* fn, const AppendShape& s, const AppendPointers& p,
           baracuda_flashinfer_stream_t stream) {
  BFI_CHECK(check_shape(fn, s));
  BFI_CHECK(require_non_null(fn, "k_data", p.k_data));
  BFI_CHECK(require_non_null(fn, "v_data", p.v_data));
  BFI_CHECK(require_non_null(fn, "indices", p.indices));
  BFI_CHECK(require_non_null(fn, "indptr", p.indptr));
  if (s.decode) {
    BFI_CHECK(require_non_null(fn, "last_page_len", p.last_page_len));
  } else {
    BFI_CHECK(require_non_null(fn, "batch_indices", p.batch_indices));
    BFI_CHECK(require_non_null(fn, "positions", p.positions));
  }
  BFI_CHECK(require_non_null(fn, "key", p.key));
  BFI_CHECK(require_non_null(fn, "value", p.value));
  BFI_CHECK(require_aligned(fn, "k_data", p.k_data, kAlign));
  BFI_CHECK(require_aligned(fn, "v_data", p.v_data, kAlign));
  BFI_CHECK(require_aligned(fn, "indices", p.indices, sizeof(int32_t)));
  BFI_CHECK(require_aligned(fn, "indptr", p.indptr, sizeof(int32_t)));
  BFI_CHECK(require_aligned(fn, "last_page_len", p.last_page_len, sizeof(int32_t)));
  BFI_CHECK(require_aligned(fn, "batch_indices", p.batch_indices, sizeof(int32_t)));
  BFI_CHECK(require_aligned(fn, "positions", p.positions, sizeof(int32_t)));
  BFI_CHECK(require_aligned(fn, "key", p.key, kAlign));
  BFI_CHECK(require_aligned(fn, "value", p.value, kAlign));

  const AppendProblem problem{s.num_tokens,
                              s.batch_size,
                              s.page_size,
                              s.num_heads,
                              s.head_dim * s.element_bytes,
                              p.k_data,
                              p.v_data,
                              static_cast<const int32_t*>(p.indices),
                              static_cast<const int32_t*>(p.indptr),
                              static_cast<const int32_t*>(p.last_page_len),
                              static_cast<const int32_t*>(p.batch_indices),
                              static_cast<const int32_t*>(p.positions),
                              p.key,
                              p.value};
  return cuda_status(launch_append(problem, resolve_stream(stream)), "launching paged-KV append");
}

AppendShape decode_shape(int32_t batch_size, int32_t page_size, int32_t num_heads, int32_t head_dim,
                         int32_t element_bytes) {
  return {true, batch_size, batch_size, page_size, num_heads, head_dim, element_bytes};
}

AppendShape multi_shape(int32_t num_tokens, int32_t batch_size, int32_t page_size,
                        int32_t num_heads, int32_t head_dim, int32_t element_bytes) {
  return {false, num_tokens, batch_size, page_size, num_heads, head_dim, element_bytes};
}

}  // namespace
}  // namespace baracuda::flashinfer::append

using namespace baracuda::flashinfer;
using namespace baracuda::flashinfer::append;

extern "C" {

int32_t baracuda_kernels_flashinfer_paged_kv_append_decode_can_implement(int32_t batch_size,
                                                                         int32_t page_size,
                                                                         int32_t num_heads,
                                                                         int32_t head_dim) {
  return guarded(__func__, [&](const char* fn) {
    return check_shape(fn, decode_shape(batch_size, page_size, num_heads, head_dim, 2));
  });
}

int32_t baracuda_kernels_flashinfer_paged_kv_append_can_implement(int32_t num_tokens,
                                                                  int32_t batch_size,
                                                                  int32_t page_size,
                                                                  int32_t num_heads,
                                                                  int32_t head_dim) {
  return guarded(__func__, [&](const char* fn) {
    return check_shape(fn, multi_shape(num_tokens, batch_size, page_size, num_heads, head_dim, 2));
  });
}

#define BFI_DEFINE_APPEND(NAME, BYTES)                                                             \
  int32_t baracuda_kernels_flashinfer_paged_kv_append_decode_##NAME##_run(                         \
      int32_t batch_size, int32_t page_size, int32_t num_heads, int32_t head_dim, void* k_data,    \
      void* v_data, void* indices, void* indptr, void* last_page_len, const void* key,             \
      const void* value, baracuda_flashinfer_stream_t stream) {                                    \
    return guarded(__func__, [&](const char* fn) {                                                 \
      return run(fn, decode_shape(batch_size, page_size, num_heads, head_dim, BYTES),              \
                 {k_data, v_data, indices, indptr, last_page_len, nullptr, nullptr, key, value},   \
                 stream);                                                                          \
    });                                                                                            \
  }                                                                                                \
  int32_t baracuda_kernels_flashinfer_paged_kv_append_decode_##NAME##_can_implement(               \
      int32_t batch_size, int32_t page_size, int32_t num_heads, int32_t head_dim) {                \
    return guarded(__func__, [&](const char* fn) {                                                 \
      return check_shape(fn, decode_shape(batch_size, page_size, num_heads, head_dim, BYTES));     \
    });                                                                                            \
  }                                                                                                \
  int32_t baracuda_kernels_flashinfer_paged_kv_append_##NAME##_run(                                \
      int32_t num_tokens, int32_t batch_size, int32_t page_size, int32_t num_heads,                \
      int32_t head_dim, void* k_data, void* v_data, const void* indices, const void* indptr,       \
      const void* batch_indices, const void* positions, const void* key, const void* value,        \
      baracuda_flashinfer_stream_t stream) {                                                       \
    return guarded(__func__, [&](const char* fn) {                                                 \
      return run(fn, multi_shape(num_tokens, batch_size, page_size, num_heads, head_dim, BYTES),   \
                 {k_data, v_data, indices, indptr, nullptr, batch_indices, positions, key, value}, \
                 stream);                                                                          \
    });                                                                                            \
  }                                                                                                \
  int32_t baracuda_kernels_flashinfer_paged_kv_append_##NAME##_can_implement(                      \
      int32_t num_tokens, int32_t batch_size, int32_t page_size, int32_t num_heads,                \
      int32_t head_dim) {                                                                          \
    return guarded(__func__, [&](const char* fn) {                                                 \
      return check_shape(                                                                          \
          fn, multi_shape(num_tokens, batch_size, page_size, num_heads, head_dim, BYTES));         \
    });                                                                                            \
  }

BFI_DEFINE_APPEND(f16, 2)
BFI_DEFINE_APPEND(bf16, 2)
BFI_DEFINE_APPEND(f32, 4)

}  // extern "C"
