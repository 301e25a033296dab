// Direct convolution on one NHWC image as an implicit GEMM, once for every ISA.
//
// Layout: input and output NHWC with pixel strides in_pixel_stride and
// out_pixel_stride; weights packed panels with K ordered (kh, kw, ci).
// Blocking: register tiles of output pixels x panels (tile.h; at most
// Isa::kMaxConvPanels panels). The pixels of a tile share one window of valid
// taps and sit at a uniform input stride, so each tap is a plain K segment
// read at that stride:
// - dense pixels (in_pixel_stride == in_c): a kernel row is one contiguous
//   segment; the merging (2x2/s2) and embedding (4x4/s4) convs have no
//   borders at all, so their pixels tile across output rows like GEMM rows
//   (PatchTile), the kernel rows side by side in one K loop, the next panel
//   group's weights prefetched;
// - PConv (cp of dim channels): the three taps of a kernel row run side by
//   side in one K loop of cp steps, so a small cp is not all loop overhead.
// Interior pixels (all taps inside the image) run along output rows with no
// bounds checks; the top and bottom border rows run along rows with a clipped
// tap window, and the left and right border columns run down the columns, so
// borders use full tiles too. Output rows come in chunks whose input stays in
// L2 while every panel group passes over them (one chunk when the weights
// outweigh the input). Epilogue: accumulators start at the bias, then
// activation, masked store (channels >= out_c within the pixel stride untouched).
#pragma once

#include <algorithm>

#include "kernels/drivers/tile.h"
#include "kernels/tuning.h"

namespace fasternet::drivers {

template <class Isa>
struct ConvDriver {
    // Input bytes a chunk of output rows may touch (L2 / 4, kernels/tuning.h).
    static int64_t ChunkInputBytes() { return HostTuning().conv_chunk_input_bytes; }

    // Valid kernel taps [lo, hi) of one output coordinate along one axis.
    struct TapRange {
        int lo = 0;
        int hi = 0;
        bool Same(const TapRange& other) const { return lo == other.lo && hi == other.hi; }
    };

    static TapRange ValidTaps(int out_coordinate, int in_size, const ConvArgs& args) {
        const int origin = out_coordinate * args.stride - args.pad;
        TapRange range{std::max(0, -origin), std::min(args.kernel, in_size - origin)};
        if (range.hi < range.lo) range.hi = range.lo;
        return range;
    }

    // A run of output pixels starting at (oy, ox), stepping along the row or down
    // the column, all with the same tap window.
    struct PixelRun {
        int oy = 0;
        int ox = 0;
        bool down_column = false;
        TapRange rows;
        TapRange columns;
    };

    // Panels per conv tile: conv rows are whole output rows, never the few-rows case.
    static int ConvGroupWidth(int panel, int panels) {
        return std::min(Isa::kMaxConvPanels, Isa::PanelGroupWidth(panel, panels, Isa::kTileRows));
    }

