// NEON depthwise 3x3 conv, stride 1, pad 1, on one NHWC image.
//
// Layout: input and output NHWC with pixel stride = channels; weights
// [3][3][channels]; optional per-channel bias. Blocking: per output row,
// channels in blocks of 8 (two q-registers), then 4, then single channels;
// a block's nine weight taps and its bias stay in registers while the row's
// pixels pass. Rows above/below the image clip the tap rows for the whole
// output row; the first and last pixel clip the tap columns, the pixels
// between run the full window without checks. Sums start at the bias and add
// the taps in (ky, kx) order. No activation.
#include <arm_neon.h>

#include <algorithm>

#include "kernels/arm_neon/kernels_neon.h"

namespace fasternet::neon {
namespace {

constexpr int kTaps = 3;

// Output channels [c, c + 4 * Vectors) of output row y, taps rows [ky_lo, ky_hi).
template <int Vectors>
void RowChannelBlock(const DepthwiseConvArgs& args, int y, int c, int ky_lo, int ky_hi) {
    const int64_t channels = args.channels;
    const int64_t row_stride = static_cast<int64_t>(args.w) * channels;
    float32x4_t weights[kTaps][kTaps][Vectors];
    float32x4_t bias[Vectors];
#pragma GCC unroll 4
    for (int v = 0; v < Vectors; ++v) {
        bias[v] = args.bias ? vld1q_f32(args.bias + c + 4 * v) : vdupq_n_f32(0.0f);
        for (int ky = 0; ky < kTaps; ++ky) {
            for (int kx = 0; kx < kTaps; ++kx) {
                weights[ky][kx][v] = vld1q_f32(args.weights + (ky * kTaps + kx) * channels + c + 4 * v);
            }
        }
    }
    // The input pixel at tap (0, 0) of output pixel x is at window + (x - 1) * channels.
    const float* window = args.input + static_cast<int64_t>(y - 1) * row_stride + c;
    float* out_row = args.output + static_cast<int64_t>(y) * row_stride + c;

    auto pixel = [&](int x, int kx_lo, int kx_hi) __attribute__((always_inline)) {
        float32x4_t acc[Vectors];
#pragma GCC unroll 4
        for (int v = 0; v < Vectors; ++v) acc[v] = bias[v];
        const float* origin = window + static_cast<int64_t>(x - 1) * channels;
        for (int ky = ky_lo; ky < ky_hi; ++ky) {
#pragma GCC unroll 3
            for (int kx = kx_lo; kx < kx_hi; ++kx) {
                const float* in = origin + ky * row_stride + kx * channels;
#pragma GCC unroll 4
                for (int v = 0; v < Vectors; ++v) acc[v] = vfmaq_f32(acc[v], vld1q_f32(in + 4 * v), weights[ky][kx][v]);
            }
        }
#pragma GCC unroll 4
        for (int v = 0; v < Vectors; ++v) vst1q_f32(out_row + x * channels + 4 * v, acc[v]);
    };

    if (args.w == 1) {
        pixel(0, 1, 2);
        return;
    }
    pixel(0, 1, kTaps);
    for (int x = 1; x < args.w - 1; ++x) pixel(x, 0, kTaps);
    pixel(args.w - 1, 0, 2);
}

// Single channel c of output row y: the tail past the last multiple of 4.
void RowChannel(const DepthwiseConvArgs& args, int y, int c, int ky_lo, int ky_hi) {
    const int64_t channels = args.channels;
    for (int x = 0; x < args.w; ++x) {
        const int kx_lo = x == 0 ? 1 : 0;
        const int kx_hi = x == args.w - 1 ? 2 : kTaps;
        float sum = args.bias ? args.bias[c] : 0.0f;
        for (int ky = ky_lo; ky < ky_hi; ++ky) {
            for (int kx = kx_lo; kx < kx_hi; ++kx) {
                const int64_t in_pixel = static_cast<int64_t>(y + ky - 1) * args.w + (x + kx - 1);
                sum += args.input[in_pixel * channels + c] * args.weights[(ky * kTaps + kx) * channels + c];
            }
        }
        args.output[(static_cast<int64_t>(y) * args.w + x) * channels + c] = sum;
    }
}

}  // namespace

void DepthwiseConv(const DepthwiseConvArgs& args) {
    if (args.w <= 0 || args.channels <= 0) return;
    const int row_begin = std::max(args.row_begin, 0);
    const int row_end = std::min(args.row_end, args.h);
    for (int y = row_begin; y < row_end; ++y) {
        const int ky_lo = y == 0 ? 1 : 0;
        const int ky_hi = y == args.h - 1 ? 2 : kTaps;
        int c = 0;
        for (; c + 8 <= args.channels; c += 8) RowChannelBlock<2>(args, y, c, ky_lo, ky_hi);
        for (; c + 4 <= args.channels; c += 4) RowChannelBlock<1>(args, y, c, ky_lo, ky_hi);
        for (; c < args.channels; ++c) RowChannel(args, y, c, ky_lo, ky_hi);
    }
}

}  // namespace fasternet::neon
