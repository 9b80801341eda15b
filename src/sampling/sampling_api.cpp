// C ABI of the sort-free sampling family: the samplers' table, validation, seed/offset plumbing
// and dispatch to the threshold kernel or FlashInfer's kernels.
#include <baracuda/flashinfer.h>
#include <cuda_runtime_api.h>

#include <cmath>
#include <cstdint>

#include "common/device_context.hpp"
#include "common/status.hpp"
#include "common/stream.hpp"
#include "sampling/sampling_launch.hpp"
#include "sampling/threshold.hpp"

namespace baracuda::flashinfer::sampling {
namespace {

using threshold::Element;
using threshold::Epilogue;
using threshold::KernelChoice;

// rows * vocab elements are addressed with 32-bit arithmetic inside FlashInfer's kernels.
constexpr int64_t kMaxElements = int64_t(1) << 32;

constexpr uint64_t kStepSingle = BARACUDA_FLASHINFER_SAMPLING_OFFSET_STEP_SINGLE;
constexpr uint64_t kStepRejection = BARACUDA_FLASHINFER_SAMPLING_OFFSET_STEP_REJECTION;

// What a sampler is: its input, its thresholds and its kernels.
struct Sampler {
  int32_t code;             // BARACUDA_FLASHINFER_SAMPLER_*: its index in kSamplers
  const char* input_name;   // "probs" / "logits"
  uint32_t element_bytes;   // of the input
  bool writes_valid;        // takes a `valid` output (the probability samplers)
  bool uses_k, uses_p;      // a top-k threshold; a top-p or min-p threshold
  const char* p_name;       // "top_p_val" / "min_p_val"
  const char* p_arr_name;   // "top_p_arr" / "min_p_arr"
  uint64_t offset_step;     // 32-bit draws per row one call may consume
  bool has_threshold_form;  // whether the threshold kernel can run it:
  threshold::Variant form;  //   as this form
  const FlashInferSampler* flashinfer;
};

constexpr threshold::Variant kNoForm{Epilogue::kSample, Element::kF32, {false, false}};
constexpr threshold::Variant probs_form(bool use_k, bool use_p) {
  return {Epilogue::kSample, Element::kF32, {use_k, use_p}};
}
constexpr threshold::Variant logits_form(Element element) {
  return {Epilogue::kSampleLogits, element, {false, false}};
}

// Every sampler, in the order of its public code.
constexpr Sampler kSamplers[] = {
    {BARACUDA_FLASHINFER_SAMPLER_FROM_PROBS, "probs", 4, true, false, false, nullptr, nullptr,
     kStepSingle, false, kNoForm, &kFlashInferFromProbs},
    {BARACUDA_FLASHINFER_SAMPLER_TOP_K, "probs", 4, true, true, false, nullptr, nullptr,
     kStepRejection, true, probs_form(true, false), &kFlashInferTopK},
    {BARACUDA_FLASHINFER_SAMPLER_TOP_P, "probs", 4, true, false, true, "top_p_val", "top_p_arr",
     kStepRejection, true, probs_form(false, true), &kFlashInferTopP},
    {BARACUDA_FLASHINFER_SAMPLER_MIN_P, "probs", 4, true, false, true, "min_p_val", "min_p_arr",
     kStepSingle, false, kNoForm, &kFlashInferMinP},
    {BARACUDA_FLASHINFER_SAMPLER_TOP_K_TOP_P, "probs", 4, true, true, true, "top_p_val",
     "top_p_arr", kStepRejection, true, probs_form(true, true), &kFlashInferTopKTopP},
    {BARACUDA_FLASHINFER_SAMPLER_FROM_LOGITS_F32, "logits", 4, false, false, false, nullptr,
     nullptr, kStepSingle, true, logits_form(Element::kF32), &kFlashInferLogitsF32},
    {BARACUDA_FLASHINFER_SAMPLER_FROM_LOGITS_F16, "logits", 2, false, false, false, nullptr,
     nullptr, kStepSingle, true, logits_form(Element::kF16), &kFlashInferLogitsF16},
    {BARACUDA_FLASHINFER_SAMPLER_FROM_LOGITS_BF16, "logits", 2, false, false, false, nullptr,
     nullptr, kStepSingle, true, logits_form(Element::kBF16), &kFlashInferLogitsBF16},
};
constexpr int32_t kNumSamplers = sizeof(kSamplers) / sizeof(kSamplers[0]);
constexpr bool codes_are_indices() {
  for (int32_t i = 0; i < kNumSamplers; ++i) {
    if (kSamplers[i].code != i) return false;
  }
  return true;
}
static_assert(codes_are_indices(), "kSamplers must follow the BARACUDA_FLASHINFER_SAMPLER_* codes");

const Sampler& sampler(int32_t code) {
  return kSamplers[code];
}

// batch * rows_per_item * vocab <= kMaxElements, without forming a product that can wrap:
// rows_per_item is at most 2^31 (num_speculative_tokens + 1) and batch at most kMaxBatch, so
// rows fits in 64 bits, and rows * vocab > M exactly when rows > floor(M / vocab).
Status check_extents(const char* fn, int32_t batch, int32_t vocab, int64_t rows_per_item = 1) {
  BFI_CHECK(require_positive(fn, "batch", batch));
  BFI_CHECK(require_positive(fn, "vocab", vocab));
  if (batch > kMaxBatch) {
    return fail(kUnsupported, "%s: batch %d exceeds the supported maximum %lld", fn, batch,
                static_cast<long long>(kMaxBatch));
  }
  const int64_t rows = int64_t(batch) * rows_per_item;
  if (rows > kMaxElements / vocab) {
    return fail(kUnsupported,
                "%s: batch * %svocab = %lld * %d elements exceeds the supported maximum 2^32", fn,
                rows_per_item > 1 ? "(num_speculative_tokens + 1) * " : "",
                static_cast<long long>(rows), vocab);
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

// A call's thresholds. A per-row array, when given, replaces the scalar (whose value is then not
// checked); `arrays_required` marks the *_arr symbols, whose arrays must be given.
struct Thresholds {
  int32_t top_k;
  float p;
  const void* top_k_arr;
  const void* p_arr;
  bool arrays_required;
};
Thresholds scalars(int32_t top_k, float p) {
  return Thresholds{top_k, p, nullptr, nullptr, false};
}
Thresholds per_row(const void* top_k_arr, const void* p_arr) {
  return Thresholds{0, 0.f, top_k_arr, p_arr, true};
}
Thresholds scalars_or_per_row(int32_t top_k, const void* top_k_arr, float p, const void* p_arr) {
  return Thresholds{top_k, p, top_k_arr, p_arr, false};
}
// Only the thresholds an operation reads: the others are neither checked nor passed on.
Thresholds used(const Thresholds& t, bool uses_k, bool uses_p) {
  return Thresholds{uses_k ? t.top_k : 0, uses_p ? t.p : 0.f, uses_k ? t.top_k_arr : nullptr,
                    uses_p ? t.p_arr : nullptr, t.arrays_required};
}

// Sizes and the scalar thresholds an array does not replace.
Status check_sizes_and_thresholds(const char* fn, int32_t batch, int32_t vocab, bool uses_k,
                                  bool uses_p, const char* p_name, const Thresholds& t) {
  BFI_CHECK(check_extents(fn, batch, vocab));
  if (uses_k && !t.arrays_required && t.top_k_arr == nullptr) BFI_CHECK(check_top_k(fn, t.top_k));
  if (uses_p && !t.arrays_required && t.p_arr == nullptr) {
    BFI_CHECK(check_probability(fn, p_name, t.p));
  }
  return kSuccess;
}

Status check_rng(const char* fn, const Rng& rng) {
  BFI_CHECK(require_aligned(fn, "seed_ptr", rng.seed_ptr, sizeof(uint64_t)));
  BFI_CHECK(require_aligned(fn, "offset_ptr", rng.offset_ptr, sizeof(uint64_t)));
  return kSuccess;
}

Rng value_rng(uint64_t seed, uint64_t offset) {
  return Rng{seed, offset, nullptr, nullptr};
}
Rng device_rng(uint64_t seed, const void* seed_ptr, uint64_t offset, void* offset_ptr) {
  return Rng{seed, offset, static_cast<const uint64_t*>(seed_ptr),
             static_cast<uint64_t*>(offset_ptr)};
}

// The one description of a validated call, for every kernel of the family.
Call make_call(int32_t batch, int32_t vocab, const Thresholds& t, int32_t deterministic,
               const Rng& rng, const void* input, void* output, void* valid) {
  Call c{};
  c.batch = static_cast<uint32_t>(batch);
  c.vocab = static_cast<uint32_t>(vocab);
  c.deterministic = deterministic != 0;
  c.input = input;
  c.output = output;
  c.valid = static_cast<bool*>(valid);
  c.top_k_arr = static_cast<const int32_t*>(t.top_k_arr);
  c.top_k = t.top_k_arr == nullptr ? static_cast<uint32_t>(t.top_k) : 0u;
  c.p_arr = static_cast<const float*>(t.p_arr);
  c.p = t.p_arr == nullptr ? t.p : 0.f;
  c.rng = rng;
  return c;
}

// After a call that read *rng.offset_ptr: advance it by the call's step (same stream).
Status advance_offset(const Rng& rng, uint64_t step, cudaStream_t stream) {
  if (rng.offset_ptr == nullptr) return kSuccess;
  return cuda_status(launch_advance_offset(rng.offset_ptr, step, stream),
                     "launching the offset advance");
}

// The kernel choice of sampling_run_with's flags.
Status kernel_choice(const char* fn, int32_t flags, KernelChoice* out) {
  switch (flags) {
    case BARACUDA_FLASHINFER_SAMPLING_AUTO:
      *out = KernelChoice::kAuto;
      return kSuccess;
    case BARACUDA_FLASHINFER_SAMPLING_THRESHOLD_KERNEL:
      *out = KernelChoice::kThreshold;
      return kSuccess;
    case BARACUDA_FLASHINFER_SAMPLING_FLASHINFER_KERNEL:
      *out = KernelChoice::kFlashInfer;
      return kSuccess;
    default:
      return fail(kInvalid,
                  "%s: flags %d is not BARACUDA_FLASHINFER_SAMPLING_AUTO, _THRESHOLD_KERNEL or "
                  "_FLASHINFER_KERNEL",
                  fn, flags);
  }
}

Status find_sampler(const char* fn, int32_t code, const Sampler** out) {
  if (code < 0 || code >= kNumSamplers) {
    return fail(kInvalid, "%s: sampler %d is not a BARACUDA_FLASHINFER_SAMPLER_* code (0..%d)", fn,
                code, kNumSamplers - 1);
  }
  *out = &sampler(code);
  return kSuccess;
}

// Everything can_implement answers: sizes, scalar thresholds and a choice the sampler can honour
// (no pointer, no GPU).
Status check_request(const char* fn, const Sampler& s, KernelChoice choice, int32_t batch,
                     int32_t vocab, const Thresholds& t) {
  BFI_CHECK(check_sizes_and_thresholds(fn, batch, vocab, s.uses_k, s.uses_p, s.p_name,
                                       used(t, s.uses_k, s.uses_p)));
  if (choice == KernelChoice::kThreshold && !s.has_threshold_form) {
    return fail(kUnsupported, "%s: sampler %d has no threshold-kernel form", fn, s.code);
  }
  return kSuccess;
}

Status sample(const char* fn, const Sampler& s, KernelChoice choice, int32_t batch, int32_t vocab,
              const Thresholds& thresholds, int32_t deterministic, const Rng& rng,
              const void* input, void* output, void* valid, baracuda_flashinfer_stream_t stream) {
  const Thresholds t = used(thresholds, s.uses_k, s.uses_p);
  BFI_CHECK(check_request(fn, s, choice, batch, vocab, t));
  BFI_CHECK(require_non_null(fn, s.input_name, input));
  BFI_CHECK(require_non_null(fn, "output", output));
  if (t.arrays_required && s.uses_k) BFI_CHECK(require_non_null(fn, "top_k_arr", t.top_k_arr));
  if (t.arrays_required && s.uses_p) BFI_CHECK(require_non_null(fn, s.p_arr_name, t.p_arr));
  const size_t input_alignment =
      size_t(vector_elements(s.element_bytes, uint32_t(vocab))) * s.element_bytes;
  BFI_CHECK(require_aligned(fn, s.input_name, input, input_alignment));
  BFI_CHECK(require_aligned(fn, "output", output, sizeof(int32_t)));
  if (s.uses_k) BFI_CHECK(require_aligned(fn, "top_k_arr", t.top_k_arr, sizeof(int32_t)));
  if (s.uses_p) BFI_CHECK(require_aligned(fn, s.p_arr_name, t.p_arr, sizeof(float)));
  BFI_CHECK(check_rng(fn, rng));

  const cudaStream_t cuda_stream = resolve_stream(stream);
  StreamDevice dev;
  BFI_CHECK(dev.enter(fn, cuda_stream));
  threshold::Route route{};
  BFI_CHECK(threshold::route_sampler(fn, s.has_threshold_form ? &s.form : nullptr, choice,
                                     dev.context->facts(), static_cast<uint32_t>(vocab), &route));
  Call call = make_call(batch, vocab, t, deterministic, rng, input, output, valid);
  // The kernels write valid[row] unconditionally; logits samplers have no `valid` argument.
  if ((s.writes_valid || route.threshold) && call.valid == nullptr) {
    BFI_CHECK(valid_sink(fn, *dev.context, &call.valid));
  }
  if (route.threshold) {
    BFI_CHECK(threshold::enqueue(fn, *dev.context, s.form, call, route.shape, cuda_stream));
  } else {
    // Opts the kernel into its shared memory on this device (first call) and checks it can run.
    int32_t blocks_per_sm = 0;
    BFI_CHECK(dev.context->residency(fn, s.flashinfer->kernel(call.vocab, call.deterministic),
                                     &blocks_per_sm));
    BFI_CHECK(cuda_status(s.flashinfer->launch(call, cuda_stream), "launching the sampler"));
  }
  return advance_offset(rng, s.offset_step, cuda_stream);
}

// can_implement of the C samplers: the automatic kernel choice needs no device.
Status can_sample(const char* fn, int32_t code, int32_t batch, int32_t vocab, const Thresholds& t) {
  return check_request(fn, sampler(code), KernelChoice::kAuto, batch, vocab, t);
}
Status sample_auto(const char* fn, int32_t code, int32_t batch, int32_t vocab, const Thresholds& t,
                   int32_t deterministic, const Rng& rng, const void* input, void* output,
                   void* valid, baracuda_flashinfer_stream_t stream) {
  return sample(fn, sampler(code), KernelChoice::kAuto, batch, vocab, t, deterministic, rng, input,
                output, valid, stream);
}

// sampling_run_with: the sampler and the flags first, then as the sampler's _ex.
Status sample_with(const char* fn, int32_t code, int32_t flags, int32_t batch, int32_t vocab,
                   const Thresholds& t, int32_t deterministic, const Rng& rng, const void* input,
                   void* output, void* valid, baracuda_flashinfer_stream_t stream) {
  const Sampler* s = nullptr;
  KernelChoice choice{};
  BFI_CHECK(find_sampler(fn, code, &s));
  BFI_CHECK(kernel_choice(fn, flags, &choice));
  return sample(fn, *s, choice, batch, vocab, t, deterministic, rng, input, output,
                s->writes_valid ? valid : nullptr, stream);
}

// Its can_implement: a forced threshold kernel also needs the row to fit the current device.
Status can_sample_with(const char* fn, int32_t code, int32_t flags, int32_t batch, int32_t vocab,
                       int32_t top_k, float p) {
  const Sampler* s = nullptr;
  KernelChoice choice{};
  BFI_CHECK(find_sampler(fn, code, &s));
  BFI_CHECK(kernel_choice(fn, flags, &choice));
  BFI_CHECK(check_request(fn, *s, choice, batch, vocab, scalars(top_k, p)));
  if (choice != KernelChoice::kThreshold) return kSuccess;
  DeviceContext* context = nullptr;
  BFI_CHECK(current_device_context(fn, &context));
  threshold::Route route{};
  return threshold::route_sampler(fn, &s->form, choice, context->facts(),
                                  static_cast<uint32_t>(vocab), &route);
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

// 32-bit draws per row: at most S + 2 (S acceptance tests, one draw at the rejected position and
// one for the bonus), rounded up to whole Philox blocks of 4.
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
  const size_t probs_align =
      size_t(vector_elements(sizeof(float), uint32_t(vocab))) * sizeof(float);
  BFI_CHECK(require_aligned(fn, "draft_probs", p.draft_probs, probs_align));
  BFI_CHECK(require_aligned(fn, "draft_token_ids", p.draft_token_ids, sizeof(int32_t)));
  BFI_CHECK(require_aligned(fn, "target_probs", p.target_probs, probs_align));
  BFI_CHECK(require_aligned(fn, "output_token_ids", p.output_token_ids, sizeof(int32_t)));
  BFI_CHECK(require_aligned(fn, "output_accepted_token_num", p.output_accepted_token_num,
                            sizeof(int32_t)));
  BFI_CHECK(require_aligned(fn, "output_emitted_draft_token_num", p.output_emitted_draft_token_num,
                            sizeof(int32_t)));
  BFI_CHECK(check_rng(fn, rng));

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

  const cudaStream_t cuda_stream = resolve_stream(stream);
  StreamDevice dev;
  BFI_CHECK(dev.enter(fn, cuda_stream));
  // Opts the kernel into its shared memory on this device (first call) and checks it can run.
  int32_t blocks_per_sm = 0;
  BFI_CHECK(dev.context->residency(fn, speculative_kernel(call.vocab, call.deterministic),
                                   &blocks_per_sm));
  BFI_CHECK(cuda_status(launch_speculative(call, cuda_stream), "launching speculative sampling"));
  return advance_offset(rng, speculative_offset_step(num_speculative_tokens), cuda_stream);
}

// Top-k / top-p renormalisation of probabilities and top-k masking of logits: the threshold
// kernel with its renorm / mask epilogue (any device where the row fits, see threshold.hpp).
struct RowFilter {
  threshold::Variant form;
  uint32_t element_bytes;
  const char* input_name;
  const char* output_name;
};
constexpr RowFilter renorm_filter(bool use_k, bool use_p) {
  return {{Epilogue::kRenorm, Element::kF32, {use_k, use_p}}, 4, "probs", "renormed_probs"};
}
constexpr RowFilter mask_filter(Element element, uint32_t element_bytes) {
  return {{Epilogue::kMask, element, {true, false}}, element_bytes, "logits", "masked_logits"};
}
constexpr RowFilter kTopKRenorm = renorm_filter(true, false);
constexpr RowFilter kTopPRenorm = renorm_filter(false, true);
constexpr RowFilter kMaskF32 = mask_filter(Element::kF32, 4);
constexpr RowFilter kMaskF16 = mask_filter(Element::kF16, 2);
constexpr RowFilter kMaskBF16 = mask_filter(Element::kBF16, 2);

Status check_row_filter_args(const char* fn, const RowFilter& f, int32_t batch, int32_t vocab,
                             const Thresholds& t) {
  return check_sizes_and_thresholds(fn, batch, vocab, f.form.filter.use_k, f.form.filter.use_p,
                                    "top_p_val", t);
}

// can_implement: the arguments, then whether the current device holds the row.
Status can_row_filter(const char* fn, const RowFilter& f, int32_t batch, int32_t vocab,
                      int32_t top_k, float top_p) {
  const Thresholds t = used(scalars(top_k, top_p), f.form.filter.use_k, f.form.filter.use_p);
  BFI_CHECK(check_row_filter_args(fn, f, batch, vocab, t));
  DeviceContext* context = nullptr;
  BFI_CHECK(current_device_context(fn, &context));
  threshold::Shape shape{};
  return threshold::row_filter_shape(fn, context->facts(), static_cast<uint32_t>(vocab), &shape);
}

// run: the arguments and every pointer (so a bad pointer is status 1 / 2 on any machine), then
// whether the stream's device holds the row.
Status row_filter(const char* fn, const RowFilter& f, int32_t batch, int32_t vocab,
                  const Thresholds& thresholds, const void* input, void* output,
                  baracuda_flashinfer_stream_t stream) {
  const Thresholds t = used(thresholds, f.form.filter.use_k, f.form.filter.use_p);
  BFI_CHECK(check_row_filter_args(fn, f, batch, vocab, t));
  BFI_CHECK(require_non_null(fn, f.input_name, input));
  BFI_CHECK(require_non_null(fn, f.output_name, output));
  BFI_CHECK(require_aligned(fn, f.input_name, input, f.element_bytes));
  BFI_CHECK(require_aligned(fn, f.output_name, output, f.element_bytes));
  BFI_CHECK(require_aligned(fn, "top_k_arr", t.top_k_arr, sizeof(int32_t)));
  BFI_CHECK(require_aligned(fn, "top_p_arr", t.p_arr, sizeof(float)));
  const cudaStream_t cuda_stream = resolve_stream(stream);
  StreamDevice dev;
  BFI_CHECK(dev.enter(fn, cuda_stream));
  threshold::Shape shape{};
  BFI_CHECK(
      threshold::row_filter_shape(fn, dev.context->facts(), static_cast<uint32_t>(vocab), &shape));
  const Call call = make_call(batch, vocab, t, 0, value_rng(0, 0), input, output, nullptr);
  return threshold::enqueue(fn, *dev.context, f.form, call, shape, cuda_stream);
}

}  // namespace
}  // namespace baracuda::flashinfer::sampling

using namespace baracuda::flashinfer;
using namespace baracuda::flashinfer::sampling;

typedef baracuda_flashinfer_stream_t Stream;

extern "C" {

/* ---- sampling from probabilities, no filter ---- */
int32_t baracuda_kernels_flashinfer_sampling_from_probs_f32_run(
    int32_t batch, int32_t vocab, int32_t deterministic, uint64_t seed_val, uint64_t offset_val,
    const void* probs, void* output, void* valid, Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return sample_auto(fn, BARACUDA_FLASHINFER_SAMPLER_FROM_PROBS, batch, vocab, scalars(0, 0.f),
                       deterministic, value_rng(seed_val, offset_val), probs, output, valid,
                       stream);
  });
}
int32_t baracuda_kernels_flashinfer_sampling_from_probs_f32_can_implement(int32_t batch,
                                                                          int32_t vocab) {
  return guarded(__func__, [&](const char* fn) {
    return can_sample(fn, BARACUDA_FLASHINFER_SAMPLER_FROM_PROBS, batch, vocab, scalars(0, 0.f));
  });
}
int32_t baracuda_kernels_flashinfer_sampling_from_probs_f32_ex(
    int32_t batch, int32_t vocab, int32_t deterministic, uint64_t seed_val, const void* seed_ptr,
    uint64_t offset_val, void* offset_ptr, const void* probs, void* output, void* valid,
    Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return sample_auto(fn, BARACUDA_FLASHINFER_SAMPLER_FROM_PROBS, batch, vocab, scalars(0, 0.f),
                       deterministic, device_rng(seed_val, seed_ptr, offset_val, offset_ptr), probs,
                       output, valid, stream);
  });
}

