// GPU tests of paged-KV append, every dtype, on fresh random caches (never zeros):
//  - single-token (decode) append writes exactly slot last_page_len-1 of each request's last page
//    (the metadata already counts the new token) and leaves every other byte of both caches
//    untouched (bit-exact), including at 128 KV heads (beyond FlashInfer's 1024-thread block);
//  - multi-token append writes token i at (batch_indices[i], positions[i]) in any token order,
//    skips out-of-range tokens, and touches nothing else;
//  - append-then-decode: a cache completed on the GPU by append equals, byte for byte, the cache
//    built on the CPU, and paged decode over both gives identical outputs.
#include <baracuda/flashinfer.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "build_config.hpp"
#include "gpu_util.hpp"

using namespace bfi_test;

namespace {

int32_t append_decode(int32_t e, int32_t B, int32_t P, int32_t H, int32_t D, void* k, void* v,
                      void* indices, void* indptr, void* lpl, const void* key, const void* value) {
  using Fn = decltype(&baracuda_kernels_flashinfer_paged_kv_append_decode_f16_run);
  static const Fn fns[3] = {baracuda_kernels_flashinfer_paged_kv_append_decode_f16_run,
                            baracuda_kernels_flashinfer_paged_kv_append_decode_bf16_run,
                            baracuda_kernels_flashinfer_paged_kv_append_decode_f32_run};
  return fns[e](B, P, H, D, k, v, indices, indptr, lpl, key, value, nullptr);
}

int32_t append_multi(int32_t e, int32_t n, int32_t B, int32_t P, int32_t H, int32_t D, void* k,
                     void* v, const void* indices, const void* indptr, const void* bidx,
                     const void* pos, const void* key, const void* value) {
  using Fn = decltype(&baracuda_kernels_flashinfer_paged_kv_append_f16_run);
  static const Fn fns[3] = {baracuda_kernels_flashinfer_paged_kv_append_f16_run,
                            baracuda_kernels_flashinfer_paged_kv_append_bf16_run,
                            baracuda_kernels_flashinfer_paged_kv_append_f32_run};
  return fns[e](n, B, P, H, D, k, v, indices, indptr, bidx, pos, key, value, nullptr);
}

// A host paged cache (HND pages), pages of the requests scattered over a shuffled pool.
struct Cache {
  int32_t element, B, P, H, D, num_pages;
  std::vector<int32_t> indices, indptr, lpl;
  std::vector<uint8_t> k, v;
  size_t eb() const { return element_bytes(element); }
  size_t row_bytes() const { return size_t(D) * eb(); }
  int32_t pages(int32_t b) const { return indptr[b + 1] - indptr[b]; }
  // Byte offset of (request b, position pos, head h) in k/v.
  size_t offset(int32_t b, int32_t pos, int32_t h) const {
    const size_t page = indices[indptr[b] + pos / P];
    return ((page * H + h) * P + pos % P) * row_bytes();
  }
};

std::vector<uint8_t> random_rows(int32_t element, size_t elements) {
  std::vector<uint8_t> out(elements * element_bytes(element));
  for (size_t i = 0; i < elements; ++i) {
    float x = uniform(-2.f, 2.f);
    if (std::fabs(x) < 1e-3f) x = 0.5f;  // never zero
    store_element(element, out.data(), i, x);
  }
  return out;
}

Cache random_cache(int32_t element, const std::vector<int32_t>& pages_per_request, int32_t P,
                   int32_t H, int32_t D) {
  Cache c{element, static_cast<int32_t>(pages_per_request.size()), P, H, D, 0, {}, {0}, {}, {}, {}};
  for (int32_t n : pages_per_request) c.indptr.push_back(c.indptr.back() + n);
  c.num_pages = c.indptr.back() + 3;  // spare pages nobody owns: must stay untouched
  std::vector<int32_t> pool(c.num_pages);
  std::iota(pool.begin(), pool.end(), 0);
  std::shuffle(pool.begin(), pool.end(), rng());
  c.indices.assign(pool.begin(), pool.begin() + c.indptr.back());
  for (int32_t b = 0; b < c.B; ++b) c.lpl.push_back(uniform_int(1, P));
  const size_t elements = size_t(c.num_pages) * H * P * D;
  c.k = random_rows(element, elements);
  c.v = random_rows(element, elements);
  return c;
}

// Number of differing bytes, and the first differing byte.
size_t count_diff(const std::vector<uint8_t>& got, const std::vector<uint8_t>& want,
                  size_t* first) {
  size_t n = 0;
  *first = SIZE_MAX;
  for (size_t i = 0; i < want.size(); ++i) {
    if (got[i] != want[i]) {
      if (n++ == 0) *first = i;
    }
  }
  return n;
}

struct DeviceCache {
  DeviceBuffer k, v, indices, indptr, lpl;
  explicit DeviceCache(const Cache& c)
      : k(to_device(c.k)),
        v(to_device(c.v)),
        indices(to_device(c.indices)),
        indptr(to_device(c.indptr)),
        lpl(to_device(c.lpl)) {}
};

void check_cache(const Cache& want, const DeviceCache& d) {
  size_t first = 0;
  const size_t dk = count_diff(to_host<uint8_t>(d.k, want.k.size()), want.k, &first);
  EXPECT_EQ(dk, 0u) << "K bytes differ, the first at byte " << first;
  const size_t dv = count_diff(to_host<uint8_t>(d.v, want.v.size()), want.v, &first);
  EXPECT_EQ(dv, 0u) << "V bytes differ, the first at byte " << first;
}

class Append : public GpuTestWithParam<int32_t> {};

TEST_P(Append, decode_append_writes_the_counted_last_slot_and_nothing_else) {
  struct Shape {
    int32_t B, P, H;
  };
  const int32_t e = GetParam();
  for (int32_t D : {64, 128, 256}) {
    for (const Shape s : {Shape{7, 16, 8}, Shape{3, 1, 128}, Shape{5, 5, 3}, Shape{2, 4, 1024}}) {
      SCOPED_TRACE("D=" + std::to_string(D) + " B=" + std::to_string(s.B) +
                   " P=" + std::to_string(s.P) + " H=" + std::to_string(s.H));
      std::vector<int32_t> pages(s.B);
      for (auto& n : pages) n = uniform_int(1, 4);
      pages[1 % s.B] = 0;  // a request with no pages: skipped
      Cache c = random_cache(e, pages, s.P, s.H, D);
      if (s.B > 3) c.lpl[3] = 0;  // last_page_len outside [1, P]: skipped
      const std::vector<uint8_t> key = random_rows(e, size_t(s.B) * s.H * D);
      const std::vector<uint8_t> value = random_rows(e, size_t(s.B) * s.H * D);
      DeviceCache d(c);
      DeviceBuffer dkey = to_device(key), dvalue = to_device(value);
      const int32_t st = append_decode(e, s.B, s.P, s.H, D, d.k.ptr, d.v.ptr, d.indices.ptr,
                                       d.indptr.ptr, d.lpl.ptr, dkey.ptr, dvalue.ptr);
      ASSERT_EQ(st, 0) << baracuda_kernels_flashinfer_last_error();
      CUDA_OK(cudaDeviceSynchronize());
      Cache want = c;
      for (int32_t b = 0; b < s.B; ++b) {
        if (c.pages(b) == 0 || c.lpl[b] < 1 || c.lpl[b] > s.P) continue;
        const int32_t pos = (c.pages(b) - 1) * s.P + c.lpl[b] - 1;  // len - 1
        for (int32_t h = 0; h < s.H; ++h) {
          const size_t src = (size_t(b) * s.H + h) * c.row_bytes();
          std::memcpy(&want.k[c.offset(b, pos, h)], &key[src], c.row_bytes());
          std::memcpy(&want.v[c.offset(b, pos, h)], &value[src], c.row_bytes());
        }
      }
      check_cache(want, d);
    }
  }
}

TEST_P(Append, multi_token_append_writes_each_token_at_its_position_and_nothing_else) {
  struct Shape {
    int32_t B, P, H;
  };
  const int32_t e = GetParam();
  for (int32_t D : {64, 128, 256}) {
    for (const Shape s : {Shape{5, 16, 8}, Shape{3, 3, 128}, Shape{4, 1, 2}}) {
      SCOPED_TRACE("D=" + std::to_string(D) + " B=" + std::to_string(s.B) +
                   " P=" + std::to_string(s.P) + " H=" + std::to_string(s.H));
      std::vector<int32_t> pages(s.B);
      for (auto& n : pages) n = uniform_int(1, 4);
      Cache c = random_cache(e, pages, s.P, s.H, D);
      // Each request gets a run of distinct positions; tokens are shuffled across requests.
      std::vector<std::pair<int32_t, int32_t>> tokens;
      for (int32_t b = 0; b < s.B; ++b) {
        const int32_t cap = c.pages(b) * s.P;
        const int32_t start = uniform_int(0, cap - 1), n = uniform_int(1, cap - start);
        for (int32_t j = 0; j < n; ++j) tokens.push_back({b, start + j});
      }
      std::shuffle(tokens.begin(), tokens.end(), rng());
      const size_t valid = tokens.size();
      tokens.push_back({s.B, 0});               // request out of range: skipped
      tokens.push_back({-1, 0});                // request out of range: skipped
      tokens.push_back({0, c.pages(0) * s.P});  // position past the pages: skipped
      tokens.push_back({0, -1});                // negative position: skipped
      const int32_t n = static_cast<int32_t>(tokens.size());
      std::vector<int32_t> bidx, pos;
      for (auto& t : tokens) {
        bidx.push_back(t.first);
        pos.push_back(t.second);
      }
      const std::vector<uint8_t> key = random_rows(e, size_t(n) * s.H * D);
      const std::vector<uint8_t> value = random_rows(e, size_t(n) * s.H * D);
      DeviceCache d(c);
      DeviceBuffer dkey = to_device(key), dvalue = to_device(value);
      DeviceBuffer dbidx = to_device(bidx), dpos = to_device(pos);
      const int32_t st = append_multi(e, n, s.B, s.P, s.H, D, d.k.ptr, d.v.ptr, d.indices.ptr,
                                      d.indptr.ptr, dbidx.ptr, dpos.ptr, dkey.ptr, dvalue.ptr);
      ASSERT_EQ(st, 0) << baracuda_kernels_flashinfer_last_error();
      CUDA_OK(cudaDeviceSynchronize());
      Cache want = c;
      for (size_t i = 0; i < valid; ++i) {
        for (int32_t h = 0; h < s.H; ++h) {
          const size_t src = (i * s.H + h) * c.row_bytes();
          std::memcpy(&want.k[c.offset(bidx[i], pos[i], h)], &key[src], c.row_bytes());
          std::memcpy(&want.v[c.offset(bidx[i], pos[i], h)], &value[src], c.row_bytes());
        }
      }
      check_cache(want, d);
    }
  }
}

// Decode over the device cache; returns o and lse on the host (outputs NaN-poisoned first).
struct DecodeOut {
  std::vector<uint8_t> o;
  std::vector<float> lse;
};
DecodeOut decode(int32_t e, const Cache& c, const DeviceCache& d, int32_t hq,
                 const DeviceBuffer& q) {
  using Fn = decltype(&baracuda_kernels_flashinfer_paged_decode_f16_run);
  static const Fn fns[3] = {baracuda_kernels_flashinfer_paged_decode_f16_run,
                            baracuda_kernels_flashinfer_paged_decode_bf16_run,
                            baracuda_kernels_flashinfer_paged_decode_f32_run};
  size_t ws_bytes = 0;
  EXPECT_EQ(baracuda_kernels_flashinfer_paged_decode_get_workspace_size(c.B, hq, c.H, c.D, c.P, e,
                                                                        &ws_bytes),
            0);
  DeviceBuffer ws(ws_bytes), o(size_t(c.B) * hq * c.row_bytes()), lse(size_t(c.B) * hq * 4);
  poison(o);
  poison(lse);
  const int32_t st =
      fns[e](c.B, c.P, c.D, hq, c.H, 1.f / std::sqrt(float(c.D)), d.k.ptr, d.v.ptr, d.indices.ptr,
             d.indptr.ptr, d.lpl.ptr, q.ptr, o.ptr, lse.ptr, ws.ptr, ws_bytes, nullptr);
  EXPECT_EQ(st, 0) << "decode: " << baracuda_kernels_flashinfer_last_error();
  CUDA_OK(cudaDeviceSynchronize());
  return {to_host<uint8_t>(o, o.bytes), to_host<float>(lse, size_t(c.B) * hq)};
}

TEST_P(Append, then_decode_equals_decode_over_a_cache_built_on_the_cpu) {
  const int32_t D = 128, H = 2, hq = 8, P = 16, B = 6;
  const int32_t e = GetParam();
  if (!decode_head_dim_built(D)) GTEST_SKIP() << "decode head dim " << D << " is not built";
  for (const bool multi : {false, true}) {
    SCOPED_TRACE(multi ? "multi-token append" : "decode append");
    std::vector<int32_t> pages(B);
    for (auto& n : pages) n = uniform_int(1, 6);
    const Cache full = random_cache(e, pages, P, H, D);  // the CPU-built reference cache
    // The GPU cache lacks each request's last `fresh[b]` tokens (their slots hold garbage);
    // the metadata already counts them, as append requires.
    Cache partial = full;
    std::vector<int32_t> bidx, pos;
    std::vector<uint8_t> key, value;
    for (int32_t b = 0; b < B; ++b) {
      const int32_t len = (full.pages(b) - 1) * P + full.lpl[b];
      const int32_t fresh = multi ? uniform_int(1, len) : 1;
      for (int32_t t = len - fresh; t < len; ++t) {
        bidx.push_back(b);
        pos.push_back(t);
        for (int32_t h = 0; h < H; ++h) {
          const size_t at = full.offset(b, t, h);
          key.insert(key.end(), &full.k[at], &full.k[at] + full.row_bytes());
          value.insert(value.end(), &full.v[at], &full.v[at] + full.row_bytes());
          std::memset(&partial.k[at], 0xFF, full.row_bytes());
          std::memset(&partial.v[at], 0xFF, full.row_bytes());
        }
      }
    }
    DeviceCache dp(partial), df(full);
    DeviceBuffer dkey = to_device(key), dvalue = to_device(value);
    DeviceBuffer dbidx = to_device(bidx), dpos = to_device(pos);
    const int32_t st = multi ? append_multi(e, static_cast<int32_t>(bidx.size()), B, P, H, D,
                                            dp.k.ptr, dp.v.ptr, dp.indices.ptr, dp.indptr.ptr,
                                            dbidx.ptr, dpos.ptr, dkey.ptr, dvalue.ptr)
                             : append_decode(e, B, P, H, D, dp.k.ptr, dp.v.ptr, dp.indices.ptr,
                                             dp.indptr.ptr, dp.lpl.ptr, dkey.ptr, dvalue.ptr);
    ASSERT_EQ(st, 0) << baracuda_kernels_flashinfer_last_error();
    CUDA_OK(cudaDeviceSynchronize());
    check_cache(full, dp);

    const DeviceBuffer q = to_device(random_rows(e, size_t(B) * hq * D));
    const DecodeOut a = decode(e, partial, dp, hq, q), b = decode(e, full, df, hq, q);
    EXPECT_EQ(a.o, b.o) << "decode outputs differ";
    bool finite = true, same_lse = true;
    for (size_t i = 0; i < a.lse.size(); ++i) {
      finite = finite && std::isfinite(a.lse[i]);
      same_lse = same_lse && std::memcmp(&a.lse[i], &b.lse[i], 4) == 0;
    }
    for (size_t i = 0; i < a.o.size() / element_bytes(e); ++i) {
      finite = finite && std::isfinite(load_element(e, a.o.data(), i));
    }
    EXPECT_TRUE(finite) << "decode after append: a non-finite output";
    EXPECT_TRUE(same_lse) << "decode after append: lse differs";
  }
}

INSTANTIATE_TEST_SUITE_P(Elements, Append, ::testing::Values(0, 1, 2),
                         [](const auto& i) { return std::string(element_name(i.param)); });

}  // namespace
