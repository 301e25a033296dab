// The AVX2 instantiation of the Conv driver (drivers/conv.h).
#include "kernels/drivers/conv.h"
#include "kernels/x86_avx2/isa.h"
#include "kernels/x86_avx2/kernels_avx2.h"

namespace fasternet::avx2 {

void Conv(const ConvArgs& args) { drivers::ConvDriver<Isa>::Run(args); }

}  // namespace fasternet::avx2
