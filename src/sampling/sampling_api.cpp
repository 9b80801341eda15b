// C ABI of the sort-free sampling family: validation, seed/offset plumbing, dispatch.
#include <cuda_runtime_api.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "common/kernel_cache.hpp"
#include "common/status.hpp"
#include "common/stream.hpp"
#include "sampling/sampling_launch.hpp"
#include "sampling/threshold.hpp"

namespace baracuda::flashinfer::sampling {
namespace {

// rows * vocab elements are addressed with 32-bit arithmetic inside FlashInfer's kernels.
constexpr int64_t kMaxElements = int64_t(1) << 32;

constexpr uint64_t kStepSingle = BARACUDA_FLASHINFER_SAMPLING_OFFSET_STEP_SINGLE;
constexpr uint64_t kStepRejection = BARACUDA_FLASHINFER_SAMPLING_OFFSET_STEP_REJECTION;

// A sampler's form on the threshold kernel.
struct ThresholdRoute {
  bool enabled;
  threshold::Epilogue epilogue;
  threshold::Element element;
  threshold::Filter filter;
};

// The samplers and the operations each entry point needs.
struct SamplerOps {
  KernelInfo (*kernel)(uint32_t vocab, bool deterministic);
  cudaError_t (*launch)(const SampleCall& call, cudaStream_t stream);
  uint32_t element_bytes;  // of the input (probs or logits)
  bool writes_valid;
  uint64_t offset_step;
  // How the sampler runs on the threshold kernel (sm_90), if it can.
  ThresholdRoute threshold;
};
constexpr ThresholdRoute kNoThreshold{
    false, threshold::Epilogue::kSample, threshold::Element::kF32, {false, false}};
constexpr ThresholdRoute probs_route(bool use_k, bool use_p) {
  return {true, threshold::Epilogue::kSample, threshold::Element::kF32, {use_k, use_p}};
}
constexpr ThresholdRoute logits_route(threshold::Element element) {
  return {true, threshold::Epilogue::kSampleLogits, element, {false, false}};
}
constexpr SamplerOps kFromProbs{from_probs_kernel, launch_from_probs, 4, true,
                                kStepSingle,       kNoThreshold};
constexpr SamplerOps kTopK{top_k_kernel, launch_top_k,   4,
                           true,         kStepRejection, probs_route(true, false)};
constexpr SamplerOps kTopP{top_p_kernel, launch_top_p,   4,
                           true,         kStepRejection, probs_route(false, true)};
constexpr SamplerOps kMinP{min_p_kernel, launch_min_p, 4, true, kStepSingle, kNoThreshold};
constexpr SamplerOps kTopKTopP{top_k_top_p_kernel, launch_top_k_top_p,     4, true,
                               kStepRejection,     probs_route(true, true)};
constexpr SamplerOps kLogitsF32{from_logits_f32_kernel,
                                launch_from_logits_f32,
                                4,
                                false,
                                kStepSingle,
                                logits_route(threshold::Element::kF32)};
constexpr SamplerOps kLogitsF16{from_logits_f16_kernel,
                                launch_from_logits_f16,
                                2,
                                false,
                                kStepSingle,
                                logits_route(threshold::Element::kF16)};
constexpr SamplerOps kLogitsBF16{from_logits_bf16_kernel,
                                 launch_from_logits_bf16,
                                 2,
                                 false,
                                 kStepSingle,
                                 logits_route(threshold::Element::kBF16)};

// BFI_SAMPLING_PATH=flashinfer keeps every sampler on FlashInfer's one-CTA-per-row kernels on
// sm_90 too (tests and benchmarks compare the two paths; not part of the ABI).
bool threshold_path_allowed() {
  const char* v = std::getenv("BFI_SAMPLING_PATH");
  return v == nullptr || std::strcmp(v, "flashinfer") != 0;
}

// FlashInfer loads gcd(16 / element_bytes, vocab) elements at a time: rows start at multiples of
// vocab elements, so the base pointer needs that many elements' alignment.
size_t input_alignment(uint32_t element_bytes, int32_t vocab) {
  uint32_t a = 16 / element_bytes, b = static_cast<uint32_t>(vocab);
  while (b != 0) {
    const uint32_t t = a % b;
    a = b;
    b = t;
  }
  return size_t(a) * element_bytes;
}

Status check_extents(const char* fn, int32_t batch, int32_t vocab, int64_t rows_per_item = 1) {
  BFI_CHECK(require_positive(fn, "batch", batch));
  BFI_CHECK(require_positive(fn, "vocab", vocab));
  if (batch > kMaxBatch) {
    return fail(kUnsupported, "%s: batch %d exceeds the supported maximum %lld", fn, batch,
                static_cast<long long>(kMaxBatch));
  }
  if (int64_t(batch) * rows_per_item * vocab > kMaxElements) {
    return fail(kUnsupported,
                "%s: batch * %svocab = %lld elements exceeds the supported maximum 2^32", fn,
                rows_per_item > 1 ? "(num_speculative_tokens + 1) * " : "",
                static_cast<long long>(int64_t(batch) * rows_per_item * vocab));
  }
  return kSuccess;
}

Status check_top_k(const char* fn, int32_t k) {
  if (k >= 1) return kSuccess;
  return fail(kInvalid, "%s: top_k_val must be >= 1 (got %d); k >= vocab means no truncation", fn,
              k);
}

Status check_probability(const char* fn, const char* name, float p) {
  if (p > 0.f && p <= 1.f) return kSuccess;  // false for NaN
  return fail(kInvalid, "%s: %s must be in (0, 1] (got %g)", fn, name, static_cast<double>(p));
}

Status check_rng(const char* fn, const void* seed_ptr, const void* offset_ptr) {
  BFI_CHECK(require_aligned(fn, "seed_ptr", seed_ptr, sizeof(uint64_t)));
  BFI_CHECK(require_aligned(fn, "offset_ptr", offset_ptr, sizeof(uint64_t)));
  return kSuccess;
}

// One request of a probability / logits sampler. A threshold array, when given, replaces the
// scalar (whose value is then not checked); `arrays_required` marks the legacy *_arr symbols.
struct Request {
  const SamplerOps* ops;
  bool uses_k, uses_p;
  const char* p_name;      // "top_p_val" / "min_p_val"
  const char* p_arr_name;  // "top_p_arr" / "min_p_arr"
  bool arrays_required;
  int32_t batch, vocab, top_k;
  float p;
  const void* top_k_arr;
  const void* p_arr;
};

// Everything can_implement answers: sizes and scalar thresholds, no pointer, no GPU.
Status check_request(const char* fn, const Request& r) {
  BFI_CHECK(check_extents(fn, r.batch, r.vocab));
  if (r.uses_k && !r.arrays_required && r.top_k_arr == nullptr) {
    BFI_CHECK(check_top_k(fn, r.top_k));
  }
  if (r.uses_p && !r.arrays_required && r.p_arr == nullptr) {
    BFI_CHECK(check_probability(fn, r.p_name, r.p));
  }
  return kSuccess;
}

Status sample(const char* fn, const Request& r, int32_t deterministic, const Rng& rng,
              const void* input, void* output, void* valid, baracuda_flashinfer_stream_t stream) {
  BFI_CHECK(check_request(fn, r));
  const char* input_name = r.ops->writes_valid ? "probs" : "logits";
  BFI_CHECK(require_non_null(fn, input_name, input));
  BFI_CHECK(require_non_null(fn, "output", output));
  if (r.arrays_required && r.uses_k) BFI_CHECK(require_non_null(fn, "top_k_arr", r.top_k_arr));
  if (r.arrays_required && r.uses_p) BFI_CHECK(require_non_null(fn, r.p_arr_name, r.p_arr));
  BFI_CHECK(require_aligned(fn, input_name, input, input_alignment(r.ops->element_bytes, r.vocab)));
  BFI_CHECK(require_aligned(fn, "output", output, sizeof(int32_t)));
  BFI_CHECK(require_aligned(fn, "top_k_arr", r.top_k_arr, sizeof(int32_t)));
  BFI_CHECK(require_aligned(fn, r.p_arr_name ? r.p_arr_name : "p_arr", r.p_arr, sizeof(float)));
  BFI_CHECK(check_rng(fn, rng.seed_ptr, rng.offset_ptr));

  SampleCall call{};
  call.batch = static_cast<uint32_t>(r.batch);
  call.vocab = static_cast<uint32_t>(r.vocab);
  call.deterministic = deterministic != 0;
  call.input = input;
  call.output = static_cast<int32_t*>(output);
  call.valid = static_cast<bool*>(valid);
  call.top_k_arr = r.uses_k ? static_cast<const int32_t*>(r.top_k_arr) : nullptr;
  call.top_k = r.uses_k && r.top_k_arr == nullptr ? static_cast<uint32_t>(r.top_k) : 0u;
  call.p_arr = r.uses_p ? static_cast<const float*>(r.p_arr) : nullptr;
  call.p = r.uses_p && r.p_arr == nullptr ? r.p : 0.f;
  call.rng = rng;

  const ThresholdRoute& route = r.ops->threshold;
  threshold::Shape shape{};
  if (route.enabled && threshold_path_allowed()) {
    BFI_CHECK(threshold::plan_shape(fn, call.vocab, &shape));
  }
  const bool on_threshold = shape.feasible && shape.compute_major >= 9;
  // The kernels write valid[row] unconditionally; logits samplers have no `valid` argument.
  if ((r.ops->writes_valid || on_threshold) && call.valid == nullptr) {
    BFI_CHECK(cuda_status(valid_sink(&call.valid), "locating the valid sink"));
  }
  const cudaStream_t cuda_stream = resolve_stream(stream);
  if (on_threshold) {
    threshold::Launch launch{};
    launch.epilogue = route.epilogue;
    launch.element = route.element;
    launch.filter = route.filter;
    launch.batch = call.batch;
    launch.vocab = call.vocab;
    launch.input = call.input;
    launch.tokens = call.output;
    launch.valid = call.valid;
    launch.top_k_arr = call.top_k_arr;
    launch.top_k = call.top_k;
    launch.top_p_arr = call.p_arr;
    launch.top_p = call.p;
    launch.seed_ptr = rng.seed_ptr;
    launch.seed = rng.seed;
    launch.offset_ptr = rng.offset_ptr;
    launch.offset = rng.offset;
    BFI_CHECK(threshold::enqueue(fn, launch, shape, cuda_stream));
  } else {
    KernelResidency residency{};
    BFI_CHECK(kernel_residency(fn, r.ops->kernel(call.vocab, call.deterministic), &residency));
    BFI_CHECK(cuda_status(r.ops->launch(call, cuda_stream), "launching the sampler"));
  }
  if (rng.offset_ptr != nullptr) {
    BFI_CHECK(cuda_status(launch_advance_offset(rng.offset_ptr, r.ops->offset_step, cuda_stream),
                          "launching the offset advance"));
  }
  return kSuccess;
}

Rng value_rng(uint64_t seed, uint64_t offset) {
  return Rng{seed, offset, nullptr, nullptr};
}
Rng device_rng(uint64_t seed, const void* seed_ptr, uint64_t offset, void* offset_ptr) {
  return Rng{seed, offset, static_cast<const uint64_t*>(seed_ptr),
             static_cast<uint64_t*>(offset_ptr)};
}

// Request builders, one per sampler (scalar / per-row / _ex forms share them).
Request from_probs_request(int32_t batch, int32_t vocab) {
  return Request{&kFromProbs, false, false, nullptr, nullptr, false,
                 batch,       vocab, 0,     0.f,     nullptr, nullptr};
}
Request top_k_request(int32_t batch, int32_t vocab, int32_t k, const void* k_arr, bool required) {
  return Request{&kTopK, true,  false, nullptr, nullptr, required,
                 batch,  vocab, k,     0.f,     k_arr,   nullptr};
}
Request top_p_request(int32_t batch, int32_t vocab, float p, const void* p_arr, bool required) {
  return Request{&kTopP, false, true, "top_p_val", "top_p_arr", required,
                 batch,  vocab, 0,    p,           nullptr,     p_arr};
}
Request min_p_request(int32_t batch, int32_t vocab, float p, const void* p_arr, bool required) {
  return Request{&kMinP, false, true, "min_p_val", "min_p_arr", required,
                 batch,  vocab, 0,    p,           nullptr,     p_arr};
}
Request top_k_top_p_request(int32_t batch, int32_t vocab, int32_t k, float p, const void* k_arr,
                            const void* p_arr, bool required) {
  return Request{&kTopKTopP, true,  true, "top_p_val", "top_p_arr", required,
                 batch,      vocab, k,    p,           k_arr,       p_arr};
}
Request logits_request(const SamplerOps* ops, int32_t batch, int32_t vocab) {
  return Request{ops,   false, false, nullptr, nullptr, false,
                 batch, vocab, 0,     0.f,     nullptr, nullptr};
}

// Chain speculative sampling.
Status check_speculative(const char* fn, int32_t batch, int32_t num_speculative_tokens,
                         int32_t vocab) {
  BFI_CHECK(require_positive(fn, "batch", batch));
  BFI_CHECK(require_positive(fn, "num_speculative_tokens", num_speculative_tokens));
  BFI_CHECK(require_positive(fn, "vocab", vocab));
  return check_extents(fn, batch, vocab, int64_t(num_speculative_tokens) + 1);
}

struct SpeculativePointers {
  const void *draft_probs, *draft_token_ids, *target_probs;
  void *output_token_ids, *output_accepted_token_num, *output_emitted_draft_token_num;
};

uint64_t speculative_offset_step(int32_t num_speculative_tokens) {
  return (uint64_t(num_speculative_tokens) + 2 + 3) / 4 * 4;
}

Status speculative(const char* fn, int32_t batch, int32_t num_speculative_tokens, int32_t vocab,
                   int32_t deterministic, const Rng& rng, const SpeculativePointers& p,
                   baracuda_flashinfer_stream_t stream) {
  BFI_CHECK(check_speculative(fn, batch, num_speculative_tokens, vocab));
  BFI_CHECK(require_non_null(fn, "draft_probs", p.draft_probs));
  BFI_CHECK(require_non_null(fn, "draft_token_ids", p.draft_token_ids));
  BFI_CHECK(require_non_null(fn, "target_probs", p.target_probs));
  BFI_CHECK(require_non_null(fn, "output_token_ids", p.output_token_ids));
  BFI_CHECK(require_non_null(fn, "output_accepted_token_num", p.output_accepted_token_num));
  BFI_CHECK(
      require_non_null(fn, "output_emitted_draft_token_num", p.output_emitted_draft_token_num));
  const size_t probs_align = input_alignment(sizeof(float), vocab);
  BFI_CHECK(require_aligned(fn, "draft_probs", p.draft_probs, probs_align));
  BFI_CHECK(require_aligned(fn, "draft_token_ids", p.draft_token_ids, sizeof(int32_t)));
  BFI_CHECK(require_aligned(fn, "target_probs", p.target_probs, probs_align));
  BFI_CHECK(require_aligned(fn, "output_token_ids", p.output_token_ids, sizeof(int32_t)));
  BFI_CHECK(require_aligned(fn, "output_accepted_token_num", p.output_accepted_token_num,
                            sizeof(int32_t)));
  BFI_CHECK(require_aligned(fn, "output_emitted_draft_token_num", p.output_emitted_draft_token_num,
                            sizeof(int32_t)));
  BFI_CHECK(check_rng(fn, rng.seed_ptr, rng.offset_ptr));

  SpeculativeCall call{};
  call.batch = static_cast<uint32_t>(batch);
  call.num_speculative_tokens = static_cast<uint32_t>(num_speculative_tokens);
  call.vocab = static_cast<uint32_t>(vocab);
  call.deterministic = deterministic != 0;
  call.draft_probs = static_cast<const float*>(p.draft_probs);
  call.draft_token_ids = static_cast<const int32_t*>(p.draft_token_ids);
  call.target_probs = static_cast<const float*>(p.target_probs);
  call.output_token_ids = static_cast<int32_t*>(p.output_token_ids);
  call.output_accepted_token_num = static_cast<int32_t*>(p.output_accepted_token_num);
  call.output_emitted_draft_token_num = static_cast<int32_t*>(p.output_emitted_draft_token_num);
  call.rng = rng;

  KernelResidency residency{};
  BFI_CHECK(kernel_residency(fn, speculative_kernel(call.vocab, call.deterministic), &residency));
  const cudaStream_t cuda_stream = resolve_stream(stream);
  BFI_CHECK(cuda_status(launch_speculative(call, cuda_stream), "launching speculative sampling"));
  if (rng.offset_ptr != nullptr) {
    BFI_CHECK(cuda_status(
        launch_advance_offset(rng.offset_ptr, speculative_offset_step(num_speculative_tokens),
                              cuda_stream),
        "launching the offset advance"));
  }
  return kSuccess;
}

// Top-k / top-p renormalisation of probabilities and top-k masking of logits: the threshold
// kernel with its renorm / mask epilogue (any device where the row fits, see threshold.hpp).
struct RowFilter {
  ThresholdRoute route;
  uint32_t element_bytes;
  const char* input_name;
  const char* output_name;
};
constexpr RowFilter renorm_filter(bool use_k, bool use_p) {
  return {{true, threshold::Epilogue::kRenorm, threshold::Element::kF32, {use_k, use_p}},
          4,
          "probs",
          "renormed_probs"};
}
constexpr RowFilter mask_filter(threshold::Element element, uint32_t element_bytes) {
  return {{true, threshold::Epilogue::kMask, element, {true, false}},
          element_bytes,
          "logits",
          "masked_logits"};
}
constexpr RowFilter kTopKRenorm = renorm_filter(true, false);
constexpr RowFilter kTopPRenorm = renorm_filter(false, true);
constexpr RowFilter kMaskF32 = mask_filter(threshold::Element::kF32, 4);
constexpr RowFilter kMaskF16 = mask_filter(threshold::Element::kF16, 2);
constexpr RowFilter kMaskBF16 = mask_filter(threshold::Element::kBF16, 2);

// Sizes and scalar thresholds (unless the per-row array replaces them): no device needed.
Status check_row_filter_args(const char* fn, const RowFilter& f, int32_t batch, int32_t vocab,
                             int32_t top_k, float top_p, const void* k_arr, const void* p_arr) {
  BFI_CHECK(check_extents(fn, batch, vocab));
  if (f.route.filter.use_k && k_arr == nullptr) BFI_CHECK(check_top_k(fn, top_k));
  if (f.route.filter.use_p && p_arr == nullptr)
    BFI_CHECK(check_probability(fn, "top_p_val", top_p));
  return kSuccess;
}

// Whether the current device holds a row of `vocab` entries (threshold.hpp).
Status row_filter_shape(const char* fn, int32_t vocab, threshold::Shape* shape) {
  BFI_CHECK(threshold::plan_shape(fn, static_cast<uint32_t>(vocab), shape));
  if (!shape->feasible) {
    return fail(kUnsupported, "%s: vocab %d exceeds the %u entries per row this device takes (%s)",
                fn, vocab, shape->max_vocab, shape->reason);
  }
  return kSuccess;
}

// can_implement: the arguments, then the device.
Status check_row_filter(const char* fn, const RowFilter& f, int32_t batch, int32_t vocab,
                        int32_t top_k, float top_p) {
  BFI_CHECK(check_row_filter_args(fn, f, batch, vocab, top_k, top_p, nullptr, nullptr));
  threshold::Shape shape{};
  return row_filter_shape(fn, vocab, &shape);
}

// run: the arguments and every pointer (so a bad pointer is status 1 / 2 on any machine), then
// the device.
Status row_filter(const char* fn, const RowFilter& f, int32_t batch, int32_t vocab, int32_t top_k,
                  float top_p, const void* k_arr, const void* p_arr, const void* input,
                  void* output, baracuda_flashinfer_stream_t stream) {
  BFI_CHECK(check_row_filter_args(fn, f, batch, vocab, top_k, top_p, k_arr, p_arr));
  BFI_CHECK(require_non_null(fn, f.input_name, input));
  BFI_CHECK(require_non_null(fn, f.output_name, output));
  BFI_CHECK(require_aligned(fn, f.input_name, input, f.element_bytes));
  BFI_CHECK(require_aligned(fn, f.output_name, output, f.element_bytes));
  BFI_CHECK(require_aligned(fn, "top_k_arr", k_arr, sizeof(int32_t)));
  BFI_CHECK(require_aligned(fn, "top_p_arr", p_arr, sizeof(float)));
  threshold::Shape shape{};
  BFI_CHECK(row_filter_shape(fn, vocab, &shape));
  threshold::Launch launch{};
  launch.epilogue = f.route.epilogue;
  launch.element = f.route.element;
  launch.filter = f.route.filter;
  launch.batch = static_cast<uint32_t>(batch);
  launch.vocab = static_cast<uint32_t>(vocab);
  launch.input = input;
  launch.output = output;
  launch.top_k_arr = f.route.filter.use_k ? static_cast<const int32_t*>(k_arr) : nullptr;
  launch.top_k = f.route.filter.use_k && k_arr == nullptr ? static_cast<uint32_t>(top_k) : 0u;
  launch.top_p_arr = f.route.filter.use_p ? static_cast<const float*>(p_arr) : nullptr;
  launch.top_p = f.route.filter.use_p && p_arr == nullptr ? top_p : 0.f;
  return threshold::enqueue(fn, launch, shape, resolve_stream(stream));
}

}  // namespace
}  // namespace baracuda::flashinfer::sampling

