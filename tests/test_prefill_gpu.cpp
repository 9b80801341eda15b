// GPU tests of batch prefill (prefill_paged_run, prefill_ragged_run and the existing ABI's
// paged_prefill_* / ragged_prefill_*) against the float64 reference of tests/prefill_reference.hpp
// (bounds and their derivation there) on fresh random data, outputs and workspace NaN-poisoned
// before every run; every problem on every path (default: FA3 on sm_90; FA2; each with and
// without NO_SPLIT). Without a GPU every test is skipped (GTEST_SKIP).
#include <baracuda/flashinfer.h>
#include <gtest/gtest.h>

#include <thread>

#include "prefill_problem.hpp"

using namespace bfi_test;

namespace {

using PrefillGpu = GpuTest;

std::string last_error() {
  return baracuda_kernels_flashinfer_last_error();
}

// The lengths every sweep has, in a random order: requests without rows, without keys and
// without either; single rows and keys; causal rows that keep no key (q_len > kv_len); several
// query tiles (the FA3 tiles are 128 or 192 rows, FA2's 64 packed rows); chunks on longer cached
// prefixes; partial KV tiles and pages; and two random requests.
std::vector<Request> edge_requests() {
  std::vector<Request> r = {{0, 0},   {0, 37},  {1, 0},    {1, 1},      {5, 3},   {1, 700},
                            {130, 0}, {77, 77}, {200, 64}, {129, 1000}, {64, 513}};
  for (int i = 0; i < 2; ++i) {
    const int32_t q = uniform_int(1, 300);
    r.push_back({q, uniform_int(q, 1500)});
  }
  std::shuffle(r.begin(), r.end(), rng());
  return r;
}

// The problem of `s` on every path against the reference of every row (or of sample_rows(cap)),
// paged caches with NaN in every slot no request owns.
void expect_problem_matches(const PrefillSetup& s, int32_t cap = 0) {
  PrefillProblem p = make_problem(s);
  if (s.paged && s.page_pool == 0) poison_unowned_slots(p);
  const Reference ref =
      reference(p.attention(), cap > 0 ? sample_rows(p, cap) : all_rows(p.attention()));
  expect_every_path_matches(p, ref);
}

PrefillSetup sweep_setup(int32_t element, bool paged, int32_t page, int32_t hq, int32_t hkv,
                         int32_t head_dim, bool causal) {
  PrefillSetup s;
  s.element = element;
  s.paged = paged;
  s.page_size = page;
  s.num_qo_heads = hq;
  s.num_kv_heads = hkv;
  s.head_dim = head_dim;
  s.causal = causal;
  s.requests = edge_requests();
  s.spare_q_rows = 40;
  s.spare_kv_rows = 100;
  return s;
}

}  // namespace

TEST_F(PrefillGpu, EveryGqaGroupPagedAndRagged) {
  int32_t i = 0;
  for (int32_t group : {1, 2, 4, 5, 8, 16, 32}) {
    const int32_t hkv = group == 32 ? 1 : 2;
    for (bool paged : {true, false}) {
      expect_problem_matches(
          sweep_setup(i % 2, paged, 16, group * hkv, hkv, 128, (i + paged) % 2 == 0));
    }
    ++i;
  }
}

TEST_F(PrefillGpu, EveryHeadDimAndPageSize) {
  int32_t i = 0;
  for (int32_t head_dim : {64, 128, 256}) {
    for (bool causal : {true, false}) {
      for (int32_t page : {1, 16, 64}) {
        expect_problem_matches(sweep_setup(i++ % 2, true, page, 8, 2, head_dim, causal));
      }
      expect_problem_matches(sweep_setup(i++ % 2, false, 1, 8, 2, head_dim, causal));
    }
  }
}