/* ---- top-k ---- */
int32_t baracuda_kernels_flashinfer_top_k_sampling_f32_run(int32_t batch, int32_t vocab,
                                                           int32_t top_k_val, int32_t deterministic,
                                                           uint64_t seed_val, uint64_t offset_val,
                                                           const void* probs, void* output,
                                                           void* valid, Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return sample_auto(fn, BARACUDA_FLASHINFER_SAMPLER_TOP_K, batch, vocab, scalars(top_k_val, 0.f),
                       deterministic, value_rng(seed_val, offset_val), probs, output, valid,
                       stream);
  });
}
int32_t baracuda_kernels_flashinfer_top_k_sampling_f32_can_implement(int32_t batch, int32_t vocab,
                                                                     int32_t top_k_val) {
  return guarded(__func__, [&](const char* fn) {
    return can_sample(fn, BARACUDA_FLASHINFER_SAMPLER_TOP_K, batch, vocab, scalars(top_k_val, 0.f));
  });
}
int32_t baracuda_kernels_flashinfer_top_k_sampling_f32_arr_run(
    int32_t batch, int32_t vocab, const void* top_k_arr, int32_t deterministic, uint64_t seed_val,
    uint64_t offset_val, const void* probs, void* output, void* valid, Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return sample_auto(fn, BARACUDA_FLASHINFER_SAMPLER_TOP_K, batch, vocab,
                       per_row(top_k_arr, nullptr), deterministic, value_rng(seed_val, offset_val),
                       probs, output, valid, stream);
  });
}
int32_t baracuda_kernels_flashinfer_top_k_sampling_f32_arr_can_implement(int32_t batch,
                                                                         int32_t vocab) {
  return guarded(__func__, [&](const char* fn) {
    return can_sample(fn, BARACUDA_FLASHINFER_SAMPLER_TOP_K, batch, vocab,
                      per_row(nullptr, nullptr));
  });
}
int32_t baracuda_kernels_flashinfer_top_k_sampling_f32_ex(
    int32_t batch, int32_t vocab, int32_t top_k_val, const void* top_k_arr, int32_t deterministic,
    uint64_t seed_val, const void* seed_ptr, uint64_t offset_val, void* offset_ptr,
    const void* probs, void* output, void* valid, Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return sample_auto(fn, BARACUDA_FLASHINFER_SAMPLER_TOP_K, batch, vocab,
                       scalars_or_per_row(top_k_val, top_k_arr, 0.f, nullptr), deterministic,
                       device_rng(seed_val, seed_ptr, offset_val, offset_ptr), probs, output, valid,
                       stream);
  });
}

