// The NEON instantiation of the GlobalAveragePool driver (drivers/pool_affine.h).
#include "kernels/drivers/pool_affine.h"
#include "kernels/arm_neon/isa.h"
#include "kernels/arm_neon/kernels_neon.h"

namespace fasternet::neon {

void GlobalAveragePool(const PoolArgs& args) { drivers::PoolDriver<Isa>::Run(args); }

}  // namespace fasternet::neon