// fp8 K/V (f16 or bf16 queries over e4m3 or e5m2; FA2 on every path): every element and head dim,
// paged (pages of 16 and 1) and ragged, causal and not, GQA groups 1 to 8, on the edge lengths
// (the reference takes the stored fp8 values, so the bounds are the 16-bit ones).
TEST_F(PrefillGpu, Fp8KvEveryElementAndHeadDimPagedAndRagged) {
  const int32_t elements[] = {BARACUDA_FLASHINFER_F16_E4M3, BARACUDA_FLASHINFER_F16_E5M2,
                              BARACUDA_FLASHINFER_BF16_E4M3, BARACUDA_FLASHINFER_BF16_E5M2};
  int32_t i = 0;
  for (int32_t head_dim : {64, 128, 256}) {
    for (int32_t element : elements) {
      const bool paged = i % 3 != 2;
      const int32_t page = i % 3 == 1 ? 1 : 16, group = 1 << (i % 4);
      SCOPED_TRACE(testing::Message() << element_name(element) << " hd" << head_dim);
      expect_problem_matches(sweep_setup(element, paged, page, 2 * group, 2, head_dim, i % 2 == 0));
      ++i;
    }
  }
}

TEST_F(PrefillGpu, DegenerateBatches) {
  for (bool paged : {true, false}) {
    // No query rows at all: nothing may be written (every output row is spare).
    PrefillSetup none = sweep_setup(1, paged, 16, 8, 2, 128, true);
    none.requests = {{0, 100}, {0, 0}, {0, 3000}};
    expect_problem_matches(none);
    // No keys anywhere: every row is o = 0, lse = -inf.
    PrefillSetup empty = sweep_setup(0, paged, 16, 8, 2, 128, false);
    empty.requests = {{3, 0}, {200, 0}, {1, 0}};
    expect_problem_matches(empty);
    // One row, one key: o is that key's V.
    PrefillSetup one = sweep_setup(1, paged, 1, 4, 4, 64, true);
    one.requests = {{1, 1}};
    one.spare_q_rows = 0;
    expect_problem_matches(one);
  }
}

// One request of 16k rows: a prompt (ragged, causal), a chunk on a cached prefix (paged, causal,
// head dim 64) and a non-causal one (pages of 64, head dim 256).
TEST_F(PrefillGpu, LongRequest16k) {
  PrefillSetup prompt = sweep_setup(1, false, 1, 16, 2, 128, true);
  prompt.requests = {{16384, 16384}};
  prompt.spare_kv_rows = 77;
  expect_problem_matches(prompt, 512);
  PrefillSetup chunk = sweep_setup(0, true, 16, 8, 8, 64, true);
  chunk.requests = {{16384, 16384 + 3001}};
  expect_problem_matches(chunk, 512);
  PrefillSetup full = sweep_setup(1, true, 64, 8, 2, 256, false);
  full.requests = {{16384, 16384}};
  expect_problem_matches(full, 256);
}

// An engine's mixed step: 4 prefill chunks of 1024 tokens at the end of 8192-token contexts and 60
// decode tokens on 4096-token contexts in one call (pages drawn from a shared pool: the kernel reads
// 278k tokens from 16k tokens of memory).
TEST_F(PrefillGpu, MixedChunksAndDecodes) {
  PrefillSetup s = sweep_setup(1, true, 16, 32, 8, 128, true);
  s.requests.assign(4, Request{1024, 8192});
  s.requests.insert(s.requests.end(), 60, Request{1, 4096});
  std::shuffle(s.requests.begin(), s.requests.end(), rng());
  s.page_pool = 1024;
  expect_problem_matches(s, 128);
}

// Short requests (q_len * group within one FA2 tile of 16 rows, 64 from group 17: decode tokens,
// drafts) beside prompts, enough of them that an FA3 call hands them to its FA2 launch (at least
// one (request, KV head) pair per SM): every
// GQA group from MHA to MQA, paged (page 1 and 16) and ragged, causal and not, with requests
// without rows or keys, drafts longer than their KV and the longest short request of each group.
TEST_F(PrefillGpu, ShortRequestsBesidePromptsOnEveryGqaGroup) {
  struct Heads {
    int32_t hq, hkv;
  };
  for (const Heads h : {Heads{32, 32}, Heads{32, 8}, Heads{28, 4}, Heads{32, 2}, Heads{64, 1}}) {
    const int32_t group = h.hq / h.hkv;
    const int32_t longest_short = std::max((group <= 16 ? 16 : 64) / group, 1);
    for (bool paged : {true, false}) {
      PrefillSetup s = sweep_setup(paged ? 1 : 0, paged, paged && group == 4 ? 1 : 16, h.hq,
                                   h.hkv, 128, paged || group == 8);
      s.requests = {{300, 900}, {1, 0}, {0, 0}, {0, 50}, {longest_short, longest_short + 40},
                    {longest_short + 1, 500}};
      if (longest_short > 2) s.requests.push_back({longest_short, 1});  // rows that keep no key
      for (int32_t i = 0, n = 140 / h.hkv + 1; i < n; ++i) {
        s.requests.push_back({uniform_int(1, longest_short), uniform_int(1, 1200)});
      }
      std::shuffle(s.requests.begin(), s.requests.end(), rng());
      s.page_pool = paged ? 512 : 0;
      SCOPED_TRACE(testing::Message() << h.hq << "/" << h.hkv << (paged ? " paged" : " ragged"));
      expect_problem_matches(s, 192);
    }
  }
}

