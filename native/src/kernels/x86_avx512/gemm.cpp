// AVX-512 GEMM over packed 16-column panels with a fused epilogue.
//
// Layout: A row-major (rows at lda; columns [k_split, k) from a2 at lda2 when
// given), B packed panels (K rows of 16 floats each), C row-major at ldc.
// Blocking: rows in blocks whose A slice (about 64 KB) stays in L1/L2; within
// a block, for each group of panels (its B rows stream from L1/L2), tiles of
// up to 14 rows x 2 panels (or 9 x 3, or 1-3 x 4; see tile.h) run the whole K
// loop in registers, the block's rows split into equal tiles. Epilogue:
// accumulators start at the bias, then activation (ReLU, or exact GELU out of
// line), then + residual, masked store (columns >= n untouched). Tiles are
// instantiated per activation.
#include <algorithm>

#include "kernels/x86_avx512/kernels_avx512.h"
#include "kernels/x86_avx512/tile.h"

namespace fasternet::avx512 {
namespace {

// A rows per cache block: the block's A slice is about this many bytes, so it stays
// in L1/L2 while every panel group streams past it (16..512 KB measured alike
// within noise; 64 KB kept).
constexpr int64_t kRowBlockBytes = 64 * 1024;

template <Activation activation, int Rows, int Panels>
struct GemmTile {
    static void Run(const GemmArgs& args, int64_t row, int panel, Prefetcher* prefetcher) {
        const int column = panel * kPanelWidth;
        const int columns_left = args.n - column;
        const int64_t panel_stride = static_cast<int64_t>(args.k) * kPanelWidth;
        const float* b = args.packed_b + panel * panel_stride;

        Tile<Rows, Panels> tile;
        StartTile(tile, args.bias ? args.bias + column : nullptr, columns_left);
        if (args.a2) {
            const int split = std::clamp(args.k_split, 0, args.k);
            AccumulateRows(tile, args.a + row * args.lda, args.lda, split, b, panel_stride, prefetcher);
            AccumulateRows(tile, args.a2 + row * args.lda2, args.lda2, args.k - split,
                           b + static_cast<int64_t>(split) * kPanelWidth, panel_stride, prefetcher);
        } else {
            AccumulateRows(tile, args.a + row * args.lda, args.lda, args.k, b, panel_stride, prefetcher);
        }
        FinishTile<activation>(tile, args.c + row * args.ldc + column, args.ldc,
                               args.residual ? args.residual + row * args.ldr + column : nullptr, args.ldr,
                               columns_left);
    }
};

// One table per activation, so each tile carries only its own epilogue.
template <int Rows, int Panels>
using GemmTileNone = GemmTile<Activation::None, Rows, Panels>;
template <int Rows, int Panels>
using GemmTileRelu = GemmTile<Activation::Relu, Rows, Panels>;
template <int Rows, int Panels>
using GemmTileGelu = GemmTile<Activation::Gelu, Rows, Panels>;

using GemmTileFunction = void (*)(const GemmArgs&, int64_t, int, Prefetcher*);
constexpr TileTable<GemmTileFunction, GemmTileNone> kGemmTilesNone;
constexpr TileTable<GemmTileFunction, GemmTileRelu> kGemmTilesRelu;
constexpr TileTable<GemmTileFunction, GemmTileGelu> kGemmTilesGelu;

}  // namespace

void Gemm(const GemmArgs& args) {
    if (args.m <= 0 || args.n <= 0) return;
    const auto& tiles = args.activation == Activation::Gelu   ? kGemmTilesGelu.functions
                        : args.activation == Activation::Relu ? kGemmTilesRelu.functions
                                                              : kGemmTilesNone.functions;
    const int panels = (args.n + kPanelWidth - 1) / kPanelWidth;
    const int64_t panel_stride = static_cast<int64_t>(args.k) * kPanelWidth;
    const int64_t a_row_bytes = static_cast<int64_t>(std::max(args.k, 1)) * sizeof(float);
    // A multiple of both tile heights (14 and 9), so full blocks split into full tiles.
    constexpr int64_t kRowQuantum = kTileRows * kWideTileRows;
    const int64_t block_rows = std::max<int64_t>(kRowQuantum, kRowBlockBytes / a_row_bytes / kRowQuantum * kRowQuantum);

    for (int64_t block_begin = 0; block_begin < args.m; block_begin += block_rows) {
        const int64_t block_end = std::min(args.m, block_begin + block_rows);
        const int64_t rows = block_end - block_begin;
        int width;
        for (int panel = 0; panel < panels; panel += width) {
            width = PanelGroupWidth(panel, panels, rows);
            // Rows split into equal tiles (49 = 13 + 12 + 12 + 12), never a sliver of a tile.
            const int64_t tile_count = (rows + TileRowsFor(width) - 1) / TileRowsFor(width);
            // The next panel group's weights (this row block's, or the first of the next
            // block's) come in while this group runs, a share per tile.
            const int next_panel = panel + width < panels ? panel + width : (block_end < args.m ? 0 : panels);
            const int next_width = next_panel < panels ? PanelGroupWidth(next_panel, panels, rows) : 0;
            const char* next_weights = reinterpret_cast<const char*>(args.packed_b + next_panel * panel_stride);
            const int64_t next_bytes = next_width * panel_stride * int64_t{sizeof(float)};
            const int64_t bytes_per_tile = (next_bytes + tile_count - 1) / tile_count;
            int64_t row = block_begin;
            for (int64_t t = 0; t < tile_count; ++t) {
                const int tile_rows = static_cast<int>(rows / tile_count + (t < rows % tile_count ? 1 : 0));
                Prefetcher prefetcher;
                const int64_t begin = std::min(next_bytes, t * bytes_per_tile);
                prefetcher.next = next_weights + begin;
                prefetcher.lines = (std::min(next_bytes, (t + 1) * bytes_per_tile) - begin) / Prefetcher::kLineBytes;
                prefetcher.two_per_step = prefetcher.lines > args.k;
                tiles[tile_rows][width](args, row, panel, &prefetcher);
                row += tile_rows;
            }
        }
    }
}

}  // namespace fasternet::avx512
