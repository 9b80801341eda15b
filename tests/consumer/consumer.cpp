// A C++17 consumer of the installed safe layer: plan validation only, no GPU needed.
#include <baracuda/flashinfer.hpp>

#include <cstdio>

namespace bfi = baracuda::flashinfer;

int main() {
  int failures = 0;
  bfi::DecodeDesc desc;
  desc.batch_size = 8;
  desc.num_qo_heads = 32;
  desc.num_kv_heads = 8;
  desc.head_dim = 128;
  desc.page_size = 16;
  desc.element = bfi::Element::f16;
  desc.split_kv = false;  // the split workspace query needs a GPU
  bfi::Result<bfi::DecodePlan> plan = bfi::DecodePlan::create(desc);
  if (!plan.ok()) {
    std::fprintf(stderr, "DecodePlan::create failed: %s\n", plan.status().to_string().c_str());
    ++failures;
  }
  desc.head_dim = 100;
  bfi::Result<bfi::DecodePlan> bad = bfi::DecodePlan::create(desc);
  if (bad.ok() || bad.status().code() != bfi::status::kUnsupported) ++failures;
  std::printf("%s; head_dim 100: %s\n", bfi::version_string(), bad.status().to_string().c_str());
  return failures == 0 ? 0 : 1;
}
