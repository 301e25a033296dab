// The AVX2 kernel set (AVX2 + FMA), one file per operator.
#pragma once

#include "kernels/kernels.h"

namespace fasternet::avx2 {

void Gemm(const GemmArgs& args);
void Conv(const ConvArgs& args);
void GlobalAveragePool(const PoolArgs& args);
void ChannelAffine(const AffineArgs& args);

}  // namespace fasternet::avx2
