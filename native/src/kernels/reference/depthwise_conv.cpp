// Reference depthwise 3x3 conv (stride 1, pad 1) on one NHWC image: each
// channel has its own 3x3 filter. Sum order: bias, then taps in (ky, kx) order.
#include "kernels/reference/reference.h"

namespace fasternet::reference {

void DepthwiseConv(const DepthwiseConvArgs& args) {
    const int channels = args.channels;
    for (int oy = args.row_begin; oy < args.row_end; ++oy) {
        for (int ox = 0; ox < args.w; ++ox) {
            float* out = args.output + (static_cast<int64_t>(oy) * args.w + ox) * channels;
            for (int c = 0; c < channels; ++c) {
                float sum = args.bias ? args.bias[c] : 0.0f;
                for (int ky = 0; ky < 3; ++ky) {
                    const int iy = oy + ky - 1;
                    if (iy < 0 || iy >= args.h) continue;
                    for (int kx = 0; kx < 3; ++kx) {
                        const int ix = ox + kx - 1;
                        if (ix < 0 || ix >= args.w) continue;
                        const float* in = args.input + (static_cast<int64_t>(iy) * args.w + ix) * channels;
                        sum += in[c] * args.weights[(ky * 3 + kx) * channels + c];
                    }
                }
                out[c] = sum;
            }
        }
    }
}

}  // namespace fasternet::reference
