// The AVX2 instantiation of the DepthwiseConv driver (drivers/depthwise_conv.h).
#include "kernels/drivers/depthwise_conv.h"
#include "kernels/x86_avx2/isa.h"
#include "kernels/x86_avx2/kernels_avx2.h"

namespace fasternet::avx2 {

void DepthwiseConv(const DepthwiseConvArgs& args) { drivers::DepthwiseConvDriver<Isa>::Run(args); }

}  // namespace fasternet::avx2
