/* A C99 consumer of the installed library: no GPU needed. Exit 0 when every check passes. */
#include <baracuda/flashinfer.h>
#include <stdio.h>
#include <string.h>

static int failures = 0;
#define EXPECT(cond)                                                   \
  do {                                                                 \
    if (!(cond)) {                                                     \
      fprintf(stderr, "consumer.c:%d: failed: %s\n", __LINE__, #cond); \
      ++failures;                                                      \
    }                                                                  \
  } while (0)

int main(void) {
  int32_t ok, bad;
  printf("baracuda_flashinfer %s\n", baracuda_kernels_flashinfer_version_string());
  EXPECT(baracuda_kernels_flashinfer_version() == BARACUDA_FLASHINFER_VERSION);
  EXPECT(strcmp(baracuda_kernels_flashinfer_status_string(BARACUDA_FLASHINFER_SUCCESS),
                "success") == 0);
  EXPECT(baracuda_kernels_flashinfer_status_string(12345) != NULL);

  /* The seed's example: batch 8, 32 query heads, 8 KV heads, head_dim 128, page 16, f16. */
  ok = baracuda_kernels_flashinfer_paged_decode_can_implement(8, 32, 8, 128, 16,
                                                              BARACUDA_FLASHINFER_F16);
  EXPECT(ok == BARACUDA_FLASHINFER_SUCCESS);
  bad = baracuda_kernels_flashinfer_paged_decode_can_implement(8, 32, 8, 100, 16,
                                                               BARACUDA_FLASHINFER_F16);
  EXPECT(bad == BARACUDA_FLASHINFER_UNSUPPORTED);
  EXPECT(strstr(baracuda_kernels_flashinfer_last_error(), "head_dim") != NULL);
  printf("can_implement(head_dim=100): %s: %s\n", baracuda_kernels_flashinfer_status_string(bad),
         baracuda_kernels_flashinfer_last_error());
  return failures == 0 ? 0 : 1;
}
