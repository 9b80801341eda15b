// Host-visible description of one batch-prefill launch, the device-planned records the kernels
// read, and the compiled configurations. Plain C++: included by the C-ABI layer and by the CUDA
// TUs.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "common/attention_options.hpp"
#include "common/device_context.hpp"
#include "prefill/prefill_schedule.hpp"

namespace baracuda::flashinfer::prefill {

// The tensors of one call.
struct PrefillProblem {
  PrefillShape shape;
  float sm_scale;
  const void* q;
  const int32_t* q_indptr;
  const void* k;  // paged: k_data pages; ragged: [max_kv_rows, Hkv, D]
  const void* v;
  const int32_t* kv_indices;     // paged only
  const int32_t* kv_indptr;      // paged: pages; ragged: rows
  const int32_t* last_page_len;  // paged only
  void* o;
  float* lse;  // may be NULL
  AttentionVariant attn;
};

// One FA3 work item's routing and mask (batch_idx of the FA3 work table indexes these). Keys are
// item-local: item key j is request key `chunk_begin + j`.
struct Fa3Item {
  int32_t slot;        // -1: write o / lse directly; else the partial-state slot
  int32_t mask_right;  // causal: keep key j when j <= qo_idx + mask_right
  int32_t mask_left;   // window: keep key j when j >= qo_idx + mask_left
  int32_t flags;       // kFa3MaskRight | kFa3MaskLeft | kFa3AddSink
};
constexpr int32_t kFa3MaskRight = 1;
constexpr int32_t kFa3MaskLeft = 2;
// The item adds its query head's sink to the softmax denominator: the first chunk of each tile,
// so a split tile counts it once.
constexpr int32_t kFa3AddSink = 4;

// Rows of one (request, query tile) whose KV was split: `slots` partial states of query head
// `head` to merge into o rows row0 .. row0 + rows - 1.
struct MergeUnit {
  int32_t row0, rows, head, first_slot, slots;
};

// What the planners leave for the kernels after them.
struct PlanCounters {
  int32_t units;  // merge units written
  int32_t items;  // FA3 work items written
};

// Which requests an FA3 call's FA2 launch takes (PrefillSchedule::short_packed_rows): both
// planners of the call decide alike. packed_rows 0: none (the FA2 launch takes every request).
struct ShortRequests {
  int32_t packed_rows, min_ctas, group, num_kv_heads;
};

// FA3 planner arguments (prefill_plan.cu).
struct Fa3PlanArgs {
  const int32_t* q_indptr;
  const int32_t* kv_indptr;
  const int32_t* last_page_len;  // paged; NULL: ragged rows
  int32_t batch_size, num_qo_heads, page_size, cta_q, cta_kv, window_left;
  bool causal, allow_split, sinks;
  int32_t sm_count, tile_cap, item_cap, split_items, min_chunk_tokens, ctas, unit_cap;
  ShortRequests short_requests;  // left to the FA2 launch
  // outputs (workspace)
  int32_t *qo_tile_indices, *qo_indptr, *kv_indptr_out, *qo_lens, *kv_lens, *head_indices,
      *batch_indices, *work_indptr;
  Fa3Item* items;
  int4* tiles;       // scratch: (request, tile, begin, end) per (request, q tile)
  int32_t* scratch;  // scratch: per tile item offsets [tile_cap + 1] and sorted items [item_cap]
  MergeUnit* units;
  PlanCounters* counters;
};

// FA2 planner arguments (prefill_plan.cu).
struct Fa2PlanArgs {
  const int32_t* q_indptr;
  const int32_t* kv_indptr;      // paged: pages; ragged: rows
  const int32_t* last_page_len;  // paged; NULL: ragged (one-token pages)
  int32_t batch_size, max_q_rows, max_kv_rows, page_size, group, cta_q, padded_items;
  int32_t min_chunk_pages, split_items, window_left;
  bool allow_split, causal;
  ShortRequests short_requests;  // the FA3 path's launch: only these
  int32_t *request_indices, *qo_tile_indices, *kv_tile_indices;
  bool* valid_mask;
  int32_t *o_indptr, *merge_indptr, *kv_chunk_size;
  int32_t* identity_indices;  // ragged only
  // The 2B requests FlashInfer's kernel sees: request b's rows that keep no key (causal, the
  // first qo_len - kv_len) as request 2b without keys, the rest as 2b + 1 with b's keys.
  int32_t *split_q_indptr, *split_kv_indptr, *split_last_page_len;  // [2B + 1], [2B + 1], [2B]
};

cudaError_t launch_fa3_planner(const Fa3PlanArgs& args, cudaStream_t stream);
cudaError_t launch_fa2_planner(const Fa2PlanArgs& args, cudaStream_t stream);

using PrefillRun = cudaError_t (*)(const PrefillProblem&, const PrefillSchedule&, void* workspace,
                                   cudaStream_t);

// One compiled (element, head_dim): the FA3 (sm_90a) or FA2 launchers, paged and ragged.
struct PrefillVariantTable {
  int32_t element;
  int32_t head_dim;
  KernelInfo paged_kernel, ragged_kernel;  // FA3: opted into their shared memory per device
  PrefillRun run_paged, run_ragged;
};
const PrefillVariantTable* find_fa3_prefill(int32_t element, int32_t head_dim);
const PrefillVariantTable* find_fa2_prefill(int32_t element, int32_t head_dim);

}  // namespace baracuda::flashinfer::prefill
