// Depthwise 3x3 conv, stride 1, pad 1, on one NHWC image, once for every ISA.
//
// Layout: input and output NHWC with pixel stride = channels; weights
// [3][3][channels]. Blocking: Isa::kLanes channels per vector. For one output
// row and one channel block the valid rows' tap weights and the bias stay in
// registers while the row is swept 4 output pixels at a time: each of the 6
// input pixels under a block is loaded once per input row and feeds up to 3
// accumulators (Isa::LoadForReuse: a load the compiler keeps as one load
// rather than folding it into each FMA; measured on AVX-512, this beats plain
// loads and 6- or 8-pixel blocks). Interior pixels (1 <= x < w-1) run without
// bounds checks; the top and bottom rows use only their valid input rows, the
// first and last column only their valid taps. Sum order per output: bias,
// then the taps in (ky, kx) order, as the reference (with fused multiply-adds).
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/drivers/tile.h"

namespace fasternet::drivers {

template <class Isa>
struct DepthwiseConvDriver {
    using Vector = typename Isa::Vector;
    static constexpr int kLanes = Isa::kLanes;
    static constexpr int kPixelBlock = 4;

    // Loads and stores of one channel block; masked in the last, partial block only.
    template <bool Partial>
    struct Lanes {
        typename Isa::Mask mask;
        FASTERNET_KERNEL_INLINE Vector Load(const float* p) const {
            return Partial ? Isa::LoadMasked(p, mask) : Isa::LoadForReuse(p);
        }
        FASTERNET_KERNEL_INLINE void Store(float* p, Vector v) const {
            if (Partial) {
                Isa::StoreMasked(p, mask, v);
            } else {
                Isa::Store(p, v);
            }
        }
    };

    // The valid input rows (1..3) of one output row and one channel block.
    template <int Rows>
    struct RowWindow {
        const float* rows[Rows];  // input row starts, already offset to the channel block
        Vector weights[Rows][3];  // [row][kx]
    };

    // One output pixel with taps kx in [KxLo, KxHi) (the first and last column clip them).
    template <int KxLo, int KxHi, int Rows, bool Partial>
    static FASTERNET_KERNEL_INLINE void SinglePixel(const RowWindow<Rows>& window, int64_t x, int channels, Vector bias,
                                                    const Lanes<Partial>& lanes, float* out) {
        Vector acc = bias;
        for (int r = 0; r < Rows; ++r) {
            for (int kx = KxLo; kx < KxHi; ++kx) {
                acc = Isa::Fma(lanes.Load(window.rows[r] + (x + kx - 1) * channels), window.weights[r][kx], acc);
            }
        }
        lanes.Store(out + x * channels, acc);
    }

    // Output pixels [x, x + kPixelBlock) of one row, all interior (1 <= x, x + kPixelBlock < w).
    template <int Rows, bool Partial>
    static FASTERNET_KERNEL_INLINE void InteriorBlock(const RowWindow<Rows>& window, int64_t x, int channels,
                                                      Vector bias, const Lanes<Partial>& lanes, float* out) {
        Vector acc[kPixelBlock];
        for (int i = 0; i < kPixelBlock; ++i) acc[i] = bias;
        for (int r = 0; r < Rows; ++r) {
            const float* in = window.rows[r] + (x - 1) * channels;
            for (int j = 0; j < kPixelBlock + 2; ++j) {
                const Vector v = lanes.Load(in + j * channels);
                // Input column x - 1 + j is tap kx = j - i of output pixel x + i.
                for (int i = std::max(0, j - 2); i <= std::min(kPixelBlock - 1, j); ++i) {
                    acc[i] = Isa::Fma(v, window.weights[r][j - i], acc[i]);
                }
            }
        }
        for (int i = 0; i < kPixelBlock; ++i) lanes.Store(out + (x + i) * channels, acc[i]);
    }

    // Sweeps one output row for one channel block.
    template <int Rows, bool Partial>
    static void SweepRow(const RowWindow<Rows>& window, int w, int channels, Vector bias, const Lanes<Partial>& lanes,
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
    static void RowOfBlock(const DepthwiseConvArgs& args, int oy, int ky_lo, int c, const Lanes<Partial>& lanes) {
        const int channels = args.channels;
        const int64_t row_floats = static_cast<int64_t>(args.w) * channels;
        RowWindow<Rows> window;
        for (int r = 0; r < Rows; ++r) {
            const int ky = ky_lo + r;
            window.rows[r] = args.input + (oy + ky - 1) * row_floats + c;
            for (int kx = 0; kx < 3; ++kx)
                window.weights[r][kx] = lanes.Load(args.weights + (ky * 3 + kx) * channels + c);
        }
        const Vector bias = args.bias ? lanes.Load(args.bias + c) : Isa::Zero();
        SweepRow(window, args.w, channels, bias, lanes, args.output + oy * row_floats + c);
    }

    // One output row, every channel block (the three input rows stay in L1/L2 across the blocks).
    template <int Rows>
    static void Row(const DepthwiseConvArgs& args, int oy, int ky_lo) {
        const int full = args.channels / kLanes * kLanes;
        const Lanes<false> whole{Isa::MaskFor(kLanes)};
        for (int c = 0; c < full; c += kLanes) RowOfBlock<Rows>(args, oy, ky_lo, c, whole);
        if (full < args.channels) {
            const Lanes<true> partial{Isa::MaskFor(args.channels - full)};
            RowOfBlock<Rows>(args, oy, ky_lo, full, partial);
        }
    }

    static void Run(const DepthwiseConvArgs& args) {
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
};

}  // namespace fasternet::drivers
