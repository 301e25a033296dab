// The AVX-512 instantiation of the DepthwiseConv driver (drivers/depthwise_conv.h).
#include "kernels/drivers/depthwise_conv.h"
#include "kernels/x86_avx512/isa.h"
#include "kernels/x86_avx512/kernels_avx512.h"

namespace fasternet::avx512 {

void DepthwiseConv(const DepthwiseConvArgs& args) { drivers::DepthwiseConvDriver<Isa>::Run(args); }

}  // namespace fasternet::avx512