// Few query tiles on long KV: both kernels split each request's KV over the GPU (FA3 when tiles x
// heads < SMs, FA2 when its tiles cannot fill two CTAs per SM) and merge; the NO_SPLIT paths of the
// same problems are the control.
TEST_F(PrefillGpu, LongDecodesSplitKv) {
  for (bool paged : {true, false}) {
    PrefillSetup s = sweep_setup(paged ? 1 : 0, paged, 16, 8, 2, 128, paged);
    s.requests = {{1, 32768}, {100, 30000}, {1, 0}, {0, 5000}, {200, 9000}, {1, 1}};
    PrefillProblem p = make_problem(s);
    if (paged) poison_unowned_slots(p);
    for (int32_t fa2 : {0, int32_t(BARACUDA_FLASHINFER_ATTENTION_FA2)}) {
      size_t split = 0, whole = 0;
      ASSERT_EQ(workspace_size(p, fa2, &split), 0) << last_error();
      ASSERT_EQ(workspace_size(p, fa2 | BARACUDA_FLASHINFER_ATTENTION_NO_SPLIT, &whole), 0);
      EXPECT_GT(split, whole) << describe(p) << (fa2 ? " fa2" : "")
                              << ": these sizes should plan a split (partial states)";
    }
    expect_every_path_matches(p, reference(p.attention(), all_rows(p.attention())));
  }
}

TEST_F(PrefillGpu, LseMayBeNull) {
  for (bool paged : {true, false}) {
    for (bool split : {false, true}) {  // the edge batch fills the GPU; a few long rows do not
      PrefillSetup s = sweep_setup(1, paged, 16, 16, 4, 128, true);
      if (split) s.requests = {{1, 20000}, {30, 5000}, {0, 10}, {1, 0}};
      PrefillProblem p = make_problem(s);
      expect_every_path_matches(p, reference(p.attention(), all_rows(p.attention())),
                                /*with_lse=*/false);
    }
  }
}

// Memory the batch does not own holds NaN: q rows past q_indptr[B], ragged K/V rows past
// kv_indptr[B] (the last request's last KV tile overhangs into them), paged slots past each
// request's length. A softmax weight of 0 times NaN is NaN: the kernels must not let them in.
TEST_F(PrefillGpu, MemoryPastTheBatchNeverReachesTheOutput) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (bool paged : {true, false}) {
    for (bool causal : {true, false}) {
      PrefillSetup s = sweep_setup(1, paged, 16, 8, 2, 128, causal);
      s.requests.push_back({100, 1000});  // the last request: a partial last KV tile
      // Ragged K/V rows past the batch must be finite (the header: FA3 weights a whole key tile,
      // the keys past a request's end by 0): a large value that any weight but 0 would show.
      // Paged slots no request owns are NaN (poison_unowned_slots).
      s.spare_kv_value = 1000.f;
      s.spare_kv_rows = 300;
      s.spare_q_rows = 300;
      PrefillProblem p = make_problem(s);
      fill_elements(s.element, false, p.d_q, p.q, size_t(p.rows()) * p.q_row_elements(),
                    size_t(p.max_q_rows - p.rows()) * p.q_row_elements(), nan);
      if (paged) poison_unowned_slots(p);
      expect_every_path_matches(p, reference(p.attention(), all_rows(p.attention())));
    }
  }
}

