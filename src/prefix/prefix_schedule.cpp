#include "prefix/prefix_schedule.hpp"

#include <algorithm>

namespace baracuda::flashinfer::prefix {

PrefixSchedule make_prefix_schedule(int32_t batch_size, int32_t group, int32_t num_kv_heads,
                                    int32_t head_dim, size_t element_bytes, int32_t sm_count,
                                    bool with_suffixes, bool dense_prefix) {
  PrefixSchedule plan{};
  plan.rows = batch_size * group;
  plan.q_tiles = (plan.rows + kPrefixSm90TileQ - 1) / kPrefixSm90TileQ;
  const int32_t per_chunk = num_kv_heads * plan.q_tiles;
  const int32_t fa3_sms =
      with_suffixes ? std::max(sm_count - std::max(sm_count / kCascadeSuffixSmShare, 1), 1)
                    : sm_count;
  // Enough chunks that the items fill the FA3 grid once (each CTA then walks about one item).
  plan.chunks = std::min(std::max(fa3_sms / per_chunk, 1), kPrefixSm90MaxChunks);
  plan.items = plan.chunks * per_chunk;
  plan.ctas = with_suffixes ? std::min(plan.items, fa3_sms) : sm_count;
  if (with_suffixes) {
    // The suffix items (a warp each) take `rounds` rounds on the SMs left over, plus
    // cascade_suffix_extra_rounds; the fewest CTAs that still take that many rounds leave the
    // rest idle, which lowers the two grids' contention for memory bandwidth.
    const int64_t items = int64_t(batch_size) * num_kv_heads * cascade_suffix_row_blocks(group);
    const int64_t warps = cascade_suffix_warps(head_dim);
    const int64_t spare = std::max(sm_count - plan.ctas, 1);
    const int64_t rounds = (items + spare * warps - 1) / (spare * warps) +
                           cascade_suffix_extra_rounds(head_dim, dense_prefix);
    plan.suffix_ctas = static_cast<int32_t>(
        std::max<int64_t>((items + rounds * warps - 1) / (rounds * warps), 1));
  }
  const size_t rows_pad = size_t(plan.q_tiles) * kPrefixSm90TileQ;
  plan.chunk_shift = static_cast<int32_t>((rows_pad + plan.chunks - 1) / plan.chunks);
  // The FA3 kernel's q and o bases sit `shift` rows before the packed q and the partial o: both
  // buffers get that much workspace in front of them.
  const size_t row_bytes = size_t(head_dim) * element_bytes;
  const size_t shift = size_t(plan.chunks - 1) * plan.chunk_shift * row_bytes;
  const size_t hkv = size_t(num_kv_heads), chunks = size_t(plan.chunks), m = plan.chunk_shift;
  constexpr size_t kAlign = 16;
  size_t at = 0;
  const auto take = [&at](size_t front, size_t bytes) {
    const size_t offset = (at + front + kAlign - 1) / kAlign * kAlign;
    at = (offset + bytes + kAlign - 1) / kAlign * kAlign;
    return offset;
  };
  plan.o_part = take(shift, hkv * chunks * (m + rows_pad) * row_bytes);
  plan.q_packed = take(shift, hkv * chunks * m * row_bytes + rows_pad * row_bytes);
  plan.lse_part = take(0, ((chunks - 1) * m + rows_pad) * hkv * chunks * sizeof(float));
  plan.table =
      take(0, (kWorkTableItemArrays * size_t(plan.items) + size_t(plan.ctas) + 1) * sizeof(int32_t));
  if (with_suffixes) {
    const size_t qo_rows = size_t(batch_size) * group * hkv;
    plan.o_suffix = take(0, qo_rows * head_dim * sizeof(float));
    plan.lse_suffix = take(0, qo_rows * sizeof(float));
    plan.suffix_done = take(0, sizeof(int32_t));
  }
  plan.workspace = at;
  return plan;
}

}  // namespace baracuda::flashinfer::prefix
