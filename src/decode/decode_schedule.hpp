// How one paged-decode call runs: the path, the split and the workspace layout, as a pure function
// of the sizes, the flags, the workspace the caller gave and a few facts about the device and the
// compiled kernels. No GPU, no global state: the host tests drive it with made-up facts.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/status.hpp"

namespace baracuda::flashinfer::decode {

struct DecodeShape {
  int32_t batch_size, page_size, head_dim, num_qo_heads, num_kv_heads, element;
  // The call's options need a finalize pass (v_scale, sinks) that reads every row's lse: the
  // workspace then holds an lse for callers that pass none.
  bool lse_scratch = false;
  // The options have no window and no soft-cap (AttentionVariant::plain_logits): the kernels with
  // both off at compile time serve the call.
  bool plain_logits = true;
  bool window = false;  // a sliding window (window_left >= 0)
  bool soft_cap = false;  // a logits soft-cap (the warp-tile path has none)
  int32_t group() const { return num_qo_heads / num_kv_heads; }
};

enum class DecodePath : int32_t {
  kCudaCores = BARACUDA_FLASHINFER_DECODE_PATH_CUDA_CORES,
  kTensorCores = BARACUDA_FLASHINFER_DECODE_PATH_TENSOR_CORES,
  kWarpTiles = BARACUDA_FLASHINFER_DECODE_PATH_WARP_TILES,
};

// What the schedule needs to know beyond the sizes: the device's SM count, the CUDA-core kernel
// that serves this shape (its compiled GQA group and its resident CTAs per SM on the device), and
// whether (element, head_dim) has a tensor-core build.
struct DecodeFacts {
  int32_t sm_count = 0;
  int32_t cuda_core_group = 1;
  int32_t cuda_core_blocks_per_sm = 0;
  bool tensor_cores_built = false;
  // The warp-tile kernel for (element, head_dim) (16-bit KV) and its resident CTAs per SM.
  bool warp_tiles_built = false;
  int32_t warp_tile_blocks_per_sm = 0;
};

// Query heads per warp-tile CTA (the 8 columns of its mma's B operand).
constexpr int32_t kWarpTileQueryBlock = 8;
// The warp-tile split's chunks are whole 16-token tiles (at least one).
constexpr int32_t kWarpTileChunkTokens = 16;

// The rule's constants. Measured on H100 (docs/PERFORMANCE.md, "decode schedule"):
// CUDA cores split when batch x (virtual) KV heads gives fewer CTAs than kSplitBelowCtasPerSm per
// SM (above that each CTA streaming a whole sequence keeps memory busy and a split only adds the
// planner and the merge); FlashInfer's FA2 kernel holds about kTensorCoreCtasPerSm CTAs per SM;
// chunks shorter than the minimums cost more in merge traffic than they gain in parallelism.
constexpr int64_t kSplitBelowCtasPerSm = 2;
constexpr int64_t kTensorCoreCtasPerSm = 2;
constexpr int32_t kCudaCoreMinChunkTokens = 128;
constexpr int32_t kTensorCoreMinChunkTokens = 256;
// The auto rule sends f16/bf16 to tensor cores from this GQA group up (batch 1 with a window:
// above it; the window's short span makes the call a latency, and only tensor cores need the
// planner for it).
constexpr int32_t kTensorCoreMinGroup = 4;
// fp8 KV goes to tensor cores from this group up at every batch: the CUDA-core kernel widens each
// KV element once per query head of its group, the tensor-core one once per 16-row tile.
constexpr int32_t kTensorCoreMinGroupFp8 = 2;
// Tensor-core path: query rows (packed query heads of one KV head) per CTA: the smallest FA2 tile
// for decode, a larger one for a shared prefix and for decode groups above 16 with 16-bit KV
// (one tile instead of several, each reading the KV again; fp8 KV has no 64-row build).
constexpr int32_t kTensorCoreTileQ = 16;
constexpr int32_t kSharedPrefixTileQ = 64;
// Largest batch the decode family takes.
constexpr int32_t kMaxBatch = 1 << 20;
// A single request split on tensor cores without the planner reads constant work-item tables of
// this many items (decode_plan.cu).
constexpr int32_t kMaxSingleRequestItems = 1024;

// Byte offsets into the caller's workspace of what the device planner and a split write.
struct DecodeLayout {
  size_t request_indices, qo_tile_indices, kv_tile_indices, o_indptr, q_indptr, merge_indptr,
      kv_chunk_tokens, valid_mask, tmp_o, tmp_lse;
  size_t lse_scratch;  // [batch, Hq] float when DecodeShape::lse_scratch
};

struct DecodeSchedule {
  DecodePath path = DecodePath::kCudaCores;
  bool split = false;
  // Batch 1, split, without the planner: the kernel derives its chunk from the length. CUDA
  // cores: no work-item arrays, a stacked merge. Tensor cores (one 16-row query tile, plain
  // logits): constant work-item tables, item i = chunk i, FlashInfer's merge of all of them.
  bool single_request = false;
  // The device planner runs (tensor cores always: the FA2 kernel reads work-item arrays; CUDA
  // cores when split over several requests).
  bool planned = false;
  int32_t requests = 0;  // requests in the page table (the batch; 1 for a shared prefix)
  int32_t qo_len = 1;    // query rows per request (1; the batch for a shared prefix)
  int32_t padded_items = 0;  // the grid along the batch axis when split or planned
  int32_t qo_tiles = 1;      // query tiles per request (tensor cores)
  int32_t tile_rows = 0;     // query rows per CTA (tensor cores: kTensorCoreTileQ or 64)
  int32_t min_chunk_pages = 0;
  int32_t chunks = 1;  // warp tiles: KV chunks per (request, KV head), the same for every request
  size_t partial_rows = 0;  // rows of [Hq, D] partial states when split
  size_t workspace = 0;     // bytes of workspace this schedule uses (0: none)
  DecodeLayout layout{};
};

// The bytes of one output element (Q/O type) of an element code.
size_t output_element_bytes(int32_t element);

// The tensor-core path's query rows per CTA for this shape.
int32_t tensor_core_tile_rows(const DecodeShape& s, bool shared_prefix);

// The auto rule: whether an unforced call prefers tensor cores.
bool prefer_tensor_cores(const DecodeShape& s, const DecodeFacts& f);

// One path's schedule with or without split. `shared_prefix`: every query of the batch as the
// rows of one request (tensor cores only).
DecodeSchedule schedule_cuda_cores(const DecodeShape& s, const DecodeFacts& f, bool allow_split);
DecodeSchedule schedule_tensor_cores(const DecodeShape& s, const DecodeFacts& f, bool allow_split,
                                     bool shared_prefix);
DecodeSchedule schedule_warp_tiles(const DecodeShape& s, const DecodeFacts& f, bool allow_split);

// Whether the warp-tile path can serve the shape and options (16-bit KV built, no soft-cap).
bool warp_tiles_serve(const DecodeShape& s, const DecodeFacts& f);
// The auto rule: whether an unforced call prefers the warp-tile path.
bool prefer_warp_tiles(const DecodeShape& s, const DecodeFacts& f);

// The schedule of a call with `flags` (BARACUDA_FLASHINFER_DECODE_*) and `workspace_bytes`:
//   - the path: forced by the flags, else the auto rule (warp tiles, then tensor cores, then CUDA
//     cores); warp tiles split into a static number of chunks, and without the workspace for
//     that they run unsplit;
//   - split when the unsplit grid cannot fill the GPU, unless NO_SPLIT;
//   - a workspace too small for the preferred tensor-core schedule falls back to CUDA cores
//     (status 4 if tensor cores were forced); too small for a CUDA-core split falls back to no
//     split when it is 0 or at least the legacy size (3B+2)*4 bytes, else status 4.
Status schedule_decode(const char* fn, const DecodeShape& s, const DecodeFacts& f, int32_t flags,
                       size_t workspace_bytes, DecodeSchedule* out);

// Workspace that lets every path split: what paged_decode_get_workspace_size reports.
size_t decode_workspace_bytes(const DecodeShape& s, const DecodeFacts& f);

// The legacy one-argument size, (3 * batch + 2) * 4 bytes.
size_t legacy_workspace_bytes(int32_t batch_size);

}  // namespace baracuda::flashinfer::decode
