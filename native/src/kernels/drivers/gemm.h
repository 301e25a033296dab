// GEMM over packed 16-column panels with a fused epilogue, once for every ISA.
//
// Layout: A row-major (rows at lda; columns [k_split, k) from a2 at lda2 when
// given), B packed panels (K rows of 16 floats each), C row-major at ldc.
// Blocking: rows in blocks whose A slice (L2 / 16) stays in L1/L2; K in chunks
// (depth from L2 and the tile width, kernels/tuning.h), so that a block's A slice and a panel
// group's K rows fit L2 together even for the deepest layers; within a block,
// for each group of panels and each K chunk, register tiles (tile.h; shapes
// from the ISA's traits) run the chunk's K loop, the block's rows split into
// equal tiles. While they do, the next chunk's weights are prefetched.
// Epilogue: accumulators start at the bias (first chunk) or at C (later
// chunks); after the last chunk, activation (ReLU, or exact GELU out of line),
// then + residual, masked store (columns >= n untouched). Tiles are
// instantiated per activation.
#pragma once

#include <algorithm>

#include "kernels/drivers/tile.h"
#include "kernels/tuning.h"

namespace fasternet::drivers {

template <class Isa>
struct GemmDriver {
    // From the CPU's L2 (kernels/tuning.h): A rows per cache block, so that the block's A
    // slice stays in L1/L2 while every panel group streams past it; and the deepest K loop
    // run in one go: deeper GEMMs (FasterNet-L's last stage: K = 1536 and 3072) go in
    // equal chunks, storing and reloading C in between.
    static int64_t RowBlockBytes() { return HostTuning().gemm_row_block_bytes; }
    static int MaxChunkDepth() { return GemmChunkDepth(HostTuning(), Isa::kMainTilePanels); }

    // The K range [begin, end) of one pass and whether it is the first or the last.
    struct KChunk {
        int begin, end;
        bool first, last;
    };

    template <Activation activation, int Rows, int Panels>
    struct TileRun {
        static void Run(const GemmArgs& args, int64_t row, int panel, const KChunk& chunk, Prefetcher<Isa>* prefetcher) {
            const int column = panel * kPanelWidth;
            const int columns_left = args.n - column;
            const int64_t panel_stride = static_cast<int64_t>(args.k) * kPanelWidth;
            const float* b = args.packed_b + panel * panel_stride;
            float* c = args.c + row * args.ldc + column;

            Tile<Isa, Rows, Panels> tile;
            if (chunk.first) {
                StartTile(tile, args.bias ? args.bias + column : nullptr, columns_left);
            } else {
                LoadTile(tile, c, args.ldc, columns_left);
            }
            // Columns [begin, split) come from a, [split, end) from a2.
            const int split = args.a2 ? std::clamp(args.k_split, chunk.begin, chunk.end) : chunk.end;
            if (split > chunk.begin) {
                AccumulateRows(tile, args.a + row * args.lda + chunk.begin, args.lda, split - chunk.begin,
                               b + static_cast<int64_t>(chunk.begin) * kPanelWidth, panel_stride, prefetcher);
            }
            if (chunk.end > split) {
                AccumulateRows(tile, args.a2 + row * args.lda2 + (split - args.k_split), args.lda2, chunk.end - split,
                               b + static_cast<int64_t>(split) * kPanelWidth, panel_stride, prefetcher);
            }
            if (chunk.last) {
                FinishTile<activation>(tile, c, args.ldc,
                                       args.residual ? args.residual + row * args.ldr + column : nullptr, args.ldr,
                                       columns_left);
            } else {
                StoreTile(tile, c, args.ldc, nullptr, 0, columns_left);
            }
        }
    };

    // One table per activation, so each tile carries only its own epilogue.
    template <int Rows, int Panels>
    using TileNone = TileRun<Activation::None, Rows, Panels>;
    template <int Rows, int Panels>
    using TileRelu = TileRun<Activation::Relu, Rows, Panels>;
    template <int Rows, int Panels>
    using TileGelu = TileRun<Activation::Gelu, Rows, Panels>;

    using TileFunction = void (*)(const GemmArgs&, int64_t, int, const KChunk&, Prefetcher<Isa>*);
    static constexpr TileTable<Isa, TileFunction, TileNone, Isa::kMaxTilePanels> kTilesNone{};
    static constexpr TileTable<Isa, TileFunction, TileRelu, Isa::kMaxTilePanels> kTilesRelu{};
    static constexpr TileTable<Isa, TileFunction, TileGelu, Isa::kMaxTilePanels> kTilesGelu{};

    static void Run(const GemmArgs& args) {
        if (args.m <= 0 || args.n <= 0) return;
        const auto& tiles = args.activation == Activation::Gelu   ? kTilesGelu.functions
                            : args.activation == Activation::Relu ? kTilesRelu.functions
                                                                  : kTilesNone.functions;
        const int panels = (args.n + kPanelWidth - 1) / kPanelWidth;
        const int64_t panel_stride = static_cast<int64_t>(args.k) * kPanelWidth;
        const int max_chunk_depth = MaxChunkDepth();
        const int chunks = std::max(1, (args.k + max_chunk_depth - 1) / max_chunk_depth);
        const auto chunk_begin = [&](int index) { return static_cast<int>(int64_t{args.k} * index / chunks); };
        const int64_t a_row_bytes = static_cast<int64_t>(std::max(chunk_begin(1), 1)) * sizeof(float);
        // A multiple of the ISA's row quantum (every full tile height), so full blocks split into full tiles.
        const int64_t block_rows = std::max<int64_t>(
            Isa::kMinBlockRows, RowBlockBytes() / a_row_bytes / Isa::kRowQuantum * Isa::kRowQuantum);

        for (int64_t block_begin = 0; block_begin < args.m; block_begin += block_rows) {
            const int64_t block_end = std::min(args.m, block_begin + block_rows);
            const int64_t rows = block_end - block_begin;
            int width;
            for (int panel = 0; panel < panels; panel += width) {
                width = Isa::PanelGroupWidth(panel, panels, rows);
                // Rows split into equal tiles (49 = 13 + 12 + 12 + 12), never a sliver of a tile.
                const int64_t tile_count = (rows + Isa::TileRowsFor(width) - 1) / Isa::TileRowsFor(width);
                for (int c = 0; c < chunks; ++c) {
                    const KChunk chunk{chunk_begin(c), chunk_begin(c + 1), c == 0, c == chunks - 1};
                    // What comes next: this group's next chunk, the next group's first, or the
                    // next row block's first group. Its K rows come in a share per tile.
                    int next_panel = panel, next_chunk = c + 1;
                    if (next_chunk == chunks) {
                        next_chunk = 0;
                        next_panel = panel + width < panels ? panel + width : (block_end < args.m ? 0 : panels);
                    }
                    const int next_width = next_panel < panels ? Isa::PanelGroupWidth(next_panel, panels, rows) : 0;
                    const int next_begin = chunk_begin(next_chunk);
                    int64_t row = block_begin;
                    for (int64_t t = 0; t < tile_count; ++t) {
                        const int tile_rows = static_cast<int>(rows / tile_count + (t < rows % tile_count ? 1 : 0));
                        Prefetcher<Isa> share = Prefetcher<Isa>::Share(args.packed_b + next_panel * panel_stride,
                                                                       panel_stride, next_width, next_begin,
                                                                       chunk_begin(next_chunk + 1) - next_begin, t,
                                                                       tile_count);
                        tiles[tile_rows][width](args, row, panel, chunk, &share);
                        row += tile_rows;
                    }
                }
            }
        }
    }
};

}  // namespace fasternet::drivers
