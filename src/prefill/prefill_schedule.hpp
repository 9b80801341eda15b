// The host half of a batch-prefill call's schedule: which kernels run, their tiles, the capacity
// of every device-planned array and where each lives in the workspace. A pure function of the
// static sizes, the options and a few device facts (host-tested); the device planner
// (prefill_plan.cu) fills the arrays from q_indptr and the KV lengths inside _run.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/status.hpp"

namespace baracuda::flashinfer::prefill {

enum class PrefillPath : int32_t { kFa2 = 0, kFa3 = 1 };

// The static sizes of a call (what can_implement and get_workspace_size see).
struct PrefillShape {
  int32_t element;
  int32_t batch_size;
  int32_t max_q_rows;   // bound on q_indptr[B]
  int32_t max_kv_rows;  // ragged: rows of k / v; paged: 0
  int32_t page_size;    // paged: P; ragged: 1 (rows as one-token pages)
  int32_t head_dim, num_qo_heads, num_kv_heads;
  bool causal;
  bool paged;
  int32_t group() const { return num_qo_heads / num_kv_heads; }
};

// The options this schedule depends on (validated by the API layer).
struct PrefillVariant {
  int32_t window_left = -1;  // -1: none
  bool allow_split = true;
  bool force_fa2 = false;
  // The FA2 path applies v_scale and sinks in a pass after the kernel, from the rows' lse: with
  // the caller's lse NULL that needs an lse buffer in the workspace.
  bool finalize_pass = false;
};

// Device facts and what is compiled.
struct PrefillFacts {
  int32_t sm_count = 0;
  bool sm90a = false;      // the device runs sm_90a code
  bool fa3_built = false;  // FA3 kernels compiled for (element, head_dim)
};

// FA3 tiles per head dim (FlashInfer's sm_90 choices): query rows and KV tokens per tile.
constexpr int32_t fa3_cta_q(int32_t head_dim) {
  return head_dim == 64 ? 192 : 128;
}
constexpr int32_t fa3_cta_kv(int32_t head_dim, bool paged) {
  return paged ? (head_dim == 256 ? 32 : 96) : (head_dim == 256 ? 64 : 128);
}
// FA2: packed (token, query head of a KV head) rows per CTA.
constexpr int32_t kFa2TileQ = 64;
// FA3 fills one 128-row (192 at head dim 64) tile per query head with a request's rows; FA2 packs
// the GQA group's heads into its tile. A short request, q_len * group within one FA2 tile (a
// decode token, a speculative draft), is one FA2 tile per KV head against group FA3 tiles that are
// mostly empty: an FA3 call hands such requests to an FA2 launch of its own when there are enough
// of them to fill the GPU unsplit (that launch does not split; the FA3 planner splits the few that
// are left). Its tile: 16 rows (the tensor-core decode tile) up to group 16, else 64.
constexpr int32_t kShortTileQ = 16;
constexpr int32_t short_tile_q(int32_t group) {
  return group <= kShortTileQ ? kShortTileQ : kFa2TileQ;
}
// A chunk shorter than this costs more in merge traffic than its parallelism gains.
constexpr int32_t kMinChunkTokens = 512;
// Split when the unsplit FA3 work items are fewer than the SMs; then aim at this many per SM.
constexpr int32_t kFa3SplitItemsPerSm = 2;
// FlashInfer's FA2 prefill kernel holds about two CTAs per SM.
constexpr int32_t kFa2CtasPerSm = 2;

struct Fa3Layout {
  size_t table;             // work table: 7 int32 arrays of item_cap, then work_indptr[ctas + 1]
  size_t items;             // per-item info (Fa3Item) [item_cap]
  size_t tiles;             // planner scratch: (request, q tile) descriptors [tile_cap]
  size_t scratch;           // planner scratch: per-tile item offsets [tile_cap + 1], sorted items
  size_t units;             // merge units [unit_cap]
  size_t counters;          // planner outputs read by later kernels (units used, ...)
  size_t o_part, lse_part;  // partial states [slot_cap * cta_q rows, D] / [.. rows]
};

struct Fa2Layout {
  size_t request_indices, qo_tile_indices, kv_tile_indices, valid_mask;  // [padded_items]
  size_t o_indptr;       // [2B + 1]: per kernel request (see split_q_indptr)
  size_t merge_indptr;   // [max_q_rows + 1]
  size_t kv_chunk_size;  // [1]
  size_t kv_indices;     // ragged as one-token pages: identity [max_kv_rows]
  // Each request as two for the kernel (rows keeping no key, then the rest): [2B + 1] query
  // and KV indptrs, [2B] last page lengths.
  size_t split_q_indptr, split_kv_indptr, split_last_page_len;
  size_t tmp_o, tmp_lse;  // split partial states [partial_rows, Hq, D] / [.., Hq]
  size_t lse_scratch;     // the finalize pass's lse [max_q_rows, Hq] (caller's NULL)
};

struct PrefillSchedule {
  PrefillPath path = PrefillPath::kFa2;
  bool split_allowed = false;  // the path's kernel may split a request's KV
  int32_t cta_q = 0, cta_kv = 0;
  int32_t granule = 1;  // chunks start on multiples of this many tokens (the page size)
  int32_t min_chunk_tokens = 0;
  // FA3
  int32_t ctas = 0;         // persistent grid
  int32_t tile_cap = 0;     // (request, q tile) pairs
  int32_t item_cap = 0;     // work items (per query head, per chunk)
  int32_t split_items = 0;  // the planner splits until at most this many items
  int32_t slot_cap = 0;     // partial-state slots
  int32_t unit_cap = 0;     // merge units (tiles split into >= 2 chunks, per head)
  Fa3Layout fa3{};
  // FA3: the short requests, 1 <= q_len * group <= short_packed_rows (one tile of fa2_tile_q),
  // run on the FA2 kernel in the same call when at least short_min_ctas (request, KV head) pairs
  // are short; 0: none (the FA2 path, or options that need the FA2 finalize pass).
  int32_t short_packed_rows = 0;
  int32_t short_min_ctas = 0;
  // FA2: the FA2 path's launch, or the FA3 path's launch of its short requests (never split)
  int32_t fa2_tile_q = 0;    // packed rows per CTA: kFa2TileQ, or short_tile_q for the short ones
  bool fa2_split = false;    // the kernel writes partial states, FlashInfer's merge combines them
  int32_t padded_items = 0;  // grid.x (per KV head)
  int32_t partial_rows = 0;  // split partial rows
  Fa2Layout fa2{};
  size_t workspace = 0;  // bytes
};

// The schedule for these sizes on a device with `facts`. Never fails: the API layer has checked
// the sizes, and every capacity is 64-bit safe for them.
PrefillSchedule make_prefill_schedule(const PrefillShape& s, const PrefillVariant& v,
                                      const PrefillFacts& f);

size_t prefill_element_bytes(int32_t element);

}  // namespace baracuda::flashinfer::prefill