    template <int Rows, int Panels>
    struct ConvTile {
        static void Run(const ConvArgs& args, const PixelRun& run, int panel) {
            const int64_t in_row_stride = static_cast<int64_t>(args.in_w) * args.in_pixel_stride;
            const int64_t in_step = run.down_column ? args.stride * in_row_stride : args.stride * args.in_pixel_stride;
            const int64_t out_step =
                run.down_column ? static_cast<int64_t>(args.out_w) * args.out_pixel_stride : args.out_pixel_stride;
            const int k_total = args.kernel * args.kernel * args.in_c;
            const int64_t panel_stride = static_cast<int64_t>(k_total) * kPanelWidth;
            const float* panels = args.packed_weights + panel * panel_stride;
            const int column = panel * kPanelWidth;
            const int columns_left = args.out_c - column;
            const int iy0 = run.oy * args.stride - args.pad;
            const int ix0 = run.ox * args.stride - args.pad;
            const int kx_count = run.columns.hi - run.columns.lo;

            // Small tiles keep AccumulateRows, which interleaves K steps to hide latency.
            constexpr bool kFusesTaps = Rows * Tile<Isa, Rows, Panels>::kVectors >= 8;
            Tile<Isa, Rows, Panels> tile;
            StartTile(tile, args.bias ? args.bias + column : nullptr, columns_left);
            const bool dense = args.in_pixel_stride == args.in_c;
            const bool whole_window = kx_count == args.kernel && run.rows.hi - run.rows.lo == args.kernel;
            if (kFusesTaps && dense && whole_window && (args.kernel == 2 || args.kernel == 4)) {
                // Merging (2x2) and embedding (4x4) convs: each kernel row of a pixel
                // is one contiguous run; the kernel rows go side by side in one K loop.
                const float* in = args.input + iy0 * in_row_stride + static_cast<int64_t>(ix0) * args.in_pixel_stride;
                const int run_length = args.kernel * args.in_c;
                if (args.kernel == 2) {
                    AccumulateTaps<2>(tile, in, in_step, in_row_stride, run_length, panels, panel_stride);
                } else {
                    AccumulateTaps<4>(tile, in, in_step, in_row_stride, run_length, panels, panel_stride);
                }
            } else {
                for (int ky = run.rows.lo; ky < run.rows.hi; ++ky) {
                    const float* in = args.input + (iy0 + ky) * in_row_stride +
                                      static_cast<int64_t>(ix0 + run.columns.lo) * args.in_pixel_stride;
                    const float* b =
                        panels + static_cast<int64_t>((ky * args.kernel + run.columns.lo) * args.in_c) * kPanelWidth;
                    if (dense) {
                        AccumulateRows(tile, in, in_step, kx_count * args.in_c, b, panel_stride);
                    } else if (kx_count == 3 && kFusesTaps) {
                        AccumulateTaps<3>(tile, in, in_step, args.in_pixel_stride, args.in_c, b, panel_stride);
                    } else if (kx_count == 2 && kFusesTaps) {
                        AccumulateTaps<2>(tile, in, in_step, args.in_pixel_stride, args.in_c, b, panel_stride);
                    } else {
                        for (int kx = 0; kx < kx_count; ++kx) {
                            AccumulateRows(tile, in + kx * args.in_pixel_stride, in_step, args.in_c,
                                           b + static_cast<int64_t>(kx * args.in_c) * kPanelWidth, panel_stride);
                        }
                    }
                }
            }
            float* out =
                args.output + (static_cast<int64_t>(run.oy) * args.out_w + run.ox) * args.out_pixel_stride + column;
            FinishTile(tile, args.activation, out, out_step, nullptr, 0, columns_left);
        }
    };

    using ConvTileFunction = void (*)(const ConvArgs&, const PixelRun&, int);
    static constexpr TileTable<Isa, ConvTileFunction, ConvTile, Isa::kMaxConvPanels> kConvTiles{};

    // Merging (2x2/s2) and embedding (4x4/s4) convs without padding: every output
    // pixel sees its whole window, so pixels tile across output rows as GEMM rows
    // do (a 7x7 map as 13 + 12 + 12 + 12 pixels, not seven tiles of 7), each tile
    // gathering its pixels' input addresses; the kernel rows of a pixel run side
    // by side in one K loop, and the next panel group's weights are prefetched.
    template <int Rows, int Panels>
    struct PatchTile {
        static void Run(const ConvArgs& args, int64_t first_pixel, int panel, Prefetcher<Isa>* prefetcher) {
            const int64_t in_row_stride = static_cast<int64_t>(args.in_w) * args.in_pixel_stride;
            const int64_t panel_stride = static_cast<int64_t>(args.kernel * args.kernel * args.in_c) * kPanelWidth;
            const int column = panel * kPanelWidth;
            // One division for the tile, then step along the row (a division per pixel
            // costs as much as the K loop of a 3-channel embedding).
            const float* rows[Rows];
            int64_t oy = first_pixel / args.out_w, ox = first_pixel % args.out_w;
#pragma GCC unroll 16
            for (int r = 0; r < Rows; ++r) {
                rows[r] = args.input + oy * args.stride * in_row_stride + ox * args.stride * args.in_pixel_stride;
                if (++ox == args.out_w) {
                    ox = 0;
                    ++oy;
                }
            }
            Tile<Isa, Rows, Panels> tile;
            StartTile(tile, args.bias ? args.bias + column : nullptr, args.out_c - column);
            const float* b = args.packed_weights + panel * panel_stride;
            const int run_length = args.kernel * args.in_c;
            if (args.kernel == 2) {
                AccumulateTapsOfRows<2>(tile, rows, in_row_stride, run_length, b, panel_stride, prefetcher);
            } else {
                AccumulateTapsOfRows<4>(tile, rows, in_row_stride, run_length, b, panel_stride, prefetcher);
            }
            FinishTile(tile, args.activation, args.output + first_pixel * args.out_pixel_stride + column,
                       args.out_pixel_stride, nullptr, 0, args.out_c - column);
        }
    };