using namespace baracuda::flashinfer;
using namespace baracuda::flashinfer::sampling;

#define BFI_PREFIX(NAME) baracuda_kernels_flashinfer_##NAME
typedef baracuda_flashinfer_stream_t Stream;

extern "C" {

/* ---- sampling from probabilities, no filter ---- */
int32_t BFI_PREFIX(sampling_from_probs_f32_run)(int32_t batch, int32_t vocab, int32_t deterministic,
                                                uint64_t seed_val, uint64_t offset_val,
                                                const void* probs, void* output, void* valid,
                                                Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return sample(fn, from_probs_request(batch, vocab), deterministic,
                  value_rng(seed_val, offset_val), probs, output, valid, stream);
  });
}
int32_t BFI_PREFIX(sampling_from_probs_f32_can_implement)(int32_t batch, int32_t vocab) {
  return guarded(__func__, [&](const char* fn) {
    return check_request(fn, from_probs_request(batch, vocab));
  });
}
int32_t BFI_PREFIX(sampling_from_probs_f32_ex)(int32_t batch, int32_t vocab, int32_t deterministic,
                                               uint64_t seed_val, const void* seed_ptr,
                                               uint64_t offset_val, void* offset_ptr,
                                               const void* probs, void* output, void* valid,
                                               Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return sample(fn, from_probs_request(batch, vocab), deterministic,
                  device_rng(seed_val, seed_ptr, offset_val, offset_ptr), probs, output, valid,
                  stream);
  });
}

