// Paged-KV append, bf16, 8 KV heads, head dim 128, page 16: single-token (decode) append latency
// at batch {1, 64, 256, 1024}, eager and graph-replayed, and multi-token append bandwidth
// (64 requests x 1024 tokens, 537 MB moved). Bandwidth counts bytes read + written (key/value
// read, cache slots written), as the copy bandwidth does.
#include <baracuda/flashinfer.h>

#include <string>
#include <vector>

#include "bench_util.hpp"

using namespace bfi_bench;

namespace {

constexpr int32_t kHeads = 8, kHeadDim = 128, kPage = 16;
constexpr size_t kRowBytes = size_t(kHeads) * kHeadDim * 2;  // one token's K (or V), bf16

baracuda_flashinfer_stream_t stream() {
  return reinterpret_cast<baracuda_flashinfer_stream_t>(device().stream);
}

DeviceBuffer random_buffer(size_t bytes, uint32_t seed) {
  DeviceBuffer b(bytes);
  fill_random(b.get(), bytes, 2, seed);
  return b;
}

// `batch` requests of `pages_per_request` pages each, the requests' pages interleaved, and the
// new tokens' keys and values.
class AppendCase : public Case {
 public:
  AppendCase(int32_t batch, int32_t pages_per_request, int32_t new_tokens)
      : batch(batch), new_tokens(new_tokens) {
    std::vector<int32_t> indices, indptr{0};
    for (int32_t b = 0; b < batch; ++b) {
      for (int32_t i = 0; i < pages_per_request; ++i) indices.push_back(i * batch + b);
      indptr.push_back(indptr.back() + pages_per_request);
    }
    const size_t cache_bytes = size_t(batch) * pages_per_request * kPage * kRowBytes;
    k = random_buffer(cache_bytes, 31);
    v = random_buffer(cache_bytes, 32);
    this->indices = upload(indices);
    this->indptr = upload(indptr);
    last_page_len = upload(std::vector<int32_t>(batch, kPage / 2));
    key = random_buffer(size_t(new_tokens) * kRowBytes, 33);
    value = random_buffer(size_t(new_tokens) * kRowBytes, 34);
  }
  // Bytes one call moves: the new K and V read once and written once.
  double bytes() const { return 4.0 * new_tokens * kRowBytes; }

  int32_t batch, new_tokens;
  DeviceBuffer k, v, indices, indptr, last_page_len, key, value, batch_indices, positions;
};

std::string decode_append_name(int32_t batch) {
  return "decode append bf16 8 heads hd128 p16 B=" + std::to_string(batch);
}
const std::string kMultiTokenName = "multi-token append bf16 8 heads hd128 p16 65536 tokens 537 MB";

}  // namespace

BFI_BENCH_SECTION(append, 40, "paged-KV append: single-token latency, multi-token bandwidth") {
  for (const int32_t batch : {1, 64, 256, 1024}) {
    for (const auto mode : {GpuTimer::Mode::eager, GpuTimer::Mode::graph}) {
      const std::string variant = mode == GpuTimer::Mode::graph ? "graph" : "eager";
      add_benchmark(
          "append", decode_append_name(batch), variant, 200, [=](benchmark::State& state) {
            auto& c = shared_case<AppendCase>("append/" + decode_append_name(batch), [batch] {
              return std::make_unique<AppendCase>(batch, 2, batch);
            });
            const auto call = [&c] {
              check_status(
                  baracuda_kernels_flashinfer_paged_kv_append_decode_bf16_run(
                      c.batch, kPage, kHeads, kHeadDim, c.k.get(), c.v.get(), c.indices.get(),
                      c.indptr.get(), c.last_page_len.get(), c.key.get(), c.value.get(), stream()),
                  "paged_kv_append_decode_bf16_run");
            };
            const double us =
                c.run(state, variant, [&] { return std::make_unique<GpuTimer>(call, mode, 20); });
            set_bandwidth(state, c.bytes(), us);
            state.SetLabel("target us <= 10");
          });
    }
  }

  // Multi-token append: 64 requests x 1024 new tokens (a prefill chunk each).
  add_benchmark("append", kMultiTokenName, "eager", 30, [](benchmark::State& state) {
    auto& c = shared_case<AppendCase>("append/" + kMultiTokenName, [] {
      constexpr int32_t batch = 64, tokens_per_request = 1024, nnz = batch * tokens_per_request;
      auto made = std::make_unique<AppendCase>(batch, tokens_per_request / kPage, nnz);
      std::vector<int32_t> batch_indices, positions;
      for (int32_t b = 0; b < batch; ++b) {
        for (int32_t t = 0; t < tokens_per_request; ++t) {
          batch_indices.push_back(b);
          positions.push_back(t);
        }
      }
      made->batch_indices = upload(batch_indices);
      made->positions = upload(positions);
      return made;
    });
    const auto call = [&c] {
      check_status(baracuda_kernels_flashinfer_paged_kv_append_bf16_run(
                       c.new_tokens, c.batch, kPage, kHeads, kHeadDim, c.k.get(), c.v.get(),
                       c.indices.get(), c.indptr.get(), c.batch_indices.get(), c.positions.get(),
                       c.key.get(), c.value.get(), stream()),
                   "paged_kv_append_bf16_run");
    };
    const double us = c.run(
        state, "eager", [&] { return std::make_unique<GpuTimer>(call, GpuTimer::Mode::eager, 3); });
    set_bandwidth(state, c.bytes(), us);
    state.SetLabel("target frac >= 0.8");
  });
}