/* ---- top-p ---- */
int32_t baracuda_kernels_flashinfer_top_p_sampling_f32_run(int32_t batch, int32_t vocab,
                                                           float p_val, int32_t deterministic,
                                                           uint64_t seed_val, uint64_t offset_val,
                                                           const void* probs, void* output,
                                                           void* valid, Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return sample_auto(fn, BARACUDA_FLASHINFER_SAMPLER_TOP_P, batch, vocab, scalars(0, p_val),
                       deterministic, value_rng(seed_val, offset_val), probs, output, valid,
                       stream);
  });
}
int32_t baracuda_kernels_flashinfer_top_p_sampling_f32_can_implement(int32_t batch, int32_t vocab,
                                                                     float p_val) {
  return guarded(__func__, [&](const char* fn) {
    return can_sample(fn, BARACUDA_FLASHINFER_SAMPLER_TOP_P, batch, vocab, scalars(0, p_val));
  });
}
int32_t baracuda_kernels_flashinfer_top_p_sampling_f32_arr_run(
    int32_t batch, int32_t vocab, const void* p_arr, int32_t deterministic, uint64_t seed_val,
    uint64_t offset_val, const void* probs, void* output, void* valid, Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return sample_auto(fn, BARACUDA_FLASHINFER_SAMPLER_TOP_P, batch, vocab, per_row(nullptr, p_arr),
                       deterministic, value_rng(seed_val, offset_val), probs, output, valid,
                       stream);
  });
}
int32_t baracuda_kernels_flashinfer_top_p_sampling_f32_arr_can_implement(int32_t batch,
                                                                         int32_t vocab) {
  return guarded(__func__, [&](const char* fn) {
    return can_sample(fn, BARACUDA_FLASHINFER_SAMPLER_TOP_P, batch, vocab,
                      per_row(nullptr, nullptr));
  });
}
int32_t baracuda_kernels_flashinfer_top_p_sampling_f32_ex(int32_t batch, int32_t vocab, float p_val,
                                                          const void* p_arr, int32_t deterministic,
                                                          uint64_t seed_val, const void* seed_ptr,
                                                          uint64_t offset_val, void* offset_ptr,
                                                          const void* probs, void* output,
                                                          void* valid, Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return sample_auto(fn, BARACUDA_FLASHINFER_SAMPLER_TOP_P, batch, vocab,
                       scalars_or_per_row(0, nullptr, p_val, p_arr), deterministic,
                       device_rng(seed_val, seed_ptr, offset_val, offset_ptr), probs, output, valid,
                       stream);
  });
}

