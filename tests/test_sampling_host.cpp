// Host tests of the sampling family's validation: every argument of every symbol with a bad
// value gives the documented status and a message naming it, before anything is launched (the
// pointers are fake: a launch would fault). can_implement agrees with run over a size sweep.
#include <baracuda/flashinfer.h>
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "host_util.hpp"

using bfi_test::fake;
using bfi_test::gpu_present;
using bfi_test::kNoDeviceStatus;
using bfi_test::offset;

namespace {

// Fake aligned device addresses of the sampling arguments.
void* const kProbs = fake(0x10);
void* const kOutput = fake(0x20);
void* const kKArr = fake(0x30);
void* const kPArr = fake(0x40);
void* const kDraftIds = fake(0x50);
void* const kTarget = fake(0x60);
void* const kAccepted = fake(0x70);
void* const kEmitted = fake(0x80);

// Every argument any sampling symbol takes; defaults are valid (with fake, aligned pointers).
struct Args {
  int32_t batch = 4, vocab = 1000, top_k = 50, spec = 3, det = 1;
  float p = 0.9f;
  uint64_t seed = 1, offset = 0;
  const void* seed_ptr = nullptr;
  void* offset_ptr = nullptr;
  const void* probs = kProbs;
  void* output = kOutput;
  void* valid = nullptr;
  const void* k_arr = kKArr;
  const void* p_arr = kPArr;
  const void* draft_ids = kDraftIds;
  const void* target = kTarget;
  void* accepted = kAccepted;
  void* emitted = kEmitted;
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

// The three forms of a threshold sampler with a probability (top_p, min_p): scalar, per-row
// arrays, graph-safe _ex.
template <auto Run, auto ArrRun, auto Ex, auto Can, auto ArrCan>
void add_p_symbols(std::vector<Symbol>* s, const std::string& family, const char* p_name,
                   const char* p_arr_name) {
  s->push_back({family + "_sampling_f32_run",
                [](const Args& a) {
                  return Run(a.batch, a.vocab, a.p, a.det, a.seed, a.offset, a.probs, a.output,
                             a.valid, nullptr);
                },
                [](const Args& a) { return Can(a.batch, a.vocab, a.p); }, false, true, false, false,
                false, false, p_name, p_arr_name});
  s->push_back({family + "_sampling_f32_arr_run",
                [](const Args& a) {
                  return ArrRun(a.batch, a.vocab, a.p_arr, a.det, a.seed, a.offset, a.probs,
                                a.output, a.valid, nullptr);
                },
                [](const Args& a) { return ArrCan(a.batch, a.vocab); }, false, true, true, false,
                false, false, p_name, p_arr_name});
  s->push_back({family + "_sampling_f32_ex",
                [](const Args& a) {
                  return Ex(a.batch, a.vocab, a.p, nullptr, a.det, a.seed, a.seed_ptr, a.offset,
                            a.offset_ptr, a.probs, a.output, a.valid, nullptr);
                },
                [](const Args& a) { return Can(a.batch, a.vocab, a.p); }, false, true, false, true,
                false, false, p_name, p_arr_name});
}

// sampling_from_logits_<T>: _run and _ex.
template <auto Run, auto Ex, auto Can>
void add_logits_symbols(std::vector<Symbol>* s, const std::string& type) {
  s->push_back({"sampling_from_logits_" + type + "_run",
                [](const Args& a) {
                  return Run(a.batch, a.vocab, a.seed, a.offset, a.probs, a.output, nullptr);
                },
                [](const Args& a) { return Can(a.batch, a.vocab); }, false, false, false, false,
                false, true, nullptr, nullptr});
  s->push_back({"sampling_from_logits_" + type + "_ex",
                [](const Args& a) {
                  return Ex(a.batch, a.vocab, a.seed, a.seed_ptr, a.offset, a.offset_ptr, a.probs,
                            a.output, nullptr);
                },
                [](const Args& a) { return Can(a.batch, a.vocab); }, false, false, false, true,
                false, true, nullptr, nullptr});
}

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
  add_p_symbols<FI(top_p_sampling_f32_run), FI(top_p_sampling_f32_arr_run),
                FI(top_p_sampling_f32_ex), FI(top_p_sampling_f32_can_implement),
                FI(top_p_sampling_f32_arr_can_implement)>(&s, "top_p", "top_p_val", "top_p_arr");
  add_p_symbols<FI(min_p_sampling_f32_run), FI(min_p_sampling_f32_arr_run),
                FI(min_p_sampling_f32_ex), FI(min_p_sampling_f32_can_implement),
                FI(min_p_sampling_f32_arr_can_implement)>(&s, "min_p", "min_p_val", "min_p_arr");
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
  add_logits_symbols<FI(sampling_from_logits_f32_run), FI(sampling_from_logits_f32_ex),
                     FI(sampling_from_logits_f32_can_implement)>(&s, "f32");
  add_logits_symbols<FI(sampling_from_logits_f16_run), FI(sampling_from_logits_f16_ex),
                     FI(sampling_from_logits_f16_can_implement)>(&s, "f16");
  add_logits_symbols<FI(sampling_from_logits_bf16_run), FI(sampling_from_logits_bf16_ex),
                     FI(sampling_from_logits_bf16_can_implement)>(&s, "bf16");
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
    m.push_back({"draft_probs misaligned", [](Args& a) { a.probs = offset(kProbs, 4); }, 1,
                 "draft_probs", false});
    m.push_back({"draft_token_ids misaligned", [](Args& a) { a.draft_ids = offset(kDraftIds, 2); },
                 1, "draft_token_ids", false});
    m.push_back({"target_probs misaligned", [](Args& a) { a.target = offset(kTarget, 8); }, 1,
                 "target_probs", false});
    m.push_back({"output_token_ids misaligned", [](Args& a) { a.output = offset(kOutput, 1); }, 1,
                 "output_token_ids", false});
    m.push_back({"output_accepted_token_num misaligned",
                 [](Args& a) { a.accepted = offset(kAccepted, 2); }, 1, "output_accepted_token_num",
                 false});
    m.push_back({"output_emitted_draft_token_num misaligned",
                 [](Args& a) { a.emitted = offset(kEmitted, 2); }, 1,
                 "output_emitted_draft_token_num", false});
  } else {
    const char* input = s.logits ? "logits" : "probs";
    m.push_back({"input = NULL", [](Args& a) { a.probs = nullptr; }, 2, input, false});
    m.push_back({"input misaligned (vocab % 4 == 0)", [](Args& a) { a.probs = offset(kProbs, 4); },
                 1, input, false});
    m.push_back({"input misaligned (odd vocab)",
                 [](Args& a) {
                   a.vocab = 7;
                   a.probs = offset(kProbs, 1);
                 },
                 1, input, false});
    m.push_back(
        {"output misaligned", [](Args& a) { a.output = offset(kOutput, 2); }, 1, "output", false});
  }
  if (s.k && !s.arrays) {
    m.push_back({"top_k_val = 0", [](Args& a) { a.top_k = 0; }, 2, "top_k_val", true});
    m.push_back({"top_k_val = -3", [](Args& a) { a.top_k = -3; }, 2, "top_k_val", true});
  }
  if (s.k && s.arrays) {
    m.push_back({"top_k_arr = NULL", [](Args& a) { a.k_arr = nullptr; }, 2, "top_k_arr", false});
    m.push_back({"top_k_arr misaligned", [](Args& a) { a.k_arr = offset(kKArr, 2); }, 1,
                 "top_k_arr", false});
  }
  if (s.p && !s.arrays) {
    for (float bad : {0.f, -0.5f, 1.5f, nan, std::numeric_limits<float>::infinity()}) {
      m.push_back({"p out of (0, 1]", [bad](Args& a) { a.p = bad; }, 2, s.p_name, true});
    }
  }
  if (s.p && s.arrays) {
    m.push_back({"p_arr = NULL", [](Args& a) { a.p_arr = nullptr; }, 2, s.p_arr_name, false});
    m.push_back(
        {"p_arr misaligned", [](Args& a) { a.p_arr = offset(kPArr, 2); }, 1, s.p_arr_name, false});
  }
  if (s.ex) {
    m.push_back({"seed_ptr misaligned", [](Args& a) { a.seed_ptr = offset(fake(0x90), 4); }, 1,
                 "seed_ptr", false});
    m.push_back({"offset_ptr misaligned", [](Args& a) { a.offset_ptr = offset(fake(0xA0), 4); }, 1,
                 "offset_ptr", false});
  }
  return m;
}

