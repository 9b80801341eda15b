/*
 * End-to-end example (C99): fill a paged bf16 KV cache, run batched decode through the C ABI,
 * check it against a float64 CPU reference, and print time and bandwidth.
 * Without a GPU it says so and prints the can_implement matrix instead (exit 0).
 */
#include <baracuda/flashinfer.h>
#include <cuda_runtime_api.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_CUDA(call)                                                   \
  do {                                                                     \
    cudaError_t err_ = (call);                                             \
    if (err_ != cudaSuccess) {                                             \
      fprintf(stderr, "%s failed: %s\n", #call, cudaGetErrorString(err_)); \
      exit(1);                                                             \
    }                                                                      \
  } while (0)

#define CHECK_STATUS(call)                                    \
  do {                                                        \
    int32_t st_ = (call);                                     \
    if (st_ != BARACUDA_FLASHINFER_SUCCESS) {                 \
      fprintf(stderr, "%s failed: %s: %s\n", #call,           \
              baracuda_kernels_flashinfer_status_string(st_), \
              baracuda_kernels_flashinfer_last_error());      \
      exit(1);                                                \
    }                                                         \
  } while (0)

static uint16_t to_bf16(float f) {
  uint32_t bits;
  memcpy(&bits, &f, 4);
  bits += 0x7FFFu + ((bits >> 16) & 1u); /* round to nearest even */
  return (uint16_t)(bits >> 16);
}

static double from_bf16(uint16_t h) {
  uint32_t bits = (uint32_t)h << 16;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

static float uniform(float lo, float hi) {
  return lo + (hi - lo) * ((float)rand() / (float)RAND_MAX);
}

static void print_matrix(void) {
  static const char* const names[] = {"f16",      "bf16",      "f32",      "f16_e4m3",
                                      "f16_e5m2", "bf16_e4m3", "bf16_e5m2"};
  static const int32_t head_dims[] = {64, 96, 128, 256, 512};
  static const int32_t groups[] = {1, 2, 4, 5, 7, 8, 16, 32};
  int e, d, g;
  printf(
      "paged_decode_can_implement(batch=8, Hq=8*g, Hkv=8, head_dim, page=16, element): 0 = "
      "supported\n");
  printf("%-10s %-8s", "element", "head_dim");
  for (g = 0; g < 8; ++g) printf(" g=%-3d", groups[g]);
  printf("\n");
  for (e = 0; e < 7; ++e) {
    for (d = 0; d < 5; ++d) {
      printf("%-10s %-8d", names[e], head_dims[d]);
      for (g = 0; g < 8; ++g) {
        printf(" %-5d", baracuda_kernels_flashinfer_paged_decode_can_implement(
                            8, 8 * groups[g], 8, head_dims[d], 16, e));
      }
      printf("\n");
    }
  }
}

int main(void) {
  enum { B = 8, HQ = 32, HKV = 8, D = 128, P = 16, MAX_LEN = 4096 };
  int devices = 0;
  printf("baracuda-flashinfer %s\n", baracuda_kernels_flashinfer_version_string());
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    printf("No CUDA GPU on this machine: nothing to run. What this build supports:\n");
    print_matrix();
    return 0;
  }

  /* Page table: random lengths, shuffled physical pages. */
  int32_t lens[B], indptr[B + 1], last_page_len[B];
  int32_t b, h, t, d, i;
  srand(2026);
  indptr[0] = 0;
  for (b = 0; b < B; ++b) {
    int32_t pages;
    lens[b] = 1 + rand() % MAX_LEN;
    pages = (lens[b] + P - 1) / P;
    indptr[b + 1] = indptr[b] + pages;
    last_page_len[b] = lens[b] - (pages - 1) * P;
  }
  const int32_t num_pages = indptr[B];
  int32_t* indices = malloc(sizeof(int32_t) * num_pages);
  for (i = 0; i < num_pages; ++i) indices[i] = i;
  for (i = num_pages - 1; i > 0; --i) {
    int32_t j = rand() % (i + 1), tmp = indices[i];
    indices[i] = indices[j];
    indices[j] = tmp;
  }
  const size_t kv_elems = (size_t)num_pages * HKV * P * D, q_elems = (size_t)B * HQ * D;
  uint16_t* k = malloc(kv_elems * 2);
  uint16_t* v = malloc(kv_elems * 2);
  uint16_t* q = malloc(q_elems * 2);
  for (i = 0; i < (int32_t)kv_elems; ++i)
    k[i] = to_bf16(uniform(-1, 1)), v[i] = to_bf16(uniform(-1, 1));
  for (i = 0; i < (int32_t)q_elems; ++i) q[i] = to_bf16(uniform(-2, 2));

  void *dk, *dv, *dq, *dout, *dlse, *dind, *dptr, *dlpl, *ws = NULL;
  CHECK_CUDA(cudaMalloc(&dk, kv_elems * 2));
  CHECK_CUDA(cudaMalloc(&dv, kv_elems * 2));
  CHECK_CUDA(cudaMalloc(&dq, q_elems * 2));
  CHECK_CUDA(cudaMalloc(&dout, q_elems * 2));
  CHECK_CUDA(cudaMalloc(&dlse, (size_t)B * HQ * 4));
  CHECK_CUDA(cudaMalloc(&dind, sizeof(int32_t) * num_pages));
  CHECK_CUDA(cudaMalloc(&dptr, sizeof(indptr)));
  CHECK_CUDA(cudaMalloc(&dlpl, sizeof(last_page_len)));
  CHECK_CUDA(cudaMemcpy(dk, k, kv_elems * 2, cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(dv, v, kv_elems * 2, cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(dq, q, q_elems * 2, cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(dind, indices, sizeof(int32_t) * num_pages, cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(dptr, indptr, sizeof(indptr), cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(dlpl, last_page_len, sizeof(last_page_len), cudaMemcpyHostToDevice));

  /* The protocol: can_implement, workspace size, run. */
  CHECK_STATUS(baracuda_kernels_flashinfer_paged_decode_can_implement(B, HQ, HKV, D, P,
                                                                      BARACUDA_FLASHINFER_BF16));
  size_t ws_bytes = 0;
  CHECK_STATUS(baracuda_kernels_flashinfer_paged_decode_get_workspace_size(
      B, HQ, HKV, D, P, BARACUDA_FLASHINFER_BF16, &ws_bytes));
  if (ws_bytes) CHECK_CUDA(cudaMalloc(&ws, ws_bytes));
  cudaStream_t stream;
  CHECK_CUDA(cudaStreamCreate(&stream));
  const float sm_scale = 1.0f / sqrtf((float)D);
#define RUN_DECODE()                                              \
  CHECK_STATUS(baracuda_kernels_flashinfer_paged_decode_bf16_run( \
      B, P, D, HQ, HKV, sm_scale, dk, dv, dind, dptr, dlpl, dq, dout, dlse, ws, ws_bytes, stream))
  RUN_DECODE();
  CHECK_CUDA(cudaStreamSynchronize(stream));

  uint16_t* out = malloc(q_elems * 2);
  float* lse = malloc((size_t)B * HQ * 4);
  CHECK_CUDA(cudaMemcpy(out, dout, q_elems * 2, cudaMemcpyDeviceToHost));
  CHECK_CUDA(cudaMemcpy(lse, dlse, (size_t)B * HQ * 4, cudaMemcpyDeviceToHost));

  /* float64 reference */
  double max_err = 0, max_lse_err = 0;
  double* s = malloc(sizeof(double) * MAX_LEN);
  for (b = 0; b < B; ++b) {
    for (h = 0; h < HQ; ++h) {
      const int32_t kvh = h / (HQ / HKV);
      double m = -INFINITY, sum = 0, o[D];
      for (t = 0; t < lens[b]; ++t) {
        const size_t base = (((size_t)indices[indptr[b] + t / P] * HKV + kvh) * P + t % P) * D;
        double dot = 0;
        for (d = 0; d < D; ++d)
          dot += from_bf16(q[((size_t)b * HQ + h) * D + d]) * from_bf16(k[base + d]);
        s[t] = dot * sm_scale;
        if (s[t] > m) m = s[t];
      }
      for (d = 0; d < D; ++d) o[d] = 0;
      for (t = 0; t < lens[b]; ++t) sum += (s[t] = exp(s[t] - m));
      for (t = 0; t < lens[b]; ++t) {
        const size_t base = (((size_t)indices[indptr[b] + t / P] * HKV + kvh) * P + t % P) * D;
        for (d = 0; d < D; ++d) o[d] += s[t] / sum * from_bf16(v[base + d]);
      }
      for (d = 0; d < D; ++d) {
        const double err = fabs(from_bf16(out[((size_t)b * HQ + h) * D + d]) - o[d]);
        if (!(err <= max_err)) max_err = err; /* NaN-safe */
      }
      {
        const double ref_lse = (m + log(sum)) / log(2.0), err = fabs(lse[b * HQ + h] - ref_lse);
        if (!(err <= max_lse_err)) max_lse_err = err;
      }
    }
  }

  /* Timing */
  cudaEvent_t start, stop;
  float ms = 0;
  size_t total_tokens = 0;
  CHECK_CUDA(cudaEventCreate(&start));
  CHECK_CUDA(cudaEventCreate(&stop));
  for (i = 0; i < 5; ++i) RUN_DECODE();
  CHECK_CUDA(cudaEventRecord(start, stream));
  for (i = 0; i < 50; ++i) RUN_DECODE();
  CHECK_CUDA(cudaEventRecord(stop, stream));
  CHECK_CUDA(cudaEventSynchronize(stop));
  CHECK_CUDA(cudaEventElapsedTime(&ms, start, stop));
  for (b = 0; b < B; ++b) total_tokens += (size_t)lens[b];
  {
    const double us = 1000.0 * ms / 50, bytes = 2.0 * total_tokens * HKV * D * 2;
    printf("decode bf16 B=%d Hq=%d Hkv=%d D=%d page=%d, %zu KV tokens, workspace %zu bytes\n", B,
           HQ, HKV, D, P, total_tokens, ws_bytes);
    printf("  max |o - ref| = %.3g (bound 1.6e-2), max |lse - ref| = %.3g\n", max_err, max_lse_err);
    printf("  %.1f us per call, %.0f GB/s of KV read\n", us, bytes / (us * 1e-6) / 1e9);
  }
  if (!(max_err <= 1.6e-2) || !(max_lse_err <= 1e-2)) {
    printf("FAILED: result differs from the reference\n");
    return 1;
  }
  printf("OK\n");
  return 0;
}