/* ---- top-k ---- */
int32_t BFI_PREFIX(top_k_sampling_f32_run)(int32_t batch, int32_t vocab, int32_t top_k_val,
                                           int32_t deterministic, uint64_t seed_val,
                                           uint64_t offset_val, const void* probs, void* output,
                                           void* valid, Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return sample(fn, top_k_request(batch, vocab, top_k_val, nullptr, false), deterministic,
                  value_rng(seed_val, offset_val), probs, output, valid, stream);
  });
}
int32_t BFI_PREFIX(top_k_sampling_f32_can_implement)(int32_t batch, int32_t vocab,
                                                     int32_t top_k_val) {
  return guarded(__func__, [&](const char* fn) {
    return check_request(fn, top_k_request(batch, vocab, top_k_val, nullptr, false));
  });
}
int32_t BFI_PREFIX(top_k_sampling_f32_arr_run)(int32_t batch, int32_t vocab, const void* top_k_arr,
                                               int32_t deterministic, uint64_t seed_val,
                                               uint64_t offset_val, const void* probs, void* output,
                                               void* valid, Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return sample(fn, top_k_request(batch, vocab, 0, top_k_arr, true), deterministic,
                  value_rng(seed_val, offset_val), probs, output, valid, stream);
  });
}
int32_t BFI_PREFIX(top_k_sampling_f32_arr_can_implement)(int32_t batch, int32_t vocab) {
  return guarded(__func__, [&](const char* fn) {
    return check_request(fn, top_k_request(batch, vocab, 0, nullptr, true));
  });
}
int32_t BFI_PREFIX(top_k_sampling_f32_ex)(int32_t batch, int32_t vocab, int32_t top_k_val,
                                          const void* top_k_arr, int32_t deterministic,
                                          uint64_t seed_val, const void* seed_ptr,
                                          uint64_t offset_val, void* offset_ptr, const void* probs,
                                          void* output, void* valid, Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return sample(fn, top_k_request(batch, vocab, top_k_val, top_k_arr, false), deterministic,
                  device_rng(seed_val, seed_ptr, offset_val, offset_ptr), probs, output, valid,
                  stream);
  });
}