// A rejected call: the expected status, and a last-error message that names the function (the
// symbol name up to any "(...)" qualifier) and the offending argument.
void check_rejected(const std::string& name, int32_t status, int32_t want_status,
                    const std::string& want_message) {
  const std::string message = baracuda_kernels_flashinfer_last_error();
  EXPECT_EQ(status, want_status) << message;
  EXPECT_NE(message.find(want_message), std::string::npos)
      << "message '" << message << "' does not name '" << want_message << "'";
  const std::string symbol = "baracuda_kernels_flashinfer_" + name.substr(0, name.find('('));
  EXPECT_NE(message.find(symbol), std::string::npos)
      << "message '" << message << "' does not name the function";
}

// A test name from a symbol name ("top_k_sampling_f32_ex(arr)" -> "top_k_sampling_f32_ex_arr_").
std::string test_name(const std::string& symbol) {
  std::string n = symbol;
  for (char& c : n) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return n;
}

// The size and threshold sweep of both families' can_implement-against-run tests: `body` gets
// default arguments of type A with batch, vocab, top_k and p set, and a description.
template <class A, class Body>
void for_each_sweep_point(Body body) {
  const int32_t batches[] = {-1, 0, 1, 3, 1 << 20, (1 << 20) + 1};
  const int32_t vocabs[] = {-1, 0, 1, 7, 1000, 128256, 1 << 22};
  const int32_t ks[] = {-1, 0, 1, 50, 1 << 30};
  const float ps[] = {
      -1.f, 0.f, 1e-6f, 0.5f, 1.f, 1.0001f, std::numeric_limits<float>::quiet_NaN()};
  for (int32_t b : batches)
    for (int32_t v : vocabs)
      for (int32_t k : ks)
        for (float p : ps) {
          A a;
          a.batch = b;
          a.vocab = v;
          a.top_k = k;
          a.p = p;
          body(a, "b=" + std::to_string(b) + " v=" + std::to_string(v) + " k=" + std::to_string(k) +
                      " p=" + std::to_string(p));
        }
}