// One capture of prefill_paged_run, replayed after lengths, page tables and q_indptr change in
// place (the device plans each replay): every replay equals, bit for bit, an eager run on the same
// inputs, and the reference.
TEST_F(PrefillGpu, GraphReplayWithChangedLengthsEqualsEager) {
  PrefillSetup s = sweep_setup(1, true, 16, 8, 2, 128, true);
  s.requests = {{300, 2000}, {1, 3000}, {64, 64}, {200, 1000}, {0, 500}, {128, 4000}};
  s.spare_q_rows = 200;
  s.spare_pages = 200;
  PrefillProblem p = make_problem(s);
  const int32_t B = p.batch;
  // Replays: decodes only (the split path), prompts, chunks on prefixes with empty requests.
  std::vector<std::vector<Request>> replays(3);
  for (int32_t b = 0; b < B; ++b) {
    replays[0].push_back({1, uniform_int(0, 2000)});
    const int32_t q = uniform_int(0, 150);
    replays[1].push_back({q, q});
    replays[2].push_back(b % 3 == 0 ? Request{0, 0}
                                    : Request{uniform_int(1, 200), uniform_int(200, 1500)});
  }
  cudaStream_t stream;
  CUDA_OK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  for (int32_t flags : {0, int32_t(BARACUDA_FLASHINFER_ATTENTION_FA2)}) {
    set_requests(p, s.requests);
    size_t bytes = 0;
    ASSERT_EQ(workspace_size(p, flags, &bytes), 0) << last_error();
    DeviceBuffer ws(bytes);
    Outputs graph_out = make_outputs(p), eager_out = make_outputs(p);
    ASSERT_EQ(run_prefill(p, flags, graph_out, true, ws, bytes, stream), 0) << last_error();
    CUDA_OK(cudaStreamSynchronize(stream));
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    CUDA_OK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    const int32_t captured = run_prefill(p, flags, graph_out, true, ws, bytes, stream);
    CUDA_OK(cudaStreamEndCapture(stream, &graph));
    ASSERT_EQ(captured, 0) << last_error();
    CUDA_OK(cudaGraphInstantiate(&exec, graph, 0));
    for (const std::vector<Request>& requests : replays) {
      set_requests(p, requests);
      const Reference ref = reference(p.attention(), all_rows(p.attention()));
      for (const DeviceBuffer* d :
           {&graph_out.o, &graph_out.lse, &eager_out.o, &eager_out.lse, &ws}) {
        poison(*d);
      }
      CUDA_OK(cudaGraphLaunch(exec, stream));
      CUDA_OK(cudaStreamSynchronize(stream));
      poison(ws);
      ASSERT_EQ(run_prefill(p, flags, eager_out, true, ws, bytes, stream), 0) << last_error();
      CUDA_OK(cudaStreamSynchronize(stream));
      EXPECT_TRUE(matches_reference(p, graph_out, ref, true)) << describe(p) << " replay";
      EXPECT_TRUE(to_host<uint8_t>(graph_out.o, graph_out.o.bytes) ==
                  to_host<uint8_t>(eager_out.o, eager_out.o.bytes))
          << describe(p) << ": the replay's o differs from the eager run's";
      EXPECT_TRUE(to_host<uint8_t>(graph_out.lse, graph_out.lse.bytes) ==
                  to_host<uint8_t>(eager_out.lse, eager_out.lse.bytes))
          << describe(p) << ": the replay's lse differs from the eager run's";
    }
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
  }
  cudaStreamDestroy(stream);
}

