// Kernel sets this target architecture does not build.
#include "kernels/kernels.h"

namespace fasternet {

#if !defined(__x86_64__) && !defined(_M_X64)
const KernelSet* Avx2Kernels() { return nullptr; }
const KernelSet* Avx512Kernels() { return nullptr; }
#endif
#if !defined(__aarch64__)
const KernelSet* NeonKernels() { return nullptr; }
#endif

}  // namespace fasternet