/* ---- top-p and min-p (same shape of arguments) ---- */
#define BFI_DEFINE_P_SAMPLER(NAME, REQUEST)                                                       \
  int32_t BFI_PREFIX(NAME##_sampling_f32_run)(                                                    \
      int32_t batch, int32_t vocab, float p_val, int32_t deterministic, uint64_t seed_val,        \
      uint64_t offset_val, const void* probs, void* output, void* valid, Stream stream) {         \
    return guarded(__func__, [&](const char* fn) {                                                \
      return sample(fn, REQUEST(batch, vocab, p_val, nullptr, false), deterministic,              \
                    value_rng(seed_val, offset_val), probs, output, valid, stream);               \
    });                                                                                           \
  }                                                                                               \
  int32_t BFI_PREFIX(NAME##_sampling_f32_can_implement)(int32_t batch, int32_t vocab,             \
                                                        float p_val) {                            \
    return guarded(__func__, [&](const char* fn) {                                                \
      return check_request(fn, REQUEST(batch, vocab, p_val, nullptr, false));                     \
    });                                                                                           \
  }                                                                                               \
  int32_t BFI_PREFIX(NAME##_sampling_f32_arr_run)(                                                \
      int32_t batch, int32_t vocab, const void* p_arr, int32_t deterministic, uint64_t seed_val,  \
      uint64_t offset_val, const void* probs, void* output, void* valid, Stream stream) {         \
    return guarded(__func__, [&](const char* fn) {                                                \
      return sample(fn, REQUEST(batch, vocab, 0.f, p_arr, true), deterministic,                   \
                    value_rng(seed_val, offset_val), probs, output, valid, stream);               \
    });                                                                                           \
  }                                                                                               \
  int32_t BFI_PREFIX(NAME##_sampling_f32_arr_can_implement)(int32_t batch, int32_t vocab) {       \
    return guarded(__func__, [&](const char* fn) {                                                \
      return check_request(fn, REQUEST(batch, vocab, 0.f, nullptr, true));                        \
    });                                                                                           \
  }                                                                                               \
  int32_t BFI_PREFIX(NAME##_sampling_f32_ex)(                                                     \
      int32_t batch, int32_t vocab, float p_val, const void* p_arr, int32_t deterministic,        \
      uint64_t seed_val, const void* seed_ptr, uint64_t offset_val, void* offset_ptr,             \
      const void* probs, void* output, void* valid, Stream stream) {                              \
    return guarded(__func__, [&](const char* fn) {                                                \
      return sample(fn, REQUEST(batch, vocab, p_val, p_arr, false), deterministic,                \
                    device_rng(seed_val, seed_ptr, offset_val, offset_ptr), probs, output, valid, \
                    stream);                                                                      \
    });                                                                                           \
  }