/* ---- min-p ---- */
int32_t baracuda_kernels_flashinfer_min_p_sampling_f32_run(int32_t batch, int32_t vocab,
                                                           float p_val, int32_t deterministic,
                                                           uint64_t seed_val, uint64_t offset_val,
                                                           const void* probs, void* output,
                                                           void* valid, Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return sample_auto(fn, BARACUDA_FLASHINFER_SAMPLER_MIN_P, batch, vocab, scalars(0, p_val),
                       deterministic, value_rng(seed_val, offset_val), probs, output, valid,
                       stream);
  });
}
int32_t baracuda_kernels_flashinfer_min_p_sampling_f32_can_implement(int32_t batch, int32_t vocab,
                                                                     float p_val) {
  return guarded(__func__, [&](const char* fn) {
    return can_sample(fn, BARACUDA_FLASHINFER_SAMPLER_MIN_P, batch, vocab, scalars(0, p_val));
  });
}
int32_t baracuda_kernels_flashinfer_min_p_sampling_f32_arr_run(
    int32_t batch, int32_t vocab, const void* p_arr, int32_t deterministic, uint64_t seed_val,
    uint64_t offset_val, const void* probs, void* output, void* valid, Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return sample_auto(fn, BARACUDA_FLASHINFER_SAMPLER_MIN_P, batch, vocab, per_row(nullptr, p_arr),
                       deterministic, value_rng(seed_val, offset_val), probs, output, valid,
                       stream);
  });
}
int32_t baracuda_kernels_flashinfer_min_p_sampling_f32_arr_can_implement(int32_t batch,
                                                                         int32_t vocab) {
  return guarded(__func__, [&](const char* fn) {
    return can_sample(fn, BARACUDA_FLASHINFER_SAMPLER_MIN_P, batch, vocab,
                      per_row(nullptr, nullptr));
  });
}
int32_t baracuda_kernels_flashinfer_min_p_sampling_f32_ex(int32_t batch, int32_t vocab, float p_val,
                                                          const void* p_arr, int32_t deterministic,
                                                          uint64_t seed_val, const void* seed_ptr,
                                                          uint64_t offset_val, void* offset_ptr,
                                                          const void* probs, void* output,
                                                          void* valid, Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return sample_auto(fn, BARACUDA_FLASHINFER_SAMPLER_MIN_P, batch, vocab,
                       scalars_or_per_row(0, nullptr, p_val, p_arr), deterministic,
                       device_rng(seed_val, seed_ptr, offset_val, offset_ptr), probs, output, valid,
                       stream);
  });
}

