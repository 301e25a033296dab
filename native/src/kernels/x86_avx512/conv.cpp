// The AVX-512 instantiation of the Conv driver (drivers/conv.h).
#include "kernels/drivers/conv.h"
#include "kernels/x86_avx512/isa.h"
#include "kernels/x86_avx512/kernels_avx512.h"

namespace fasternet::avx512 {

void Conv(const ConvArgs& args) { drivers::ConvDriver<Isa>::Run(args); }

}  // namespace fasternet::avx512