    using PatchTileFunction = void (*)(const ConvArgs&, int64_t, int, Prefetcher<Isa>*);
    static constexpr TileTable<Isa, PatchTileFunction, PatchTile, Isa::kMaxConvPanels> kPatchTiles{};

    static bool IsPatchConv(const ConvArgs& args) {
        return args.pad == 0 && args.stride == args.kernel && (args.kernel == 2 || args.kernel == 4) &&
               args.in_pixel_stride == args.in_c && int64_t{args.out_h} * args.stride <= args.in_h &&
               int64_t{args.out_w} * args.stride <= args.in_w;
    }

    // Output rows [row_begin, row_end) of a patch conv.
    static void RunPatchRows(const ConvArgs& args, int row_begin, int row_end, int panels) {
        const int64_t first = int64_t{row_begin} * args.out_w;
        const int64_t count = int64_t{row_end - row_begin} * args.out_w;
        const int64_t k_total = int64_t{args.kernel} * args.kernel * args.in_c;
        const int64_t panel_stride = k_total * kPanelWidth;
        int width;
        for (int panel = 0; panel < panels; panel += width) {
            width = ConvGroupWidth(panel, panels);
            const int next_panel = panel + width;
            const int next_width = next_panel < panels ? ConvGroupWidth(next_panel, panels) : 0;
            const int64_t tile_count = (count + Isa::TileRowsFor(width) - 1) / Isa::TileRowsFor(width);
            int64_t pixel = first;
            for (int64_t t = 0; t < tile_count; ++t) {
                const int tile_rows = static_cast<int>(count / tile_count + (t < count % tile_count ? 1 : 0));
                Prefetcher<Isa> share = Prefetcher<Isa>::Share(args.packed_weights + next_panel * panel_stride,
                                                               panel_stride, next_width, 0, k_total, t, tile_count);
                kPatchTiles.functions[tile_rows][width](args, pixel, panel, &share);
                pixel += tile_rows;
            }
        }
    }

    // Runs `count` pixels from `run` onwards in equal tiles at most as tall as the
    // panel group allows.
    static void RunPixels(const ConvArgs& args, PixelRun run, int count, int panel, int panels_in_tile) {
        const int tile_count = (count + Isa::TileRowsFor(panels_in_tile) - 1) / Isa::TileRowsFor(panels_in_tile);
        for (int t = 0; t < tile_count; ++t) {
            const int rows = count / tile_count + (t < count % tile_count ? 1 : 0);
            kConvTiles.functions[rows][panels_in_tile](args, run, panel);
            (run.down_column ? run.oy : run.ox) += rows;
        }
    }

    // Pixels of output row oy in [ox_begin, ox_end), grouped by equal tap windows.
    static void RunRowSegment(const ConvArgs& args, int oy, const TapRange& rows, int ox_begin, int ox_end, int panel,
                              int panels_in_tile) {
        int ox = ox_begin;
        while (ox < ox_end) {
            const TapRange columns = ValidTaps(ox, args.in_w, args);
            int end = ox + 1;
            while (end < ox_end && ValidTaps(end, args.in_w, args).Same(columns)) ++end;
            RunPixels(args, PixelRun{oy, ox, false, rows, columns}, end - ox, panel, panels_in_tile);
            ox = end;
        }
    }

