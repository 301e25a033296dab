// The scalar reference kernels: plain loops, fp32 accumulation in K order.
#pragma once

#include "kernels/kernels.h"

namespace fasternet::reference {

void Gemm(const GemmArgs& args);
void Conv(const ConvArgs& args);
void GlobalAveragePool(const PoolArgs& args);
void ChannelAffine(const AffineArgs& args);
void DepthwiseConv(const DepthwiseConvArgs& args);

}  // namespace fasternet::reference
