// C ABI of the attention-state merge family: validation and dispatch of the in-place, stacked
// (merge_states) and variable-length merges.
#include <algorithm>
#include <climits>

#include "common/status.hpp"
#include "common/stream.hpp"
#include "merge/merge_launch.hpp"

namespace baracuda::flashinfer::merge {
namespace {

constexpr size_t kAlign = 16;

enum class Kind { kInPlace, kStacked, kVarlen };

struct MergeShape {
  Kind kind;
  int32_t num_states, seq_len, num_heads, head_dim, element;
};

// Everything can_implement checks: sizes only, no pointer, no GPU. On success *variant is set.
Status check_shape(const char* fn, const MergeShape& s, const MergeVariant** variant) {
  if (s.kind == Kind::kStacked) BFI_CHECK(require_positive(fn, "num_index_sets", s.num_states));
  BFI_CHECK(require_positive(fn, "seq_len", s.seq_len));
  BFI_CHECK(require_positive(fn, "num_heads", s.num_heads));
  BFI_CHECK(require_positive(fn, "head_dim", s.head_dim));
  *variant = find_merge_variant(s.element, s.head_dim);
  if (*variant == nullptr) {
    return fail(kUnsupported, "%s: head_dim %d is not supported (supported: {64, 128, 256})", fn,
                s.head_dim);
  }
  if (int64_t(s.seq_len) * s.num_heads > INT32_MAX) {
    return fail(kUnsupported, "%s: seq_len (%d) * num_heads (%d) must be < 2^31", fn, s.seq_len,
                s.num_heads);
  }
  if (s.kind == Kind::kVarlen && int64_t(s.seq_len) * s.num_heads * s.head_dim > INT32_MAX) {
    return fail(kUnsupported, "%s: seq_len (%d) * num_heads (%d) * head_dim (%d) must be < 2^31",
                fn, s.seq_len, s.num_heads, s.head_dim);
  }
  return kSuccess;
}

struct MergePointers {
  const void* v;        // in place: read and written
  const void* s;        // in place: read and written
  const void* v_other;  // in place only
  const void* s_other;  // in place only
  const void* indptr;   // varlen only
  void* v_out;          // stacked and varlen
  void* s_out;          // stacked and varlen; may be NULL
};

Status run(const char* fn, const MergeShape& shape, const MergePointers& p,
           baracuda_flashinfer_stream_t stream) {
  const MergeVariant* variant = nullptr;
  BFI_CHECK(check_shape(fn, shape, &variant));
  const bool in_place = shape.kind == Kind::kInPlace;
  BFI_CHECK(require_non_null(fn, "v", p.v));
  BFI_CHECK(require_non_null(fn, "s", p.s));
  if (in_place) {
    BFI_CHECK(require_non_null(fn, "v_other", p.v_other));
    BFI_CHECK(require_non_null(fn, "s_other", p.s_other));
  } else {
    if (shape.kind == Kind::kVarlen) BFI_CHECK(require_non_null(fn, "indptr", p.indptr));
    BFI_CHECK(require_non_null(fn, "v_merged", p.v_out));
  }
  BFI_CHECK(require_aligned(fn, "v", p.v, kAlign));
  BFI_CHECK(require_aligned(fn, "s", p.s, sizeof(float)));
  BFI_CHECK(require_aligned(fn, "v_other", p.v_other, kAlign));
  BFI_CHECK(require_aligned(fn, "s_other", p.s_other, sizeof(float)));
  BFI_CHECK(require_aligned(fn, "indptr", p.indptr, sizeof(int32_t)));
  BFI_CHECK(require_aligned(fn, "v_merged", p.v_out, kAlign));
  BFI_CHECK(require_aligned(fn, "s_merged", p.s_out, sizeof(float)));

  MergeProblem problem{shape.num_states,
                       shape.seq_len,
                       shape.num_heads,
                       p.v,
                       static_cast<const float*>(p.s),
                       p.v_other,
                       static_cast<const float*>(p.s_other),
                       static_cast<const int32_t*>(p.indptr),
                       in_place ? const_cast<void*>(p.v) : p.v_out,
                       static_cast<float*>(in_place ? const_cast<void*>(p.s) : p.s_out)};
  const cudaStream_t cuda_stream = resolve_stream(stream);
  switch (shape.kind) {
    case Kind::kInPlace:
      return cuda_status(variant->in_place(problem, cuda_stream), "launching merge_state_in_place");
    case Kind::kStacked:
      return cuda_status(variant->stacked(problem, cuda_stream), "launching merge_states");
    case Kind::kVarlen:
      return cuda_status(variant->varlen(problem, cuda_stream), "launching merge_states_varlen");
  }
  return fail(kInternal, "%s: unknown merge kind", fn);
}

}  // namespace
}  // namespace baracuda::flashinfer::merge

