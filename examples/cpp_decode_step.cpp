// One full decode step through the safe C++ layer (baracuda/flashinfer.hpp):
//   append each request's new K/V token to the paged cache -> paged decode -> sample a token.
// f32 throughout so the host side needs no half-precision code. The "LM head" (attention
// output -> vocabulary probabilities) is a stand-in computed on the host; a real model runs its
// own projection and softmax on the device.
// Build: linked to baracuda_flashinfer and CUDA::cudart (examples/CMakeLists.txt). Needs a GPU.
#include <baracuda/flashinfer.hpp>
#include <cuda_runtime_api.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace bfi = baracuda::flashinfer;

#define CUDA_OK(call)                                                         \
  do {                                                                        \
    cudaError_t e_ = (call);                                                  \
    if (e_ != cudaSuccess) {                                                  \
      std::fprintf(stderr, "%s failed: %s\n", #call, cudaGetErrorString(e_)); \
      std::exit(1);                                                           \
    }                                                                         \
  } while (0)

template <class T>
T* device_alloc(size_t n) {
  void* p = nullptr;
  CUDA_OK(cudaMalloc(&p, n * sizeof(T)));
  return static_cast<T*>(p);
}

template <class T>
T* device_copy(const std::vector<T>& host) {
  T* p = device_alloc<T>(host.size());
  CUDA_OK(cudaMemcpy(p, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
  return p;
}

int main() {
  int devices = 0;
  const cudaError_t found = cudaGetDeviceCount(&devices);
  if (found != cudaSuccess || devices == 0) {
    std::printf("cpp_decode_step: no CUDA device (%s); this example needs a GPU, nothing was run\n",
                found != cudaSuccess ? cudaGetErrorString(found) : "0 devices");
    return 0;
  }
  constexpr int32_t B = 2, HQ = 8, HKV = 2, D = 128, P = 16, VOCAB = 1000;
  constexpr int32_t PAGES_PER_REQ = 4, NUM_PAGES = B * PAGES_PER_REQ;
  cudaStream_t cuda_stream;
  CUDA_OK(cudaStreamCreate(&cuda_stream));
  auto stream = reinterpret_cast<baracuda_flashinfer_stream_t>(cuda_stream);

  // Page table: request b uses pages 2b and 2b+1 (of NUM_PAGES) and already holds 20 + b tokens.
  std::vector<int32_t> indices(NUM_PAGES), indptr(B + 1), last_page_len(B);
  for (int i = 0; i < NUM_PAGES; ++i) indices[i] = i;
  for (int b = 0; b <= B; ++b) indptr[b] = b * 2;  // 2 pages used each (room for 32 tokens)
  for (int b = 0; b < B; ++b) last_page_len[b] = (20 + b) - P;
  // The append convention: the metadata must already count the new token.
  for (int b = 0; b < B; ++b) last_page_len[b] += 1;

  std::vector<float> cache(size_t(NUM_PAGES) * HKV * P * D);
  for (size_t i = 0; i < cache.size(); ++i) cache[i] = std::sin(0.001f * float(i));
  std::vector<float> new_kv(size_t(B) * HKV * D, 0.5f), q(size_t(B) * HQ * D, 0.01f);

  float* k_cache = device_copy(cache);
  float* v_cache = device_copy(cache);
  int32_t* d_indices = device_copy(indices);
  int32_t* d_indptr = device_copy(indptr);
  int32_t* d_last = device_copy(last_page_len);
  float* d_key = device_copy(new_kv);
  float* d_value = device_copy(new_kv);
  float* d_q = device_copy(q);
  float* d_o = device_alloc<float>(q.size());
  float* d_lse = device_alloc<float>(size_t(B) * HQ);
  float* d_probs = device_alloc<float>(size_t(B) * VOCAB);
  int32_t* d_tokens = device_alloc<int32_t>(B);
  uint8_t* d_valid = device_alloc<uint8_t>(B);

  // Views: what each tensor is, checked against the plans on every run.
  auto kc = bfi::contiguous<4>(k_cache, bfi::Dtype::f32, {NUM_PAGES, HKV, P, D});
  auto vc = bfi::contiguous<4>(v_cache, bfi::Dtype::f32, {NUM_PAGES, HKV, P, D});
  auto idx = bfi::contiguous<1>(d_indices, bfi::Dtype::i32, {NUM_PAGES});
  auto ptr = bfi::contiguous<1>(d_indptr, bfi::Dtype::i32, {B + 1});
  auto last = bfi::contiguous<1>(d_last, bfi::Dtype::i32, {B});

  // Plans: validated once (can_implement), reusable every step, shareable across threads.
  bfi::Result<bfi::AppendPlan> append = bfi::AppendPlan::create({B, HKV, D, P, bfi::Dtype::f32});
  bfi::DecodeDesc dd;
  dd.batch_size = B;
  dd.num_qo_heads = HQ;
  dd.num_kv_heads = HKV;
  dd.head_dim = D;
  dd.page_size = P;
  dd.element = bfi::Element::f32;
  bfi::Result<bfi::DecodePlan> decode = bfi::DecodePlan::create(dd);
  bfi::SamplingDesc sd;
  sd.batch_size = B;
  sd.vocab_size = VOCAB;
  sd.kind = bfi::SamplingKind::top_k_top_p;
  sd.top_k = 50;
  sd.top_p = 0.9f;
  bfi::Result<bfi::SamplingPlan> sample = bfi::SamplingPlan::create(sd);
  for (const bfi::Status* s : {&append.status(), &decode.status(), &sample.status()}) {
    if (!s->ok()) {
      std::fprintf(stderr, "plan: %s\n", s->to_string().c_str());
      return 1;
    }
  }
  void* workspace = nullptr;
  const size_t ws_bytes = decode->workspace_size();
  if (ws_bytes != 0) workspace = device_alloc<char>(ws_bytes);

  // 1. Append the new token of each request.
  bfi::Status s = append->run(stream, bfi::contiguous<3>(d_key, bfi::Dtype::f32, {B, HKV, D}),
                              bfi::contiguous<3>(d_value, bfi::Dtype::f32, {B, HKV, D}), kc, vc,
                              idx, ptr, last);
  // 2. Decode: every request's query attends its whole (now longer) sequence.
  if (s.ok()) {
    s = decode->run(stream, bfi::contiguous<3>(d_q, bfi::Dtype::f32, {B, HQ, D}), kc, vc, idx, ptr,
                    last, bfi::contiguous<3>(d_o, bfi::Dtype::f32, {B, HQ, D}),
                    bfi::contiguous<2>(d_lse, bfi::Dtype::f32, {B, HQ}),
                    bfi::Workspace{workspace, ws_bytes});
  }
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.to_string().c_str());
    return 1;
  }

  // Stand-in LM head on the host: logits[b][v] = sum(o[b]) * cos(v), softmax.
  std::vector<float> o(q.size()), probs(size_t(B) * VOCAB);
  CUDA_OK(cudaMemcpyAsync(o.data(), d_o, o.size() * sizeof(float), cudaMemcpyDeviceToHost,
                          cuda_stream));
  CUDA_OK(cudaStreamSynchronize(cuda_stream));
  for (int b = 0; b < B; ++b) {
    double h = 0, total = 0;
    for (int i = 0; i < HQ * D; ++i) h += o[size_t(b) * HQ * D + i];
    h = 4.0 * std::tanh(h / (HQ * D));  // keep exp() in range
    for (int v = 0; v < VOCAB; ++v)
      total += probs[size_t(b) * VOCAB + v] = float(std::exp(h * std::cos(v)));
    for (int v = 0; v < VOCAB; ++v)
      probs[size_t(b) * VOCAB + v] = float(probs[size_t(b) * VOCAB + v] / total);
  }
  CUDA_OK(cudaMemcpyAsync(d_probs, probs.data(), probs.size() * sizeof(float),
                          cudaMemcpyHostToDevice, cuda_stream));

  // 3. Sample one token per request (advance the offset by offset_step() every step).
  uint64_t seed = 42, offset = 0;
  s = sample->run(stream, bfi::contiguous<2>(d_probs, bfi::Dtype::f32, {B, VOCAB}),
                  bfi::contiguous<1>(d_tokens, bfi::Dtype::i32, {B}),
                  bfi::contiguous<1>(d_valid, bfi::Dtype::u8, {B}), seed, offset);
  offset += sample->offset_step();
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.to_string().c_str());
    return 1;
  }
  std::vector<int32_t> tokens(B);
  std::vector<uint8_t> valid(B);
  CUDA_OK(cudaMemcpyAsync(tokens.data(), d_tokens, B * sizeof(int32_t), cudaMemcpyDeviceToHost,
                          cuda_stream));
  CUDA_OK(cudaMemcpyAsync(valid.data(), d_valid, B, cudaMemcpyDeviceToHost, cuda_stream));
  CUDA_OK(cudaStreamSynchronize(cuda_stream));
  for (int b = 0; b < B; ++b) {
    std::printf("request %d: token %d (valid %d)\n", b, tokens[b], valid[b]);
    if (!valid[b] || tokens[b] < 0 || tokens[b] >= VOCAB) return 1;
  }

  for (void* p : {(void*)k_cache, (void*)v_cache, (void*)d_indices, (void*)d_indptr, (void*)d_last,
                  (void*)d_key, (void*)d_value, (void*)d_q, (void*)d_o, (void*)d_lse,
                  (void*)d_probs, (void*)d_tokens, (void*)d_valid, workspace}) {
    cudaFree(p);
  }
  cudaStreamDestroy(cuda_stream);
  return 0;
}
