// NEON per-channel scale and shift (an inference batch norm) over NHWC pixels.
//
// Layout: pixels x channels, pixel stride = channels; may run in place.
// Blocking: per pixel, 16 channels (4 q-registers) at a time, then 4, then
// single channels. Epilogue: output = fma(input, scale, shift).
#include <arm_neon.h>

#include <cmath>

#include "kernels/arm_neon/kernels_neon.h"

namespace fasternet::neon {

void ChannelAffine(const AffineArgs& args) {
    const int channels = args.channels;
    for (int64_t p = 0; p < args.pixels; ++p) {
        const float* in = args.input + p * channels;
        float* out = args.output + p * channels;
        int c = 0;
        for (; c + 16 <= channels; c += 16) {
            float32x4_t value[4];
#pragma GCC unroll 4
            for (int v = 0; v < 4; ++v) {
                value[v] = vfmaq_f32(vld1q_f32(args.shift + c + 4 * v), vld1q_f32(in + c + 4 * v),
                                     vld1q_f32(args.scale + c + 4 * v));
            }
#pragma GCC unroll 4
            for (int v = 0; v < 4; ++v) vst1q_f32(out + c + 4 * v, value[v]);
        }
        for (; c + 4 <= channels; c += 4) {
            vst1q_f32(out + c, vfmaq_f32(vld1q_f32(args.shift + c), vld1q_f32(in + c), vld1q_f32(args.scale + c)));
        }
        for (; c < channels; ++c) out[c] = std::fma(in[c], args.scale[c], args.shift[c]);
    }
}

}  // namespace fasternet::neon
