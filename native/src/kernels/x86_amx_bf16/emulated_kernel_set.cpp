// The amx_bf16 drivers instantiated on emulated tiles. No AMX flags: this unit
// builds with the AVX512-BF16 set's, and its tiles are plain C++.
#include "kernels/x86_amx_bf16/driver.h"
#include "kernels/x86_amx_bf16/emulated.h"
#include "kernels/x86_amx_bf16/emulated_tiles.h"

namespace fasternet {

const Bf16KernelSet* EmulatedAmxBf16Kernels() {
    using Kernels = amx_bf16::AmxKernels<amx_bf16::EmulatedTiles>;
    static const Bf16KernelSet set = {"emulated_amx_bf16", Kernels::Gemm, Kernels::Conv};
    return &set;
}

}  // namespace fasternet
