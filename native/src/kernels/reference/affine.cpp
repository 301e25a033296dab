// Reference per-channel scale and shift (an inference batch norm).
#include "kernels/reference/reference.h"

namespace fasternet::reference {

void ChannelAffine(const AffineArgs& args) {
    for (int64_t p = 0; p < args.pixels; ++p) {
        for (int c = 0; c < args.channels; ++c) {
            const int64_t i = p * args.channels + c;
            args.output[i] = args.input[i] * args.scale[c] + args.shift[c];
        }
    }
}

}  // namespace fasternet::reference
