// The AVX-512 instantiation of the Gemm driver (drivers/gemm.h).
#include "kernels/drivers/gemm.h"
#include "kernels/x86_avx512/isa.h"
#include "kernels/x86_avx512/kernels_avx512.h"

namespace fasternet::avx512 {

void Gemm(const GemmArgs& args) { drivers::GemmDriver<Isa>::Run(args); }

}  // namespace fasternet::avx512