// An engine's sequence over one paged cache: multi-token append of each request's prompt, a
// prefill of it, append of a second chunk, a prefill of that chunk on the cached prompt, append of
// one more token and a decode of it. Together the outputs are the causal attention of the whole
// sequences: one float64 reference.
TEST_F(PrefillGpu, AppendPrefillDecodeOverOneCacheEqualsTheWholeSequence) {
  const int32_t e = BARACUDA_FLASHINFER_BF16, hq = 8, hkv = 2, D = 128, P = 16;
  const std::vector<int32_t> total = {700, 1500, 333};
  const std::vector<std::vector<int32_t>> ends = {
      {400, 699, 700}, {1000, 1499, 1500}, {232, 332, 333}};  // tokens after each step
  const int32_t B = int32_t(total.size());
  // The whole sequences, request after request: q [N, Hq, D], k / v [N, Hkv, D].
  AttentionBatch whole;
  whole.num_qo_heads = hq;
  whole.num_kv_heads = hkv;
  whole.head_dim = D;
  whole.causal = true;
  whole.sm_scale = 1.f / std::sqrt(float(D));
  whole.q_indptr = {0};
  for (int32_t n : total) whole.q_indptr.push_back(whole.q_indptr.back() + n);
  whole.kv_len = total;
  const int32_t N = whole.q_indptr.back();
  std::vector<float> q, k, v;
  DeviceBuffer unused;
  const std::vector<uint8_t> q_bytes =
      random_values(e, false, size_t(N) * hq * D, -3.f, 3.f, &q, &unused);
  const std::vector<uint8_t> k_bytes =
      random_values(e, true, size_t(N) * hkv * D, -1.f, 1.f, &k, &unused);
  const std::vector<uint8_t> v_bytes =
      random_values(e, true, size_t(N) * hkv * D, -1.f, 1.f, &v, &unused);
  whole.q = q.data();
  whole.k = k.data();
  whole.v = v.data();
  whole.kv_head_stride = D;
  whole.key_offset = [&](int32_t b, int32_t j) {
    return (size_t(whole.q_indptr[b]) + j) * hkv * D;
  };
  const Reference ref = reference(whole, all_rows(whole));
  // Each request's pages, scattered over a shuffled pool.
  std::vector<std::vector<int32_t>> pages(B);
  int32_t num_pages = 2;
  for (int32_t b = 0; b < B; ++b) num_pages += (total[b] + P - 1) / P;
  std::vector<int32_t> pool(num_pages);
  std::iota(pool.begin(), pool.end(), 0);
  std::shuffle(pool.begin(), pool.end(), rng());
  for (int32_t b = 0, at = 0; b < B; ++b) {
    pages[b].assign(pool.begin() + at, pool.begin() + at + (total[b] + P - 1) / P);
    at += int32_t(pages[b].size());
  }
  DeviceBuffer k_cache(size_t(num_pages) * hkv * P * D * 2), v_cache(k_cache.bytes);
  // Rows of 16-bit values (bf16 here: 2 bytes per element).
  const auto gather = [](const std::vector<uint8_t>& bytes, size_t row_elems,
                         const std::vector<int32_t>& rows) {
    const size_t row_bytes = row_elems * 2;
    std::vector<uint8_t> out;
    for (int32_t r : rows) {
      out.insert(out.end(), bytes.begin() + r * row_bytes, bytes.begin() + (r + 1) * row_bytes);
    }
    return to_device(out.empty() ? std::vector<uint8_t>(16) : out);
  };
  for (int32_t flags : {0, int32_t(BARACUDA_FLASHINFER_ATTENTION_FA2)}) {
    poison(k_cache);  // only appended slots may be read
    poison(v_cache);
    std::vector<int32_t> done(B, 0);
    for (int32_t step = 0; step < 3; ++step) {
      // The page table of the lengths after this step, the new tokens and their whole-batch rows.
      std::vector<int32_t> indices, indptr = {0}, lpl, batch_indices, positions, rows,
                                    q_indptr = {0};
      for (int32_t b = 0; b < B; ++b) {
        const int32_t len = ends[b][step], n = (len + P - 1) / P;
        indices.insert(indices.end(), pages[b].begin(), pages[b].begin() + n);
        indptr.push_back(indptr.back() + n);
        lpl.push_back(len - (n - 1) * P);
        for (int32_t pos = done[b]; pos < len; ++pos) {
          batch_indices.push_back(b);
          positions.push_back(pos);
          rows.push_back(whole.q_indptr[b] + pos);
        }
        q_indptr.push_back(q_indptr.back() + len - done[b]);
        done[b] = len;
      }
      const int32_t n = int32_t(rows.size());
      DeviceBuffer d_indices = to_device(indices), d_indptr = to_device(indptr),
                   d_lpl = to_device(lpl), d_bidx = to_device(batch_indices),
                   d_pos = to_device(positions), d_q_indptr = to_device(q_indptr);
      DeviceBuffer d_key = gather(k_bytes, size_t(hkv) * D, rows),
                   d_value = gather(v_bytes, size_t(hkv) * D, rows),
                   d_q = gather(q_bytes, size_t(hq) * D, rows);
      ASSERT_EQ(baracuda_kernels_flashinfer_paged_kv_append_bf16_run(
                    n, B, P, hkv, D, k_cache.ptr, v_cache.ptr, d_indices.ptr, d_indptr.ptr,
                    d_bidx.ptr, d_pos.ptr, d_key.ptr, d_value.ptr, nullptr),
                0)
          << last_error();
      DeviceBuffer o(size_t(n) * hq * D * 2), lse(size_t(n) * hq * 4), ws;
      poison(o);
      poison(lse);
      if (step < 2) {
        const baracuda_flashinfer_attention_options opt = options_with(flags);
        size_t bytes = 0;
        ASSERT_EQ(baracuda_kernels_flashinfer_prefill_paged_get_workspace_size(
                      e, B, n, P, D, hq, hkv, 1, &opt, &bytes),
                  0)
            << last_error();
        ws = DeviceBuffer(bytes);
        poison(ws);
        ASSERT_EQ(
            baracuda_kernels_flashinfer_prefill_paged_run(
                e, B, n, P, D, hq, hkv, whole.sm_scale, 1, &opt, d_q.ptr, d_q_indptr.as<int32_t>(),
                k_cache.ptr, v_cache.ptr, d_indices.as<int32_t>(), d_indptr.as<int32_t>(),
                d_lpl.as<int32_t>(), o.ptr, lse.as<float>(), ws.ptr, bytes, nullptr),
            0)
            << last_error();
      } else {  // one new token per request: decode
        size_t bytes = 0;
        ASSERT_EQ(baracuda_kernels_flashinfer_paged_decode_get_workspace_size(B, hq, hkv, D, P, e,
                                                                              &bytes),
                  0)
            << last_error();
        ws = DeviceBuffer(bytes);
        poison(ws);
        ASSERT_EQ(baracuda_kernels_flashinfer_paged_decode_bf16_run(
                      B, P, D, hq, hkv, whole.sm_scale, k_cache.ptr, v_cache.ptr, d_indices.ptr,
                      d_indptr.ptr, d_lpl.ptr, d_q.ptr, o.ptr, lse.ptr, ws.ptr, bytes, nullptr),
                  0)
            << last_error();
      }
      CUDA_OK(cudaStreamSynchronize(cudaStreamPerThread));
      std::vector<uint16_t> o_bits = to_host<uint16_t>(o, size_t(n) * hq * D);
      std::vector<double> o_run(o_bits.size());
      for (size_t i = 0; i < o_bits.size(); ++i) o_run[i] = load_element(e, o_bits.data(), i);
      const std::vector<float> lse_f = to_host<float>(lse, size_t(n) * hq);
      const std::vector<double> lse_run(lse_f.begin(), lse_f.end());
      const Comparison c =
          compare(select_rows(ref, hq, D, rows), hq, D, o_run, &lse_run, prefill_tolerance(e));
      EXPECT_TRUE(c.ok()) << (step < 2 ? "prefill of chunk " : "decode, step ") << step
                          << (flags ? " (fa2)" : "") << ": " << c.summary();
    }
  }
}

