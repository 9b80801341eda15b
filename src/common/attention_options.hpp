// The versioned attention options of the C ABI (baracuda_flashinfer_attention_options): their
// defaults, reading a caller's struct of any known version, and each field's domain.
#pragma once

#include <baracuda/flashinfer.h>

#include "common/status.hpp"

namespace baracuda::flashinfer {

baracuda_flashinfer_attention_options default_attention_options();

// *out: the caller's options over the defaults (NULL: the defaults), then every field checked
// against its domain (status 2 naming the field). `known_flags`: the flags the family takes.
Status read_attention_options(const char* fn, const baracuda_flashinfer_attention_options* in,
                              int32_t known_flags, baracuda_flashinfer_attention_options* out);

}  // namespace baracuda::flashinfer
