// The NEON instantiation of the DepthwiseConv driver (drivers/depthwise_conv.h).
#include "kernels/drivers/depthwise_conv.h"
#include "kernels/arm_neon/isa.h"
#include "kernels/arm_neon/kernels_neon.h"

namespace fasternet::neon {

void DepthwiseConv(const DepthwiseConvArgs& args) { drivers::DepthwiseConvDriver<Isa>::Run(args); }

}  // namespace fasternet::neon
