// AVX512-BF16 convs (PConv 3x3/s1/p1 on cp of dim channels, the merging 2x2/s2
// convs, any kernel/stride/padding) as implicit GEMMs on the bf16 tiles (tiles.h).
//
// Layout: input NHWC fp32 (in_c channels read at in_pixel_stride), output NHWC
// fp32 at out_pixel_stride, weights bf16 pair panels with K = taps x channels
// padded to even (bf16.h). The input the output rows need is rounded to bf16
// once, into a per-thread copy with zero borders and channels padded to even:
// the rounding every bf16 operand needs, done once per input value and not
// once per tap, and no im2col. An output pixel's A pointer is its window's
// corner in that copy and tap (ky, kx) a fixed offset from it, so border
// pixels need no bounds checks and pixels tile across output rows in full
// tiles (a 7x7 map as 13 + 12 + 12 + 12). Blocking: pixel blocks of about
// 64 KB of K per panel-group pass, as the GEMM's row blocks. Epilogue: bias,
// activation, masked store (channels >= out_c within the pixel stride untouched),
// fp32 or rounded to bf16 (output_bf16).
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/x86_avx512_bf16/tiles.h"

namespace fasternet {
namespace avx512_bf16 {

constexpr int64_t kPixelBlockBytes = 64 * 1024;

namespace {

// Rounds input rows [y0, y0 + rows) x columns [x0, x0 + columns) (zeros outside the
// image) into `copy`, pixel stride tap_channels (channels past in_c zero).
void RoundWindow(const ConvArgs& args, int y0, int rows, int x0, int columns, int tap_channels, bf16* copy) {
    const int64_t copy_row = int64_t{columns} * tap_channels;
    const int ix_begin = std::max(0, x0), ix_end = std::min(args.in_w, x0 + columns);
    const bool contiguous = args.in_pixel_stride == args.in_c && tap_channels == args.in_c;
    for (int r = 0; r < rows; ++r) {
        bf16* dst = copy + r * copy_row;
        const int iy = y0 + r;
        if (iy < 0 || iy >= args.in_h || ix_begin >= ix_end) {
            std::memset(dst, 0, sizeof(bf16) * copy_row);
            continue;
        }
        const int64_t left = int64_t{ix_begin - x0} * tap_channels;
        const int64_t right = int64_t{ix_end - x0} * tap_channels;
        std::memset(dst, 0, sizeof(bf16) * left);
        std::memset(dst + right, 0, sizeof(bf16) * (copy_row - right));
        const float* in = args.input + (int64_t{iy} * args.in_w + ix_begin) * args.in_pixel_stride;
        if (contiguous) {
            RoundRowToBf16(in, static_cast<int>(right - left), dst + left);
            continue;
        }
        for (int ix = ix_begin; ix < ix_end; ++ix, in += args.in_pixel_stride) {
            bf16* pixel = dst + int64_t{ix - x0} * tap_channels;
            RoundRowToBf16(in, args.in_c, pixel);
            if (tap_channels > args.in_c) pixel[args.in_c] = 0;
        }
    }
}

}  // namespace

void Conv(const Bf16ConvArgs& bf) {
    const ConvArgs& args = bf.conv;
    const int row_begin = std::max(args.row_begin, 0);
    const int row_end = std::min(args.row_end, args.out_h);
    if (row_begin >= row_end || args.out_w <= 0 || args.out_c <= 0) return;
    const int tap_channels = Bf16TapChannels(args.in_c);
    const int k = Bf16ConvDepth(args.kernel, args.in_c);

    // The copy covers every input position the output rows' windows touch.
    const int y0 = row_begin * args.stride - args.pad, x0 = -args.pad;
    const int copy_h = (row_end - row_begin - 1) * args.stride + args.kernel;
    const int copy_w = (args.out_w - 1) * args.stride + args.kernel;
    thread_local std::vector<bf16> copy;
    const size_t copy_size = static_cast<size_t>(copy_h) * copy_w * tap_channels;
    if (copy.size() < copy_size) copy.resize(copy_size);
    RoundWindow(args, y0, copy_h, x0, copy_w, tap_channels, copy.data());

    thread_local std::vector<int64_t> offsets;
    offsets.resize(static_cast<size_t>(args.kernel) * args.kernel);
    for (int ky = 0; ky < args.kernel; ++ky) {
        for (int kx = 0; kx < args.kernel; ++kx) {
            offsets[ky * args.kernel + kx] = (int64_t{ky} * copy_w + kx) * tap_channels;
        }
    }
    const TapLayout layout{args.kernel * args.kernel, tap_channels / 2, offsets.data()};

    // Output pixel p (= oy * out_w + ox) is GEMM row p.
    TileOutput out;
    out.gemm.n = args.out_c;
    out.gemm.bias = args.bias;
    out.gemm.activation = args.activation;
    out.gemm.c = args.output;
    out.gemm.ldc = args.out_pixel_stride;
    out.c_bf16 = bf.output_bf16;
    const bf16* base = copy.data();
    const int64_t row_step = int64_t{args.stride} * copy_w * tap_channels;
    const int64_t column_step = int64_t{args.stride} * tap_channels;
    const auto pixel_at = [&](int64_t p) {
        const int64_t oy = p / args.out_w, ox = p % args.out_w;
        return base + (oy - row_begin) * row_step + ox * column_step;
    };

    constexpr int64_t kRowQuantum = Isa::kRowQuantum;
    const int64_t block_pixels = std::max<int64_t>(
        kRowQuantum, kPixelBlockBytes / (int64_t{k} * int64_t{sizeof(bf16)}) / kRowQuantum * kRowQuantum);
    const int64_t first = int64_t{row_begin} * args.out_w, last = int64_t{row_end} * args.out_w;
    for (int64_t block = first; block < last; block += block_pixels) {
        RunRowsOnPanels(out, block, std::min(block_pixels, last - block), pixel_at, layout, bf.packed_weights,
                        Bf16PanelStride(k));
    }
}

}  // namespace avx512_bf16
}  // namespace fasternet
