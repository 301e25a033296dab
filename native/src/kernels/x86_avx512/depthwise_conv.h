// The AVX-512 depthwise 3x3 conv (the operator benchmarks' DWConv).
#pragma once

#include "kernels/kernels.h"

namespace fasternet::avx512 {

void DepthwiseConv(const DepthwiseConvArgs& args);

}  // namespace fasternet::avx512
