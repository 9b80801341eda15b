#include "decode/decode_schedule.hpp"

#include <algorithm>

#include "common/elements.hpp"

namespace baracuda::flashinfer::decode {
namespace {

constexpr size_t kAlign = 16;
size_t align_up(size_t x) { return (x + kAlign - 1) / kAlign * kAlign; }

// Lays out the arrays of `sched` (everything but the offsets set) in the workspace.
void lay_out(const DecodeShape& s, DecodeSchedule* sched) {
  const size_t padded = static_cast<size_t>(sched->padded_items);
  const bool tc = sched->path == DecodePath::kTensorCores;
  const bool shared = sched->qo_len > 1;
  const size_t partial_bytes = sched->partial_rows * size_t(s.num_qo_heads) * size_t(s.head_dim) *
                               output_element_bytes(s.element);
  const size_t partial_lse_bytes = sched->partial_rows * size_t(s.num_qo_heads) * sizeof(float);
  size_t offset = 0;
  auto take = [&offset](size_t bytes) {
    const size_t at = offset;
    offset = align_up(offset + bytes);
    return at;
  };
  DecodeLayout& l = sched->layout;
  if (sched->single_request || sched->path == DecodePath::kWarpTiles) {  // partial states only
    l.tmp_o = take(partial_bytes);
    l.tmp_lse = take(partial_lse_bytes);
    sched->workspace = offset;
    return;
  }
  sched->planned = true;
  l.request_indices = take(padded * sizeof(int32_t));
  l.qo_tile_indices = tc ? take(padded * sizeof(int32_t)) : 0;
  l.kv_tile_indices = take(padded * sizeof(int32_t));
  l.o_indptr = take((size_t(sched->requests) + 1) * sizeof(int32_t));
  l.q_indptr = tc ? take((size_t(sched->requests) + 1) * sizeof(int32_t)) : 0;
  l.merge_indptr = shared ? take((size_t(sched->qo_len) + 1) * sizeof(int32_t)) : 0;
  l.kv_chunk_tokens = take(sizeof(int32_t));
  l.valid_mask = take(padded);
  if (sched->split) {
    l.tmp_o = take(partial_bytes);
    l.tmp_lse = take(partial_lse_bytes);
  }
  sched->workspace = offset;
}

// The finalize pass's lse after everything else.
DecodeSchedule with_lse_scratch(const DecodeShape& s, DecodeSchedule sched) {
  if (!s.lse_scratch) return sched;
  sched.layout.lse_scratch = align_up(sched.workspace);
  sched.workspace =
      sched.layout.lse_scratch + size_t(s.batch_size) * size_t(s.num_qo_heads) * sizeof(float);
  return sched;
}

}  // namespace

// One path's schedule before the finalize pass's lse is added.
static DecodeSchedule schedule_cuda_cores_alone(const DecodeShape& s, const DecodeFacts& f,
                                                bool allow_split);
static DecodeSchedule schedule_tensor_cores_alone(const DecodeShape& s, const DecodeFacts& f,
                                                  bool allow_split, bool shared_prefix);

size_t output_element_bytes(int32_t element) { return element == BARACUDA_FLASHINFER_F32 ? 4 : 2; }

size_t legacy_workspace_bytes(int32_t batch_size) {
  return batch_size <= 0 ? 0 : (3 * size_t(batch_size) + 2) * sizeof(int32_t);
}

int32_t tensor_core_tile_rows(const DecodeShape& s, bool shared_prefix) {
  if (shared_prefix) return kSharedPrefixTileQ;
  return s.group() > kTensorCoreTileQ && !element_has_fp8_kv(s.element) ? kSharedPrefixTileQ
                                                                          : kTensorCoreTileQ;
}

bool prefer_tensor_cores(const DecodeShape& s, const DecodeFacts& f) {
  if (!f.tensor_cores_built) return false;
  const int32_t group = s.group();
  if (element_has_fp8_kv(s.element)) return group >= kTensorCoreMinGroupFp8;
  if (s.batch_size == 1 && s.window) return group > kTensorCoreMinGroup;
  return group >= kTensorCoreMinGroup;
}

// One CTA per (request, virtual KV head) unsplit; split: a one-wave padded grid of work items.
DecodeSchedule schedule_cuda_cores(const DecodeShape& s, const DecodeFacts& f, bool allow_split) {
  return with_lse_scratch(s, schedule_cuda_cores_alone(s, f, allow_split));
}

static DecodeSchedule schedule_cuda_cores_alone(const DecodeShape& s, const DecodeFacts& f,
                                                bool allow_split) {
  DecodeSchedule sched;
  sched.path = DecodePath::kCudaCores;
  sched.requests = s.batch_size;
  if (!allow_split) return sched;
  const int64_t max_ctas = int64_t(f.cuda_core_blocks_per_sm) * f.sm_count;
  const int64_t virtual_heads = s.num_qo_heads / f.cuda_core_group;
  const int64_t split_below = std::min<int64_t>(max_ctas, kSplitBelowCtasPerSm * f.sm_count);
  if (int64_t(s.batch_size) * virtual_heads >= split_below) return sched;
  sched.split = true;
  sched.single_request = s.batch_size == 1;
  sched.padded_items = static_cast<int32_t>(std::max<int64_t>(max_ctas / virtual_heads, 1));
  sched.partial_rows = static_cast<size_t>(sched.padded_items);
  sched.min_chunk_pages = std::max(kCudaCoreMinChunkTokens / s.page_size, 1);
  lay_out(s, &sched);
  return sched;
}

// One CTA per (request, query tile of packed query heads, KV head, chunk). Decode: one query row
// per request, 16-row tiles. Shared prefix: all batch_size queries as the rows of one request,
// 64-row tiles. Split when the unsplit grid is below FA2's CTAs per SM; one request in one 16-row
// tile with plain logits splits without the planner.
DecodeSchedule schedule_tensor_cores(const DecodeShape& s, const DecodeFacts& f, bool allow_split,
                                     bool shared_prefix) {
  return with_lse_scratch(s, schedule_tensor_cores_alone(s, f, allow_split, shared_prefix));
}

static DecodeSchedule schedule_tensor_cores_alone(const DecodeShape& s, const DecodeFacts& f,
                                                  bool allow_split, bool shared_prefix) {
  DecodeSchedule sched;
  sched.path = DecodePath::kTensorCores;
  sched.requests = shared_prefix ? 1 : s.batch_size;
  sched.qo_len = shared_prefix ? s.batch_size : 1;
  const int64_t rows = int64_t(sched.qo_len) * s.group();
  const int64_t tile = tensor_core_tile_rows(s, shared_prefix);
  sched.tile_rows = static_cast<int32_t>(tile);
  sched.qo_tiles = static_cast<int32_t>((rows + tile - 1) / tile);
  const int64_t max_ctas = kTensorCoreCtasPerSm * f.sm_count;
  const int64_t items = int64_t(sched.requests) * sched.qo_tiles;
  sched.split = allow_split && items * s.num_kv_heads < max_ctas;
  sched.padded_items = static_cast<int32_t>(sched.split ? max_ctas / s.num_kv_heads : items);
  // Partial rows: one per (request, chunk) for decode; (query row, chunk) for a shared prefix,
  // whose chunk count is at most padded_items / qo_tiles.
  sched.partial_rows = shared_prefix
                           ? size_t(sched.padded_items / sched.qo_tiles) * size_t(sched.qo_len)
                           : size_t(sched.padded_items);
  sched.min_chunk_pages = std::max(kTensorCoreMinChunkTokens / s.page_size, 1);
  sched.single_request = !shared_prefix && sched.split && s.batch_size == 1 &&
                         tile == kTensorCoreTileQ && sched.qo_tiles == 1 && s.plain_logits &&
                         sched.padded_items <= kMaxSingleRequestItems;
  lay_out(s, &sched);
  return sched;
}

bool warp_tiles_serve(const DecodeShape& s, const DecodeFacts& f) {
  return f.warp_tiles_built && !s.soft_cap;
}

// Not in the auto rule yet: on the H200 (2026-12-04) the path won 1-4 µs at batch <= 16 and lost
// 3-8 % at large batch, group 1-2 and MQA (docs/notes/tuning-history.md#warp-tile-decode); the
// rule waits for a measured threshold and its GPU test.
bool prefer_warp_tiles(const DecodeShape& s, const DecodeFacts& f) {
  (void)s;
  (void)f;
  return false;
}

// One CTA per (request, KV head, block of 8 query heads, chunk); split into the most chunks that
// keep the grid within one wave of resident CTAs (no planner: each CTA finds its range from the
// request's length on the device).
DecodeSchedule schedule_warp_tiles(const DecodeShape& s, const DecodeFacts& f, bool allow_split) {
  DecodeSchedule sched;
  sched.path = DecodePath::kWarpTiles;
  sched.requests = s.batch_size;
  const int64_t row_blocks = (s.group() + kWarpTileQueryBlock - 1) / kWarpTileQueryBlock;
  const int64_t items = int64_t(s.batch_size) * s.num_kv_heads * row_blocks;
  const int64_t slots = int64_t(std::max(f.warp_tile_blocks_per_sm, 1)) * f.sm_count;
  const int64_t chunks = allow_split && items < slots ? slots / items : 1;
  sched.chunks = static_cast<int32_t>(chunks);
  sched.split = chunks > 1;
  sched.padded_items = static_cast<int32_t>(items * chunks);
  if (sched.split) {
    sched.partial_rows = size_t(s.batch_size) * size_t(chunks);
    lay_out(s, &sched);
  }
  return with_lse_scratch(s, sched);
}

Status schedule_decode(const char* fn, const DecodeShape& s, const DecodeFacts& f, int32_t flags,
                       size_t workspace_bytes, DecodeSchedule* out) {
  const bool allow_split = !(flags & BARACUDA_FLASHINFER_DECODE_NO_SPLIT);
  const bool forced_cuda = flags & BARACUDA_FLASHINFER_DECODE_CUDA_CORES;
  const bool forced_tc = flags & BARACUDA_FLASHINFER_DECODE_TENSOR_CORES;
  const bool forced_warp = flags & BARACUDA_FLASHINFER_DECODE_WARP_TILES;
  if (forced_warp || (!forced_cuda && !forced_tc && prefer_warp_tiles(s, f))) {
    if (!warp_tiles_serve(s, f)) {
      return fail(kUnsupported,
                  "%s: the warp-tile path serves f16/bf16 KV caches without a soft-cap only", fn);
    }
    DecodeSchedule warp = schedule_warp_tiles(s, f, allow_split);
    if (warp.split && workspace_bytes < warp.workspace) {
      warp = schedule_warp_tiles(s, f, /*allow_split=*/false);
    }
    if (workspace_bytes >= warp.workspace) {
      *out = warp;
      return kSuccess;
    }
    if (forced_warp) {
      return fail(kWorkspaceTooSmall,
                  "%s: workspace_bytes %zu is too small: these options need %zu bytes "
                  "(paged_decode_ex_get_workspace_size)",
                  fn, workspace_bytes, warp.workspace);
    }
  }
  if (forced_tc || (!forced_cuda && prefer_tensor_cores(s, f))) {
    const DecodeSchedule tc = schedule_tensor_cores(s, f, allow_split, /*shared_prefix=*/false);
    if (workspace_bytes >= tc.workspace) {
      *out = tc;
      return kSuccess;
    }
    if (forced_tc) {
      return fail(kWorkspaceTooSmall,
                  "%s: workspace_bytes %zu is too small: the tensor-core path needs %zu bytes "
                  "(paged_decode_get_workspace_size)",
                  fn, workspace_bytes, tc.workspace);
    }
  }
  DecodeSchedule cc = schedule_cuda_cores(s, f, allow_split);
  if (cc.split && workspace_bytes < cc.workspace) {
    // Callers of the ABI this replaces pass (3B+2)*4 bytes: they decode without split.
    if (workspace_bytes != 0 && workspace_bytes < legacy_workspace_bytes(s.batch_size)) {
      return fail(kWorkspaceTooSmall,
                  "%s: workspace_bytes %zu is too small: split-KV needs %zu bytes "
                  "(paged_decode_get_workspace_size); pass 0 to decode without split-KV",
                  fn, workspace_bytes, cc.workspace);
    }
    cc = schedule_cuda_cores(s, f, /*allow_split=*/false);
  }
  if (workspace_bytes < cc.workspace) {  // the finalize pass's lse alone
    return fail(kWorkspaceTooSmall,
                "%s: workspace_bytes %zu is too small: these options need %zu bytes "
                "(paged_decode_ex_get_workspace_size)",
                fn, workspace_bytes, cc.workspace);
  }
  *out = cc;
  return kSuccess;
}

size_t decode_workspace_bytes(const DecodeShape& s, const DecodeFacts& f) {
  size_t bytes = schedule_cuda_cores(s, f, /*allow_split=*/true).workspace;
  if (f.tensor_cores_built) {
    // The planned layout holds the planner-free one's partial states and more.
    DecodeShape planned = s;
    planned.plain_logits = false;
    bytes = std::max(bytes, schedule_tensor_cores(planned, f, /*allow_split=*/true, false).workspace);
  }
  if (warp_tiles_serve(s, f)) {
    bytes = std::max(bytes, schedule_warp_tiles(s, f, /*allow_split=*/true).workspace);
  }
  return bytes;
}

}  // namespace baracuda::flashinfer::decode