    // One panel group over output rows [chunk_begin, chunk_end) of a conv with borders:
    // interior and top/bottom rows along the rows, the border columns of full-height rows
    // down the columns.
    static void RunPanelGroup(const ConvArgs& args, int chunk_begin, int chunk_end, int ox_full_begin,
                              int ox_full_end, int panel, int panels_in_tile) {
        const TapRange full_rows{0, args.kernel};
        int full_rows_begin = -1, full_rows_end = -1;  // rows with the whole kernel height inside
        for (int oy = chunk_begin; oy < chunk_end; ++oy) {
            const TapRange rows = ValidTaps(oy, args.in_h, args);
            if (rows.Same(full_rows)) {
                if (full_rows_begin < 0) full_rows_begin = oy;
                full_rows_end = oy + 1;
                RunRowSegment(args, oy, rows, ox_full_begin, ox_full_end, panel, panels_in_tile);
            } else {
                RunRowSegment(args, oy, rows, 0, args.out_w, panel, panels_in_tile);
            }
        }
        if (full_rows_begin < 0) return;
        // Full-height rows are contiguous; their border columns run down the column.
        for (int ox = 0; ox < args.out_w; ++ox) {
            if (ox == ox_full_begin) ox = ox_full_end;
            if (ox >= args.out_w) break;
            RunPixels(args, PixelRun{full_rows_begin, ox, true, full_rows, ValidTaps(ox, args.in_w, args)},
                      full_rows_end - full_rows_begin, panel, panels_in_tile);
        }
    }

    static void Run(const ConvArgs& args) {
        const int row_begin = std::max(args.row_begin, 0);
        const int row_end = std::min(args.row_end, args.out_h);
        if (row_begin >= row_end || args.out_w <= 0 || args.out_c <= 0) return;
        const int panels = (args.out_c + kPanelWidth - 1) / kPanelWidth;

        // Output columns whose whole kernel width lies inside the image: [ox_full_begin, ox_full_end).
        const TapRange whole{0, args.kernel};
        int ox_full_begin = 0;
        while (ox_full_begin < args.out_w && !ValidTaps(ox_full_begin, args.in_w, args).Same(whole)) ++ox_full_begin;
        int ox_full_end = ox_full_begin;
        while (ox_full_end < args.out_w && ValidTaps(ox_full_end, args.in_w, args).Same(whole)) ++ox_full_end;

        // Output rows per chunk: the chunk's input stays in L2 while the panel groups
        // pass over it; but when the weights outweigh the input (late merging convs)
        // one chunk, so the weights stream from memory only once.
        const int64_t in_row_bytes = static_cast<int64_t>(args.in_w) * args.in_pixel_stride * sizeof(float);
        const int64_t weight_bytes =
            static_cast<int64_t>(PackedPanelsSize(args.kernel * args.kernel * args.in_c, args.out_c)) *
            static_cast<int64_t>(sizeof(float));
        const int64_t input_bytes = in_row_bytes * args.in_h;
        const int64_t chunk_rows =
            weight_bytes > input_bytes
                ? row_end - row_begin
                : std::max<int64_t>(1, ChunkInputBytes() / std::max<int64_t>(1, in_row_bytes * std::max(args.stride, 1)));

        for (int chunk_begin = row_begin; chunk_begin < row_end; chunk_begin += static_cast<int>(chunk_rows)) {
            const int chunk_end = static_cast<int>(std::min<int64_t>(row_end, chunk_begin + chunk_rows));
            if (IsPatchConv(args)) {
                RunPatchRows(args, chunk_begin, chunk_end, panels);
                continue;
            }
            int panels_in_tile;
            for (int panel = 0; panel < panels; panel += panels_in_tile) {
                panels_in_tile = ConvGroupWidth(panel, panels);
                RunPanelGroup(args, chunk_begin, chunk_end, ox_full_begin, ox_full_end, panel, panels_in_tile);
            }
        }
    }
};

}  // namespace fasternet::drivers