using namespace baracuda::flashinfer;
using namespace baracuda::flashinfer::merge;

namespace {
// The family can_implements answer for every element type (all share the same shapes).
int32_t can_implement(const char* fn, MergeShape shape) {
  return guarded(fn, [&](const char* fn) {
    const MergeVariant* v = nullptr;
    return check_shape(fn, shape, &v);
  });
}
}  // namespace

extern "C" {

int32_t baracuda_kernels_flashinfer_merge_state_in_place_can_implement(int32_t seq_len,
                                                                       int32_t num_heads,
                                                                       int32_t head_dim) {
  return can_implement(__func__,
                       {Kind::kInPlace, 2, seq_len, num_heads, head_dim, BARACUDA_FLASHINFER_F16});
}

int32_t baracuda_kernels_flashinfer_merge_states_can_implement(int32_t num_index_sets,
                                                               int32_t seq_len, int32_t num_heads,
                                                               int32_t head_dim) {
  return can_implement(__func__, {Kind::kStacked, num_index_sets, seq_len, num_heads, head_dim,
                                  BARACUDA_FLASHINFER_F16});
}

int32_t baracuda_kernels_flashinfer_merge_states_varlen_can_implement(int32_t seq_len,
                                                                      int32_t num_heads,
                                                                      int32_t head_dim) {
  return can_implement(__func__,
                       {Kind::kVarlen, 0, seq_len, num_heads, head_dim, BARACUDA_FLASHINFER_F16});
}

#define BFI_DEFINE_MERGE(NAME, ELEMENT)                                                            \
  int32_t baracuda_kernels_flashinfer_merge_state_in_place_##NAME##_run(                           \
      int32_t seq_len, int32_t num_heads, int32_t head_dim, void* v, void* s, const void* v_other, \
      const void* s_other, baracuda_flashinfer_stream_t stream) {                                  \
    return guarded(__func__, [&](const char* fn) {                                                 \
      return run(fn, {Kind::kInPlace, 2, seq_len, num_heads, head_dim, ELEMENT},                   \
                 {v, s, v_other, s_other, nullptr, nullptr, nullptr}, stream);                     \
    });                                                                                            \
  }                                                                                                \
  int32_t baracuda_kernels_flashinfer_merge_state_in_place_##NAME##_can_implement(                 \
      int32_t seq_len, int32_t num_heads, int32_t head_dim) {                                      \
    return can_implement(__func__, {Kind::kInPlace, 2, seq_len, num_heads, head_dim, ELEMENT});    \
  }                                                                                                \
  int32_t baracuda_kernels_flashinfer_merge_states_##NAME##_run(                                   \
      int32_t num_index_sets, int32_t seq_len, int32_t num_heads, int32_t head_dim, const void* v, \
      const void* s, void* v_merged, void* s_merged, baracuda_flashinfer_stream_t stream) {        \
    return guarded(__func__, [&](const char* fn) {                                                 \
      return run(fn, {Kind::kStacked, num_index_sets, seq_len, num_heads, head_dim, ELEMENT},      \
                 {v, s, nullptr, nullptr, nullptr, v_merged, s_merged}, stream);                   \
    });                                                                                            \
  }                                                                                                \
  int32_t baracuda_kernels_flashinfer_merge_states_##NAME##_can_implement(                         \
      int32_t num_index_sets, int32_t seq_len, int32_t num_heads, int32_t head_dim) {              \
    return can_implement(__func__,                                                                 \
                         {Kind::kStacked, num_index_sets, seq_len, num_heads, head_dim, ELEMENT}); \
  }                                                                                                \
  int32_t baracuda_kernels_flashinfer_merge_states_varlen_##NAME##_run(                            \
      int32_t seq_len, int32_t num_heads, int32_t head_dim, const void* v, const void* s,          \
      const void* indptr, void* v_merged, void* s_merged, baracuda_flashinfer_stream_t stream) {   \
    return guarded(__func__, [&](const char* fn) {                                                 \
      return run(fn, {Kind::kVarlen, 0, seq_len, num_heads, head_dim, ELEMENT},                    \
                 {v, s, nullptr, nullptr, indptr, v_merged, s_merged}, stream);                    \
    });                                                                                            \
  }                                                                                                \
  int32_t baracuda_kernels_flashinfer_merge_states_varlen_##NAME##_can_implement(                  \
      int32_t seq_len, int32_t num_heads, int32_t head_dim) {                                      \
    return can_implement(__func__, {Kind::kVarlen, 0, seq_len, num_heads, head_dim, ELEMENT});     \
  }

BFI_DEFINE_MERGE(f16, BARACUDA_FLASHINFER_F16)
BFI_DEFINE_MERGE(bf16, BARACUDA_FLASHINFER_BF16)
BFI_DEFINE_MERGE(f32, BARACUDA_FLASHINFER_F32)

}  // extern "C"