// A refused call (status 1, 2 or 4) writes nothing: o, lse and the workspace keep their poison.
TEST_F(PrefillGpu, RefusedCallsWriteNothing) {
  for (bool paged : {true, false}) {
    PrefillSetup s = sweep_setup(1, paged, 16, 8, 2, 128, true);
    PrefillProblem p = make_problem(s);
    size_t bytes = 0;
    ASSERT_EQ(workspace_size(p, 0, &bytes), 0) << last_error();
    ASSERT_GT(bytes, size_t(16));
    DeviceBuffer o(size_t(p.max_q_rows) * p.q_row_elements() * 2 + 16),
        lse(size_t(p.max_q_rows) * p.s.num_qo_heads * 4 + 16), ws(bytes + 16);
    char* o_base = static_cast<char*>(o.ptr);
    struct Refusal {
      const char* what;
      int32_t status;
      void* o;
      void* ws;
      size_t ws_bytes;
      float sm_scale;
    };
    const Refusal refusals[] = {
        {"workspace one byte short", 4, o_base, ws.ptr, bytes - 1, p.sm_scale},
        {"o misaligned", 1, o_base + 8, ws.ptr, bytes, p.sm_scale},
        {"workspace misaligned", 1, o_base, static_cast<char*>(ws.ptr) + 8, bytes, p.sm_scale},
        {"sm_scale NaN", 2, o_base, ws.ptr, bytes, std::numeric_limits<float>::quiet_NaN()},
    };
    for (const Refusal& r : refusals) {
      poison(o);
      poison(lse);
      poison(ws);
      const int32_t st =
          run_prefill(p, 0, r.o, lse.as<float>(), r.ws, r.ws_bytes, nullptr, r.sm_scale);
      CUDA_OK(cudaDeviceSynchronize());
      EXPECT_EQ(st, r.status) << describe(p) << " " << r.what << ": " << last_error();
      EXPECT_TRUE(all_bytes_are(o, 0, o.bytes, 0xFF))
          << describe(p) << " " << r.what << ": o written";
      EXPECT_TRUE(all_bytes_are(lse, 0, lse.bytes, 0xFF))
          << describe(p) << " " << r.what << ": lse written";
      EXPECT_TRUE(all_bytes_are(ws, 0, ws.bytes, 0xFF))
          << describe(p) << " " << r.what << ": workspace written";
    }
  }
  // The existing ABI's symbol, o misaligned.
  PrefillProblem p = make_problem(sweep_setup(1, true, 16, 8, 2, 128, true));
  DeviceBuffer o(size_t(p.max_q_rows) * p.q_row_elements() * 2 + 16),
      lse(size_t(p.max_q_rows) * 8 * 4);
  poison(o);
  poison(lse);
  const int32_t st = baracuda_kernels_flashinfer_paged_prefill_bf16_run(
      p.batch, p.max_q_rows, 16, 128, 8, 2, p.sm_scale, 1, 1, p.d_k.ptr, p.d_v.ptr,
      p.d_kv_indices.ptr, p.d_kv_indptr.ptr, p.d_last_page_len.ptr, p.d_q.ptr, p.d_q_indptr.ptr,
      static_cast<char*>(o.ptr) + 8, lse.ptr, nullptr);
  CUDA_OK(cudaDeviceSynchronize());
  EXPECT_EQ(st, 1) << last_error();
  EXPECT_TRUE(all_bytes_are(o, 0, o.bytes, 0xFF)) << "paged_prefill_bf16_run wrote o";
  EXPECT_TRUE(all_bytes_are(lse, 0, lse.bytes, 0xFF)) << "paged_prefill_bf16_run wrote lse";
}

