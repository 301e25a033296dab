// NEON GEMM over packed 16-column panels with a fused epilogue.
//
// Layout: A row-major (rows at lda; columns [k_split, k) from a2 at lda2 when
// given), B packed panels (K rows of 16 floats), C row-major at ldc.
// Blocking: rows in blocks whose A slice stays in L1/L2; within a block, for
// each panel and each half panel (its K x 8 B slice stays in L1), 8-row tiles
// of 8 x 8 accumulators (16 q-registers) run the whole K loop in registers.
// Leftover rows use a shorter tile spanning more of the panel (4 rows x 16
// columns, ...), so the few-row GEMMs of the head still keep 16 FMA chains busy.
// Epilogue: accumulators start at the bias, then activation (ReLU or exact
// GELU), then + residual, store (columns >= n untouched).
#include <algorithm>

#include "kernels/arm_neon/kernels_neon.h"
#include "kernels/arm_neon/tile.h"

namespace fasternet::neon {
namespace {

// A rows per cache block: the block's A slice is about this many bytes, so it
// stays in L2 while every panel streams past it.
constexpr int64_t kRowBlockBytes = 64 * 1024;

// Rows x Vectors outputs at (row, first column of vector `first_vector` of `panel`).
template <int Rows, int Vectors>
struct GemmTile {
    static void Run(const GemmArgs& args, int64_t row, int panel, int first_vector) {
        const int column = panel * kPanelWidth + first_vector * kLanes;
        const TileColumns<Vectors> columns{std::min(Vectors * kLanes, args.n - column)};
        const float* b = args.packed_b + static_cast<int64_t>(panel) * args.k * kPanelWidth + first_vector * kLanes;

        Tile<Rows, Vectors> tile;
        StartTile(tile, args.bias ? args.bias + column : nullptr, columns);
        if (args.a2) {
            const int split = std::clamp(args.k_split, 0, args.k);
            AccumulateRows(tile, args.a + row * args.lda, args.lda, split, b);
            AccumulateRows(tile, args.a2 + row * args.lda2, args.lda2, args.k - split,
                           b + static_cast<int64_t>(split) * kPanelWidth);
        } else {
            AccumulateRows(tile, args.a + row * args.lda, args.lda, args.k, b);
        }
        ApplyTileActivation(tile, args.activation);
        StoreTile(tile, args.c + row * args.ldc + column, args.ldc,
                  args.residual ? args.residual + row * args.ldr + column : nullptr, args.ldr, columns);
    }
};

using GemmTileFunction = void (*)(const GemmArgs&, int64_t, int, int);
constexpr TileTable<GemmTileFunction, GemmTile> kGemmTiles;

// Rows [row_begin, row_end), all of the same tile height, across every panel.
void RunRowTiles(const GemmArgs& args, int64_t row_begin, int64_t row_end, int rows) {
    if (row_begin >= row_end) return;
    const int panels = (args.n + kPanelWidth - 1) / kPanelWidth;
    const int width = VectorsPerTile(rows);
    for (int panel = 0; panel < panels; ++panel) {
        const int panel_columns = std::min(kPanelWidth, args.n - panel * kPanelWidth);
        const int panel_vectors = (panel_columns + kLanes - 1) / kLanes;
        for (int vector = 0; vector < panel_vectors; vector += width) {
            const GemmTileFunction tile = kGemmTiles.functions[rows][std::min(width, panel_vectors - vector)];
            for (int64_t row = row_begin; row < row_end; row += rows) tile(args, row, panel, vector);
        }
    }
}

}  // namespace

void Gemm(const GemmArgs& args) {
    if (args.m <= 0 || args.n <= 0) return;
    const int64_t a_row_bytes = static_cast<int64_t>(std::max(args.k, 1)) * sizeof(float);
    const int64_t block_rows = std::max<int64_t>(kTileRows, kRowBlockBytes / a_row_bytes / kTileRows * kTileRows);

    for (int64_t block_begin = 0; block_begin < args.m; block_begin += block_rows) {
        const int64_t block_end = std::min(args.m, block_begin + block_rows);
        const int64_t full_tiles_end = block_begin + (block_end - block_begin) / kTileRows * kTileRows;
        RunRowTiles(args, block_begin, full_tiles_end, kTileRows);
        const int leftover_rows = static_cast<int>(block_end - full_tiles_end);
        if (leftover_rows > 0) RunRowTiles(args, full_tiles_end, block_end, leftover_rows);
    }
}

}  // namespace fasternet::neon
