// The NEON kernel table. Every AArch64 CPU has Advanced SIMD, so the set is always available there.
#include "kernels/arm_neon/isa.h"
#include "kernels/arm_neon/kernels_neon.h"

namespace fasternet {

const KernelSet* NeonKernels() {
    static const KernelSet set = {"neon",
                                  neon::Gemm,
                                  neon::Conv,
                                  neon::GlobalAveragePool,
                                  neon::ChannelAffine,
                                  neon::DepthwiseConv,
                                  neon::Isa::kRegisterTiles,
                                  neon::Isa::kMainTilePanels};
    return &set;
}

}  // namespace fasternet
