// The AVX2 kernel table (AVX2 + FMA).
#include "kernels/x86_avx2/isa.h"
#include "kernels/x86_avx2/kernels_avx2.h"

namespace fasternet {

const KernelSet* Avx2Kernels() {
    static const KernelSet set = {"avx2",
                                  avx2::Gemm,
                                  avx2::Conv,
                                  avx2::GlobalAveragePool,
                                  avx2::ChannelAffine,
                                  avx2::DepthwiseConv,
                                  avx2::Isa::kRegisterTiles,
                                  avx2::Isa::kMainTilePanels};
    return &set;
}

}  // namespace fasternet