/* ---- joint top-k + top-p ---- */
int32_t baracuda_kernels_flashinfer_top_k_top_p_sampling_f32_run(
    int32_t batch, int32_t vocab, int32_t top_k_val, float top_p_val, int32_t deterministic,
    uint64_t seed_val, uint64_t offset_val, const void* probs, void* output, void* valid,
    Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return sample_auto(fn, BARACUDA_FLASHINFER_SAMPLER_TOP_K_TOP_P, batch, vocab,
                       scalars(top_k_val, top_p_val), deterministic,
                       value_rng(seed_val, offset_val), probs, output, valid, stream);
  });
}
int32_t baracuda_kernels_flashinfer_top_k_top_p_sampling_f32_can_implement(int32_t batch,
                                                                           int32_t vocab,
                                                                           int32_t top_k_val,
                                                                           float top_p_val) {
  return guarded(__func__, [&](const char* fn) {
    return can_sample(fn, BARACUDA_FLASHINFER_SAMPLER_TOP_K_TOP_P, batch, vocab,
                      scalars(top_k_val, top_p_val));
  });
}
int32_t baracuda_kernels_flashinfer_top_k_top_p_sampling_f32_arr_run(
    int32_t batch, int32_t vocab, const void* top_k_arr, const void* top_p_arr,
    int32_t deterministic, uint64_t seed_val, uint64_t offset_val, const void* probs, void* output,
    void* valid, Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return sample_auto(fn, BARACUDA_FLASHINFER_SAMPLER_TOP_K_TOP_P, batch, vocab,
                       per_row(top_k_arr, top_p_arr), deterministic,
                       value_rng(seed_val, offset_val), probs, output, valid, stream);
  });
}
int32_t baracuda_kernels_flashinfer_top_k_top_p_sampling_f32_arr_can_implement(int32_t batch,
                                                                               int32_t vocab) {
  return guarded(__func__, [&](const char* fn) {
    return can_sample(fn, BARACUDA_FLASHINFER_SAMPLER_TOP_K_TOP_P, batch, vocab,
                      per_row(nullptr, nullptr));
  });
}
int32_t baracuda_kernels_flashinfer_top_k_top_p_sampling_f32_ex(
    int32_t batch, int32_t vocab, int32_t top_k_val, const void* top_k_arr, float top_p_val,
    const void* top_p_arr, int32_t deterministic, uint64_t seed_val, const void* seed_ptr,
    uint64_t offset_val, void* offset_ptr, const void* probs, void* output, void* valid,
    Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return sample_auto(fn, BARACUDA_FLASHINFER_SAMPLER_TOP_K_TOP_P, batch, vocab,
                       scalars_or_per_row(top_k_val, top_k_arr, top_p_val, top_p_arr),
                       deterministic, device_rng(seed_val, seed_ptr, offset_val, offset_ptr), probs,
                       output, valid, stream);
  });
}

