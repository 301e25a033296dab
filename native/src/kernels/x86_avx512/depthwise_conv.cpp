// AVX-512 depthwise 3x3 conv, stride 1, pad 1, on one NHWC image.
//
// Layout: input and output NHWC with pixel stride = channels; weights
// [3][3][channels]. Blocking: 16 channels per zmm (masked tail). For one
// output row and one channel block the valid rows' tap weights and the bias
// stay in registers while the row is swept 4 output pixels at a time: each of
// the 6 input pixels under a block is loaded once per input row and feeds up
// to 3 accumulators. Interior pixels (1 <= x < w-1) run without bounds
// checks; the top and bottom rows use only their valid input rows, the first
// and last column only their valid taps. Sum order per output: bias, then the
// taps in (ky, kx) order, as the reference (with fused multiply-adds).
#include "kernels/x86_avx512/depthwise_conv.h"

#include <immintrin.h>

#include <algorithm>

namespace fasternet::avx512 {
namespace {

constexpr int kLanes = 16;
constexpr int kPixelBlock = 4;

// The valid input rows (1..3) of one output row and one channel block.
template <int Rows>
struct RowWindow {
    const float* rows[Rows];  // input row starts, already offset to the channel block
    __m512 weights[Rows][3];  // [row][kx]
};

// One output pixel with taps kx in [kx_lo, kx_hi); `in` points at input column x - 1.
template <int Rows>
inline void SinglePixel(const RowWindow<Rows>& window, int64_t x, int channels, int kx_lo, int kx_hi, __m512 bias,
                        __mmask16 mask, float* out) {
    __m512 acc = bias;
    for (int r = 0; r < Rows; ++r) {
        for (int kx = kx_lo; kx < kx_hi; ++kx) {
            const __m512 v = _mm512_maskz_loadu_ps(mask, window.rows[r] + (x + kx - 1) * channels);
            acc = _mm512_fmadd_ps(v, window.weights[r][kx], acc);
        }
    }
    _mm512_mask_storeu_ps(out + x * channels, mask, acc);
}

// Sweeps one output row for one channel block.
template <int Rows>
void SweepRow(const RowWindow<Rows>& window, int w, int channels, __m512 bias, __mmask16 mask, float* out) {
    if (w == 1) {
        SinglePixel(window, 0, channels, 1, 2, bias, mask, out);
        return;
    }
    SinglePixel(window, 0, channels, 1, 3, bias, mask, out);
    int64_t x = 1;
    for (; x + kPixelBlock <= w - 1; x += kPixelBlock) {
        __m512 acc[kPixelBlock];
        for (int i = 0; i < kPixelBlock; ++i) acc[i] = bias;
        for (int r = 0; r < Rows; ++r) {
            const float* in = window.rows[r] + (x - 1) * channels;
            for (int j = 0; j < kPixelBlock + 2; ++j) {
                const __m512 v = _mm512_maskz_loadu_ps(mask, in + j * channels);
                // Input column x - 1 + j is tap kx = j - i of output pixel x + i.
                for (int i = std::max(0, j - 2); i <= std::min(kPixelBlock - 1, j); ++i) {
                    acc[i] = _mm512_fmadd_ps(v, window.weights[r][j - i], acc[i]);
                }
            }
        }
        for (int i = 0; i < kPixelBlock; ++i) _mm512_mask_storeu_ps(out + (x + i) * channels, mask, acc[i]);
    }
    for (; x < w - 1; ++x) SinglePixel(window, x, channels, 0, 3, bias, mask, out);
    SinglePixel(window, w - 1, channels, 0, 2, bias, mask, out);
}

template <int Rows>
void RowBlocks(const DepthwiseConvArgs& args, int oy, int ky_lo) {
    const int channels = args.channels;
    const int64_t row_floats = static_cast<int64_t>(args.w) * channels;
    float* out = args.output + oy * row_floats;
    for (int c = 0; c < channels; c += kLanes) {
        const int lanes = std::min(kLanes, channels - c);
        const __mmask16 mask = static_cast<__mmask16>((1u << lanes) - 1u);
        RowWindow<Rows> window;
        for (int r = 0; r < Rows; ++r) {
            const int ky = ky_lo + r;
            window.rows[r] = args.input + (oy + ky - 1) * row_floats + c;
            for (int kx = 0; kx < 3; ++kx) {
                window.weights[r][kx] = _mm512_maskz_loadu_ps(mask, args.weights + (ky * 3 + kx) * channels + c);
            }
        }
        const __m512 bias = args.bias ? _mm512_maskz_loadu_ps(mask, args.bias + c) : _mm512_setzero_ps();
        SweepRow(window, args.w, channels, bias, mask, out + c);
    }
}

}  // namespace

void DepthwiseConv(const DepthwiseConvArgs& args) {
    if (args.channels <= 0 || args.w <= 0) return;
    for (int oy = args.row_begin; oy < args.row_end; ++oy) {
        const int ky_lo = std::max(0, 1 - oy);
        const int ky_hi = std::min(3, args.h - oy + 1);
        switch (ky_hi - ky_lo) {
            case 3: RowBlocks<3>(args, oy, ky_lo); break;
            case 2: RowBlocks<2>(args, oy, ky_lo); break;
            case 1: RowBlocks<1>(args, oy, ky_lo); break;
            default: break;
        }
    }
}

}  // namespace fasternet::avx512
