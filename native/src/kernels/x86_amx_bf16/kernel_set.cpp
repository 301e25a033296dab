// The amx_bf16 kernel set: the drivers (driver.h) on the real AMX tiles. Compiled
// with FASTERNET_AMX_BF16_FLAGS; runs only where ChooseBf16Set saw AMX-TILE,
// AMX-BF16 and the OS's permission for tile data.
#include "kernels/x86_amx_bf16/driver.h"
#include "kernels/x86_amx_bf16/hardware_tiles.h"

namespace fasternet {

const Bf16KernelSet* AmxBf16Kernels() {
    using Kernels = amx_bf16::AmxKernels<amx_bf16::HardwareTiles>;
    static const Bf16KernelSet set = {"amx_bf16", Kernels::Gemm, Kernels::Conv};
    return &set;
}

}  // namespace fasternet
