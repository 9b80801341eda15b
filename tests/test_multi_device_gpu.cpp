// Calls on a stream of one GPU made while another GPU is current (a tensor-parallel engine's
// thread that switches devices), and one thread per GPU: each call runs on its stream's device,
// sizes its work from that device, matches the float64 reference (decode) or the same call made
// with that device current (sampling, bit for bit), and leaves the caller's current device as it
// was. The cases that need two GPUs skip, saying so, on a machine with one.
#include <baracuda/flashinfer.h>

#include <thread>

#include "paged_problem.hpp"

using namespace bfi_test;

namespace {

int device_count() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
}
int current_device() {
  int d = -1;
  CUDA_OK(cudaGetDevice(&d));
  return d;
}

class MultiDeviceGpu : public GpuTest {
 protected:
  // GTEST_SKIP from a helper returns from the helper only: callers check IsSkipped().
  void need_devices(int n) {
    const int have = device_count();
    if (have < n) GTEST_SKIP() << "needs " << n << " CUDA devices; this machine has " << have;
  }
};

// bf16, group 4 (the tensor-core path, planned on the device) and f16 group 1 (CUDA cores,
// split): both decode paths.
const Shape kShapes[] = {{1, 6, 32, 8, 128, 16, 3000, true}, {0, 3, 8, 8, 64, 16, 5000, true}};

// The decode of `s` on device `owner`, called while device `caller` is current.
void decode_on(int owner, int caller, const Shape& s) {
  SCOPED_TRACE("stream on device " + std::to_string(owner) + ", current device " +
               std::to_string(caller) + ", " + describe(s));
  CUDA_OK(cudaSetDevice(owner));
  PagedProblem p = make_problem(s);
  Stream stream;
  Outputs out;
  DeviceBuffer ws;
  size_t ws_bytes = 0;
  // The size query answers for the current device: ask with the owner current.
  ASSERT_ST_OK(baracuda_kernels_flashinfer_paged_decode_get_workspace_size(
      s.batch, s.hq, s.hkv, s.head_dim, s.page, s.element, &ws_bytes));
  ws = DeviceBuffer(ws_bytes);
  out.allocate(s);
  out.poison_all();
  poison(ws);
  const AttentionReference ref = reference(p, 0.0884f);
  CUDA_OK(cudaSetDevice(caller));
  ASSERT_ST_OK(kDecodeSymbols[s.element].run(
      s.batch, s.page, s.head_dim, s.hq, s.hkv, 0.0884f, p.d_k.ptr, p.d_v.ptr,
      p.table.d_indices.ptr, p.table.d_indptr.ptr, p.table.d_lpl.ptr, p.d_q.ptr, out.o.ptr,
      out.lse.ptr, ws.ptr, ws_bytes, abi_stream(stream)));
  EXPECT_EQ(current_device(), caller) << "the call changed the caller's current device";
  CUDA_OK(cudaStreamSynchronize(stream));
  EXPECT_TRUE(outputs_match(s, out, ref));
  CUDA_OK(cudaSetDevice(owner));  // the buffers are freed with their device current
}

// top-k + top-p sampling of `rows` rows on device `owner` from `caller`: the tokens equal those
// of the same call made with `owner` current.
void sample_on(int owner, int caller) {
  SCOPED_TRACE("stream on device " + std::to_string(owner) + ", current device " +
               std::to_string(caller));
  constexpr int32_t kRows = 64, kVocab = 32000;
  CUDA_OK(cudaSetDevice(owner));
  std::vector<float> probs(size_t(kRows) * kVocab);
  for (float& x : probs) x = uniform(0.f, 1.f);
  for (int32_t r = 0; r < kRows; ++r) {
    double sum = 0;
    for (int32_t i = 0; i < kVocab; ++i) sum += probs[size_t(r) * kVocab + i];
    for (int32_t i = 0; i < kVocab; ++i) probs[size_t(r) * kVocab + i] /= float(sum);
  }
  const DeviceBuffer d_probs = to_device(probs);
  DeviceBuffer ours(size_t(kRows) * 4), theirs(size_t(kRows) * 4);
  poison(ours);
  poison(theirs);
  Stream stream;
  ASSERT_ST_OK(baracuda_kernels_flashinfer_top_k_top_p_sampling_f32_run(
      kRows, kVocab, 50, 0.9f, 1, 7, 0, d_probs.ptr, theirs.ptr, nullptr, abi_stream(stream)));
  CUDA_OK(cudaSetDevice(caller));
  ASSERT_ST_OK(baracuda_kernels_flashinfer_top_k_top_p_sampling_f32_run(
      kRows, kVocab, 50, 0.9f, 1, 7, 0, d_probs.ptr, ours.ptr, nullptr, abi_stream(stream)));
  EXPECT_EQ(current_device(), caller);
  CUDA_OK(cudaStreamSynchronize(stream));
  const std::vector<int32_t> a = to_host<int32_t>(ours, kRows), b = to_host<int32_t>(theirs, kRows);
  EXPECT_EQ(a, b) << "the call made from another device differs from the one made on its own";
  for (int32_t t : a) EXPECT_TRUE(t >= 0 && t < kVocab) << t;
  CUDA_OK(cudaSetDevice(owner));
}

TEST_F(MultiDeviceGpu, a_call_on_the_current_devices_stream_leaves_the_current_device_alone) {
  for (const Shape& s : kShapes) decode_on(0, 0, s);
  sample_on(0, 0);
}

TEST_F(MultiDeviceGpu, a_call_on_another_devices_stream_runs_there_from_any_current_device) {
  need_devices(2);
  if (IsSkipped()) return;
  const int n = device_count();
  for (int owner = 0; owner < n; ++owner) {
    for (int caller = 0; caller < n; ++caller) {
      if (caller == owner) continue;
      for (const Shape& s : kShapes) decode_on(owner, caller, s);
      sample_on(owner, caller);
      CUDA_OK(cudaSetDevice(0));
    }
  }
}

TEST_F(MultiDeviceGpu, one_thread_per_device_each_decoding_on_its_own) {
  need_devices(2);
  if (IsSkipped()) return;
  const int n = device_count();
  std::vector<std::thread> threads;
  std::vector<std::string> failures(static_cast<size_t>(n));
  for (int d = 0; d < n; ++d) {
    threads.emplace_back([d, &failures] {
      try {
        CUDA_OK(cudaSetDevice(d));
        // GoogleTest's assertions are thread-safe on POSIX; a thrown CUDA error is kept here.
        for (const Shape& s : kShapes) decode_on(d, d, s);
      } catch (const std::exception& e) {
        failures[size_t(d)] = e.what();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int d = 0; d < n; ++d) EXPECT_EQ(failures[size_t(d)], "") << "device " << d;
}

}  // namespace
