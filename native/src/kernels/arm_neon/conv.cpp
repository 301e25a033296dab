// The NEON instantiation of the Conv driver (drivers/conv.h).
#include "kernels/drivers/conv.h"
#include "kernels/arm_neon/isa.h"
#include "kernels/arm_neon/kernels_neon.h"

namespace fasternet::neon {

void Conv(const ConvArgs& args) { drivers::ConvDriver<Isa>::Run(args); }

}  // namespace fasternet::neon
