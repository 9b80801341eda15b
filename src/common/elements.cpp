#include "common/elements.hpp"

namespace baracuda::flashinfer {

const char* element_name(int32_t element) {
  static const char* const kNames[] = {"f16",      "bf16",      "f32",      "f16_e4m3",
                                       "f16_e5m2", "bf16_e4m3", "bf16_e5m2"};
  return element >= 0 && element < int32_t(sizeof(kNames) / sizeof(kNames[0])) ? kNames[element]
                                                                                 : "?";
}

}  // namespace baracuda::flashinfer
