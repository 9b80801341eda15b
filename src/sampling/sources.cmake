# Sort-free sampling family (issue 4). One CUDA TU per sampler so the heavy sampling.cuh builds
# in parallel; the C ABI is host C++. No -use_fast_math anywhere: the samplers' pivots and
# cumulative sums need IEEE float behaviour (FlashInfer #769/#774).
list(APPEND BFI_SOURCES
  src/sampling/sampling_api.cpp
  src/sampling/sampling_common.cu
  src/sampling/from_probs.cu
  src/sampling/top_k.cu
  src/sampling/top_p.cu
  src/sampling/min_p.cu
  src/sampling/top_k_top_p.cu
  src/sampling/from_logits_f32.cu
  src/sampling/from_logits_f16.cu
  src/sampling/from_logits_bf16.cu
  src/sampling/speculative.cu)
