// The compiled merge configurations: one array of head dims per element (merge_<element>.cu).
#include <initializer_list>

#include "merge/merge_launch.hpp"

namespace baracuda::flashinfer::merge {

extern const MergeVariant kMergeVariants_f16[3];
extern const MergeVariant kMergeVariants_bf16[3];
extern const MergeVariant kMergeVariants_f32[3];

const MergeVariant* find_merge_variant(int32_t element, int32_t head_dim) {
  for (const MergeVariant* set : {kMergeVariants_f16, kMergeVariants_bf16, kMergeVariants_f32}) {
    for (int32_t i = 0; i < 3; ++i) {
      if (set[i].element == element && set[i].head_dim == head_dim) return &set[i];
    }
  }
  return nullptr;
}

}  // namespace baracuda::flashinfer::merge
