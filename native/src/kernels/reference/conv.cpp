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
                ForEachWindowTap(args, oy, ox, [&](int tap, const float* in) {
                    const float* weights = panel + static_cast<size_t>(tap) * args.in_c * kPanelWidth + lane;
                    for (int ci = 0; ci < args.in_c; ++ci) sum += in[ci] * weights[static_cast<size_t>(ci) * kPanelWidth];
                });
                out[co] = ApplyActivation(sum, args.activation);
            }
        }
    }
}

}  // namespace fasternet::reference
