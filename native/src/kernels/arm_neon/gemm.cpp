// The NEON instantiation of the Gemm driver (drivers/gemm.h).
#include "kernels/drivers/gemm.h"
#include "kernels/arm_neon/isa.h"
#include "kernels/arm_neon/kernels_neon.h"

namespace fasternet::neon {

void Gemm(const GemmArgs& args) { drivers::GemmDriver<Isa>::Run(args); }

}  // namespace fasternet::neon
