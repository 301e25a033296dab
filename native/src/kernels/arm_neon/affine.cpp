// The NEON instantiation of the ChannelAffine driver (drivers/pool_affine.h).
#include "kernels/drivers/pool_affine.h"
#include "kernels/arm_neon/isa.h"
#include "kernels/arm_neon/kernels_neon.h"

namespace fasternet::neon {

void ChannelAffine(const AffineArgs& args) { drivers::AffineDriver<Isa>::Run(args); }

}  // namespace fasternet::neon