BFI_DEFINE_P_SAMPLER(top_p, top_p_request)
BFI_DEFINE_P_SAMPLER(min_p, min_p_request)

/* ---- joint top-k + top-p ---- */
int32_t BFI_PREFIX(top_k_top_p_sampling_f32_run)(int32_t batch, int32_t vocab, int32_t top_k_val,
                                                 float top_p_val, int32_t deterministic,
                                                 uint64_t seed_val, uint64_t offset_val,
                                                 const void* probs, void* output, void* valid,
                                                 Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return sample(fn,
                  top_k_top_p_request(batch, vocab, top_k_val, top_p_val, nullptr, nullptr, false),
                  deterministic, value_rng(seed_val, offset_val), probs, output, valid, stream);
  });
}
int32_t BFI_PREFIX(top_k_top_p_sampling_f32_can_implement)(int32_t batch, int32_t vocab,
                                                           int32_t top_k_val, float top_p_val) {
  return guarded(__func__, [&](const char* fn) {
    return check_request(
        fn, top_k_top_p_request(batch, vocab, top_k_val, top_p_val, nullptr, nullptr, false));
  });
}
int32_t BFI_PREFIX(top_k_top_p_sampling_f32_arr_run)(int32_t batch, int32_t vocab,
                                                     const void* top_k_arr, const void* top_p_arr,
                                                     int32_t deterministic, uint64_t seed_val,
                                                     uint64_t offset_val, const void* probs,
                                                     void* output, void* valid, Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return sample(fn, top_k_top_p_request(batch, vocab, 0, 0.f, top_k_arr, top_p_arr, true),
                  deterministic, value_rng(seed_val, offset_val), probs, output, valid, stream);
  });
}
int32_t BFI_PREFIX(top_k_top_p_sampling_f32_arr_can_implement)(int32_t batch, int32_t vocab) {
  return guarded(__func__, [&](const char* fn) {
    return check_request(fn, top_k_top_p_request(batch, vocab, 0, 0.f, nullptr, nullptr, true));
  });
}
int32_t BFI_PREFIX(top_k_top_p_sampling_f32_ex)(int32_t batch, int32_t vocab, int32_t top_k_val,
                                                const void* top_k_arr, float top_p_val,
                                                const void* top_p_arr, int32_t deterministic,
                                                uint64_t seed_val, const void* seed_ptr,
                                                uint64_t offset_val, void* offset_ptr,
                                                const void* probs, void* output, void* valid,
                                                Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return sample(
        fn, top_k_top_p_request(batch, vocab, top_k_val, top_p_val, top_k_arr, top_p_arr, false),
        deterministic, device_rng(seed_val, seed_ptr, offset_val, offset_ptr), probs, output, valid,
        stream);
  });
}

