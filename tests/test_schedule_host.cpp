// The decode and shared-prefix schedules on the host: the auto rule, the split rule, the workspace
// fallbacks and the workspace layouts, driven with made-up device facts (no GPU).
#include <gtest/gtest.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "decode/decode_schedule.hpp"
#include "prefill/prefill_schedule.hpp"
#include "prefix/prefix_schedule.hpp"

namespace {

using namespace baracuda::flashinfer;
using namespace baracuda::flashinfer::decode;

constexpr int32_t kF16 = BARACUDA_FLASHINFER_F16;
constexpr int32_t kBf16 = BARACUDA_FLASHINFER_BF16;
constexpr int32_t kF32 = BARACUDA_FLASHINFER_F32;

DecodeShape shape(int32_t batch, int32_t hq, int32_t hkv, int32_t element = kBf16,
                  int32_t head_dim = 128, int32_t page = 16) {
  return DecodeShape{batch, page, head_dim, hq, hkv, element};
}

// An H100/H200-like device: 132 SMs; the CUDA-core kernel at `blocks` CTAs per SM serving
// `group` query heads per CTA.
DecodeFacts facts(int32_t group, bool tensor_cores = true, int32_t blocks = 4, int32_t sms = 132) {
  DecodeFacts f;
  f.sm_count = sms;
  f.cuda_core_group = group;
  f.cuda_core_blocks_per_sm = blocks;
  f.tensor_cores_built = tensor_cores;
  return f;
}

DecodeSchedule schedule(const DecodeShape& s, const DecodeFacts& f, int32_t flags, size_t workspace,
                        Status* status = nullptr) {
  DecodeSchedule out;
  const Status st = schedule_decode("test", s, f, flags, workspace, &out);
  if (status != nullptr) *status = st;
  EXPECT_TRUE(status != nullptr || st == kSuccess) << "status " << st;
  return out;
}

constexpr size_t kPlenty = size_t(1) << 32;

TEST(DecodeAutoRule, TensorCoresFromGroupFourWith16BitKv) {
  EXPECT_FALSE(prefer_tensor_cores(shape(8, 32, 32), facts(1)));  // group 1
  EXPECT_FALSE(prefer_tensor_cores(shape(8, 32, 16), facts(2)));  // group 2
  EXPECT_FALSE(prefer_tensor_cores(shape(8, 24, 8), facts(3)));   // group 3
  EXPECT_TRUE(prefer_tensor_cores(shape(8, 32, 8), facts(4)));    // group 4
  EXPECT_TRUE(prefer_tensor_cores(shape(8, 32, 1), facts(16)));   // MQA
  EXPECT_TRUE(prefer_tensor_cores(shape(8, 32, 8, kF16), facts(4)));
  // f32 has no tensor-core build.
  EXPECT_FALSE(prefer_tensor_cores(shape(8, 32, 8, kF32), facts(4, /*tensor_cores=*/false)));
}

TEST(DecodeAutoRule, Fp8KvOnTensorCoresFromGroupTwoAtEveryBatch) {
  for (const int32_t element : {BARACUDA_FLASHINFER_F16_E4M3, BARACUDA_FLASHINFER_F16_E5M2,
                                BARACUDA_FLASHINFER_BF16_E4M3, BARACUDA_FLASHINFER_BF16_E5M2}) {
    SCOPED_TRACE(element);
    EXPECT_FALSE(prefer_tensor_cores(shape(8, 32, 32, element), facts(1)));  // group 1
    EXPECT_TRUE(prefer_tensor_cores(shape(8, 32, 16, element), facts(2)));   // group 2
    EXPECT_TRUE(prefer_tensor_cores(shape(8, 32, 8, element), facts(4)));    // group 4
    EXPECT_TRUE(prefer_tensor_cores(shape(1, 32, 8, element), facts(4)));    // batch 1 too
    EXPECT_TRUE(prefer_tensor_cores(shape(1, 32, 1, element), facts(16)));   // MQA
    EXPECT_FALSE(prefer_tensor_cores(shape(8, 32, 8, element), facts(4, /*tensor_cores=*/false)));
  }
}

TEST(DecodeAutoRule, BatchOneTakesTensorCoresFromGroupFourUnlessWindowed) {
  EXPECT_FALSE(prefer_tensor_cores(shape(1, 24, 8), facts(3)));
  EXPECT_TRUE(prefer_tensor_cores(shape(1, 32, 8), facts(4)));
  EXPECT_TRUE(prefer_tensor_cores(shape(1, 40, 8), facts(5)));
  DecodeShape soft_capped = shape(1, 32, 8);
  soft_capped.plain_logits = false;
  EXPECT_TRUE(prefer_tensor_cores(soft_capped, facts(4)));
  // A window: its span is short, the call a latency; only tensor cores need the planner for it.
  DecodeShape windowed = soft_capped;
  windowed.window = true;
  EXPECT_FALSE(prefer_tensor_cores(windowed, facts(4)));
  windowed.num_qo_heads = 40;
  EXPECT_TRUE(prefer_tensor_cores(windowed, facts(5)));
  windowed.batch_size = 2;
  windowed.num_qo_heads = 32;
  EXPECT_TRUE(prefer_tensor_cores(windowed, facts(4)));
}

TEST(DecodeAutoRule, ScheduleFollowsTheRuleAndTheForcingFlags) {
  const DecodeShape s = shape(16, 32, 8);
  EXPECT_EQ(schedule(s, facts(4), 0, kPlenty).path, DecodePath::kTensorCores);
  EXPECT_EQ(schedule(s, facts(4), BARACUDA_FLASHINFER_DECODE_CUDA_CORES, kPlenty).path,
            DecodePath::kCudaCores);
  const DecodeShape g1 = shape(16, 32, 32);
  EXPECT_EQ(schedule(g1, facts(1), 0, kPlenty).path, DecodePath::kCudaCores);
  EXPECT_EQ(schedule(g1, facts(1), BARACUDA_FLASHINFER_DECODE_TENSOR_CORES, kPlenty).path,
            DecodePath::kTensorCores);
}

TEST(DecodeSplitRule, CudaCoresSplitBelowTwoCtasPerSm) {
  // Group 1, 32 heads: batch x 32 virtual heads against min(4 x 132, 2 x 132) = 264.
  const DecodeFacts f = facts(1);
  const DecodeSchedule b8 = schedule(shape(8, 32, 32, kF32), f, 0, kPlenty);  // 256 < 264
  EXPECT_TRUE(b8.split);
  EXPECT_FALSE(b8.single_request);
  EXPECT_TRUE(b8.planned);
  EXPECT_EQ(b8.padded_items, 4 * 132 / 32);  // one wave of the kernel
  EXPECT_EQ(b8.min_chunk_pages, kCudaCoreMinChunkTokens / 16);
  const DecodeSchedule b9 = schedule(shape(9, 32, 32, kF32), f, 0, kPlenty);  // 288 >= 264
  EXPECT_FALSE(b9.split);
  EXPECT_EQ(b9.workspace, 0u);
  // Batch 1: split without the planner.
  const DecodeSchedule b1 = schedule(shape(1, 32, 32, kF32), f, 0, kPlenty);
  EXPECT_TRUE(b1.split);
  EXPECT_TRUE(b1.single_request);
  EXPECT_FALSE(b1.planned);
  EXPECT_GT(b1.workspace, 0u);
}

TEST(DecodeSplitRule, VirtualHeadsCountCompiledGroups) {
  // Group 7 served by compiled group 7: 4 virtual heads per request of 28/4.
  const DecodeSchedule s = schedule(shape(32, 28, 4, kF32), facts(7, false), 0, kPlenty);
  EXPECT_TRUE(s.split);  // 32 x 4 = 128 < 264
  EXPECT_EQ(s.padded_items, 4 * 132 / 4);
  const DecodeSchedule t = schedule(shape(66, 28, 4, kF32), facts(7, false), 0, kPlenty);
  EXPECT_FALSE(t.split);  // 264
}

TEST(DecodeSplitRule, TensorCoresSplitBelowFa2Occupancy) {
  // 32/8 hd128: one 16-row tile per request; batch x 8 KV heads against 2 x 132.
  const DecodeSchedule b32 = schedule(shape(32, 32, 8), facts(4), 0, kPlenty);  // 256 < 264
  EXPECT_EQ(b32.path, DecodePath::kTensorCores);
  EXPECT_TRUE(b32.split);
  EXPECT_EQ(b32.padded_items, 2 * 132 / 8);
  EXPECT_EQ(b32.min_chunk_pages, kTensorCoreMinChunkTokens / 16);
  const DecodeSchedule b33 = schedule(shape(33, 32, 8), facts(4), 0, kPlenty);  // 264
  EXPECT_FALSE(b33.split);
  EXPECT_TRUE(b33.planned);  // the FA2 kernel reads work-item arrays even without split
  EXPECT_EQ(b33.padded_items, 33);
  EXPECT_EQ(b33.tile_rows, kTensorCoreTileQ);
  // Group 16: one 16-row tile. Above 16 with 16-bit KV: one 64-row tile (MQA at 32/1) rather than
  // two 16-row ones; fp8 KV keeps 16-row tiles.
  const DecodeSchedule g16 = schedule(shape(64, 32, 2), facts(16), 0, kPlenty);
  EXPECT_EQ(g16.tile_rows, kTensorCoreTileQ);
  EXPECT_EQ(g16.qo_tiles, 1);
  const DecodeSchedule mqa = schedule(shape(64, 32, 1), facts(16), 0, kPlenty);
  EXPECT_EQ(mqa.tile_rows, kSharedPrefixTileQ);
  EXPECT_EQ(mqa.qo_tiles, 1);
  EXPECT_TRUE(mqa.split);  // 64 < 264
  EXPECT_EQ(mqa.padded_items, 2 * 132);
  const DecodeSchedule g128 = schedule(shape(4, 128, 1), facts(16), 0, kPlenty);
  EXPECT_EQ(g128.tile_rows, kSharedPrefixTileQ);
  EXPECT_EQ(g128.qo_tiles, 2);
  const DecodeSchedule mqa_fp8 =
      schedule(shape(64, 32, 1, BARACUDA_FLASHINFER_BF16_E4M3), facts(16), 0, kPlenty);
  EXPECT_EQ(mqa_fp8.tile_rows, kTensorCoreTileQ);
  EXPECT_EQ(mqa_fp8.qo_tiles, 2);
}

TEST(DecodeSplitRule, OneRequestInOneTileOnTensorCoresSplitsWithoutThePlanner) {
  constexpr int32_t kTc = BARACUDA_FLASHINFER_DECODE_TENSOR_CORES;
  // 32/8 at batch 1: 33 chunks of request 0, the partial states and nothing else.
  const DecodeSchedule one = schedule(shape(1, 32, 8), facts(4), kTc, kPlenty);
  EXPECT_TRUE(one.split);
  EXPECT_TRUE(one.single_request);
  EXPECT_FALSE(one.planned);
  EXPECT_EQ(one.padded_items, 2 * 132 / 8);
  EXPECT_EQ(one.partial_rows, size_t(one.padded_items));
  const size_t partial = one.partial_rows * 32 * 128;
  EXPECT_EQ(one.layout.tmp_o, 0u);
  EXPECT_EQ(one.layout.tmp_lse, partial * 2);
  EXPECT_EQ(one.workspace, partial * 2 + partial / 128 * 4);
  // fp8 K/V in one 16-row tile: the same.
  EXPECT_TRUE(schedule(shape(1, 32, 8, BARACUDA_FLASHINFER_BF16_E4M3), facts(4), kTc, kPlenty)
                  .single_request);
  // The planner stays: a window or a soft-cap (the chunks span the window), two requests, a
  // 64-row tile (group above 16), two query tiles (fp8 above 16), a shared prefix, more items
  // than the constant tables hold, no split.
  DecodeShape windowed = shape(1, 32, 8);
  windowed.plain_logits = false;
  const DecodeShape planned[] = {windowed, shape(2, 32, 8), shape(1, 32, 1),
                                 shape(1, 64, 2, BARACUDA_FLASHINFER_BF16_E4M3)};
  for (const DecodeShape& s : planned) {
    const DecodeSchedule d = schedule(s, facts(4), kTc, kPlenty);
    EXPECT_TRUE(d.split) << s.batch_size << " " << s.num_qo_heads << "/" << s.num_kv_heads;
    EXPECT_FALSE(d.single_request) << s.batch_size << " " << s.num_qo_heads << "/" << s.num_kv_heads;
    EXPECT_TRUE(d.planned);
  }
  EXPECT_FALSE(schedule_tensor_cores(shape(1, 32, 8), facts(4), true, /*shared_prefix=*/true)
                   .single_request);
  const DecodeSchedule wide = schedule(shape(1, 32, 1), facts(16, true, 4, 600), kTc, kPlenty);
  EXPECT_GT(wide.padded_items, kMaxSingleRequestItems);
  EXPECT_TRUE(wide.planned);
  EXPECT_FALSE(schedule(shape(1, 32, 8), facts(4), kTc | BARACUDA_FLASHINFER_DECODE_NO_SPLIT,
                        kPlenty)
                   .single_request);
  // The workspace size covers the planned layout the same call takes with a window.
  EXPECT_GE(decode_workspace_bytes(shape(1, 32, 8), facts(4)),
            schedule(windowed, facts(4), kTc, kPlenty).workspace);
  EXPECT_GT(schedule(windowed, facts(4), kTc, kPlenty).workspace, one.workspace);
}

TEST(DecodeSplitRule, NoSplitFlag) {
  const DecodeSchedule cc =
      schedule(shape(1, 32, 32, kF32), facts(1), BARACUDA_FLASHINFER_DECODE_NO_SPLIT, kPlenty);
  EXPECT_FALSE(cc.split);
  EXPECT_EQ(cc.workspace, 0u);
  const DecodeSchedule tc =
      schedule(shape(1, 64, 8), facts(8), BARACUDA_FLASHINFER_DECODE_NO_SPLIT, kPlenty);
  EXPECT_EQ(tc.path, DecodePath::kTensorCores);
  EXPECT_FALSE(tc.split);
  EXPECT_GT(tc.workspace, 0u);  // the work-item arrays
  EXPECT_EQ(tc.partial_rows, 1u);
}

TEST(DecodeWorkspaceFallback, ShortWorkspaceLeavesTensorCoresForCudaCores) {
  const DecodeShape s = shape(8, 32, 8);
  const DecodeFacts f = facts(4);
  const DecodeSchedule tc = schedule_tensor_cores(s, f, true, false);
  ASSERT_TRUE(tc.split);
  const DecodeSchedule fallback = schedule(s, f, 0, tc.workspace - 1);
  EXPECT_EQ(fallback.path, DecodePath::kCudaCores);
  Status st = kSuccess;
  schedule(s, f, BARACUDA_FLASHINFER_DECODE_TENSOR_CORES, tc.workspace - 1, &st);
  EXPECT_EQ(st, kWorkspaceTooSmall);
  EXPECT_EQ(schedule(s, f, BARACUDA_FLASHINFER_DECODE_TENSOR_CORES, tc.workspace).path,
            DecodePath::kTensorCores);
}

TEST(DecodeWorkspaceFallback, LegacyAndZeroWorkspaceDecodeWithoutSplit) {
  const DecodeShape s = shape(4, 32, 32, kF32);
  const DecodeFacts f = facts(1);
  const DecodeSchedule split = schedule_cuda_cores(s, f, true);
  ASSERT_TRUE(split.split);
  const DecodeSchedule zero = schedule(s, f, 0, 0);
  EXPECT_FALSE(zero.split);
  EXPECT_EQ(zero.workspace, 0u);
  const DecodeSchedule legacy = schedule(s, f, 0, legacy_workspace_bytes(4));
  EXPECT_FALSE(legacy.split);
  Status st = kSuccess;
  schedule(s, f, 0, legacy_workspace_bytes(4) - 1, &st);
  EXPECT_EQ(st, kWorkspaceTooSmall);
  EXPECT_TRUE(schedule(s, f, 0, split.workspace).split);
}

TEST(DecodeWorkspace, SizeCoversEveryPathAndLayoutsFit) {
  const std::vector<std::pair<DecodeShape, DecodeFacts>> cases = {
      {shape(1, 32, 8), facts(4)},           {shape(8, 32, 8), facts(4)},
      {shape(64, 32, 1), facts(16)},         {shape(1, 32, 32, kF32), facts(1, false)},
      {shape(1024, 32, 8), facts(4)},        {shape(1 << 20, 8, 8, kF16, 64, 1), facts(1)},
      {shape(3, 40, 8, kF16, 256), facts(5)}};
  for (const auto& [s, f] : cases) {
    const size_t total = decode_workspace_bytes(s, f);
    for (const DecodeSchedule& sched :
         {schedule_cuda_cores(s, f, true), schedule_tensor_cores(s, f, true, false),
          schedule_tensor_cores(s, f, false, false)}) {
      if (sched.path == DecodePath::kTensorCores && !f.tensor_cores_built) continue;
      EXPECT_LE(sched.workspace, total);
      const DecodeLayout& l = sched.layout;
      for (size_t offset :
           {l.request_indices, l.qo_tile_indices, l.kv_tile_indices, l.o_indptr, l.q_indptr,
            l.merge_indptr, l.kv_chunk_tokens, l.valid_mask, l.tmp_o, l.tmp_lse}) {
        EXPECT_EQ(offset % 16, 0u);
        EXPECT_LE(offset, sched.workspace);
      }
      if (sched.split) {  // the partial states are the last and largest buffers
        const size_t o_bytes =
            sched.partial_rows * s.num_qo_heads * s.head_dim * output_element_bytes(s.element);
        EXPECT_GE(l.tmp_lse, l.tmp_o + o_bytes);
        EXPECT_LE(l.tmp_lse + sched.partial_rows * s.num_qo_heads * sizeof(float), sched.workspace);
      }
    }
  }
}

TEST(DecodeWorkspace, SharedPrefixRowsPerChunk) {
  const DecodeShape s = shape(64, 32, 8);
  const DecodeSchedule sp = schedule_tensor_cores(s, facts(4), true, /*shared_prefix=*/true);
  EXPECT_EQ(sp.requests, 1);
  EXPECT_EQ(sp.qo_len, 64);
  EXPECT_EQ(sp.qo_tiles, 64 * 4 / kSharedPrefixTileQ);
  EXPECT_TRUE(sp.split);  // 4 tiles x 8 heads
  EXPECT_EQ(sp.partial_rows, size_t(sp.padded_items / sp.qo_tiles) * 64);
}

// The warp-tile path: `blocks` resident CTAs per SM.
DecodeFacts warp_facts(int32_t blocks = 1, int32_t sms = 132) {
  DecodeFacts f = facts(4, true, 4, sms);
  f.warp_tiles_built = true;
  f.warp_tile_blocks_per_sm = blocks;
  return f;
}
constexpr int32_t kWarp = BARACUDA_FLASHINFER_DECODE_WARP_TILES;

TEST(DecodeWarpTiles, ChunksFillOneWaveOfCtas) {
  // 1 x 32768, 32/8: 8 items (one row block per KV head) -> 132 / 8 = 16 chunks, 128 CTAs.
  DecodeSchedule w = schedule(shape(1, 32, 8), warp_facts(), kWarp, kPlenty);
  EXPECT_EQ(w.path, DecodePath::kWarpTiles);
  EXPECT_TRUE(w.split);
  EXPECT_FALSE(w.planned);
  EXPECT_EQ(w.chunks, 16);
  EXPECT_EQ(w.padded_items, 128);
  EXPECT_EQ(w.partial_rows, size_t(16));
  // Group 16: two row blocks per KV head; 32/2 at batch 1 -> 4 items -> 33 chunks.
  w = schedule(shape(1, 32, 2), warp_facts(), kWarp, kPlenty);
  EXPECT_EQ(w.chunks, 33);
  EXPECT_EQ(w.padded_items, 132);
  // 16 x 4096, 32/8: 128 items fill the 132 slots without a split.
  w = schedule(shape(16, 32, 8), warp_facts(), kWarp, kPlenty);
  EXPECT_FALSE(w.split);
  EXPECT_EQ(w.chunks, 1);
  EXPECT_EQ(w.padded_items, 128);
  EXPECT_EQ(w.workspace, size_t(0));
  // Two CTAs per SM double the slots.
  EXPECT_EQ(schedule(shape(1, 32, 8), warp_facts(2), kWarp, kPlenty).chunks, 33);
  // NO_SPLIT: one chunk, no workspace.
  w = schedule(shape(1, 32, 8), warp_facts(), kWarp | BARACUDA_FLASHINFER_DECODE_NO_SPLIT, kPlenty);
  EXPECT_FALSE(w.split);
  EXPECT_EQ(w.workspace, size_t(0));
}

TEST(DecodeWarpTiles, PartialStatesFitTheReportedWorkspace) {
  for (const DecodeShape& s : {shape(1, 32, 8), shape(3, 40, 8), shape(1, 64, 1, kF16, 256),
                               shape(2, 32, 2, kBf16, 64)}) {
    const DecodeFacts f = warp_facts();
    const DecodeSchedule w = schedule(s, f, kWarp, kPlenty);
    ASSERT_TRUE(w.split);
    const size_t partial_o = w.partial_rows * size_t(s.num_qo_heads) * s.head_dim * 2;
    EXPECT_EQ(w.partial_rows, size_t(s.batch_size) * size_t(w.chunks));
    EXPECT_GE(w.layout.tmp_lse, w.layout.tmp_o + partial_o);
    EXPECT_GE(w.workspace, w.layout.tmp_lse + w.partial_rows * s.num_qo_heads * sizeof(float));
    EXPECT_GE(decode_workspace_bytes(s, f), w.workspace);
  }
}

TEST(DecodeWarpTiles, ShortWorkspaceRunsUnsplitAndRefusalsNameTheReason) {
  // Too little workspace for the partial states: one chunk per request, no workspace.
  DecodeSchedule w = schedule(shape(1, 32, 8), warp_facts(), kWarp, 64);
  EXPECT_EQ(w.path, DecodePath::kWarpTiles);
  EXPECT_FALSE(w.split);
  EXPECT_EQ(w.workspace, size_t(0));
  // Not built (f32, fp8 KV, a device without the shared memory) or a soft-cap: status 3.
  Status st = kSuccess;
  DecodeFacts none = warp_facts();
  none.warp_tiles_built = false;
  schedule(shape(1, 32, 8), none, kWarp, kPlenty, &st);
  EXPECT_EQ(st, kUnsupported);
  DecodeShape capped = shape(1, 32, 8);
  capped.soft_cap = true;
  st = kSuccess;
  schedule(capped, warp_facts(), kWarp, kPlenty, &st);
  EXPECT_EQ(st, kUnsupported);
  // A soft-cap leaves the auto rule to the other paths.
  EXPECT_FALSE(prefer_warp_tiles(capped, warp_facts()));
  EXPECT_NE(schedule(capped, warp_facts(), 0, kPlenty).path, DecodePath::kWarpTiles);
}

TEST(PrefixSchedule, ChunksFillTheGridOnceAndNeverExceedTheMergeLimit) {
  using prefix::make_prefix_schedule;
  for (int32_t batch : {1, 8, 64, 512, 4096}) {
    for (int32_t hkv : {1, 2, 8}) {
      const prefix::PrefixSchedule p =
          make_prefix_schedule(batch, 4, hkv, 128, 2, 132, false, false);
      EXPECT_GE(p.chunks, 1);
      EXPECT_LE(p.chunks, prefix::kPrefixSm90MaxChunks);
      EXPECT_EQ(p.items, p.chunks * hkv * p.q_tiles);
      EXPECT_EQ(p.ctas, 132);
      EXPECT_GE(int64_t(p.chunk_shift) * p.chunks, int64_t(p.q_tiles) * prefix::kPrefixSm90TileQ);
      EXPECT_GT(p.workspace, p.table);
    }
  }
}

TEST(PrefixSchedule, CascadeLeavesSmsToTheSuffixGrid) {
  using prefix::make_prefix_schedule;
  const prefix::PrefixSchedule p = make_prefix_schedule(64, 4, 8, 128, 2, 132, true, false);
  EXPECT_LE(p.ctas, 132 - 132 / prefix::kCascadeSuffixSmShare);
  EXPECT_GE(p.suffix_ctas, 1);
  EXPECT_LE(p.ctas + p.suffix_ctas, 132);
  EXPECT_GT(p.suffix_done, p.lse_suffix);
  EXPECT_LE(p.suffix_done + sizeof(int32_t), p.workspace);
}

}  // namespace