/* ---- sampling from logits (Gumbel-max) ---- */
int32_t baracuda_kernels_flashinfer_sampling_from_logits_f32_run(int32_t batch, int32_t vocab,
                                                                 uint64_t seed_val,
                                                                 uint64_t offset_val,
                                                                 const void* logits, void* output,
                                                                 Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return sample_auto(fn, BARACUDA_FLASHINFER_SAMPLER_FROM_LOGITS_F32, batch, vocab,
                       scalars(0, 0.f), 0, value_rng(seed_val, offset_val), logits, output, nullptr,
                       stream);
  });
}
int32_t baracuda_kernels_flashinfer_sampling_from_logits_f32_can_implement(int32_t batch,
                                                                           int32_t vocab) {
  return guarded(__func__, [&](const char* fn) {
    return can_sample(fn, BARACUDA_FLASHINFER_SAMPLER_FROM_LOGITS_F32, batch, vocab,
                      scalars(0, 0.f));
  });
}
int32_t baracuda_kernels_flashinfer_sampling_from_logits_f32_ex(
    int32_t batch, int32_t vocab, uint64_t seed_val, const void* seed_ptr, uint64_t offset_val,
    void* offset_ptr, const void* logits, void* output, Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return sample_auto(fn, BARACUDA_FLASHINFER_SAMPLER_FROM_LOGITS_F32, batch, vocab,
                       scalars(0, 0.f), 0, device_rng(seed_val, seed_ptr, offset_val, offset_ptr),
                       logits, output, nullptr, stream);
  });
}
int32_t baracuda_kernels_flashinfer_sampling_from_logits_f16_run(int32_t batch, int32_t vocab,
                                                                 uint64_t seed_val,
                                                                 uint64_t offset_val,
                                                                 const void* logits, void* output,
                                                                 Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return sample_auto(fn, BARACUDA_FLASHINFER_SAMPLER_FROM_LOGITS_F16, batch, vocab,
                       scalars(0, 0.f), 0, value_rng(seed_val, offset_val), logits, output, nullptr,
                       stream);
  });
}
int32_t baracuda_kernels_flashinfer_sampling_from_logits_f16_can_implement(int32_t batch,
                                                                           int32_t vocab) {
  return guarded(__func__, [&](const char* fn) {
    return can_sample(fn, BARACUDA_FLASHINFER_SAMPLER_FROM_LOGITS_F16, batch, vocab,
                      scalars(0, 0.f));
  });
}
int32_t baracuda_kernels_flashinfer_sampling_from_logits_f16_ex(
    int32_t batch, int32_t vocab, uint64_t seed_val, const void* seed_ptr, uint64_t offset_val,
    void* offset_ptr, const void* logits, void* output, Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return sample_auto(fn, BARACUDA_FLASHINFER_SAMPLER_FROM_LOGITS_F16, batch, vocab,
                       scalars(0, 0.f), 0, device_rng(seed_val, seed_ptr, offset_val, offset_ptr),
                       logits, output, nullptr, stream);
  });
}
int32_t baracuda_kernels_flashinfer_sampling_from_logits_bf16_run(int32_t batch, int32_t vocab,
                                                                  uint64_t seed_val,
                                                                  uint64_t offset_val,
                                                                  const void* logits, void* output,
                                                                  Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return sample_auto(fn, BARACUDA_FLASHINFER_SAMPLER_FROM_LOGITS_BF16, batch, vocab,
                       scalars(0, 0.f), 0, value_rng(seed_val, offset_val), logits, output, nullptr,
                       stream);
  });
}
int32_t baracuda_kernels_flashinfer_sampling_from_logits_bf16_can_implement(int32_t batch,
                                                                            int32_t vocab) {
  return guarded(__func__, [&](const char* fn) {
    return can_sample(fn, BARACUDA_FLASHINFER_SAMPLER_FROM_LOGITS_BF16, batch, vocab,
                      scalars(0, 0.f));
  });
}
int32_t baracuda_kernels_flashinfer_sampling_from_logits_bf16_ex(
    int32_t batch, int32_t vocab, uint64_t seed_val, const void* seed_ptr, uint64_t offset_val,
    void* offset_ptr, const void* logits, void* output, Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return sample_auto(fn, BARACUDA_FLASHINFER_SAMPLER_FROM_LOGITS_BF16, batch, vocab,
                       scalars(0, 0.f), 0, device_rng(seed_val, seed_ptr, offset_val, offset_ptr),
                       logits, output, nullptr, stream);
  });
}

