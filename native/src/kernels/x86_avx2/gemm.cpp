// The AVX2 instantiation of the Gemm driver (drivers/gemm.h).
#include "kernels/drivers/gemm.h"
#include "kernels/x86_avx2/isa.h"
#include "kernels/x86_avx2/kernels_avx2.h"

namespace fasternet::avx2 {

void Gemm(const GemmArgs& args) { drivers::GemmDriver<Isa>::Run(args); }

}  // namespace fasternet::avx2