/* ---- sampling from logits (Gumbel-max) ---- */
#define BFI_DEFINE_FROM_LOGITS_ABI(NAME, OPS)                                                     \
  int32_t BFI_PREFIX(sampling_from_logits_##NAME##_run)(                                          \
      int32_t batch, int32_t vocab, uint64_t seed_val, uint64_t offset_val, const void* logits,   \
      void* output, Stream stream) {                                                              \
    return guarded(__func__, [&](const char* fn) {                                                \
      return sample(fn, logits_request(&OPS, batch, vocab), 0, value_rng(seed_val, offset_val),   \
                    logits, output, nullptr, stream);                                             \
    });                                                                                           \
  }                                                                                               \
  int32_t BFI_PREFIX(sampling_from_logits_##NAME##_can_implement)(int32_t batch, int32_t vocab) { \
    return guarded(__func__, [&](const char* fn) {                                                \
      return check_request(fn, logits_request(&OPS, batch, vocab));                               \
    });                                                                                           \
  }                                                                                               \
  int32_t BFI_PREFIX(sampling_from_logits_##NAME##_ex)(                                           \
      int32_t batch, int32_t vocab, uint64_t seed_val, const void* seed_ptr, uint64_t offset_val, \
      void* offset_ptr, const void* logits, void* output, Stream stream) {                        \
    return guarded(__func__, [&](const char* fn) {                                                \
      return sample(fn, logits_request(&OPS, batch, vocab), 0,                                    \
                    device_rng(seed_val, seed_ptr, offset_val, offset_ptr), logits, output,       \
                    nullptr, stream);                                                             \
    });                                                                                           \
  }

