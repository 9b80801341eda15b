# Attention-state merge / cascade: C ABI (host compiler), table, one kernel TU per element type.
list(APPEND BFI_SOURCES src/merge/merge_api.cpp src/merge/merge_table.cpp src/merge/merge_f16.cu
     src/merge/merge_bf16.cu src/merge/merge_f32.cu)
