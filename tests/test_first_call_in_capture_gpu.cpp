// The first run of a family in a process made inside a stream capture (no warm-up run before
// it: whatever the library sets up on a first call must be legal while capturing), then the
// graph replayed: its result equals an eager run of the same call made afterwards and, for
// attention, the float64 reference. Each case runs in a process of its own (a GoogleTest death
// test in "threadsafe" style re-executes this binary), so the call is the process's first
// whichever way the tests are run. Only the sizing queries a caller needs before capturing
// (get_workspace_size) come before the capture.
#include <baracuda/flashinfer.h>

#include <cstdio>
#include <cstdlib>

#include "build_config.hpp"
#include "forced_paths.hpp"
#include "paged_problem.hpp"

using namespace bfi_test;

namespace {

class FirstCallInCapture : public GpuTest {
 protected:
  void SetUp() override {
    GpuTest::SetUp();
    GTEST_FLAG_SET(death_test_style, "threadsafe");
  }
};

// Runs `body` in a fresh process; that process exits 0 when none of its checks failed (they
// print their messages there). One per test: the re-executed binary finds it by its place.
template <class Body>
void expect_in_fresh_process(Body body) {
  EXPECT_EXIT(
      {
        body();
        std::fflush(stdout);
        std::_Exit(::testing::Test::HasFailure() ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "")
      << "the first call inside a capture failed (its checks are printed above)";
}

// Captures call(stream, false) (its family's first run in this process), replays it, then runs
// call(stream, true) eagerly; returns whether both went through.
template <class Call>
bool capture_replay_and_run_eagerly(Call call) {
  Stream stream;
  Graph graph;
  const int32_t st = capture(stream, &graph, [&] { return call(stream.s, /*eager=*/false); });
  EXPECT_EQ(st, 0) << "first call inside the capture: " << baracuda_kernels_flashinfer_last_error();
  if (st != 0) return false;
  graph.launch(stream);
  CUDA_OK(cudaStreamSynchronize(stream));
  const int32_t eager = call(stream.s, /*eager=*/true);
  EXPECT_EQ(eager, 0) << "eager run: " << baracuda_kernels_flashinfer_last_error();
  CUDA_OK(cudaStreamSynchronize(stream));
  return eager == 0;
}

// Paged decode: the replay's o and lse equal the reference and the eager run's, bit for bit.
void first_decode_in_capture(const Shape& s) {
  PagedProblem p = make_problem(s);
  poison_stale_slots(p);
  const float sm_scale = 1.f / std::sqrt(float(s.head_dim));
  size_t ws_bytes = 0;
  ASSERT_EQ(baracuda_kernels_flashinfer_paged_decode_get_workspace_size(
                s.batch, s.hq, s.hkv, s.head_dim, s.page, s.element, &ws_bytes),
            0);
  DeviceBuffer ws(ws_bytes), eager_ws(ws_bytes);
  Outputs out, eager;
  out.allocate(s);
  eager.allocate(s);
  out.poison_all();
  eager.poison_all();
  poison(ws);
  const bool ran = capture_replay_and_run_eagerly([&](cudaStream_t st, bool is_eager) {
    Outputs& o = is_eager ? eager : out;
    return kDecodeSymbols[s.element].run(
        s.batch, s.page, s.head_dim, s.hq, s.hkv, sm_scale, p.d_k.ptr, p.d_v.ptr,
        p.table.d_indices.ptr, p.table.d_indptr.ptr, p.table.d_lpl.ptr, p.d_q.ptr, o.o.ptr,
        o.lse.ptr, is_eager ? eager_ws.ptr : ws.ptr, ws_bytes, abi_stream(st));
  });
  if (!ran) return;
  EXPECT_TRUE(outputs_match(s, out, reference(p, sm_scale)));
  EXPECT_EQ(to_host<uint8_t>(out.o, out.o.bytes), to_host<uint8_t>(eager.o, eager.o.bytes));
}

TEST_F(FirstCallInCapture, paged_decode_tensor_cores) {
  expect_in_fresh_process([] { first_decode_in_capture({1, 8, 32, 8, 128, 16, 3000, true}); });
}

// Batch 1 on tensor cores: the first call also looks up the constant work-item tables.
TEST_F(FirstCallInCapture, paged_decode_tensor_cores_one_request) {
  expect_in_fresh_process([] { first_decode_in_capture({1, 1, 32, 4, 128, 16, 5000, false}); });
}

TEST_F(FirstCallInCapture, paged_decode_cuda_cores_split) {
  expect_in_fresh_process([] { first_decode_in_capture({0, 2, 16, 16, 128, 16, 9000, false}); });
}

// Shared prefix and both fused cascades over one prefix of 2003 tokens and suffixes of up to 300.
enum class PrefixCall { kSharedPrefix, kFusedCascade, kDenseCascade };

void first_prefix_call_in_capture(PrefixCall kind) {
  const Shape s{1, 12, 32, 8, 128, 16, 0, false};
  const bool fused = kind != PrefixCall::kSharedPrefix;
  const int32_t P = s.page, prefix_len = 2000 + 3;
  std::vector<int32_t> suffix_lens(s.batch, 0);
  if (fused) {
    for (int32_t b = 0; b < s.batch; ++b) suffix_lens[b] = b % 3 == 0 ? 0 : uniform_int(1, 300);
  }
  // Request b: the prefix pages, then its own.
  std::vector<int32_t> lens{prefix_len};
  lens.insert(lens.end(), suffix_lens.begin(), suffix_lens.end());
  PagedProblem p =
      make_problem_with_lengths(s, std::vector<int32_t>(s.batch, 0), pages_for(lens, P) + 3);
  const PageTable all = random_page_table(lens, P, p.num_pages);
  PageTable prefix, suffixes;
  prefix.add(std::vector<int32_t>(all.indices.begin(), all.indices.begin() + all.indptr[1]),
             prefix_len, P);
  for (int32_t b = 0; b < s.batch; ++b) {
    suffixes.add(std::vector<int32_t>(all.indices.begin() + all.indptr[b + 1],
                                      all.indices.begin() + all.indptr[b + 2]),
                 suffix_lens[b], P);
  }
  prefix.upload();
  suffixes.upload();
  poison_stale_slots(p, all);
  const DeviceBuffer fused_indices = to_device(all.indices);
  std::vector<int32_t> fused_suffix_indptr;
  for (int32_t x : suffixes.indptr) fused_suffix_indptr.push_back(all.indptr[1] + x);
  const DeviceBuffer d_fused_suffix_indptr = to_device(fused_suffix_indptr);
  // The dense prefix [L, Hkv, D], built from the cache.
  const std::vector<uint16_t> k_cache = to_host<uint16_t>(p.d_k, p.kv_count()),
                              v_cache = to_host<uint16_t>(p.d_v, p.kv_count());
  std::vector<uint16_t> k_dense(size_t(prefix_len) * s.hkv * s.head_dim), v_dense(k_dense.size());
  for (int32_t t = 0; t < prefix_len; ++t) {
    for (int32_t h = 0; h < s.hkv; ++h) {
      const size_t src = ((size_t(prefix.indices[t / P]) * s.hkv + h) * P + t % P) * s.head_dim;
      const size_t dst = (size_t(t) * s.hkv + h) * s.head_dim;
      std::copy_n(k_cache.begin() + src, s.head_dim, k_dense.begin() + dst);
      std::copy_n(v_cache.begin() + src, s.head_dim, v_dense.begin() + dst);
    }
  }
  const DeviceBuffer d_k_dense = to_device(k_dense), d_v_dense = to_device(v_dense);

  size_t ws_bytes = 0;
  const int32_t size_status =
      kind == PrefixCall::kSharedPrefix
          ? baracuda_kernels_flashinfer_shared_prefix_decode_get_workspace_size(
                s.batch, s.hq, s.hkv, s.head_dim, P, s.element, &ws_bytes)
      : kind == PrefixCall::kFusedCascade
          ? baracuda_kernels_flashinfer_cascade_decode_get_workspace_size(
                s.batch, s.hq, s.hkv, s.head_dim, P, s.element, &ws_bytes)
          : baracuda_kernels_flashinfer_cascade_decode_dense_prefix_get_workspace_size(
                s.batch, s.hq, s.hkv, s.head_dim, P, s.element, &ws_bytes);
  ASSERT_EQ(size_status, 0) << baracuda_kernels_flashinfer_last_error();
  DeviceBuffer ws(ws_bytes), eager_ws(ws_bytes);
  poison(ws);
  Outputs out, eager;
  out.allocate(s);
  eager.allocate(s);
  out.poison_all();
  eager.poison_all();
  const float sm_scale = 0.0884f;
  const bool ran = capture_replay_and_run_eagerly([&](cudaStream_t st, bool is_eager) {
    Outputs& o = is_eager ? eager : out;
    void* w = is_eager ? eager_ws.ptr : ws.ptr;
    switch (kind) {
      case PrefixCall::kSharedPrefix:
        return baracuda_kernels_flashinfer_shared_prefix_decode_run(
            s.element, s.batch, P, s.head_dim, s.hq, s.hkv, sm_scale, p.d_k.ptr, p.d_v.ptr,
            prefix.d_indices.ptr, prefix.d_indptr.ptr, prefix.d_lpl.ptr, p.d_q.ptr, o.o.ptr,
            o.lse.ptr, w, ws_bytes, abi_stream(st));
      case PrefixCall::kFusedCascade:
        return baracuda_kernels_flashinfer_cascade_decode_run(
            s.element, s.batch, P, s.head_dim, s.hq, s.hkv, sm_scale, p.d_k.ptr, p.d_v.ptr,
            fused_indices.ptr, prefix.d_indptr.ptr, prefix.d_lpl.ptr, d_fused_suffix_indptr.ptr,
            suffixes.d_lpl.ptr, p.d_q.ptr, o.o.ptr, o.lse.ptr, w, ws_bytes, abi_stream(st));
      default:
        return baracuda_kernels_flashinfer_cascade_decode_dense_prefix_run(
            s.element, s.batch, P, s.head_dim, s.hq, s.hkv, sm_scale, d_k_dense.ptr, d_v_dense.ptr,
            prefix_len, int64_t(s.hkv) * s.head_dim, s.head_dim, p.d_k.ptr, p.d_v.ptr,
            suffixes.d_indices.ptr, suffixes.d_indptr.ptr, suffixes.d_lpl.ptr, p.d_q.ptr, o.o.ptr,
            o.lse.ptr, w, ws_bytes, abi_stream(st));
    }
  });
  if (!ran) return;
  // Query b over the prefix's tokens, then its suffix's (the prefix's last page is partial).
  std::vector<int32_t> full_lens(s.batch);
  for (int32_t b = 0; b < s.batch; ++b) full_lens[b] = prefix_len + suffix_lens[b];
  const AttentionReference ref = reference_over(
      p, full_lens,
      [&](int32_t b, int32_t t) {
        if (t < prefix_len) return std::make_pair(prefix.indices[t / P], t % P);
        const int32_t u = t - prefix_len;
        return std::make_pair(suffixes.indices[suffixes.indptr[b] + u / P], u % P);
      },
      sm_scale);
  EXPECT_TRUE(outputs_match(s, out, ref));
  EXPECT_EQ(to_host<uint8_t>(out.o, out.o.bytes), to_host<uint8_t>(eager.o, eager.o.bytes));
}

bool fused_cascade_expected() {
  return is_sm90() && prefix_sm90_built(128);
}

TEST_F(FirstCallInCapture, shared_prefix) {
  expect_in_fresh_process([] { first_prefix_call_in_capture(PrefixCall::kSharedPrefix); });
}

TEST_F(FirstCallInCapture, fused_cascade) {
  if (!fused_cascade_expected()) {
    GTEST_SKIP() << "the fused cascade runs on compute capability 9.0 with the sm_90a build only";
  }
  expect_in_fresh_process([] { first_prefix_call_in_capture(PrefixCall::kFusedCascade); });
}

TEST_F(FirstCallInCapture, dense_prefix_cascade) {
  if (!fused_cascade_expected()) {
    GTEST_SKIP() << "the fused cascade runs on compute capability 9.0 with the sm_90a build only";
  }
  expect_in_fresh_process([] { first_prefix_call_in_capture(PrefixCall::kDenseCascade); });
}

// Sampling with a device seed and offset (the graph-safe _ex forms): the replay from offset 0
// draws what an eager call from offset 0 draws.
template <class Sample>
void first_sampling_in_capture(int32_t rows, int32_t vocab, Sample sample) {
  std::vector<float> probs(size_t(rows) * vocab);
  for (float& x : probs) x = uniform(0.f, 1.f);
  for (int32_t r = 0; r < rows; ++r) {  // rows of probabilities (used as logits too)
    double sum = 0;
    for (int32_t i = 0; i < vocab; ++i) sum += probs[size_t(r) * vocab + i];
    for (int32_t i = 0; i < vocab; ++i) probs[size_t(r) * vocab + i] /= float(sum);
  }
  const DeviceBuffer input = to_device(probs), seed = to_device(std::vector<uint64_t>{77});
  DeviceBuffer offset = to_device(std::vector<uint64_t>{0});
  DeviceBuffer out(size_t(rows) * 4), eager(size_t(rows) * 4);
  poison(out);
  poison(eager);
  const bool ran = capture_replay_and_run_eagerly([&](cudaStream_t st, bool is_eager) {
    if (is_eager) CUDA_OK(cudaMemsetAsync(offset.ptr, 0, 8, st));  // the replay's start
    return sample(input.ptr, seed.ptr, offset.ptr, (is_eager ? eager : out).ptr, abi_stream(st));
  });
  if (!ran) return;
  const std::vector<int32_t> tokens = to_host<int32_t>(out, rows);
  EXPECT_EQ(tokens, to_host<int32_t>(eager, rows));
  EXPECT_TRUE(
      std::all_of(tokens.begin(), tokens.end(), [&](int32_t t) { return t >= 0 && t < vocab; }));
}

TEST_F(FirstCallInCapture, top_k_top_p_sampling) {
  expect_in_fresh_process([] {
    first_sampling_in_capture(256, 32000,
                              [](const void* in, const void* seed, void* offset, void* out,
                                 baracuda_flashinfer_stream_t st) {
                                return baracuda_kernels_flashinfer_top_k_top_p_sampling_f32_ex(
                                    256, 32000, 50, nullptr, 0.9f, nullptr, 1, 0, seed, 0, offset,
                                    in, out, nullptr, st);
                              });
  });
}

TEST_F(FirstCallInCapture, sampling_from_logits) {
  expect_in_fresh_process([] {
    first_sampling_in_capture(128, 128256,
                              [](const void* in, const void* seed, void* offset, void* out,
                                 baracuda_flashinfer_stream_t st) {
                                return baracuda_kernels_flashinfer_sampling_from_logits_f32_ex(
                                    128, 128256, 0, seed, 0, offset, in, out, st);
                              });
  });
}

// Row filter, merge and append: the replay equals an eager run bit for bit.
TEST_F(FirstCallInCapture, top_k_renorm_probs) {
  expect_in_fresh_process([] {
    const int32_t rows = 32, vocab = 128256;
    std::vector<float> probs(size_t(rows) * vocab);
    for (float& x : probs) x = uniform(0.f, 1.f);
    const DeviceBuffer in = to_device(probs);
    DeviceBuffer out(probs.size() * 4), eager(probs.size() * 4);
    poison(out);
    poison(eager);
    if (!capture_replay_and_run_eagerly([&](cudaStream_t st, bool is_eager) {
          return baracuda_kernels_flashinfer_top_k_renorm_probs_f32_run(
              rows, vocab, 40, nullptr, in.ptr, (is_eager ? eager : out).ptr, abi_stream(st));
        })) {
      return;
    }
    EXPECT_EQ(to_host<uint32_t>(out, probs.size()), to_host<uint32_t>(eager, probs.size()));
  });
}

TEST_F(FirstCallInCapture, merge_states) {
  expect_in_fresh_process([] {
    const int32_t n = 4, seq_len = 300, heads = 8, D = 128;
    const size_t rows = size_t(seq_len) * heads;
    std::vector<uint16_t> v(rows * n * D);
    std::vector<float> lse(rows * n);
    for (size_t i = 0; i < v.size(); ++i) store_element(1, v.data(), i, uniform(-2.f, 2.f));
    for (float& x : lse) x = uniform(-8.f, 8.f);
    const DeviceBuffer dv = to_device(v), ds = to_device(lse);
    DeviceBuffer out(rows * D * 2), eager(rows * D * 2);
    poison(out);
    poison(eager);
    if (!capture_replay_and_run_eagerly([&](cudaStream_t st, bool is_eager) {
          return baracuda_kernels_flashinfer_merge_states_bf16_run(
              n, seq_len, heads, D, dv.ptr, ds.ptr, (is_eager ? eager : out).ptr, nullptr,
              abi_stream(st));
        })) {
      return;
    }
    const std::vector<uint16_t> got = to_host<uint16_t>(out, rows * D);
    EXPECT_EQ(got, to_host<uint16_t>(eager, rows * D));
    EXPECT_TRUE(std::none_of(got.begin(), got.end(), [](uint16_t x) { return x == 0xFFFF; }));
  });
}

TEST_F(FirstCallInCapture, paged_kv_append_decode) {
  expect_in_fresh_process([] {
    const int32_t B = 6, P = 16, H = 8, D = 128, pages = 4 * B;
    std::vector<int32_t> indices(pages), indptr{0}, lpl;
    std::iota(indices.begin(), indices.end(), 0);
    std::shuffle(indices.begin(), indices.end(), rng());
    for (int32_t b = 0; b < B; ++b) {
      indptr.push_back(indptr.back() + 4);
      lpl.push_back(uniform_int(1, P));
    }
    std::vector<uint16_t> cache(size_t(pages) * H * P * D), key(size_t(B) * H * D),
        value(key.size());
    for (size_t i = 0; i < cache.size(); ++i) store_element(0, cache.data(), i, uniform(-1.f, 1.f));
    for (size_t i = 0; i < key.size(); ++i) {
      store_element(0, key.data(), i, uniform(-1.f, 1.f));
      store_element(0, value.data(), i, uniform(-1.f, 1.f));
    }
    DeviceBuffer k = to_device(cache), v = to_device(cache), k_eager = to_device(cache),
                 v_eager = to_device(cache);
    const DeviceBuffer d_indices = to_device(indices), d_indptr = to_device(indptr),
                       d_lpl = to_device(lpl), d_key = to_device(key), d_value = to_device(value);
    if (!capture_replay_and_run_eagerly([&](cudaStream_t st, bool is_eager) {
          return baracuda_kernels_flashinfer_paged_kv_append_decode_f16_run(
              B, P, H, D, (is_eager ? k_eager : k).ptr, (is_eager ? v_eager : v).ptr, d_indices.ptr,
              d_indptr.ptr, d_lpl.ptr, d_key.ptr, d_value.ptr, abi_stream(st));
        })) {
      return;
    }
    const std::vector<uint16_t> got = to_host<uint16_t>(k, cache.size());
    EXPECT_EQ(got, to_host<uint16_t>(k_eager, cache.size()));
    EXPECT_NE(got, cache) << "the replay wrote nothing";
    EXPECT_EQ(to_host<uint16_t>(v, cache.size()), to_host<uint16_t>(v_eager, cache.size()));
  });
}

}  // namespace
