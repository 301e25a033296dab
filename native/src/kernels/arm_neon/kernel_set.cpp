// The NEON kernel table. Every AArch64 CPU has Advanced SIMD, so the set is always available there.
#include "kernels/arm_neon/kernels_neon.h"

namespace fasternet {

const KernelSet* NeonKernels() {
    static const KernelSet set = {"neon", neon::Gemm, neon::Conv, neon::GlobalAveragePool, neon::ChannelAffine,
                                  neon::DepthwiseConv};
    return &set;
}

}  // namespace fasternet
