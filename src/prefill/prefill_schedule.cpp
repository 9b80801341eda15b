#include "prefill/prefill_schedule.hpp"

#include <algorithm>

#include "prefill/prefill_launch.hpp"

namespace baracuda::flashinfer::prefill {
namespace {

constexpr size_t kAlign = 16;

struct Arena {
  size_t at = 0;
  size_t take(size_t bytes) {
    const size_t offset = (at + kAlign - 1) / kAlign * kAlign;
    at = offset + bytes;
    return offset;
  }
  size_t end() const { return (at + kAlign - 1) / kAlign * kAlign; }
};

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// The FA2 launch's arrays for out->padded_items and out->partial_rows, from `a` on.
void fa2_arrays(const PrefillShape& s, const PrefillVariant& v, PrefillSchedule* out, Arena* a) {
  const size_t padded = size_t(out->padded_items);
  Fa2Layout& l = out->fa2;
  l.request_indices = a->take(padded * sizeof(int32_t));
  l.qo_tile_indices = a->take(padded * sizeof(int32_t));
  l.kv_tile_indices = a->take(padded * sizeof(int32_t));
  l.valid_mask = a->take(padded);
  const size_t kernel_requests = 2 * size_t(s.batch_size);
  l.o_indptr = a->take((kernel_requests + 1) * sizeof(int32_t));
  l.merge_indptr = a->take((size_t(s.max_q_rows) + 1) * sizeof(int32_t));
  l.kv_chunk_size = a->take(sizeof(int32_t));
  if (!s.paged) l.kv_indices = a->take(size_t(s.max_kv_rows) * sizeof(int32_t));
  l.split_q_indptr = a->take((kernel_requests + 1) * sizeof(int32_t));
  l.split_kv_indptr = a->take((kernel_requests + 1) * sizeof(int32_t));
  l.split_last_page_len = a->take(kernel_requests * sizeof(int32_t));
  const size_t rows = size_t(out->partial_rows) * size_t(s.num_qo_heads);
  l.tmp_o = a->take(rows * size_t(s.head_dim) * prefill_element_bytes(s.element));
  l.tmp_lse = a->take(rows * sizeof(float));
  if (v.finalize_pass) {
    l.lse_scratch = a->take(size_t(s.max_q_rows) * size_t(s.num_qo_heads) * sizeof(float));
  }
}

void fa2_schedule(const PrefillShape& s, const PrefillVariant& v, const PrefillFacts& f,
                  PrefillSchedule* out) {
  out->path = PrefillPath::kFa2;
  out->cta_q = kFa2TileQ;
  out->fa2_tile_q = kFa2TileQ;
  const int32_t g = s.group();
  // Items per KV head: (request, tile of cta_q packed rows); split: (request, tile, chunk).
  // FlashInfer's kernel writes every item's state to the partial buffer once it may split, so the
  // choice is made here, from the sizes: split when even the most tiles these sizes allow cannot
  // fill the GPU (decode-like calls); then every call of these sizes is planned split.
  const int64_t unsplit = ceil_div(int64_t(s.max_q_rows) * g, out->cta_q) + s.batch_size;
  const int64_t budget = std::max<int64_t>(kFa2CtasPerSm * int64_t(f.sm_count) / s.num_kv_heads, 1);
  out->split_allowed = v.allow_split && unsplit < budget;
  out->fa2_split = out->split_allowed;
  out->split_items = out->split_allowed ? static_cast<int32_t>(budget) : 0;
  // The kernel sees each request as two (Fa2Layout): unsplit, the rows that keep no key add at
  // most one tile per request.
  out->padded_items =
      static_cast<int32_t>(std::max<int64_t>(unsplit + s.batch_size, out->split_items));
  // A split tile's chunks write one partial row per (token, chunk): a tile covers at most
  // cta_q / g + 1 tokens.
  out->partial_rows = out->split_allowed ? out->split_items * (out->cta_q / g + 1) : 0;
  Arena a;
  fa2_arrays(s, v, out, &a);
  out->workspace = a.end();
}

void fa3_schedule(const PrefillShape& s, const PrefillVariant& v, const PrefillFacts& f,
                  PrefillSchedule* out) {
  out->path = PrefillPath::kFa3;
  out->cta_q = fa3_cta_q(s.head_dim);
  out->cta_kv = fa3_cta_kv(s.head_dim, s.paged);
  out->ctas = std::max(f.sm_count, 1);
  // Every (request, query tile): the rows of a request tile-aligned, at most one partial tile per
  // request.
  const int64_t tiles = ceil_div(s.max_q_rows, out->cta_q) + s.batch_size;
  out->tile_cap = static_cast<int32_t>(tiles);
  out->split_items = v.allow_split ? kFa3SplitItemsPerSm * out->ctas : 0;
  const int64_t unsplit_items = tiles * s.num_qo_heads;
  out->item_cap = static_cast<int32_t>(std::max<int64_t>(unsplit_items, out->split_items));
  // Only items of split tiles take partial slots; a split tile has >= 2 chunks per head.
  out->slot_cap = out->split_items;
  out->unit_cap = out->split_items / 2;
  const size_t n = size_t(out->item_cap);
  Arena a;
  Fa3Layout& l = out->fa3;
  l.table = a.take((7 * n + size_t(out->ctas) + 1) * sizeof(int32_t));
  l.items = a.take(n * sizeof(Fa3Item));
  l.tiles = a.take(size_t(out->tile_cap) * 4 * sizeof(int32_t));
  // Planner scratch: four int32 arrays of tile_cap + 1, then the (tile, chunk) jobs as int2.
  const size_t job_cap = size_t(std::max(out->tile_cap, out->split_items));
  l.scratch = a.take((4 * (size_t(out->tile_cap) + 1) + 2 * job_cap) * sizeof(int32_t));
  l.units = a.take(size_t(out->unit_cap) * sizeof(MergeUnit));
  l.counters = a.take(sizeof(PlanCounters));
  const size_t slot_rows = size_t(out->slot_cap) * size_t(out->cta_q);
  l.o_part = a.take(slot_rows * size_t(s.head_dim) * prefill_element_bytes(s.element));
  l.lse_part = a.take(slot_rows * sizeof(float));
  // The FA2 launch of the short requests (kShortTileQ): unsplit, one tile for each half of a
  // request (Fa2Layout) at most. Options with a finalize pass keep every request on FA3: that pass
  // covers all rows, which FA3 writes with the options applied.
  if (!v.finalize_pass) {
    out->fa2_tile_q = short_tile_q(s.group());
    out->short_packed_rows = out->fa2_tile_q;
    out->short_min_ctas = out->ctas;
    out->padded_items = 2 * s.batch_size;
    fa2_arrays(s, v, out, &a);
  }
  out->workspace = a.end();
}

}  // namespace

size_t prefill_element_bytes(int32_t) {
  return 2;
}  // f16 and bf16

PrefillSchedule make_prefill_schedule(const PrefillShape& s, const PrefillVariant& v,
                                      const PrefillFacts& f) {
  PrefillSchedule out;
  out.split_allowed = v.allow_split;
  out.granule = s.paged ? s.page_size : 1;
  out.min_chunk_tokens = static_cast<int32_t>(ceil_div(kMinChunkTokens, out.granule) * out.granule);
  if (f.sm90a && f.fa3_built && !v.force_fa2) {
    fa3_schedule(s, v, f, &out);
  } else {
    fa2_schedule(s, v, f, &out);
  }
  return out;
}

}  // namespace baracuda::flashinfer::prefill