namespace {

// The existing ABI's call on problem p (paged: paged_prefill_bf16_run with enable_split = 1;
// ragged: ragged_prefill_f16_run with enable_split = 0), total_num_rows = `rows`.
int32_t legacy_call(const PrefillProblem& p, int32_t rows, void* o, void* lse,
                    cudaStream_t stream) {
  const PrefillSetup& s = p.s;
  const auto st = reinterpret_cast<baracuda_flashinfer_stream_t>(stream);
  if (s.paged) {
    return baracuda_kernels_flashinfer_paged_prefill_bf16_run(
        p.batch, rows, s.page_size, s.head_dim, s.num_qo_heads, s.num_kv_heads, p.sm_scale,
        s.causal, 1, p.d_k.ptr, p.d_v.ptr, p.d_kv_indices.ptr, p.d_kv_indptr.ptr,
        p.d_last_page_len.ptr, p.d_q.ptr, p.d_q_indptr.ptr, o, lse, st);
  }
  return baracuda_kernels_flashinfer_ragged_prefill_f16_run(
      p.batch, rows, p.max_kv_rows, s.head_dim, s.num_qo_heads, s.num_kv_heads, p.sm_scale,
      s.causal, 0, p.d_k.ptr, p.d_v.ptr, p.d_kv_indptr.ptr, p.d_q.ptr, p.d_q_indptr.ptr, o, lse,
      st);
}

}  // namespace

