// The AVX2 instantiation of the ChannelAffine driver (drivers/pool_affine.h).
#include "kernels/drivers/pool_affine.h"
#include "kernels/x86_avx2/isa.h"
#include "kernels/x86_avx2/kernels_avx2.h"

namespace fasternet::avx2 {

void ChannelAffine(const AffineArgs& args) { drivers::AffineDriver<Isa>::Run(args); }

}  // namespace fasternet::avx2