class SamplingSymbol : public ::testing::TestWithParam<Symbol> {};

TEST_P(SamplingSymbol, every_bad_argument_is_rejected_with_a_message) {
  const Symbol& s = GetParam();
  for (const Mutation& m : mutations(s)) {
    SCOPED_TRACE(m.what);
    Args a;
    m.apply(a);
    check_rejected(s.name, s.run(a), m.status, m.message);
    const int32_t can = s.can(a);
    EXPECT_EQ(can, m.sizes_only ? m.status : 0) << "can_implement";
  }
}

// With valid sizes and fake aligned pointers, run fails only at the CUDA step: without a GPU with
// status 5 and the CUDA message. The misaligned-input form (status 1, after every size and
// threshold check) is exercised on every machine; with a GPU the aligned one would launch on
// fake pointers.
TEST_P(SamplingSymbol, valid_arguments_pass_validation) {
  const Symbol& s = GetParam();
  Args a;
  EXPECT_EQ(s.can(a), 0) << baracuda_kernels_flashinfer_last_error();
  EXPECT_EQ(std::strlen(baracuda_kernels_flashinfer_last_error()), 0u)
      << "a successful call leaves a message";
  if (!gpu_present()) {
    EXPECT_EQ(s.run(a), kNoDeviceStatus) << baracuda_kernels_flashinfer_last_error();
    EXPECT_GT(std::strlen(baracuda_kernels_flashinfer_last_error()), 0u);
  }
  a.probs = offset(kProbs, 1);
  EXPECT_EQ(s.run(a), 1) << baracuda_kernels_flashinfer_last_error();
}

// run with a misaligned input: where can_implement says 0, run must get past every size and
// threshold check and stop at the alignment check (1); elsewhere both give the same status.
TEST_P(SamplingSymbol, can_implement_agrees_with_run_over_a_sweep) {
  const Symbol& s = GetParam();
  for_each_sweep_point<Args>([&](Args a, const std::string& point) {
    a.probs = offset(kProbs, 1);
    const int32_t can = s.can(a);
    EXPECT_EQ(s.run(a), can == 0 ? 1 : can) << point << ": can_implement " << can;
  });
}

INSTANTIATE_TEST_SUITE_P(Symbols, SamplingSymbol, ::testing::ValuesIn(symbols()),
                         [](const auto& i) { return test_name(i.param.name); });

TEST(SamplingAbi, k_at_least_vocab_means_no_truncation_not_an_error) {
  EXPECT_EQ(baracuda_kernels_flashinfer_top_k_sampling_f32_can_implement(4, 7, 7), 0);
  EXPECT_EQ(baracuda_kernels_flashinfer_top_k_sampling_f32_can_implement(4, 7, 100000), 0);
  EXPECT_EQ(baracuda_kernels_flashinfer_top_k_top_p_sampling_f32_can_implement(4, 7, 1 << 30, 1.f),
            0);
  EXPECT_EQ(baracuda_kernels_flashinfer_top_p_sampling_f32_can_implement(4, 7, 1.f), 0);
  EXPECT_EQ(baracuda_kernels_flashinfer_min_p_sampling_f32_can_implement(4, 7, 1.f), 0);
  EXPECT_EQ(baracuda_kernels_flashinfer_min_p_sampling_f32_can_implement(4, 7, 1e-30f), 0);
}

