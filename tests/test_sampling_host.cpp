// Host tests of the sampling family's validation: every argument of every symbol with a bad
// value gives the documented status and a message naming it, before anything is launched (the
// pointers are fake: a launch would fault). can_implement agrees with run over a size sweep.
#include <baracuda/flashinfer.h>
#include <cuda_runtime_api.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "harness.hpp"

namespace {

void* fake(uintptr_t address) {
  return reinterpret_cast<void*>(address);
}

// Every argument any sampling symbol takes; defaults are valid (with fake, aligned pointers).
struct Args {
  int32_t batch = 4, vocab = 1000, top_k = 50, spec = 3, det = 1;
  float p = 0.9f;
  uint64_t seed = 1, offset = 0;
  const void* seed_ptr = nullptr;
  void* offset_ptr = nullptr;
  const void* probs = fake(0x10000);
  void* output = fake(0x20000);
  void* valid = nullptr;
  const void* k_arr = fake(0x30000);
  const void* p_arr = fake(0x40000);
  const void* draft_ids = fake(0x50000);
  const void* target = fake(0x60000);
  void* accepted = fake(0x70000);
  void* emitted = fake(0x80000);
};

using Call = std::function<int32_t(const Args&)>;

struct Symbol {
  std::string name;
  Call run, can;  // can: the matching can_implement
  bool k, p, arrays, ex, spec, logits;
  const char* p_name;      // "top_p_val" / "min_p_val"
  const char* p_arr_name;  // "top_p_arr" / "min_p_arr"
};

#define FI(NAME) baracuda_kernels_flashinfer_##NAME

std::vector<Symbol> symbols() {
  std::vector<Symbol> s;
  s.push_back(
      {"sampling_from_probs_f32_run",
       [](const Args& a) {
         return FI(sampling_from_probs_f32_run)(a.batch, a.vocab, a.det, a.seed, a.offset, a.probs,
                                                a.output, a.valid, nullptr);
       },
       [](const Args& a) { return FI(sampling_from_probs_f32_can_implement)(a.batch, a.vocab); },
       false, false, false, false, false, false, nullptr, nullptr});
  s.push_back(
      {"sampling_from_probs_f32_ex",
       [](const Args& a) {
         return FI(sampling_from_probs_f32_ex)(a.batch, a.vocab, a.det, a.seed, a.seed_ptr,
                                               a.offset, a.offset_ptr, a.probs, a.output, a.valid,
                                               nullptr);
       },
       [](const Args& a) { return FI(sampling_from_probs_f32_can_implement)(a.batch, a.vocab); },
       false, false, false, true, false, false, nullptr, nullptr});
  s.push_back({"top_k_sampling_f32_run",
               [](const Args& a) {
                 return FI(top_k_sampling_f32_run)(a.batch, a.vocab, a.top_k, a.det, a.seed,
                                                   a.offset, a.probs, a.output, a.valid, nullptr);
               },
               [](const Args& a) {
                 return FI(top_k_sampling_f32_can_implement)(a.batch, a.vocab, a.top_k);
               },
               true, false, false, false, false, false, nullptr, nullptr});
  s.push_back(
      {"top_k_sampling_f32_arr_run",
       [](const Args& a) {
         return FI(top_k_sampling_f32_arr_run)(a.batch, a.vocab, a.k_arr, a.det, a.seed, a.offset,
                                               a.probs, a.output, a.valid, nullptr);
       },
       [](const Args& a) { return FI(top_k_sampling_f32_arr_can_implement)(a.batch, a.vocab); },
       true, false, true, false, false, false, nullptr, nullptr});
  s.push_back({"top_k_sampling_f32_ex",
               [](const Args& a) {
                 return FI(top_k_sampling_f32_ex)(a.batch, a.vocab, a.top_k, nullptr, a.det, a.seed,
                                                  a.seed_ptr, a.offset, a.offset_ptr, a.probs,
                                                  a.output, a.valid, nullptr);
               },
               [](const Args& a) {
                 return FI(top_k_sampling_f32_can_implement)(a.batch, a.vocab, a.top_k);
               },
               true, false, false, true, false, false, nullptr, nullptr});
  s.push_back(
      {"top_k_sampling_f32_ex(arr)",
       [](const Args& a) {
         return FI(top_k_sampling_f32_ex)(a.batch, a.vocab, -7, a.k_arr, a.det, a.seed, a.seed_ptr,
                                          a.offset, a.offset_ptr, a.probs, a.output, a.valid,
                                          nullptr);
       },
       [](const Args& a) { return FI(top_k_sampling_f32_arr_can_implement)(a.batch, a.vocab); },
       false, false, false, true, false, false, nullptr, nullptr});
#define P_SYMBOLS(NAME, PN, PAN)                                                                   \
  s.push_back(                                                                                     \
      {#NAME "_sampling_f32_run",                                                                  \
       [](const Args& a) {                                                                         \
         return FI(NAME##_sampling_f32_run)(a.batch, a.vocab, a.p, a.det, a.seed, a.offset,        \
                                            a.probs, a.output, a.valid, nullptr);                  \
       },                                                                                          \
       [](const Args& a) { return FI(NAME##_sampling_f32_can_implement)(a.batch, a.vocab, a.p); }, \
       false, true, false, false, false, false, PN, PAN});                                         \
  s.push_back(                                                                                     \
      {#NAME "_sampling_f32_arr_run",                                                              \
       [](const Args& a) {                                                                         \
         return FI(NAME##_sampling_f32_arr_run)(a.batch, a.vocab, a.p_arr, a.det, a.seed,          \
                                                a.offset, a.probs, a.output, a.valid, nullptr);    \
       },                                                                                          \
       [](const Args& a) { return FI(NAME##_sampling_f32_arr_can_implement)(a.batch, a.vocab); },  \
       false, true, true, false, false, false, PN, PAN});                                          \
  s.push_back(                                                                                     \
      {#NAME "_sampling_f32_ex",                                                                   \
       [](const Args& a) {                                                                         \
         return FI(NAME##_sampling_f32_ex)(a.batch, a.vocab, a.p, nullptr, a.det, a.seed,          \
                                           a.seed_ptr, a.offset, a.offset_ptr, a.probs, a.output,  \
                                           a.valid, nullptr);                                      \
       },                                                                                          \
       [](const Args& a) { return FI(NAME##_sampling_f32_can_implement)(a.batch, a.vocab, a.p); }, \
       false, true, false, true, false, false, PN, PAN});
  P_SYMBOLS(top_p, "top_p_val", "top_p_arr")
  P_SYMBOLS(min_p, "min_p_val", "min_p_arr")
  s.push_back({"top_k_top_p_sampling_f32_run",
               [](const Args& a) {
                 return FI(top_k_top_p_sampling_f32_run)(a.batch, a.vocab, a.top_k, a.p, a.det,
                                                         a.seed, a.offset, a.probs, a.output,
                                                         a.valid, nullptr);
               },
               [](const Args& a) {
                 return FI(top_k_top_p_sampling_f32_can_implement)(a.batch, a.vocab, a.top_k, a.p);
               },
               true, true, false, false, false, false, "top_p_val", "top_p_arr"});
  s.push_back({"top_k_top_p_sampling_f32_arr_run",
               [](const Args& a) {
                 return FI(top_k_top_p_sampling_f32_arr_run)(a.batch, a.vocab, a.k_arr, a.p_arr,
                                                             a.det, a.seed, a.offset, a.probs,
                                                             a.output, a.valid, nullptr);
               },
               [](const Args& a) {
                 return FI(top_k_top_p_sampling_f32_arr_can_implement)(a.batch, a.vocab);
               },
               true, true, true, false, false, false, "top_p_val", "top_p_arr"});
  s.push_back({"top_k_top_p_sampling_f32_ex",
               [](const Args& a) {
                 return FI(top_k_top_p_sampling_f32_ex)(
                     a.batch, a.vocab, a.top_k, nullptr, a.p, nullptr, a.det, a.seed, a.seed_ptr,
                     a.offset, a.offset_ptr, a.probs, a.output, a.valid, nullptr);
               },
               [](const Args& a) {
                 return FI(top_k_top_p_sampling_f32_can_implement)(a.batch, a.vocab, a.top_k, a.p);
               },
               true, true, false, true, false, false, "top_p_val", "top_p_arr"});
#define LOGITS_SYMBOLS(T)                                                                       \
  s.push_back({"sampling_from_logits_" #T "_run",                                               \
               [](const Args& a) {                                                              \
                 return FI(sampling_from_logits_##T##_run)(a.batch, a.vocab, a.seed, a.offset,  \
                                                           a.probs, a.output, nullptr);         \
               },                                                                               \
               [](const Args& a) {                                                              \
                 return FI(sampling_from_logits_##T##_can_implement)(a.batch, a.vocab);         \
               },                                                                               \
               false, false, false, false, false, true, nullptr, nullptr});                     \
  s.push_back({"sampling_from_logits_" #T "_ex",                                                \
               [](const Args& a) {                                                              \
                 return FI(sampling_from_logits_##T##_ex)(a.batch, a.vocab, a.seed, a.seed_ptr, \
                                                          a.offset, a.offset_ptr, a.probs,      \
                                                          a.output, nullptr);                   \
               },                                                                               \
               [](const Args& a) {                                                              \
                 return FI(sampling_from_logits_##T##_can_implement)(a.batch, a.vocab);         \
               },                                                                               \
               false, false, false, true, false, true, nullptr, nullptr});
  LOGITS_SYMBOLS(f32)
  LOGITS_SYMBOLS(f16)
  LOGITS_SYMBOLS(bf16)
  s.push_back({"chain_speculative_sampling_f32_run",
               [](const Args& a) {
                 return FI(chain_speculative_sampling_f32_run)(
                     a.batch, a.spec, a.vocab, a.det, a.seed, a.offset, a.probs, a.draft_ids,
                     a.target, a.output, a.accepted, a.emitted, nullptr);
               },
               [](const Args& a) {
                 return FI(chain_speculative_sampling_f32_can_implement)(a.batch, a.spec, a.vocab);
               },
               false, false, false, false, true, false, nullptr, nullptr});
  s.push_back({"chain_speculative_sampling_f32_ex",
               [](const Args& a) {
                 return FI(chain_speculative_sampling_f32_ex)(
                     a.batch, a.spec, a.vocab, a.det, a.seed, a.seed_ptr, a.offset, a.offset_ptr,
                     a.probs, a.draft_ids, a.target, a.output, a.accepted, a.emitted, nullptr);
               },
               [](const Args& a) {
                 return FI(chain_speculative_sampling_f32_can_implement)(a.batch, a.spec, a.vocab);
               },
               false, false, false, true, true, false, nullptr, nullptr});
  // The experimental kernel choice, as top_k_top_p_sampling_f32_ex on FlashInfer's kernel.
  s.push_back({"sampling_run_with",
               [](const Args& a) {
                 return FI(sampling_run_with)(BARACUDA_FLASHINFER_SAMPLER_TOP_K_TOP_P,
                                              BARACUDA_FLASHINFER_SAMPLING_FLASHINFER_KERNEL,
                                              a.batch, a.vocab, a.top_k, nullptr, a.p, nullptr,
                                              a.det, a.seed, a.seed_ptr, a.offset, a.offset_ptr,
                                              a.probs, a.output, a.valid, nullptr);
               },
               [](const Args& a) {
                 return FI(sampling_run_with_can_implement)(
                     BARACUDA_FLASHINFER_SAMPLER_TOP_K_TOP_P,
                     BARACUDA_FLASHINFER_SAMPLING_FLASHINFER_KERNEL, a.batch, a.vocab, a.top_k,
                     a.p);
               },
               true, true, false, true, false, false, "top_p_val", "top_p_arr"});
  return s;
}

// One bad argument for argument set A: what run must answer, and whether can_implement (sizes
// and thresholds only) must answer the same.
template <class A>
struct MutationOf {
  std::string what;
  std::function<void(A&)> apply;
  int32_t status;
  std::string message;  // substring the message must contain
  bool sizes_only;      // can_implement must report it too
};
using Mutation = MutationOf<Args>;

// The size limits every (batch, vocab) symbol shares.
template <class A>
std::vector<MutationOf<A>> size_mutations() {
  return {
      {"batch = 0", [](A& a) { a.batch = 0; }, 2, "batch", true},
      {"batch = -1", [](A& a) { a.batch = -1; }, 2, "batch", true},
      {"vocab = 0", [](A& a) { a.vocab = 0; }, 2, "vocab", true},
      {"vocab = -5", [](A& a) { a.vocab = -5; }, 2, "vocab", true},
      {"batch = 2^20 + 1", [](A& a) { a.batch = (1 << 20) + 1; }, 3, "batch", true},
      {"batch * vocab > 2^32",
       [](A& a) {
         a.batch = 1 << 20;
         a.vocab = 1 << 13;
       },
       3, "2^32", true},
  };
}

std::vector<Mutation> mutations(const Symbol& s) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<Mutation> m = size_mutations<Args>();
  m.push_back({"output = NULL", [](Args& a) { a.output = nullptr; }, 2, "output", false});
  if (s.spec) {
    m.push_back({"num_speculative_tokens = 0", [](Args& a) { a.spec = 0; }, 2,
                 "num_speculative_tokens", true});
    m.push_back({"num_speculative_tokens = -2", [](Args& a) { a.spec = -2; }, 2,
                 "num_speculative_tokens", true});
    m.push_back({"batch * (S+1) * vocab > 2^32",
                 [](Args& a) {
                   a.batch = 1 << 16;
                   a.vocab = 1 << 15;
                 },
                 3, "2^32", true});
    m.push_back(
        {"draft_probs = NULL", [](Args& a) { a.probs = nullptr; }, 2, "draft_probs", false});
    m.push_back({"draft_token_ids = NULL", [](Args& a) { a.draft_ids = nullptr; }, 2,
                 "draft_token_ids", false});
    m.push_back(
        {"target_probs = NULL", [](Args& a) { a.target = nullptr; }, 2, "target_probs", false});
    m.push_back({"output_accepted_token_num = NULL", [](Args& a) { a.accepted = nullptr; }, 2,
                 "output_accepted_token_num", false});
    m.push_back({"output_emitted_draft_token_num = NULL", [](Args& a) { a.emitted = nullptr; }, 2,
                 "output_emitted_draft_token_num", false});
    m.push_back({"draft_probs misaligned", [](Args& a) { a.probs = fake(0x10004); }, 1,
                 "draft_probs", false});
    m.push_back({"draft_token_ids misaligned", [](Args& a) { a.draft_ids = fake(0x50002); }, 1,
                 "draft_token_ids", false});
    m.push_back({"target_probs misaligned", [](Args& a) { a.target = fake(0x60008); }, 1,
                 "target_probs", false});
    m.push_back({"output_token_ids misaligned", [](Args& a) { a.output = fake(0x20001); }, 1,
                 "output_token_ids", false});
    m.push_back({"output_accepted_token_num misaligned",
                 [](Args& a) { a.accepted = fake(0x70002); }, 1, "output_accepted_token_num",
                 false});
    m.push_back({"output_emitted_draft_token_num misaligned",
                 [](Args& a) { a.emitted = fake(0x80002); }, 1, "output_emitted_draft_token_num",
                 false});
  } else {
    const char* input = s.logits ? "logits" : "probs";
    m.push_back({"input = NULL", [](Args& a) { a.probs = nullptr; }, 2, input, false});
    m.push_back({"input misaligned (vocab % 4 == 0)", [](Args& a) { a.probs = fake(0x10004); }, 1,
                 input, false});
    m.push_back({"input misaligned (odd vocab)",
                 [](Args& a) {
                   a.vocab = 7;
                   a.probs = fake(0x10001);
                 },
                 1, input, false});
    m.push_back(
        {"output misaligned", [](Args& a) { a.output = fake(0x20002); }, 1, "output", false});
  }
  if (s.k && !s.arrays) {
    m.push_back({"top_k_val = 0", [](Args& a) { a.top_k = 0; }, 2, "top_k_val", true});
    m.push_back({"top_k_val = -3", [](Args& a) { a.top_k = -3; }, 2, "top_k_val", true});
  }
  if (s.k && s.arrays) {
    m.push_back({"top_k_arr = NULL", [](Args& a) { a.k_arr = nullptr; }, 2, "top_k_arr", false});
    m.push_back(
        {"top_k_arr misaligned", [](Args& a) { a.k_arr = fake(0x30002); }, 1, "top_k_arr", false});
  }
  if (s.p && !s.arrays) {
    for (float bad : {0.f, -0.5f, 1.5f, nan, std::numeric_limits<float>::infinity()}) {
      m.push_back({"p out of (0, 1]", [bad](Args& a) { a.p = bad; }, 2, s.p_name, true});
    }
  }
  if (s.p && s.arrays) {
    m.push_back({"p_arr = NULL", [](Args& a) { a.p_arr = nullptr; }, 2, s.p_arr_name, false});
    m.push_back(
        {"p_arr misaligned", [](Args& a) { a.p_arr = fake(0x40002); }, 1, s.p_arr_name, false});
  }
  if (s.ex) {
    m.push_back(
        {"seed_ptr misaligned", [](Args& a) { a.seed_ptr = fake(0x90004); }, 1, "seed_ptr", false});
    m.push_back({"offset_ptr misaligned", [](Args& a) { a.offset_ptr = fake(0xA0004); }, 1,
                 "offset_ptr", false});
  }
  return m;
}

bool has_gpu() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

// A rejected call: the expected status, and a last-error message that names the function (the
// symbol name up to any "(...)" qualifier) and the offending argument.
void check_rejected(const std::string& name, const std::string& what, int32_t status,
                    int32_t want_status, const std::string& want_message) {
  const std::string message = baracuda_kernels_flashinfer_last_error();
  CHECK_MSG(status == want_status, "%s with %s: status %d, want %d (%s)", name.c_str(),
            what.c_str(), status, want_status, message.c_str());
  CHECK_MSG(message.find(want_message) != std::string::npos,
            "%s with %s: message '%s' does not name '%s'", name.c_str(), what.c_str(),
            message.c_str(), want_message.c_str());
  const std::string symbol = "baracuda_kernels_flashinfer_" + name.substr(0, name.find('('));
  CHECK_MSG(message.find(symbol) != std::string::npos,
            "%s with %s: message '%s' does not name the function", name.c_str(), what.c_str(),
            message.c_str());
}

}  // namespace

TEST(every_bad_argument_is_rejected_with_a_message) {
  for (const Symbol& s : symbols()) {
    for (const Mutation& m : mutations(s)) {
      Args a;
      m.apply(a);
      check_rejected(s.name, m.what, s.run(a), m.status, m.message);
      const int32_t can = s.can(a);
      if (m.sizes_only) {
        CHECK_MSG(can == m.status, "%s can_implement with %s: %d, want %d", s.name.c_str(),
                  m.what.c_str(), can, m.status);
      } else {
        CHECK_MSG(can == 0, "%s can_implement with %s: %d, want 0", s.name.c_str(), m.what.c_str(),
                  can);
      }
    }
  }
}

TEST(valid_arguments_pass_validation) {
  // With valid sizes and fake aligned pointers, run fails only at the CUDA step: without a GPU
  // (status 5 with the CUDA message). With a GPU the fake pointers must not reach a launch, so
  // only the misaligned-input form (status 1, proving every size check passed) is exercised.
  const bool gpu = has_gpu();
  for (const Symbol& s : symbols()) {
    Args a;
    CHECK_MSG(s.can(a) == 0, "%s can_implement(valid) = %d: %s", s.name.c_str(), s.can(a),
              baracuda_kernels_flashinfer_last_error());
    CHECK_MSG(std::strlen(baracuda_kernels_flashinfer_last_error()) == 0,
              "%s: a successful call leaves a message", s.name.c_str());
    if (!gpu) {
      const int32_t status = s.run(a);
      CHECK_MSG(status == 5, "%s run(valid) without GPU: %d (%s)", s.name.c_str(), status,
                baracuda_kernels_flashinfer_last_error());
      CHECK(std::strlen(baracuda_kernels_flashinfer_last_error()) > 0);
    }
    a.probs = fake(0x10001);
    CHECK_MSG(s.run(a) == 1, "%s run(misaligned input) = %d", s.name.c_str(), s.run(a));
  }
}

TEST(k_at_least_vocab_means_no_truncation_not_an_error) {
  CHECK_EQ(baracuda_kernels_flashinfer_top_k_sampling_f32_can_implement(4, 7, 7), 0);
  CHECK_EQ(baracuda_kernels_flashinfer_top_k_sampling_f32_can_implement(4, 7, 100000), 0);
  CHECK_EQ(baracuda_kernels_flashinfer_top_k_top_p_sampling_f32_can_implement(4, 7, 1 << 30, 1.f),
           0);
  CHECK_EQ(baracuda_kernels_flashinfer_top_p_sampling_f32_can_implement(4, 7, 1.f), 0);
  CHECK_EQ(baracuda_kernels_flashinfer_min_p_sampling_f32_can_implement(4, 7, 1.f), 0);
  CHECK_EQ(baracuda_kernels_flashinfer_min_p_sampling_f32_can_implement(4, 7, 1e-30f), 0);
}

TEST(can_implement_agrees_with_run_over_a_sweep) {
  // run with a misaligned input: where can_implement says 0, run must get past every size and
  // threshold check and stop at the alignment check (1); elsewhere both give the same status.
  const int32_t batches[] = {-1, 0, 1, 3, 1 << 20, (1 << 20) + 1};
  const int32_t vocabs[] = {-1, 0, 1, 7, 1000, 128256, 1 << 22};
  const int32_t ks[] = {-1, 0, 1, 50, 1 << 30};
  const float ps[] = {
      -1.f, 0.f, 1e-6f, 0.5f, 1.f, 1.0001f, std::numeric_limits<float>::quiet_NaN()};
  for (const Symbol& s : symbols()) {
    for (int32_t b : batches)
      for (int32_t v : vocabs)
        for (int32_t k : ks)
          for (float p : ps) {
            Args a;
            a.batch = b;
            a.vocab = v;
            a.top_k = k;
            a.p = p;
            a.probs = fake(0x10001);
            const int32_t can = s.can(a);
            const int32_t run = s.run(a);
            CHECK_MSG(can == 0 ? run == 1 : run == can,
                      "%s b=%d v=%d k=%d p=%g: can_implement %d, run %d", s.name.c_str(), b, v, k,
                      static_cast<double>(p), can, run);
          }
  }
}

TEST(element_limit_holds_where_a_64_bit_product_would_wrap) {
  // batch * (S + 1) * vocab is beyond 2^63 here: refused (3) by can_implement and run alike.
  const int32_t big = std::numeric_limits<int32_t>::max();
  const struct {
    int32_t batch, spec, vocab;
  } over[] = {{4, big, big}, {1 << 20, big, 8192}, {1, big, 3}, {2, 1, (1 << 30) + 1}};
  for (const auto& c : over) {
    Args a;
    a.batch = c.batch;
    a.spec = c.spec;
    a.vocab = c.vocab;
    CHECK_MSG(FI(chain_speculative_sampling_f32_can_implement)(c.batch, c.spec, c.vocab) == 3,
              "can_implement(%d, %d, %d) must refuse", c.batch, c.spec, c.vocab);
    for (const Symbol& s : symbols()) {
      if (s.spec) check_rejected(s.name, "batch * (S + 1) * vocab > 2^32", s.run(a), 3, "2^32");
    }
  }
  // Exactly 2^32 elements is allowed.
  CHECK_EQ(FI(chain_speculative_sampling_f32_can_implement)(2, 1, 1 << 30), 0);
  CHECK_EQ(FI(top_k_sampling_f32_can_implement)(4, 1 << 30, 50), 0);
  CHECK_EQ(FI(top_k_sampling_f32_can_implement)(4, (1 << 30) + 1, 50), 3);
}

// sampling_run_with with every other argument valid (fake, aligned pointers; vocab 1000).
int32_t run_with(int32_t sampler, int32_t flags, const Args& a) {
  return FI(sampling_run_with)(sampler, flags, a.batch, a.vocab, a.top_k, nullptr, a.p, nullptr,
                               a.det, a.seed, nullptr, a.offset, nullptr, a.probs, a.output,
                               a.valid, nullptr);
}
int32_t can_run_with(int32_t sampler, int32_t flags, const Args& a) {
  return FI(sampling_run_with_can_implement)(sampler, flags, a.batch, a.vocab, a.top_k, a.p);
}

TEST(run_with_checks_the_sampler_and_the_flags_first) {
  const int32_t kAuto = BARACUDA_FLASHINFER_SAMPLING_AUTO;
  const int32_t kThreshold = BARACUDA_FLASHINFER_SAMPLING_THRESHOLD_KERNEL;
  Args bad_sizes;  // reported after the codes
  bad_sizes.batch = 0;
  for (int32_t code : {-1, BARACUDA_FLASHINFER_SAMPLER_FROM_LOGITS_BF16 + 1}) {
    check_rejected("sampling_run_with", "an unknown sampler", run_with(code, kAuto, bad_sizes), 2,
                   "sampler");
    CHECK_EQ(can_run_with(code, kAuto, bad_sizes), 2);
  }
  for (int32_t flags : {-1, 3, 4}) {
    check_rejected("sampling_run_with", "unknown flags",
                   run_with(BARACUDA_FLASHINFER_SAMPLER_TOP_K, flags, bad_sizes), 2, "flags");
    CHECK_EQ(can_run_with(BARACUDA_FLASHINFER_SAMPLER_TOP_K, flags, bad_sizes), 2);
  }
  // A forced threshold kernel for a sampler without that form: 3 after the sizes and thresholds,
  // before the pointers, and without asking for a device.
  for (int32_t code : {BARACUDA_FLASHINFER_SAMPLER_FROM_PROBS, BARACUDA_FLASHINFER_SAMPLER_MIN_P}) {
    Args a;
    a.p = 0.1f;
    a.probs = nullptr;
    check_rejected("sampling_run_with", "no threshold form", run_with(code, kThreshold, a), 3,
                   "threshold-kernel form");
    CHECK_EQ(can_run_with(code, kThreshold, a), 3);
    a.batch = 0;
    CHECK_EQ(run_with(code, kThreshold, a), 2);
  }
  Args bad_p;
  bad_p.p = 2.f;
  CHECK_EQ(run_with(BARACUDA_FLASHINFER_SAMPLER_MIN_P, kThreshold, bad_p), 2);
  // Arguments the sampler does not take are neither read nor checked: a bad k, p and misaligned
  // arrays pass, and the call stops at its misaligned input (1).
  for (int32_t code :
       {BARACUDA_FLASHINFER_SAMPLER_FROM_PROBS, BARACUDA_FLASHINFER_SAMPLER_FROM_LOGITS_F16}) {
    const int32_t status =
        FI(sampling_run_with)(code, kAuto, 4, 1000, -5, fake(0x30002),
                              std::numeric_limits<float>::quiet_NaN(), fake(0x40001), 1, 1, nullptr,
                              0, nullptr, fake(0x10001), fake(0x20000), fake(0x30001), nullptr);
    check_rejected("sampling_run_with", "ignored arguments", status, 1,
                   code == BARACUDA_FLASHINFER_SAMPLER_FROM_PROBS ? "probs" : "logits");
    CHECK_EQ(can_run_with(code, kAuto, Args{}), 0);
  }
}

// ---- top-k / top-p renormalisation and top-k logits masking ----
// run checks sizes, thresholds and pointers before the device; can_implement checks sizes and
// thresholds, then the device (status 5 without a GPU).
struct FilterArgs {
  int32_t batch = 4, vocab = 1000, top_k = 50;
  float p = 0.9f;
  const void* arr = nullptr;
  const void* input = fake(0x10000);
  void* output = fake(0x20000);
};
struct FilterSymbol {
  std::string name;
  std::function<int32_t(const FilterArgs&)> run, can;
  bool uses_p;
  uint32_t element_bytes;
  const char* input_name;
  const char* output_name;
};

std::vector<FilterSymbol> filter_symbols() {
  std::vector<FilterSymbol> s;
  s.push_back({"top_k_renorm_probs_f32_run",
               [](const FilterArgs& a) {
                 return FI(top_k_renorm_probs_f32_run)(a.batch, a.vocab, a.top_k, a.arr, a.input,
                                                       a.output, nullptr);
               },
               [](const FilterArgs& a) {
                 return FI(top_k_renorm_probs_f32_can_implement)(a.batch, a.vocab, a.top_k);
               },
               false, 4, "probs", "renormed_probs"});
  s.push_back({"top_p_renorm_probs_f32_run",
               [](const FilterArgs& a) {
                 return FI(top_p_renorm_probs_f32_run)(a.batch, a.vocab, a.p, a.arr, a.input,
                                                       a.output, nullptr);
               },
               [](const FilterArgs& a) {
                 return FI(top_p_renorm_probs_f32_can_implement)(a.batch, a.vocab, a.p);
               },
               true, 4, "probs", "renormed_probs"});
#define BFI_MASK_SYMBOL(NAME, BYTES)                                                             \
  s.push_back({"top_k_mask_logits_" #NAME "_run",                                                \
               [](const FilterArgs& a) {                                                         \
                 return FI(top_k_mask_logits_##NAME##_run)(a.batch, a.vocab, a.top_k, a.arr,     \
                                                           a.input, a.output, nullptr);          \
               },                                                                                \
               [](const FilterArgs& a) {                                                         \
                 return FI(top_k_mask_logits_##NAME##_can_implement)(a.batch, a.vocab, a.top_k); \
               },                                                                                \
               false, BYTES, "logits", "masked_logits"});
  BFI_MASK_SYMBOL(f32, 4)
  BFI_MASK_SYMBOL(f16, 2)
  BFI_MASK_SYMBOL(bf16, 2)
#undef BFI_MASK_SYMBOL
  return s;
}

using FilterMutation = MutationOf<FilterArgs>;

std::vector<FilterMutation> filter_mutations(const FilterSymbol& s) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const char* arr_name = s.uses_p ? "top_p_arr" : "top_k_arr";
  std::vector<FilterMutation> m = size_mutations<FilterArgs>();
  const std::vector<FilterMutation> pointers = {
      {"input = NULL", [](FilterArgs& a) { a.input = nullptr; }, 2, s.input_name, false},
      {"output = NULL", [](FilterArgs& a) { a.output = nullptr; }, 2, s.output_name, false},
      {"input misaligned", [](FilterArgs& a) { a.input = fake(0x10001); }, 1, s.input_name, false},
      {"output misaligned", [](FilterArgs& a) { a.output = fake(0x20001); }, 1, s.output_name,
       false},
      {"threshold array misaligned", [](FilterArgs& a) { a.arr = fake(0x30002); }, 1, arr_name,
       false},
  };
  m.insert(m.end(), pointers.begin(), pointers.end());
  if (s.uses_p) {
    for (float bad : {0.f, -0.5f, 1.5f, nan, std::numeric_limits<float>::infinity()}) {
      m.push_back({"top_p_val = " + std::to_string(bad), [bad](FilterArgs& a) { a.p = bad; }, 2,
                   "top_p_val", true});
    }
  } else {
    m.push_back({"top_k_val = 0", [](FilterArgs& a) { a.top_k = 0; }, 2, "top_k_val", true});
    m.push_back({"top_k_val = -3", [](FilterArgs& a) { a.top_k = -3; }, 2, "top_k_val", true});
  }
  return m;
}

TEST(row_filters_reject_every_bad_argument_with_a_message) {
  const int32_t device_ok = has_gpu() ? 0 : 5;  // can_implement of valid arguments
  for (const FilterSymbol& s : filter_symbols()) {
    for (const FilterMutation& m : filter_mutations(s)) {
      FilterArgs a;
      m.apply(a);
      check_rejected(s.name, m.what, s.run(a), m.status, m.message);
      const int32_t can = s.can(a);
      const int32_t want = m.sizes_only ? m.status : device_ok;
      CHECK_MSG(can == want, "%s can_implement with %s: %d, want %d", s.name.c_str(),
                m.what.c_str(), can, want);
    }
    // A threshold array replaces the scalar: a bad scalar is then not checked.
    FilterArgs a;
    a.top_k = 0;
    a.p = -1.f;
    a.arr = fake(0x30000);
    a.input = fake(0x10001);
    CHECK_MSG(s.run(a) == 1, "%s: a per-row array must replace the bad scalar (%s)", s.name.c_str(),
              baracuda_kernels_flashinfer_last_error());
  }
}

TEST(row_filters_valid_arguments_and_can_implement_sweep) {
  // can_implement == 0: run gets past every check but the (deliberately) misaligned input (1).
  // can_implement != 0: run with aligned fake pointers stops at the same status (before any
  // launch: a size, threshold or device limit).
  const bool gpu = has_gpu();
  const int32_t batches[] = {-1, 0, 1, 3, 1 << 20, (1 << 20) + 1};
  const int32_t vocabs[] = {-1, 0, 1, 7, 1000, 128256, 1 << 22};
  const int32_t ks[] = {-1, 0, 1, 50, 1 << 30};
  const float ps[] = {
      -1.f, 0.f, 1e-6f, 0.5f, 1.f, 1.0001f, std::numeric_limits<float>::quiet_NaN()};
  for (const FilterSymbol& s : filter_symbols()) {
    FilterArgs valid;
    const int32_t can_valid = s.can(valid);
    CHECK_MSG(can_valid == (gpu ? 0 : 5), "%s can_implement(valid) = %d: %s", s.name.c_str(),
              can_valid, baracuda_kernels_flashinfer_last_error());
    for (int32_t b : batches)
      for (int32_t v : vocabs)
        for (int32_t k : ks)
          for (float p : ps) {
            FilterArgs a;
            a.batch = b;
            a.vocab = v;
            a.top_k = k;
            a.p = p;
            const int32_t can = s.can(a);
            if (can == 0) {
              a.input = fake(0x10001);
              const int32_t run = s.run(a);
              CHECK_MSG(run == 1, "%s b=%d v=%d k=%d p=%g: can_implement 0, run %d", s.name.c_str(),
                        b, v, k, static_cast<double>(p), run);
            } else {
              const int32_t run = s.run(a);
              CHECK_MSG(run == can, "%s b=%d v=%d k=%d p=%g: can_implement %d, run %d",
                        s.name.c_str(), b, v, k, static_cast<double>(p), can, run);
            }
          }
  }
}

TEST_MAIN()
