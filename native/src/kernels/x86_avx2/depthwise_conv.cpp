// AVX2 depthwise 3x3 conv, stride 1, pad 1, on one NHWC image.
//
// Layout: input and output NHWC with pixel stride = channels; weights
// [3][3][channels]. Blocking: 8 channels per ymm; full blocks use plain loads
// and stores, only the last partial block masked ones. For one output row and
// one channel block the valid rows' tap weights and the bias stay in
// registers while the row is swept 4 output pixels at a time: each of the 6
// input pixels under a block is loaded once per input row and feeds up to 3
// accumulators. Interior pixels (1 <= x < w-1) run without bounds checks; the
// top and bottom rows use only their valid input rows, the first and last
// column only their valid taps. Sum order per output: bias, then the taps in
// (ky, kx) order, as the reference (with fused multiply-adds).
#include "kernels/x86_avx2/depthwise_conv.h"

#include <immintrin.h>

#include <algorithm>

namespace fasternet::avx2 {
namespace {

constexpr int kLanes = 8;
constexpr int kPixelBlock = 4;

// Loads and stores of one channel block: whole, or the first `lanes` under a mask.
template <bool Masked>
struct Lanes {
    __m256i mask;
    __m256 Load(const float* p) const { return Masked ? _mm256_maskload_ps(p, mask) : _mm256_loadu_ps(p); }
    void Store(float* p, __m256 v) const {
        if (Masked) {
            _mm256_maskstore_ps(p, mask, v);
        } else {
            _mm256_storeu_ps(p, v);
        }
    }
};

inline __m256i LaneMask(int lanes) {
    const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), index);
}

// The valid input rows (1..3) of one output row and one channel block.
template <int Rows>
struct RowWindow {
    const float* rows[Rows];  // input row starts, already offset to the channel block
    __m256 weights[Rows][3];  // [row][kx]
};

// One output pixel with taps kx in [kx_lo, kx_hi).
template <int Rows, bool Masked>
inline void SinglePixel(const RowWindow<Rows>& window, const Lanes<Masked>& lanes, int64_t x, int channels,
                        int kx_lo, int kx_hi, __m256 bias, float* out) {
    __m256 acc = bias;
    for (int r = 0; r < Rows; ++r) {
        for (int kx = kx_lo; kx < kx_hi; ++kx) {
            acc = _mm256_fmadd_ps(lanes.Load(window.rows[r] + (x + kx - 1) * channels), window.weights[r][kx], acc);
        }
    }
    lanes.Store(out + x * channels, acc);
}

// Sweeps one output row for one channel block.
template <int Rows, bool Masked>
void SweepRow(const RowWindow<Rows>& window, const Lanes<Masked>& lanes, int w, int channels, __m256 bias,
              float* out) {
    if (w == 1) {
        SinglePixel(window, lanes, 0, channels, 1, 2, bias, out);
        return;
    }
    SinglePixel(window, lanes, 0, channels, 1, 3, bias, out);
    int64_t x = 1;
    for (; x + kPixelBlock <= w - 1; x += kPixelBlock) {
        __m256 acc[kPixelBlock];
        for (int i = 0; i < kPixelBlock; ++i) acc[i] = bias;
        for (int r = 0; r < Rows; ++r) {
            const float* in = window.rows[r] + (x - 1) * channels;
            for (int j = 0; j < kPixelBlock + 2; ++j) {
                const __m256 v = lanes.Load(in + j * channels);
                // Input column x - 1 + j is tap kx = j - i of output pixel x + i.
                for (int i = std::max(0, j - 2); i <= std::min(kPixelBlock - 1, j); ++i) {
                    acc[i] = _mm256_fmadd_ps(v, window.weights[r][j - i], acc[i]);
                }
            }
        }
        for (int i = 0; i < kPixelBlock; ++i) lanes.Store(out + (x + i) * channels, acc[i]);
    }
    for (; x < w - 1; ++x) SinglePixel(window, lanes, x, channels, 0, 3, bias, out);
    SinglePixel(window, lanes, w - 1, channels, 0, 2, bias, out);
}

template <int Rows, bool Masked>
void ChannelBlock(const DepthwiseConvArgs& args, const Lanes<Masked>& lanes, int oy, int ky_lo, int c) {
    const int channels = args.channels;
    const int64_t row_floats = static_cast<int64_t>(args.w) * channels;
    RowWindow<Rows> window;
    for (int r = 0; r < Rows; ++r) {
        const int ky = ky_lo + r;
        window.rows[r] = args.input + (oy + ky - 1) * row_floats + c;
        for (int kx = 0; kx < 3; ++kx) window.weights[r][kx] = lanes.Load(args.weights + (ky * 3 + kx) * channels + c);
    }
    const __m256 bias = args.bias ? lanes.Load(args.bias + c) : _mm256_setzero_ps();
    SweepRow(window, lanes, args.w, channels, bias, args.output + oy * row_floats + c);
}

template <int Rows>
void RowBlocks(const DepthwiseConvArgs& args, int oy, int ky_lo) {
    const int full = args.channels / kLanes * kLanes;
    const Lanes<false> whole{};
    for (int c = 0; c < full; c += kLanes) ChannelBlock<Rows>(args, whole, oy, ky_lo, c);
    if (full < args.channels) {
        const Lanes<true> partial{LaneMask(args.channels - full)};
        ChannelBlock<Rows>(args, partial, oy, ky_lo, full);
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

}  // namespace fasternet::avx2
