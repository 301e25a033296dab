// The AVX-512 kernel set (AVX-512 F/BW/VL/DQ + FMA): each operator's driver (drivers/) instantiated
// over this set's traits (isa.h), one file per operator.
#pragma once

#include "kernels/kernels.h"

namespace fasternet::avx512 {

void Gemm(const GemmArgs& args);
void Conv(const ConvArgs& args);
void GlobalAveragePool(const PoolArgs& args);
void ChannelAffine(const AffineArgs& args);
void DepthwiseConv(const DepthwiseConvArgs& args);

}  // namespace fasternet::avx512
