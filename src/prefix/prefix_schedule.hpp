// The shared-prefix and fused-cascade schedule on sm_90a (prefix_sm90.cuh): FlashInfer's FA3
// kernel over a work table of our own — (KV chunk, KV head, query tile of batch_size * group
// rows) items on a persistent grid — then a merge of the chunks; in the fused cascade the suffix
// kernel (cascade_suffix.cuh) on the SMs the FA3 grid leaves free. A pure function of the sizes
// and the SM count: host-tested.
#pragma once

#include <cstddef>
#include <cstdint>

namespace baracuda::flashinfer::prefix {

constexpr int32_t kPrefixSm90TileQ = 128;  // query rows per FA3 tile (two consumer warpgroups)
// The chunk merge keeps two lse values per lane of a warp (prefix_sm90.cuh merge_kernel): at most
// 64 chunks. The schedule never plans more (static_assert there).
constexpr int32_t kPrefixSm90MaxChunks = 64;
// A chunk shorter than this costs more in merge traffic than its extra parallelism gains.
constexpr int32_t kPrefixSm90MinChunkTokens = 512;

// The FA3 scheduler's work table in the workspace: this many int32 arrays per item, then
// work_indptr (one entry per CTA, plus one).
constexpr size_t kWorkTableItemArrays = 7;

struct PrefixSchedule {
  int32_t rows;         // query rows per KV head: batch_size * group
  int32_t q_tiles;      // ceil(rows / kPrefixSm90TileQ)
  int32_t chunks;       // KV chunks (split-KV)
  int32_t chunk_shift;  // m = ceil(q_tiles * kPrefixSm90TileQ / chunks): see prefix_sm90.cuh
  int32_t items;        // chunks * num_kv_heads * q_tiles
  int32_t ctas;         // persistent FA3 grid
  int32_t suffix_ctas;  // fused cascade: the suffix grid beside the FA3 grid (0 without suffixes)
  size_t q_packed, o_part, lse_part, table;  // workspace offsets (bytes)
  size_t o_suffix, lse_suffix, suffix_done;  // fused cascade: the suffix states, its CTA count
  size_t workspace;                          // bytes needed
};

// The fused cascade leaves at least 1/kCascadeSuffixSmShare of the SMs to the suffix grid
// (docs/notes/tuning-history.md#cascade-sm-split).
constexpr int32_t kCascadeSuffixSmShare = 8;
// The cascade's suffix kernel: warps per CTA and pipeline stages per warp, each stage 16 tokens
// of K and V (4, 8, 16 KB at head dim 64, 128, 256), in at most 224 KB of shared memory
// (docs/notes/tuning-history.md#cascade-suffix-kernel).
constexpr int32_t cascade_suffix_stages(int32_t head_dim) { return head_dim <= 64 ? 3 : 2; }
constexpr int32_t cascade_suffix_warps(int32_t head_dim) {
  return head_dim <= 64 ? 16 : (head_dim <= 128 ? 12 : 7);
}
// Rounds of suffix items beyond the fewest the spare SMs allow: one more, on fewer CTAs, where the
// suffix grid then still ends before the FA3 grid beside it (its DRAM traffic, spread thinner,
// slows FA3 less); not beside a dense prefix at head dim 128, whose FA3 grid is fast enough that
// the suffix grid would end last. A heuristic for suffixes much shorter than the prefix: the host
// does not see the suffixes' lengths (docs/notes/tuning-history.md#cascade-suffix-rounds).
constexpr int32_t cascade_suffix_extra_rounds(int32_t head_dim, bool dense_prefix) {
  return dense_prefix && head_dim == 128 ? 0 : 1;
}
// Query heads per work item of the cascade's suffix kernel (the 8 columns of its mma's B
// operand), and the items per (request, KV head).
constexpr int32_t kCascadeSuffixQueryBlock = 8;
constexpr int32_t cascade_suffix_row_blocks(int32_t group) {
  return (group + kCascadeSuffixQueryBlock - 1) / kCascadeSuffixQueryBlock;
}

// The schedule and workspace layout for these sizes on a GPU of `sm_count` SMs (layouts in
// prefix_sm90.cuh). With suffixes (the fused cascade) the FA3 grid takes a whole number of chunks'
// items on at most 7/8 of the SMs and the suffix grid the rest; `dense_prefix`: the prefix is a
// dense tensor (cascade_decode_dense_prefix_run), not pages.
PrefixSchedule make_prefix_schedule(int32_t batch_size, int32_t group, int32_t num_kv_heads,
                                    int32_t head_dim, size_t element_bytes, int32_t sm_count,
                                    bool with_suffixes, bool dense_prefix);

}  // namespace baracuda::flashinfer::prefix
