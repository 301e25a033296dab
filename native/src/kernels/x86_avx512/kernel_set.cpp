// The AVX-512 kernel table (AVX-512 F/BW/VL/DQ + FMA).
#include "kernels/x86_avx512/isa.h"
#include "kernels/x86_avx512/kernels_avx512.h"

namespace fasternet {

const KernelSet* Avx512Kernels() {
    static const KernelSet set = {"avx512",
                                  avx512::Gemm,
                                  avx512::Conv,
                                  avx512::GlobalAveragePool,
                                  avx512::ChannelAffine,
                                  avx512::DepthwiseConv,
                                  avx512::Isa::kRegisterTiles,
                                  avx512::Isa::kMainTilePanels};
    return &set;
}

}  // namespace fasternet
