// The AVX-512 kernel set (AVX-512 F/BW/VL/DQ + FMA), one file per operator.
#pragma once

#include "kernels/kernels.h"

namespace fasternet::avx512 {

void Gemm(const GemmArgs& args);
void Conv(const ConvArgs& args);
void GlobalAveragePool(const PoolArgs& args);
void ChannelAffine(const AffineArgs& args);

}  // namespace fasternet::avx512