BFI_DEFINE_FROM_LOGITS_ABI(f32, kLogitsF32)
BFI_DEFINE_FROM_LOGITS_ABI(f16, kLogitsF16)
BFI_DEFINE_FROM_LOGITS_ABI(bf16, kLogitsBF16)

/* ---- chain speculative sampling ---- */
int32_t BFI_PREFIX(chain_speculative_sampling_f32_run)(
    int32_t batch, int32_t num_speculative_tokens, int32_t vocab, int32_t deterministic,
    uint64_t seed_val, uint64_t offset_val, const void* draft_probs, const void* draft_token_ids,
    const void* target_probs, void* output_token_ids, void* output_accepted_token_num,
    void* output_emitted_draft_token_num, Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return speculative(fn, batch, num_speculative_tokens, vocab, deterministic,
                       value_rng(seed_val, offset_val),
                       {draft_probs, draft_token_ids, target_probs, output_token_ids,
                        output_accepted_token_num, output_emitted_draft_token_num},
                       stream);
  });
}
int32_t BFI_PREFIX(chain_speculative_sampling_f32_can_implement)(int32_t batch,
                                                                 int32_t num_speculative_tokens,
                                                                 int32_t vocab) {
  return guarded(__func__, [&](const char* fn) {
    return check_speculative(fn, batch, num_speculative_tokens, vocab);
  });
}
int32_t BFI_PREFIX(chain_speculative_sampling_f32_ex)(
    int32_t batch, int32_t num_speculative_tokens, int32_t vocab, int32_t deterministic,
    uint64_t seed_val, const void* seed_ptr, uint64_t offset_val, void* offset_ptr,
    const void* draft_probs, const void* draft_token_ids, const void* target_probs,
    void* output_token_ids, void* output_accepted_token_num, void* output_emitted_draft_token_num,
    Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return speculative(fn, batch, num_speculative_tokens, vocab, deterministic,
                       device_rng(seed_val, seed_ptr, offset_val, offset_ptr),
                       {draft_probs, draft_token_ids, target_probs, output_token_ids,
                        output_accepted_token_num, output_emitted_draft_token_num},
                       stream);
  });
}

