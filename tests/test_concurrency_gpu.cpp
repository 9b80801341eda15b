// Two host threads calling the library at once on one device, each with its own stream and
// buffers, starting together (their first calls race on the library's per-device setup): every
// result equals, bit for bit, the same call made alone afterwards, and each thread's last-error
// message is its own.
#include <baracuda/flashinfer.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "paged_problem.hpp"

using namespace bfi_test;

namespace {

// Lets `n` threads past wait() together.
class StartLine {
 public:
  explicit StartLine(int n) : waiting_(n) {}
  void wait() {
    std::unique_lock<std::mutex> lock(m_);
    if (--waiting_ == 0) {
      cv_.notify_all();
    } else {
      cv_.wait(lock, [this] { return waiting_ == 0; });
    }
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  int waiting_;
};

// One thread's work: a decode problem and a sampling problem, run `rounds` times on its stream.
struct Work {
  Shape shape;
  int32_t vocab, rows;
  bool logits;  // sampling_from_logits_f32 instead of top_k_top_p_sampling_f32
  PagedProblem problem;
  DeviceBuffer probs, tokens;
  Outputs out;
  DeviceBuffer ws;
  size_t ws_bytes = 0;

  void prepare() {
    problem = make_problem(shape);
    ASSERT_EQ(
        baracuda_kernels_flashinfer_paged_decode_get_workspace_size(
            shape.batch, shape.hq, shape.hkv, shape.head_dim, shape.page, shape.element, &ws_bytes),
        0);
    ws = DeviceBuffer(ws_bytes);
    out.allocate(shape);
    std::vector<float> p(size_t(rows) * vocab);
    for (float& x : p) x = uniform(0.f, 1.f);
    for (int32_t r = 0; r < rows; ++r) {
      double sum = 0;
      for (int32_t i = 0; i < vocab; ++i) sum += p[size_t(r) * vocab + i];
      for (int32_t i = 0; i < vocab; ++i) p[size_t(r) * vocab + i] /= float(sum);
    }
    probs = to_device(p);
    tokens = DeviceBuffer(size_t(rows) * 4);
  }

  // One round on `stream`: decode then sample; returns the first failing status (0: none).
  int32_t enqueue(cudaStream_t stream) {
    const Shape& s = shape;
    const PagedProblem& p = problem;
    const int32_t st = kDecodeSymbols[s.element].run(
        s.batch, s.page, s.head_dim, s.hq, s.hkv, 0.0884f, p.d_k.ptr, p.d_v.ptr,
        p.table.d_indices.ptr, p.table.d_indptr.ptr, p.table.d_lpl.ptr, p.d_q.ptr, out.o.ptr,
        out.lse.ptr, ws.ptr, ws_bytes, abi_stream(stream));
    if (st != 0) return st;
    return logits ? baracuda_kernels_flashinfer_sampling_from_logits_f32_run(
                        rows, vocab, 11, 0, probs.ptr, tokens.ptr, abi_stream(stream))
                  : baracuda_kernels_flashinfer_top_k_top_p_sampling_f32_run(
                        rows, vocab, 50, 0.9f, 1, 11, 0, probs.ptr, tokens.ptr, nullptr,
                        abi_stream(stream));
  }

  struct Result {
    std::vector<uint8_t> o, lse;
    std::vector<int32_t> tokens;
    bool operator==(const Result& r) const {
      return o == r.o && lse == r.lse && tokens == r.tokens;
    }
  };
  Result result() const {
    return {to_host<uint8_t>(out.o, out.o.bytes), to_host<uint8_t>(out.lse, out.lse.bytes),
            to_host<int32_t>(tokens, rows)};
  }
};

class ConcurrencyGpu : public GpuTest {};

TEST_F(ConcurrencyGpu, two_threads_decode_and_sample_on_their_own_streams_as_if_alone) {
  // Thread 0: bf16 group 4 (tensor cores) and top-k + top-p; thread 1: f16 group 1 split on CUDA
  // cores and sampling from logits.
  Work work[2] = {{{1, 16, 32, 8, 128, 16, 4000, true}, 32000, 256, false, {}, {}, {}, {}, {}, 0},
                  {{0, 2, 16, 16, 128, 16, 9000, false}, 128256, 64, true, {}, {}, {}, {}, {}, 0}};
  for (Work& w : work) {
    w.prepare();
    if (HasFatalFailure()) return;
  }
  constexpr int kRounds = 20;
  struct ThreadOutcome {
    int32_t status = 0;
    std::string error;        // the library's message for a failed call
    std::string own_message;  // last_error after this thread's refused call
    std::vector<Work::Result> rounds;
  } outcome[2];
  StartLine start(2), refused(2);
  const char* const kRefusedArgument[2] = {"batch_size", "vocab"};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      try {
        Stream stream;
        start.wait();
        for (int i = 0; i < kRounds && outcome[t].status == 0; ++i) {
          outcome[t].status = work[t].enqueue(stream);
          if (outcome[t].status != 0) {
            outcome[t].error = baracuda_kernels_flashinfer_last_error();
            break;
          }
          CUDA_OK(cudaStreamSynchronize(stream));
          outcome[t].rounds.push_back(work[t].result());
        }
        // Each thread's refusal, then (after both refused) each reads its own message.
        if (t == 0) {
          baracuda_kernels_flashinfer_paged_decode_can_implement(0, 32, 8, 128, 16, 1);
        } else {
          baracuda_kernels_flashinfer_sampling_from_probs_f32_can_implement(4, 0);
        }
        refused.wait();
        outcome[t].own_message = baracuda_kernels_flashinfer_last_error();
      } catch (const std::exception& e) {
        outcome[t].status = -1;
        outcome[t].error = e.what();
      }
    });
  }
  for (std::thread& th : threads) th.join();

  for (int t = 0; t < 2; ++t) {
    SCOPED_TRACE("thread " + std::to_string(t));
    ASSERT_EQ(outcome[t].status, 0) << outcome[t].error;
    ASSERT_EQ(outcome[t].rounds.size(), size_t(kRounds));
    EXPECT_NE(outcome[t].own_message.find(kRefusedArgument[t]), std::string::npos)
        << "the thread's last error is another's: " << outcome[t].own_message;
    // Alone, on the main thread: the same results.
    Stream stream;
    ASSERT_EQ(work[t].enqueue(stream), 0) << baracuda_kernels_flashinfer_last_error();
    CUDA_OK(cudaStreamSynchronize(stream));
    const Work::Result alone = work[t].result();
    int differing = 0;
    for (const Work::Result& r : outcome[t].rounds) differing += !(r == alone);
    EXPECT_EQ(differing, 0) << "of " << kRounds << " concurrent rounds differ from a call alone";
    // And the decode is right, not only repeatable.
    EXPECT_TRUE(outputs_match(work[t].shape, work[t].out, reference(work[t].problem, 0.0884f)));
  }
}

}  // namespace
