// Validation shared by the attention families that read a paged KV cache (decode, shared prefix,
// cascades): sizes, sm_scale and the pointers of one call.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/elements.hpp"
#include "common/status.hpp"
#include "decode/decode_launch.hpp"

namespace baracuda::flashinfer::decode {

constexpr int32_t kMaxQoHeads = 1024;

// The pointers of a call as the caller passed them.
struct DecodePointers {
  void *k_data, *v_data, *indices, *indptr, *last_page_len;
  const void* q;
  void *o, *lse, *workspace;
  size_t workspace_bytes;
  // What the caller calls indptr / last_page_len (the dense cascade passes its suffixes' there).
  const char* indptr_name = "indptr";
  const char* last_page_len_name = "last_page_len";
};

// Everything can_implement checks: sizes only, no pointer, no GPU. On success *variant is set.
Status check_shape(const char* fn, const DecodeShape& s, const DecodeVariant** variant);
// Positive and finite.
Status check_sm_scale(const char* fn, float sm_scale);
// NULL pointers, the workspace pair, sm_scale, then alignment (the documented order).
Status check_pointers(const char* fn, float sm_scale, const DecodePointers& p);

DecodeProblem to_problem(const DecodeShape& s, float sm_scale, const DecodePointers& p);

}  // namespace baracuda::flashinfer::decode
