#include "kernels/reference/reference.h"

namespace fasternet {

const KernelSet* ReferenceKernels() {
    static const KernelSet set = {"reference", reference::Gemm, reference::Conv, reference::GlobalAveragePool,
                                  reference::ChannelAffine, reference::DepthwiseConv, "scalar", 0};
    return &set;
}

}  // namespace fasternet
