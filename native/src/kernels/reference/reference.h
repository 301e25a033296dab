// The scalar reference kernels: plain loops, fp32 accumulation in K order.
#pragma once

#include "kernels/kernels.h"

namespace fasternet::reference {

void Gemm(const GemmArgs& args);
void Conv(const ConvArgs& args);
void GlobalAveragePool(const PoolArgs& args);
void ChannelAffine(const AffineArgs& args);
void DepthwiseConv(const DepthwiseConvArgs& args);

// Calls visit(tap, pixel) for each tap of output pixel (oy, ox)'s window that lies inside
// the image, in K order (tap = ky * kernel + kx; pixel: that input pixel's first channel).
// Taps in the zero padding are skipped: they add nothing. The fp32 and bf16 reference convs
// share this walk.
template <class Visit>
void ForEachWindowTap(const ConvArgs& args, int oy, int ox, Visit&& visit) {
    for (int ky = 0; ky < args.kernel; ++ky) {
        const int iy = oy * args.stride - args.pad + ky;
        if (iy < 0 || iy >= args.in_h) continue;
        for (int kx = 0; kx < args.kernel; ++kx) {
            const int ix = ox * args.stride - args.pad + kx;
            if (ix < 0 || ix >= args.in_w) continue;
            visit(ky * args.kernel + kx,
                  args.input + (static_cast<int64_t>(iy) * args.in_w + ix) * args.in_pixel_stride);
        }
    }
}

}  // namespace fasternet::reference
