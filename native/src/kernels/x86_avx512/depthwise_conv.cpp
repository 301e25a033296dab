// AVX-512 depthwise 3x3 conv, stride 1, pad 1, on one NHWC image.
//
// Layout: input and output NHWC with pixel stride = channels; weights
// [3][3][channels]. Blocking: 16 channels per zmm. For one output row and one
// channel block the valid rows' tap weights and the bias stay in registers
// while the row is swept 4 output pixels at a time: each of the 6 input pixels
// under a block is loaded once per input row and feeds up to 3 accumulators.
// Loads are masked loads (all lanes set except in the last, partial block):
// GCC cannot fold them into the FMAs as memory operands, so each input vector
// really is loaded once; measured, this beats plain loads and 6- or 8-pixel
// blocks. Interior pixels (1 <= x < w-1) run without bounds checks; the top
// and bottom rows use only their valid input rows, the first and last column
// only their valid taps. Sum order per output: bias, then the taps in
// (ky, kx) order, as the reference (with fused multiply-adds).
#include "kernels/x86_avx512/depthwise_conv.h"

#include <immintrin.h>

#include <algorithm>

namespace fasternet::avx512 {
namespace {

constexpr int kLanes = 16;
constexpr int kPixelBlock = 4;

// Loads and stores of one channel block; stores are masked in the last, partial block only.
template <bool Partial>
struct Lanes {
    __mmask16 mask;
    __m512 Load(const float* p) const { return _mm512_maskz_loadu_ps(mask, p); }
    void Store(float* p, __m512 v) const {
        if (Partial) {
            _mm512_mask_storeu_ps(p, mask, v);
        } else {
            _mm512_storeu_ps(p, v);
        }
    }
};

// The valid input rows (1..3) of one output row and one channel block.
template <int Rows>
struct RowWindow {
    const float* rows[Rows];  // input row starts, already offset to the channel block
    __m512 weights[Rows][3];  // [row][kx]
};

// One output pixel with taps kx in [KxLo, KxHi) (the first and last column clip them).
template <int KxLo, int KxHi, int Rows, bool Partial>
inline void SinglePixel(const RowWindow<Rows>& window, int64_t x, int channels, __m512 bias,
                        const Lanes<Partial>& lanes, float* out) {
    __m512 acc = bias;
    for (int r = 0; r < Rows; ++r) {
        for (int kx = KxLo; kx < KxHi; ++kx) {
            acc = _mm512_fmadd_ps(lanes.Load(window.rows[r] + (x + kx - 1) * channels), window.weights[r][kx], acc);
        }
    }
    lanes.Store(out + x * channels, acc);
}

// Output pixels [x, x + kPixelBlock) of one row, all interior (1 <= x, x + kPixelBlock < w).
template <int Rows, bool Partial>
inline void InteriorBlock(const RowWindow<Rows>& window, int64_t x, int channels, __m512 bias,
                          const Lanes<Partial>& lanes, float* out) {
    __m512 acc[kPixelBlock];
    for (int i = 0; i < kPixelBlock; ++i) acc[i] = bias;
    for (int r = 0; r < Rows; ++r) {
        const float* in = window.rows[r] + (x - 1) * channels;
        for (int j = 0; j < kPixelBlock + 2; ++j) {
            const __m512 v = lanes.Load(in + j * channels);
            // Input column x - 1 + j is tap kx = j - i of output pixel x + i.
            for (int i = std::max(0, j - 2); i <= std::min(kPixelBlock - 1, j); ++i) {
                acc[i] = _mm512_fmadd_ps(v, window.weights[r][j - i], acc[i]);
            }
        }
    }
    for (int i = 0; i < kPixelBlock; ++i) lanes.Store(out + (x + i) * channels, acc[i]);
}

// Sweeps one output row for one channel block.
template <int Rows, bool Partial>
void SweepRow(const RowWindow<Rows>& window, int w, int channels, __m512 bias, const Lanes<Partial>& lanes,
              float* out) {
    if (w == 1) {
        SinglePixel<1, 2>(window, 0, channels, bias, lanes, out);
        return;
    }
    SinglePixel<1, 3>(window, 0, channels, bias, lanes, out);
    int64_t x = 1;
    for (; x + kPixelBlock <= w - 1; x += kPixelBlock) InteriorBlock(window, x, channels, bias, lanes, out);
    for (; x < w - 1; ++x) SinglePixel<0, 3>(window, x, channels, bias, lanes, out);
    SinglePixel<0, 2>(window, w - 1, channels, bias, lanes, out);
}

// One output row of one channel block.
template <int Rows, bool Partial>
void RowOfBlock(const DepthwiseConvArgs& args, int oy, int ky_lo, int c, const Lanes<Partial>& lanes) {
    const int channels = args.channels;
    const int64_t row_floats = static_cast<int64_t>(args.w) * channels;
    RowWindow<Rows> window;
    for (int r = 0; r < Rows; ++r) {
        const int ky = ky_lo + r;
        window.rows[r] = args.input + (oy + ky - 1) * row_floats + c;
        for (int kx = 0; kx < 3; ++kx) window.weights[r][kx] = lanes.Load(args.weights + (ky * 3 + kx) * channels + c);
    }
    const __m512 bias = args.bias ? lanes.Load(args.bias + c) : _mm512_setzero_ps();
    SweepRow(window, args.w, channels, bias, lanes, args.output + oy * row_floats + c);
}

// One output row, every channel block (the three input rows stay in L1/L2 across the blocks).
template <int Rows>
void Row(const DepthwiseConvArgs& args, int oy, int ky_lo) {
    const int full = args.channels / kLanes * kLanes;
    const Lanes<false> whole{static_cast<__mmask16>(0xffff)};
    for (int c = 0; c < full; c += kLanes) RowOfBlock<Rows>(args, oy, ky_lo, c, whole);
    if (full < args.channels) {
        const Lanes<true> partial{static_cast<__mmask16>((1u << (args.channels - full)) - 1u)};
        RowOfBlock<Rows>(args, oy, ky_lo, full, partial);
    }
}

}  // namespace

void DepthwiseConv(const DepthwiseConvArgs& args) {
    if (args.channels <= 0 || args.w <= 0) return;
    for (int oy = args.row_begin; oy < args.row_end; ++oy) {
        const int ky_lo = std::max(0, 1 - oy);
        const int ky_hi = std::min(3, args.h - oy + 1);
        switch (ky_hi - ky_lo) {
            case 3: Row<3>(args, oy, ky_lo); break;
            case 2: Row<2>(args, oy, ky_lo); break;
            case 1: Row<1>(args, oy, ky_lo); break;
            default: break;
        }
    }
}

}  // namespace fasternet::avx512
