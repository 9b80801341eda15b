# Paged-KV append: C ABI (host compiler) and the copy kernels (dtype-independent: by row bytes).
list(APPEND BFI_SOURCES src/append/append_api.cpp src/append/append_kernels.cu)