/* ---- top-k / top-p renormalisation, top-k logits mask ---- */
int32_t BFI_PREFIX(top_k_renorm_probs_f32_run)(int32_t batch, int32_t vocab, int32_t top_k_val,
                                               const void* top_k_arr, const void* probs,
                                               void* renormed_probs, Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return row_filter(fn, kTopKRenorm, batch, vocab, top_k_val, 0.f, top_k_arr, nullptr, probs,
                      renormed_probs, stream);
  });
}
int32_t BFI_PREFIX(top_k_renorm_probs_f32_can_implement)(int32_t batch, int32_t vocab,
                                                         int32_t top_k_val) {
  return guarded(__func__, [&](const char* fn) {
    return check_row_filter(fn, kTopKRenorm, batch, vocab, top_k_val, 0.f);
  });
}
int32_t BFI_PREFIX(top_p_renorm_probs_f32_run)(int32_t batch, int32_t vocab, float top_p_val,
                                               const void* top_p_arr, const void* probs,
                                               void* renormed_probs, Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return row_filter(fn, kTopPRenorm, batch, vocab, 0, top_p_val, nullptr, top_p_arr, probs,
                      renormed_probs, stream);
  });
}
int32_t BFI_PREFIX(top_p_renorm_probs_f32_can_implement)(int32_t batch, int32_t vocab,
                                                         float top_p_val) {
  return guarded(__func__, [&](const char* fn) {
    return check_row_filter(fn, kTopPRenorm, batch, vocab, 0, top_p_val);
  });
}
#define BFI_DEFINE_MASK_LOGITS(NAME, FILTER)                                                      \
  int32_t BFI_PREFIX(top_k_mask_logits_##NAME##_run)(                                             \
      int32_t batch, int32_t vocab, int32_t top_k_val, const void* top_k_arr, const void* logits, \
      void* masked_logits, Stream stream) {                                                       \
    return guarded(__func__, [&](const char* fn) {                                                \
      return row_filter(fn, FILTER, batch, vocab, top_k_val, 0.f, top_k_arr, nullptr, logits,     \
                        masked_logits, stream);                                                   \
    });                                                                                           \
  }                                                                                               \
  int32_t BFI_PREFIX(top_k_mask_logits_##NAME##_can_implement)(int32_t batch, int32_t vocab,      \
                                                               int32_t top_k_val) {               \
    return guarded(__func__, [&](const char* fn) {                                                \
      return check_row_filter(fn, FILTER, batch, vocab, top_k_val, 0.f);                          \
    });                                                                                           \
  }

BFI_DEFINE_MASK_LOGITS(f32, kMaskF32)
BFI_DEFINE_MASK_LOGITS(f16, kMaskF16)
BFI_DEFINE_MASK_LOGITS(bf16, kMaskBF16)

}  // extern "C"
