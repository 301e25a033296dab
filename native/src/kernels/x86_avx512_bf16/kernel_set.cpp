// The AVX512-BF16 kernel set: GEMM (gemm.cpp) and convs as implicit GEMMs (conv.cpp).
#include "kernels/bf16.h"

namespace fasternet {
namespace avx512_bf16 {
void Gemm(const Bf16GemmArgs& args);
void Conv(const Bf16ConvArgs& args);
}  // namespace avx512_bf16

const Bf16KernelSet* Avx512Bf16Kernels() {
    static const Bf16KernelSet set = {"avx512_bf16", avx512_bf16::Gemm, avx512_bf16::Conv};
    return &set;
}

}  // namespace fasternet