/* ---- any sampler with an explicit kernel choice (experimental) ---- */
int32_t baracuda_kernels_flashinfer_sampling_run_with(
    int32_t sampler, int32_t flags, int32_t batch, int32_t vocab, int32_t top_k_val,
    const void* top_k_arr, float p_val, const void* p_arr, int32_t deterministic, uint64_t seed_val,
    const void* seed_ptr, uint64_t offset_val, void* offset_ptr, const void* input, void* output,
    void* valid, Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return sample_with(fn, sampler, flags, batch, vocab,
                       scalars_or_per_row(top_k_val, top_k_arr, p_val, p_arr), deterministic,
                       device_rng(seed_val, seed_ptr, offset_val, offset_ptr), input, output, valid,
                       stream);
  });
}
int32_t baracuda_kernels_flashinfer_sampling_run_with_can_implement(int32_t sampler, int32_t flags,
                                                                    int32_t batch, int32_t vocab,
                                                                    int32_t top_k_val,
                                                                    float p_val) {
  return guarded(__func__, [&](const char* fn) {
    return can_sample_with(fn, sampler, flags, batch, vocab, top_k_val, p_val);
  });
}

/* ---- chain speculative sampling ---- */
int32_t baracuda_kernels_flashinfer_chain_speculative_sampling_f32_run(
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
int32_t baracuda_kernels_flashinfer_chain_speculative_sampling_f32_can_implement(
    int32_t batch, int32_t num_speculative_tokens, int32_t vocab) {
  return guarded(__func__, [&](const char* fn) {
    return check_speculative(fn, batch, num_speculative_tokens, vocab);
  });
}
int32_t baracuda_kernels_flashinfer_chain_speculative_sampling_f32_ex(
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
int32_t baracuda_kernels_flashinfer_top_k_renorm_probs_f32_run(
    int32_t batch, int32_t vocab, int32_t top_k_val, const void* top_k_arr, const void* probs,
    void* renormed_probs, Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return row_filter(fn, kTopKRenorm, batch, vocab,
                      scalars_or_per_row(top_k_val, top_k_arr, 0.f, nullptr), probs, renormed_probs,
                      stream);
  });
}
int32_t baracuda_kernels_flashinfer_top_k_renorm_probs_f32_can_implement(int32_t batch,
                                                                         int32_t vocab,
                                                                         int32_t top_k_val) {
  return guarded(__func__, [&](const char* fn) {
    return can_row_filter(fn, kTopKRenorm, batch, vocab, top_k_val, 0.f);
  });
}
int32_t baracuda_kernels_flashinfer_top_p_renorm_probs_f32_run(
    int32_t batch, int32_t vocab, float top_p_val, const void* top_p_arr, const void* probs,
    void* renormed_probs, Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return row_filter(fn, kTopPRenorm, batch, vocab,
                      scalars_or_per_row(0, nullptr, top_p_val, top_p_arr), probs, renormed_probs,
                      stream);
  });
}
int32_t baracuda_kernels_flashinfer_top_p_renorm_probs_f32_can_implement(int32_t batch,
                                                                         int32_t vocab,
                                                                         float top_p_val) {
  return guarded(__func__, [&](const char* fn) {
    return can_row_filter(fn, kTopPRenorm, batch, vocab, 0, top_p_val);
  });
}
int32_t baracuda_kernels_flashinfer_top_k_mask_logits_f32_run(int32_t batch, int32_t vocab,
                                                              int32_t top_k_val,
                                                              const void* top_k_arr,
                                                              const void* logits,
                                                              void* masked_logits, Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return row_filter(fn, kMaskF32, batch, vocab,
                      scalars_or_per_row(top_k_val, top_k_arr, 0.f, nullptr), logits, masked_logits,
                      stream);
  });
}
int32_t baracuda_kernels_flashinfer_top_k_mask_logits_f32_can_implement(int32_t batch,
                                                                        int32_t vocab,
                                                                        int32_t top_k_val) {
  return guarded(__func__, [&](const char* fn) {
    return can_row_filter(fn, kMaskF32, batch, vocab, top_k_val, 0.f);
  });
}
int32_t baracuda_kernels_flashinfer_top_k_mask_logits_f16_run(int32_t batch, int32_t vocab,
                                                              int32_t top_k_val,
                                                              const void* top_k_arr,
                                                              const void* logits,
                                                              void* masked_logits, Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return row_filter(fn, kMaskF16, batch, vocab,
                      scalars_or_per_row(top_k_val, top_k_arr, 0.f, nullptr), logits, masked_logits,
                      stream);
  });
}
int32_t baracuda_kernels_flashinfer_top_k_mask_logits_f16_can_implement(int32_t batch,
                                                                        int32_t vocab,
                                                                        int32_t top_k_val) {
  return guarded(__func__, [&](const char* fn) {
    return can_row_filter(fn, kMaskF16, batch, vocab, top_k_val, 0.f);
  });
}
int32_t baracuda_kernels_flashinfer_top_k_mask_logits_bf16_run(int32_t batch, int32_t vocab,
                                                               int32_t top_k_val,
                                                               const void* top_k_arr,
                                                               const void* logits,
                                                               void* masked_logits, Stream stream) {
  return guarded(__func__, [&](const char* fn) {
    return row_filter(fn, kMaskBF16, batch, vocab,
                      scalars_or_per_row(top_k_val, top_k_arr, 0.f, nullptr), logits, masked_logits,
                      stream);
  });
}
int32_t baracuda_kernels_flashinfer_top_k_mask_logits_bf16_can_implement(int32_t batch,
                                                                         int32_t vocab,
                                                                         int32_t top_k_val) {
  return guarded(__func__, [&](const char* fn) {
    return can_row_filter(fn, kMaskBF16, batch, vocab, top_k_val, 0.f);
  });
}

}  // extern "C"
