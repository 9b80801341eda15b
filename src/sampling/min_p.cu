// Min-p sampling (one pass: pivot = max_prob * min_p, then one draw).
// Its own TU because sampling.cuh is heavy: the samplers compile in parallel.
#include "sampling/sampling_kernels.cuh"

namespace baracuda::flashinfer::sampling {
namespace {

// FlashInfer 0.7.2's MinPSamplingFromProbKernel (sampling.cuh), built from the same device
// functions and doing the same passes and draws, with one change that keeps the header's promise
// for a row with no positive entry: valid = 0 and token 0. FlashInfer's pivot max * min_p is then
// 0, every 0 entry passes its `x >= pivot` test, and it draws the row's last 0 entry with
// valid = 1. Keep in step with FlashInfer's kernel when the pinned version changes (its launch
// bounds macro too: FlashInfer applies them only to sm_107 builds, to keep H100 registers).
template <uint32_t BLOCK_THREADS, cub::BlockScanAlgorithm SCAN_ALGORITHM,
          cub::BlockReduceAlgorithm REDUCE_ALGORITHM, uint32_t VEC_SIZE, bool DETERMINISTIC>
__global__ FLASHINFER_SAMPLING_LAUNCH_BOUNDS(BLOCK_THREADS) void min_p_kernel(
    float* probs, float* min_p_arr, int32_t* output, bool* valid, float min_p_val, uint32_t d,
    uint64_t* seed_arr, uint64_t seed_val, uint64_t* offset_arr, uint64_t offset_val) {
  using TempStorage = fis::SamplingTempStorage<BLOCK_THREADS, SCAN_ALGORITHM, REDUCE_ALGORITHM>;
  const uint32_t bx = blockIdx.x, tx = threadIdx.x;
  const uint64_t philox_seed = seed_arr ? seed_arr[0] : seed_val;
  const uint64_t philox_offset = offset_arr ? offset_arr[0] : offset_val;
  curandStatePhilox4_32_10_t state;
  curand_init(philox_seed, bx, philox_offset, &state);
  const uint32_t row_idx = bx;
  const float p = min_p_arr == nullptr ? min_p_val : min_p_arr[row_idx];

  extern __shared__ __align__(alignof(TempStorage)) uint8_t smem_sampling[];
  auto& temp_storage = reinterpret_cast<TempStorage&>(smem_sampling);

  // The row's maximum, clamped below at 0 (FlashInfer's reduction starts from 0 and ignores NaN).
  const float max_val = fis::GetMaxValue<VEC_SIZE, BLOCK_THREADS, REDUCE_ALGORITHM, TempStorage>(
      probs, row_idx, d, temp_storage);
  if (!(max_val >
        0.f)) {  // no positive entry: nothing to draw (max_val is the same in every thread)
    if (tx == 0) {
      output[bx] = 0;
      valid[bx] = false;
    }
    return;
  }
  const float pivot = max_val * p;

  ::flashinfer::vec_t<float, VEC_SIZE> probs_vec;
  float aggregate_gt_pivot = 0;
  float threadlocal_aggregate_gt_pivot = 0;
#pragma unroll 2
  for (uint32_t i = 0; i < ::flashinfer::ceil_div(d, BLOCK_THREADS * VEC_SIZE); ++i) {
    probs_vec.fill(0);
    if ((i * BLOCK_THREADS + tx) * VEC_SIZE < d) {
      probs_vec.cast_load(probs + row_idx * d + (i * BLOCK_THREADS + tx) * VEC_SIZE);
    }
    float probs_gt_pivot[VEC_SIZE];
#pragma unroll
    for (uint32_t j = 0; j < VEC_SIZE; ++j) {
      probs_gt_pivot[j] = (probs_vec[j] >= pivot) ? probs_vec[j] : 0;
      threadlocal_aggregate_gt_pivot += probs_gt_pivot[j];
    }
  }
  aggregate_gt_pivot += cub::BlockReduce<float, BLOCK_THREADS>(temp_storage.block_prim.reduce)
                            .Sum(threadlocal_aggregate_gt_pivot);
  if (tx == 0) temp_storage.block_aggregate.value = aggregate_gt_pivot;
  __syncthreads();

  float aggregate = 0;
  const float q = temp_storage.block_aggregate.value;
  temp_storage.sampled_id = d;
  temp_storage.last_valid_id = -1;
  __syncthreads();
  const float u = curand_uniform(&state) * q;
#pragma unroll 2
  for (uint32_t i = 0; i < ::flashinfer::ceil_div(d, BLOCK_THREADS * VEC_SIZE); ++i) {
    probs_vec.fill(0);
    if ((i * BLOCK_THREADS + tx) * VEC_SIZE < d) {
      probs_vec.cast_load(probs + row_idx * d + (i * BLOCK_THREADS + tx) * VEC_SIZE);
    }
    fis::DeviceSamplingFromProb<VEC_SIZE, BLOCK_THREADS, SCAN_ALGORITHM, REDUCE_ALGORITHM,
                                DETERMINISTIC>(
        i, d, [&](float x) { return x >= pivot; }, u, probs_vec, aggregate, &temp_storage);
    if (aggregate > u) break;
  }
  int sampled_id = temp_storage.sampled_id;
  if (sampled_id == static_cast<int>(d)) {
    // u is within rounding of the kept mass: the last kept entry (FlashInfer's fallback).
    if (temp_storage.last_valid_id == -1) {
      if (tx == 0) {
        output[bx] = 0;
        valid[bx] = false;
      }
      return;
    }
    sampled_id = temp_storage.last_valid_id;
  }
  output[bx] = sampled_id;
  valid[bx] = true;
}

}  // namespace

BFI_DEFINE_FLASHINFER_SAMPLER(
    kFlashInferMinP, float, kProbSmem,
    (min_p_kernel<kFlashInferThreads, fis::SCAN_ALGO, fis::REDUCE_ALGO, VEC, DET>),
    as_mutable(static_cast<const float*>(c.input)), as_mutable(c.p_arr), tokens(c), c.valid, c.p,
    c.vocab, as_mutable(c.rng.seed_ptr), c.rng.seed, c.rng.offset_ptr, c.rng.offset)

}  // namespace baracuda::flashinfer::sampling
