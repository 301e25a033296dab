// The AVX-512 instantiation of the GlobalAveragePool driver (drivers/pool_affine.h).
#include "kernels/drivers/pool_affine.h"
#include "kernels/x86_avx512/isa.h"
#include "kernels/x86_avx512/kernels_avx512.h"

namespace fasternet::avx512 {

void GlobalAveragePool(const PoolArgs& args) { drivers::PoolDriver<Isa>::Run(args); }

}  // namespace fasternet::avx512
