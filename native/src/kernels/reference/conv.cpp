// Reference dense convolution on one NHWC image with zero padding.
#include "kernels/reference/reference.h"

namespace fasternet::reference {

void Conv(const ConvArgs& args) {
    const int k_total = args.kernel * args.kernel * args.in_c;
    for (int oy = args.row_begin; oy < args.row_end; ++oy) {
        for (int ox = 0; ox < args.out_w; ++ox) {
            float* out = args.output + (static_cast<int64_t>(oy) * args.out_w + ox) * args.out_pixel_stride;
            for (int co = 0; co < args.out_c; ++co) {
                const float* panel =
                    args.packed_weights + static_cast<size_t>(co / kPanelWidth) * k_total * kPanelWidth;
                const int lane = co % kPanelWidth;
                float sum = args.bias ? args.bias[co] : 0.0f;
                for (int ky = 0; ky < args.kernel; ++ky) {
                    const int iy = oy * args.stride - args.pad + ky;
                    if (iy < 0 || iy >= args.in_h) continue;
                    for (int kx = 0; kx < args.kernel; ++kx) {
                        const int ix = ox * args.stride - args.pad + kx;
                        if (ix < 0 || ix >= args.in_w) continue;
                        const float* in =
                            args.input + (static_cast<int64_t>(iy) * args.in_w + ix) * args.in_pixel_stride;
                        const int k_base = (ky * args.kernel + kx) * args.in_c;
                        for (int ci = 0; ci < args.in_c; ++ci) {
                            sum += in[ci] * panel[static_cast<size_t>(k_base + ci) * kPanelWidth + lane];
                        }
                    }
                }
                out[co] = ApplyActivation(sum, args.activation);
            }
        }
    }
}

}  // namespace fasternet::reference