namespace {

using baracuda::flashinfer::prefill::make_prefill_schedule;
using baracuda::flashinfer::prefill::PrefillFacts;
using baracuda::flashinfer::prefill::PrefillPath;
using baracuda::flashinfer::prefill::PrefillSchedule;
using baracuda::flashinfer::prefill::PrefillShape;
using baracuda::flashinfer::prefill::PrefillVariant;

PrefillShape prefill_shape(int32_t batch, int32_t rows, int32_t hq, int32_t hkv, int32_t hd = 128,
                           bool paged = true) {
  return PrefillShape{BARACUDA_FLASHINFER_BF16, batch, rows, paged ? 0 : rows * 2,
                      paged ? 16 : 1,           hd,    hq,   hkv,
                      /*causal=*/true,          paged};
}

PrefillFacts hopper(bool fa3_built = true) {
  PrefillFacts f;
  f.sm_count = 132;
  f.sm90a = true;
  f.fa3_built = fa3_built;
  return f;
}

TEST(PrefillSchedule, Fa3OnSm90aUnlessForcedOrNotBuilt) {
  const PrefillShape s = prefill_shape(8, 8 * 4096, 32, 8);
  EXPECT_EQ(make_prefill_schedule(s, {}, hopper()).path, PrefillPath::kFa3);
  PrefillVariant fa2;
  fa2.force_fa2 = true;
  EXPECT_EQ(make_prefill_schedule(s, fa2, hopper()).path, PrefillPath::kFa2);
  EXPECT_EQ(make_prefill_schedule(s, {}, hopper(false)).path, PrefillPath::kFa2);
  PrefillFacts ampere = hopper();
  ampere.sm90a = false;
  EXPECT_EQ(make_prefill_schedule(s, {}, ampere).path, PrefillPath::kFa2);
}

TEST(PrefillSchedule, Fa3CapacitiesCoverEveryTileAndTheSplitBudget) {
  for (int32_t hd : {64, 128, 256}) {
    const PrefillShape s = prefill_shape(3, 1000, 32, 8, hd);
    const PrefillSchedule p = make_prefill_schedule(s, {}, hopper());
    ASSERT_EQ(p.path, PrefillPath::kFa3);
    // Each request may end in a partial tile: rows / cta_q + batch tiles at most.
    EXPECT_GE(p.tile_cap, (1000 + p.cta_q - 1) / p.cta_q + 2);
    EXPECT_GE(int64_t(p.item_cap), int64_t(p.tile_cap) * 32);
    EXPECT_GE(p.item_cap, p.split_items);
    EXPECT_EQ(p.slot_cap, p.split_items);
    EXPECT_EQ(p.ctas, 132);
    const auto& l = p.fa3;
    EXPECT_LT(l.table, l.items);
    EXPECT_LT(l.items, l.tiles);
    EXPECT_LT(l.scratch, l.units);
    EXPECT_LE(l.lse_part + size_t(p.slot_cap) * p.cta_q * sizeof(float), p.workspace);
    EXPECT_EQ(p.workspace % 16, 0u);
  }
}

TEST(PrefillSchedule, NoSplitTakesNoPartialStates) {
  PrefillVariant v;
  v.allow_split = false;
  const PrefillSchedule p = make_prefill_schedule(prefill_shape(1, 1, 32, 8), v, hopper());
  EXPECT_EQ(p.split_items, 0);
  EXPECT_EQ(p.slot_cap, 0);
  EXPECT_EQ(p.unit_cap, 0);
}

TEST(PrefillSchedule, Fa2SplitsOnlyWhenTheSizesCannotFillTheGpu) {
  PrefillVariant fa2;
  fa2.force_fa2 = true;
  // 8 decode tokens of 32/8: 8 x 4 packed rows, one 64-row tile each: 16 items of 8 KV heads.
  const PrefillSchedule decode_like =
      make_prefill_schedule(prefill_shape(8, 8, 32, 8), fa2, hopper());
  EXPECT_TRUE(decode_like.split_allowed);
  EXPECT_TRUE(decode_like.fa2_split);
  EXPECT_EQ(decode_like.fa2_tile_q, 64);
  EXPECT_EQ(decode_like.short_packed_rows, 0);  // the FA2 path takes every request itself
  EXPECT_EQ(decode_like.padded_items, 2 * 132 / 8);
  EXPECT_GT(decode_like.partial_rows, 0);
  // A 16k prompt has far more tiles than the GPU holds at once: never split.
  const PrefillSchedule prompt =
      make_prefill_schedule(prefill_shape(1, 16384, 32, 8), fa2, hopper());
  EXPECT_FALSE(prompt.split_allowed);
  EXPECT_FALSE(prompt.fa2_split);
  EXPECT_EQ(prompt.partial_rows, 0);
  EXPECT_GE(prompt.padded_items, 16384 * 4 / 64);
  // Ragged: identity page ids for every K/V row.
  const PrefillShape ragged = prefill_shape(2, 64, 8, 8, 128, /*paged=*/false);
  const PrefillSchedule r = make_prefill_schedule(ragged, fa2, hopper());
  EXPECT_GT(r.fa2.split_q_indptr, r.fa2.kv_indices);
  EXPECT_GE(r.fa2.split_q_indptr - r.fa2.kv_indices, size_t(ragged.max_kv_rows) * 4);
  // Each request as two kernel requests: [2B + 1] indptrs and [2B] last page lengths.
  EXPECT_GE(r.fa2.split_kv_indptr - r.fa2.split_q_indptr, size_t(2 * ragged.batch_size + 1) * 4);
  EXPECT_GE(r.fa2.split_last_page_len - r.fa2.split_kv_indptr,
            size_t(2 * ragged.batch_size + 1) * 4);
  EXPECT_LE(r.fa2.split_last_page_len + size_t(2 * ragged.batch_size) * 4, r.workspace);
}

// An FA3 call leaves its short requests (q_len * group within one FA2 tile) to an FA2 launch
// of its own: unsplit, one tile per kernel request (each request as two), its arrays after the
// FA3 ones. Options with the FA2 finalize pass keep every request on FA3.
TEST(PrefillSchedule, Fa3LeavesShortRequestsToAnUnsplitFa2Launch) {
  for (bool paged : {true, false}) {
    const PrefillShape s = prefill_shape(64, 4 * 1024 + 60, 32, 8, 128, paged);
    const PrefillSchedule p = make_prefill_schedule(s, {}, hopper());
    ASSERT_EQ(p.path, PrefillPath::kFa3);
    EXPECT_EQ(p.fa2_tile_q, 16);  // the tensor-core decode tile, up to group 16
    EXPECT_EQ(p.short_packed_rows, 16);
    EXPECT_EQ(p.short_min_ctas, 132);  // one (request, KV head) pair per SM at least
    EXPECT_TRUE(p.split_allowed);      // FA3's own split
    EXPECT_FALSE(p.fa2_split);
    EXPECT_EQ(p.partial_rows, 0);
    EXPECT_EQ(p.padded_items, 2 * 64);
    const auto& l = p.fa2;
    EXPECT_GE(l.request_indices, p.fa3.lse_part + size_t(p.slot_cap) * p.cta_q * sizeof(float));
    EXPECT_GE(l.merge_indptr - l.o_indptr, size_t(2 * 64 + 1) * 4);
    if (!paged) EXPECT_GE(l.split_q_indptr - l.kv_indices, size_t(s.max_kv_rows) * 4);
    EXPECT_LE(l.split_last_page_len + size_t(2 * 64) * 4, p.workspace);
    EXPECT_EQ(p.workspace % 16, 0u);
  }
  // From group 17 the 64-row tile, which reads the KV of a decode token once.
  const PrefillSchedule mqa = make_prefill_schedule(prefill_shape(64, 4156, 32, 1), {}, hopper());
  EXPECT_EQ(mqa.fa2_tile_q, 64);
  EXPECT_EQ(mqa.short_packed_rows, 64);
  PrefillVariant finalize;
  finalize.finalize_pass = true;
  const PrefillSchedule f = make_prefill_schedule(prefill_shape(64, 4156, 32, 8), finalize, hopper());
  EXPECT_EQ(f.path, PrefillPath::kFa3);
  EXPECT_EQ(f.short_packed_rows, 0);
  EXPECT_EQ(f.padded_items, 0);
}

}  // namespace
