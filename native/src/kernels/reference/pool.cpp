// Reference global average pool over NHWC pixels.
#include "kernels/reference/reference.h"

namespace fasternet::reference {

void GlobalAveragePool(const PoolArgs& args) {
    for (int c = 0; c < args.channels; ++c) {
        float sum = 0.0f;
        for (int64_t p = 0; p < args.pixels; ++p) sum += args.input[p * args.channels + c];
        args.output[c] = sum / static_cast<float>(args.pixels);
    }
}

}  // namespace fasternet::reference