// The existing ABI's symbols carry no workspace: the first call on a stream allocates the library's
// (eager), a later call of the same sizes can be captured and replayed with new lengths, and a
// capture needing more than the stream holds is refused (status 5) with nothing written.
TEST_F(PrefillGpu, LegacySymbolsAllocateOnceThenCapture) {
  // Two new streams, alive to the end: a stream created after another is destroyed may get its
  // handle, and with it that stream's library workspace.
  cudaStream_t streams[2];
  for (cudaStream_t& st : streams) CUDA_OK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
  for (bool paged : {true, false}) {
    const cudaStream_t stream = streams[paged ? 0 : 1];
    PrefillSetup s = sweep_setup(paged ? 1 : 0, paged, 16, 16, 4, 128, paged);
    s.requests.push_back({1, 9000});
    PrefillProblem p = make_problem(s);  // no NaN slots: the replay lays the pages out anew
    Outputs out = make_outputs(p);
    poison(out.o);
    poison(out.lse);
    ASSERT_EQ(legacy_call(p, p.max_q_rows, out.o.ptr, out.lse.ptr, stream), 0) << last_error();
    CUDA_OK(cudaStreamSynchronize(stream));
    EXPECT_TRUE(matches_reference(p, out, reference(p.attention(), all_rows(p.attention())), true))
        << describe(p) << " first (allocating) call";

    cudaGraph_t graph;
    cudaGraphExec_t exec;
    CUDA_OK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    const int32_t captured = legacy_call(p, p.max_q_rows, out.o.ptr, out.lse.ptr, stream);
    CUDA_OK(cudaStreamEndCapture(stream, &graph));
    ASSERT_EQ(captured, 0) << last_error();
    CUDA_OK(cudaGraphInstantiate(&exec, graph, 0));
    std::vector<Request> shorter;
    for (const Request& r : p.s.requests) {
      shorter.push_back({uniform_int(0, r.q_len), uniform_int(0, r.kv_len)});
    }
    set_requests(p, shorter);
    poison(out.o);
    poison(out.lse);
    CUDA_OK(cudaGraphLaunch(exec, stream));
    CUDA_OK(cudaStreamSynchronize(stream));
    EXPECT_TRUE(matches_reference(p, out, reference(p.attention(), all_rows(p.attention())), true))
        << describe(p) << " replay with new lengths";
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);

    // Sizes larger than any before on this stream need a larger workspace: not inside a capture.
    poison(out.o);
    poison(out.lse);
    CUDA_OK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    const int32_t larger = legacy_call(p, 8 * p.max_q_rows, out.o.ptr, out.lse.ptr, stream);
    const std::string message = last_error();
    CUDA_OK(cudaStreamEndCapture(stream, &graph));
    cudaGraphDestroy(graph);
    EXPECT_EQ(larger, 5) << message;
    EXPECT_NE(message.find("capture"), std::string::npos) << message;
    CUDA_OK(cudaStreamSynchronize(stream));
    EXPECT_TRUE(all_bytes_are(out.o, 0, out.o.bytes, 0xFF)) << "a refused call wrote o";
    EXPECT_TRUE(all_bytes_are(out.lse, 0, out.lse.bytes, 0xFF)) << "a refused call wrote lse";
  }
  for (cudaStream_t st : streams) cudaStreamDestroy(st);
}

// NULL is each thread's own per-thread default stream: two threads' calls on it must not share the
// library's workspace. A thread's first call on its stream needs a workspace of its own, which
// cannot be allocated during a capture: status 5 there shows the stream got none from another
// thread (sharing one, concurrent calls of two threads would overwrite each other's work tables).
TEST_F(PrefillGpu, LegacyNullStreamsOfTwoThreadsDoNotShareAWorkspace) {
  PrefillProblem p = make_problem(sweep_setup(1, true, 16, 8, 2, 128, true));
  Outputs out = make_outputs(p);
  int32_t first = -1, second = -1;
  std::string message;
  std::thread([&] {
    first = legacy_call(p, p.max_q_rows, out.o.ptr, out.lse.ptr, nullptr);
    message = last_error();
    CUDA_OK(cudaStreamSynchronize(cudaStreamPerThread));
  }).join();
  ASSERT_EQ(first, 0) << message;
  std::thread([&] {
    CUDA_OK(cudaStreamBeginCapture(cudaStreamPerThread, cudaStreamCaptureModeThreadLocal));
    second = legacy_call(p, p.max_q_rows, out.o.ptr, out.lse.ptr, nullptr);
    message = last_error();
    cudaGraph_t graph = nullptr;
    CUDA_OK(cudaStreamEndCapture(cudaStreamPerThread, &graph));
    if (graph != nullptr) cudaGraphDestroy(graph);
  }).join();
  EXPECT_EQ(second, 5) << "the second thread's first call on its per-thread stream was captured: "
                          "it was handed the first thread's workspace. "
                       << message;
}
