// The amx_bf16 drivers on emulated tiles (emulated_tiles.h): for the tests only,
// on any CPU with AVX512-BF16 (the epilogue's). Never chosen by dispatch.
#pragma once

#include "kernels/bf16.h"

namespace fasternet {

const Bf16KernelSet* EmulatedAmxBf16Kernels();

}  // namespace fasternet