TEST(SamplingAbi, element_limit_holds_where_a_64_bit_product_would_wrap) {
  // batch * (S + 1) * vocab wraps 64 bits in the first two cases, S + 1 wraps 32 bits in the
  // third, and the last is just over 2^32 elements: can_implement and run refuse all (3).
  const int32_t big = std::numeric_limits<int32_t>::max();
  const struct {
    int32_t batch, spec, vocab;
  } over[] = {{4, big, big}, {1 << 20, big, 8192}, {1, big, 3}, {2, 1, (1 << 30) + 1}};
  for (const auto& c : over) {
    SCOPED_TRACE("batch " + std::to_string(c.batch) + " S " + std::to_string(c.spec) + " vocab " +
                 std::to_string(c.vocab));
    Args a;
    a.batch = c.batch;
    a.spec = c.spec;
    a.vocab = c.vocab;
    EXPECT_EQ(FI(chain_speculative_sampling_f32_can_implement)(c.batch, c.spec, c.vocab), 3);
    for (const Symbol& s : symbols()) {
      if (!s.spec) continue;
      SCOPED_TRACE(s.name);
      check_rejected(s.name, s.run(a), 3, "2^32");
    }
  }
  // Exactly 2^32 elements is allowed.
  EXPECT_EQ(FI(chain_speculative_sampling_f32_can_implement)(2, 1, 1 << 30), 0);
  EXPECT_EQ(FI(top_k_sampling_f32_can_implement)(4, 1 << 30, 50), 0);
  EXPECT_EQ(FI(top_k_sampling_f32_can_implement)(4, (1 << 30) + 1, 50), 3);
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

TEST(SamplingAbi, run_with_checks_the_sampler_and_the_flags_first) {
  const int32_t kAuto = BARACUDA_FLASHINFER_SAMPLING_AUTO;
  const int32_t kThreshold = BARACUDA_FLASHINFER_SAMPLING_THRESHOLD_KERNEL;
  Args bad_sizes;  // reported after the codes
  bad_sizes.batch = 0;
  for (int32_t code : {-1, BARACUDA_FLASHINFER_SAMPLER_FROM_LOGITS_BF16 + 1}) {
    SCOPED_TRACE("sampler " + std::to_string(code));
    check_rejected("sampling_run_with", run_with(code, kAuto, bad_sizes), 2, "sampler");
    EXPECT_EQ(can_run_with(code, kAuto, bad_sizes), 2);
  }
  for (int32_t flags : {-1, 3, 4}) {
    SCOPED_TRACE("flags " + std::to_string(flags));
    check_rejected("sampling_run_with",
                   run_with(BARACUDA_FLASHINFER_SAMPLER_TOP_K, flags, bad_sizes), 2, "flags");
    EXPECT_EQ(can_run_with(BARACUDA_FLASHINFER_SAMPLER_TOP_K, flags, bad_sizes), 2);
  }
  // A forced threshold kernel for a sampler without that form: 3 after the sizes and thresholds,
  // before the pointers, and without asking for a device.
  for (int32_t code : {BARACUDA_FLASHINFER_SAMPLER_FROM_PROBS, BARACUDA_FLASHINFER_SAMPLER_MIN_P}) {
    SCOPED_TRACE("sampler " + std::to_string(code));
    Args a;
    a.p = 0.1f;
    a.probs = nullptr;
    check_rejected("sampling_run_with", run_with(code, kThreshold, a), 3, "threshold-kernel form");
    EXPECT_EQ(can_run_with(code, kThreshold, a), 3);
    a.batch = 0;
    EXPECT_EQ(run_with(code, kThreshold, a), 2);
  }
  Args bad_p;
  bad_p.p = 2.f;
  EXPECT_EQ(run_with(BARACUDA_FLASHINFER_SAMPLER_MIN_P, kThreshold, bad_p), 2);
  // Arguments the sampler does not take are neither read nor checked: a bad k, p and misaligned
  // arrays pass, and the call stops at its misaligned input (1).
  for (int32_t code :
       {BARACUDA_FLASHINFER_SAMPLER_FROM_PROBS, BARACUDA_FLASHINFER_SAMPLER_FROM_LOGITS_F16}) {
    SCOPED_TRACE("sampler " + std::to_string(code));
    const int32_t status =
        FI(sampling_run_with)(code, kAuto, 4, 1000, -5, offset(kKArr, 2),
                              std::numeric_limits<float>::quiet_NaN(), offset(kPArr, 1), 1, 1,
                              nullptr, 0, nullptr, offset(kProbs, 1), kOutput, fake(0x90), nullptr);
    check_rejected("sampling_run_with", status, 1,
                   code == BARACUDA_FLASHINFER_SAMPLER_FROM_PROBS ? "probs" : "logits");
    EXPECT_EQ(can_run_with(code, kAuto, Args{}), 0);
  }
}

// ---- top-k / top-p renormalisation and top-k logits masking ----
// run checks sizes, thresholds and pointers before the device; can_implement checks sizes and
// thresholds, then the device (status 5 without a GPU).
struct FilterArgs {
  int32_t batch = 4, vocab = 1000, top_k = 50;
  float p = 0.9f;
  const void* arr = nullptr;
  const void* input = kProbs;
  void* output = kOutput;
};
struct FilterSymbol {
  std::string name;
  std::function<int32_t(const FilterArgs&)> run, can;
  bool uses_p;
  uint32_t element_bytes;
  const char* input_name;
  const char* output_name;
};

// top_k_mask_logits_<T>.
template <auto Run, auto Can>
void add_mask_symbol(std::vector<FilterSymbol>* s, const std::string& type, uint32_t bytes) {
  s->push_back({"top_k_mask_logits_" + type + "_run",
                [](const FilterArgs& a) {
                  return Run(a.batch, a.vocab, a.top_k, a.arr, a.input, a.output, nullptr);
                },
                [](const FilterArgs& a) { return Can(a.batch, a.vocab, a.top_k); }, false, bytes,
                "logits", "masked_logits"});
}

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
  add_mask_symbol<FI(top_k_mask_logits_f32_run), FI(top_k_mask_logits_f32_can_implement)>(&s, "f32",
                                                                                          4);
  add_mask_symbol<FI(top_k_mask_logits_f16_run), FI(top_k_mask_logits_f16_can_implement)>(&s, "f16",
                                                                                          2);
  add_mask_symbol<FI(top_k_mask_logits_bf16_run), FI(top_k_mask_logits_bf16_can_implement)>(
      &s, "bf16", 2);
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
      {"input misaligned", [](FilterArgs& a) { a.input = offset(kProbs, 1); }, 1, s.input_name,
       false},
      {"output misaligned", [](FilterArgs& a) { a.output = offset(kOutput, 1); }, 1, s.output_name,
       false},
      {"threshold array misaligned", [](FilterArgs& a) { a.arr = offset(kKArr, 2); }, 1, arr_name,
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

class RowFilterSymbol : public ::testing::TestWithParam<FilterSymbol> {};

// can_implement of valid arguments asks the device: 0 with a GPU, 5 without.
int32_t filter_device_status() {
  return gpu_present() ? 0 : kNoDeviceStatus;
}

TEST_P(RowFilterSymbol, rejects_every_bad_argument_with_a_message) {
  const FilterSymbol& s = GetParam();
  for (const FilterMutation& m : filter_mutations(s)) {
    SCOPED_TRACE(m.what);
    FilterArgs a;
    m.apply(a);
    check_rejected(s.name, s.run(a), m.status, m.message);
    EXPECT_EQ(s.can(a), m.sizes_only ? m.status : filter_device_status()) << "can_implement";
  }
  // A threshold array replaces the scalar: a bad scalar is then not checked.
  FilterArgs a;
  a.top_k = 0;
  a.p = -1.f;
  a.arr = kKArr;
  a.input = offset(kProbs, 1);
  EXPECT_EQ(s.run(a), 1) << "a per-row array must replace the bad scalar: "
                         << baracuda_kernels_flashinfer_last_error();
}

// can_implement == 0: run gets past every check but the (deliberately) misaligned input (1).
// can_implement != 0: run with aligned fake pointers stops at the same status (before any
// launch: a size, threshold or device limit).
TEST_P(RowFilterSymbol, valid_arguments_and_can_implement_sweep) {
  const FilterSymbol& s = GetParam();
  EXPECT_EQ(s.can(FilterArgs{}), filter_device_status())
      << "can_implement(valid): " << baracuda_kernels_flashinfer_last_error();
  for_each_sweep_point<FilterArgs>([&](FilterArgs a, const std::string& point) {
    const int32_t can = s.can(a);
    if (can == 0) a.input = offset(kProbs, 1);
    EXPECT_EQ(s.run(a), can == 0 ? 1 : can) << point << ": can_implement " << can;
  });
}

INSTANTIATE_TEST_SUITE_P(Symbols, RowFilterSymbol, ::testing::ValuesIn(filter_symbols()),
                         [](const auto& i) { return test_name(i.param.name); });

}  // namespace
