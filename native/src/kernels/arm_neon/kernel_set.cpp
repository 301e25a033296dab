#include "kernels/kernels.h"

namespace fasternet {

// Not implemented yet: the dispatcher falls back to the next set.
const KernelSet* NeonKernels() { return nullptr; }

}  // namespace fasternet
