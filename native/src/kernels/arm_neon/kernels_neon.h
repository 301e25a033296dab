// The NEON kernel set (AArch64 Advanced SIMD): each operator's driver (drivers/) instantiated
// over this set's traits (isa.h), one file per operator.
#pragma once

#include "kernels/kernels.h"

namespace fasternet::neon {

void Gemm(const GemmArgs& args);
void Conv(const ConvArgs& args);
void GlobalAveragePool(const PoolArgs& args);
void ChannelAffine(const AffineArgs& args);
void DepthwiseConv(const DepthwiseConvArgs& args);

}  // namespace fasternet::neon
