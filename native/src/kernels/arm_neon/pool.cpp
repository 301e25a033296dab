// NEON global average pool over NHWC pixels.
//
// Layout: pixels x channels, pixel stride = channels. Blocking: 16 channels
// (4 q-register sums) per pass down the pixels, then 4, then single channels.
// Each channel is summed in pixel order and divided by the pixel count, the
// reference's arithmetic, so results match it exactly.
#include <arm_neon.h>

#include "kernels/arm_neon/kernels_neon.h"

namespace fasternet::neon {

void GlobalAveragePool(const PoolArgs& args) {
    if (args.pixels <= 0 || args.channels <= 0) return;
    const float* input = args.input;
    const int64_t stride = args.channels;
    const float32x4_t count = vdupq_n_f32(static_cast<float>(args.pixels));
    int c = 0;
    for (; c + 16 <= args.channels; c += 16) {
        float32x4_t sum[4] = {vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)};
        for (int64_t p = 0; p < args.pixels; ++p) {
            const float* pixel = input + p * stride + c;
#pragma GCC unroll 4
            for (int v = 0; v < 4; ++v) sum[v] = vaddq_f32(sum[v], vld1q_f32(pixel + 4 * v));
        }
#pragma GCC unroll 4
        for (int v = 0; v < 4; ++v) vst1q_f32(args.output + c + 4 * v, vdivq_f32(sum[v], count));
    }
    for (; c + 4 <= args.channels; c += 4) {
        float32x4_t sum = vdupq_n_f32(0.0f);
        for (int64_t p = 0; p < args.pixels; ++p) sum = vaddq_f32(sum, vld1q_f32(input + p * stride + c));
        vst1q_f32(args.output + c, vdivq_f32(sum, count));
    }
    for (; c < args.channels; ++c) {
        float sum = 0.0f;
        for (int64_t p = 0; p < args.pixels; ++p) sum += input[p * stride + c];
        args.output[c] = sum / static_cast<float>(args.pixels);
    }
}

}  // namespace fasternet::neon
