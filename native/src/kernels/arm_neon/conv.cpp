// NEON direct convolution on one NHWC image as an implicit GEMM.
//
// Layout: input and output NHWC with pixel strides in_pixel_stride and
// out_pixel_stride; weights packed panels with K ordered (kh, kw, ci).
// Blocking: each output row is cut into runs of pixels sharing one window of
// valid taps (the interior is one run; with padding, each border pixel is its
// own), so a tile never checks bounds. A tile is up to 8 pixels of a run x
// up to 16 output channels (the GEMM's register tile); its pixels sit one
// stride apart in the input, so each tap is a K segment of in_c floats read at
// that stride, and when pixels are dense (in_pixel_stride == in_c) the taps of
// one kernel row form a single segment of kernel * in_c floats (the patch
// embedding and the merging conv are GEMMs over gathered rows). Per output row
// the panels run outermost, so a panel's weights stay in L1 across the row.
// Epilogue: accumulators start at the bias, then activation, store (channels
// >= out_c within the pixel stride untouched).
#include <algorithm>

#include "kernels/arm_neon/kernels_neon.h"
#include "kernels/arm_neon/tile.h"

namespace fasternet::neon {
namespace {

// Valid kernel taps [lo, hi) of one output coordinate along one axis.
struct TapRange {
    int lo = 0;
    int hi = 0;
    bool operator==(const TapRange& other) const { return lo == other.lo && hi == other.hi; }
};

TapRange ValidTaps(int out_coordinate, int in_size, const ConvArgs& args) {
    const int origin = out_coordinate * args.stride - args.pad;
    TapRange range{std::max(0, -origin), std::min(args.kernel, in_size - origin)};
    if (range.hi < range.lo) range.hi = range.lo;
    return range;
}

// Output pixels of row oy from column ox on, all with the same tap window.
struct PixelRun {
    int oy = 0;
    int ox = 0;
    TapRange rows;
    TapRange columns;
};

// Rows consecutive pixels of a run x Vectors q-registers of one panel.
template <int Rows, int Vectors>
struct ConvTile {
    static void Run(const ConvArgs& args, const PixelRun& run, int panel, int first_vector) {
        const int64_t in_row_stride = static_cast<int64_t>(args.in_w) * args.in_pixel_stride;
        const int64_t in_pixel_step = static_cast<int64_t>(args.stride) * args.in_pixel_stride;
        const int k_total = args.kernel * args.kernel * args.in_c;
        const int column = panel * kPanelWidth + first_vector * kLanes;
        const TileColumns<Vectors> columns{std::min(Vectors * kLanes, args.out_c - column)};
        const float* weights =
            args.packed_weights + static_cast<int64_t>(panel) * k_total * kPanelWidth + first_vector * kLanes;
        const int iy0 = run.oy * args.stride - args.pad;
        const int ix0 = run.ox * args.stride - args.pad;
        const int kx_count = run.columns.hi - run.columns.lo;

        Tile<Rows, Vectors> tile;
        StartTile(tile, args.bias ? args.bias + column : nullptr, columns);
        for (int ky = run.rows.lo; ky < run.rows.hi; ++ky) {
            const float* in = args.input + (iy0 + ky) * in_row_stride +
                              static_cast<int64_t>(ix0 + run.columns.lo) * args.in_pixel_stride;
            const float* b =
                weights + static_cast<int64_t>((ky * args.kernel + run.columns.lo) * args.in_c) * kPanelWidth;
            if (args.in_pixel_stride == args.in_c) {
                AccumulateRows(tile, in, in_pixel_step, kx_count * args.in_c, b);
            } else {
                for (int kx = 0; kx < kx_count; ++kx) {
                    AccumulateRows(tile, in + kx * args.in_pixel_stride, in_pixel_step, args.in_c,
                                   b + static_cast<int64_t>(kx * args.in_c) * kPanelWidth);
                }
            }
        }
        ApplyTileActivation(tile, args.activation);
        float* out = args.output + (static_cast<int64_t>(run.oy) * args.out_w + run.ox) * args.out_pixel_stride + column;
        StoreTile(tile, out, args.out_pixel_stride, nullptr, 0, columns);
    }
};

using ConvTileFunction = void (*)(const ConvArgs&, const PixelRun&, int, int);
constexpr TileTable<ConvTileFunction, ConvTile> kConvTiles;

// `count` pixels from run.ox on in tiles of `rows` pixels (count a multiple of rows), every panel.
void RunPixelTiles(const ConvArgs& args, PixelRun run, int count, int rows) {
    if (count <= 0) return;
    const int panels = (args.out_c + kPanelWidth - 1) / kPanelWidth;
    const int width = VectorsPerTile(rows);
    const int first_pixel = run.ox;
    for (int panel = 0; panel < panels; ++panel) {
        const int panel_columns = std::min(kPanelWidth, args.out_c - panel * kPanelWidth);
        const int panel_vectors = (panel_columns + kLanes - 1) / kLanes;
        for (int vector = 0; vector < panel_vectors; vector += width) {
            const ConvTileFunction tile = kConvTiles.functions[rows][std::min(width, panel_vectors - vector)];
            for (run.ox = first_pixel; run.ox < first_pixel + count; run.ox += rows) tile(args, run, panel, vector);
        }
    }
}

void RunPixels(const ConvArgs& args, PixelRun run, int count) {
    const int full_tiles = count / kTileRows * kTileRows;
    RunPixelTiles(args, run, full_tiles, kTileRows);
    run.ox += full_tiles;
    RunPixelTiles(args, run, count - full_tiles, count - full_tiles);
}

}  // namespace

void Conv(const ConvArgs& args) {
    if (args.out_c <= 0 || args.out_w <= 0) return;
    const int row_begin = std::max(args.row_begin, 0);
    const int row_end = std::min(args.row_end, args.out_h);
    for (int oy = row_begin; oy < row_end; ++oy) {
        const TapRange rows = ValidTaps(oy, args.in_h, args);
        int ox = 0;
        while (ox < args.out_w) {
            const TapRange columns = ValidTaps(ox, args.in_w, args);
            int end = ox + 1;
            while (end < args.out_w && ValidTaps(end, args.in_w, args) == columns) ++end;
            RunPixels(args, PixelRun{oy, ox, rows, columns}, end - ox);
            ox = end;
        }
    }
}

}  // namespace fasternet::neon
