// The AVX-512 register tile shared by the GEMM and the conv kernels.
//
// A tile is Rows x Panels zmm accumulators: Rows output rows (GEMM rows or
// conv output pixels) by Panels packed 16-column weight panels. Each step of
// the K loop loads one 16-float row from each panel and broadcasts one A
// value per output row into Panels FMAs. Accumulators start at the bias; the
// epilogue applies the activation, adds the residual and stores with a lane
// mask, so columns past N are never written.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "kernels/kernels.h"
#include "kernels/x86_avx512/gelu.h"

#define FASTERNET_AVX512_INLINE inline __attribute__((always_inline))

namespace fasternet::avx512 {

// Tile shapes (accumulators + B rows + 1 broadcast <= 32 zmm):
//   2 panels x 14 rows (28 + 2 + 1), the main one;
//   3 panels x 9 rows (27 + 3 + 1), for an odd panel count, instead of a
//     lone 1-panel pass (which, with half the work per row pointer, loop
//     and epilogue, measured ~70% of peak against ~90%);
//   1 panel x 14 rows, only when N fits one panel;
//   4 panels x 1-3 rows, when there are no more rows (the head, batch 1).
constexpr int kTileRows = 14;
constexpr int kWideTileRows = 9;
constexpr int kFewRows = 3;

inline __mmask16 ColumnMask(int columns_left) {
    return columns_left >= kPanelWidth ? static_cast<__mmask16>(0xFFFF)
                                       : static_cast<__mmask16>((1u << (columns_left > 0 ? columns_left : 0)) - 1u);
}

constexpr bool TileFits(int rows, int panels) {
    return panels <= 2 || (panels == 3 && rows <= kWideTileRows) || rows <= kFewRows;
}

// Rows of a full tile `panels` wide.
constexpr int TileRowsFor(int panels) { return panels == 3 ? kWideTileRows : panels == 4 ? kFewRows : kTileRows; }

// Width of the panel group starting at `panel`: three first when the panel
// count is odd, then pairs; 1-3 rows take four panels at a time so enough
// FMA chains stay in flight.
inline int PanelGroupWidth(int panel, int panels, int64_t rows) {
    if (rows <= kFewRows) return std::min(4, panels - panel);
    if (panel == 0 && panels % 2 == 1 && panels >= 3) return 3;
    return std::min(2, panels - panel);
}

// Function table indexed [rows][panels] over Entry<Rows, Panels>::Run, for
// every shape TileFits allows (other entries stay null).
template <typename Function, template <int, int> class Entry, int MaxPanels = 4>
struct TileTable {
    Function functions[kTileRows + 1][MaxPanels + 1] = {};

    constexpr TileTable() { FillRows(std::make_integer_sequence<int, kTileRows>{}); }

private:
    template <int... RowsMinusOne>
    constexpr void FillRows(std::integer_sequence<int, RowsMinusOne...>) {
        (FillPanels<RowsMinusOne + 1>(std::make_integer_sequence<int, MaxPanels>{}), ...);
    }
    template <int Rows, int... PanelsMinusOne>
    constexpr void FillPanels(std::integer_sequence<int, PanelsMinusOne...>) {
        (Set<Rows, PanelsMinusOne + 1>(), ...);
    }
    template <int Rows, int Panels>
    constexpr void Set() {
        if constexpr (TileFits(Rows, Panels)) functions[Rows][Panels] = &Entry<Rows, Panels>::Run;
    }
};

template <int Rows, int Panels>
struct Tile {
    __m512 acc[Rows][Panels];
};

// Pulls the weights a GEMM needs next into cache while the current tile runs,
// so that streaming them from memory overlaps the FMAs instead of stalling the
// first tile that needs them. It covers `ranges` runs of cache lines (one per
// panel of the next group, range_stride bytes apart): one line of each per K
// step, for `steps` steps. Idle when steps is 0.
struct Prefetcher {
    static constexpr int kLineBytes = 64;

    const char* next = nullptr;
    int64_t range_stride = 0;
    int ranges = 0;
    int64_t steps = 0;  // still to run

    // Runs step(kk) for kk < `length`, prefetching during as many of them as are left.
    template <typename Step>
    FASTERNET_AVX512_INLINE int Run(int length, Step&& step) {
        const int covered = static_cast<int>(std::min<int64_t>(length, steps));
        for (int kk = 0; kk < covered; ++kk, next += kLineBytes) {
            for (int r = 0; r < ranges; ++r) _mm_prefetch(next + r * range_stride, _MM_HINT_T1);
            step(kk);
        }
        steps -= covered;
        return covered;
    }

    // Tile `tile` of `tiles`' share of a panel group's weights: `ranges` panels from
    // `first_panel` (panel_stride floats apart), `lines` K rows of each, starting at
    // row `first_line`. Tiles take equal shares in order.
    static Prefetcher Share(const float* first_panel, int64_t panel_stride, int ranges, int64_t first_line,
                            int64_t lines, int64_t tile, int64_t tiles) {
        Prefetcher share;
        if (ranges <= 0 || lines <= 0) return share;
        const int64_t per_tile = (lines + tiles - 1) / tiles;
        const int64_t begin = std::min(lines, tile * per_tile);
        share.next = reinterpret_cast<const char*>(first_panel + (first_line + begin) * kPanelWidth);
        share.range_stride = panel_stride * static_cast<int64_t>(sizeof(float));
        share.ranges = ranges;
        share.steps = std::min(lines - begin, per_tile);
        return share;
    }
};

// Accumulators start at the bias (or zero) of the tile's columns.
template <int Rows, int Panels>
FASTERNET_AVX512_INLINE void StartTile(Tile<Rows, Panels>& tile, const float* bias, int columns_left) {
    __m512 start[Panels];
#pragma GCC unroll 4
    for (int p = 0; p < Panels; ++p) {
        start[p] = bias ? _mm512_maskz_loadu_ps(ColumnMask(columns_left - p * kPanelWidth), bias + p * kPanelWidth)
                        : _mm512_setzero_ps();
    }
#pragma GCC unroll 16
    for (int r = 0; r < Rows; ++r) {
#pragma GCC unroll 4
        for (int p = 0; p < Panels; ++p) tile.acc[r][p] = start[p];
    }
}

// Accumulators start at what an earlier K chunk stored at c (row stride ldc).
template <int Rows, int Panels>
FASTERNET_AVX512_INLINE void LoadTile(Tile<Rows, Panels>& tile, const float* c, int64_t ldc, int columns_left) {
#pragma GCC unroll 16
    for (int r = 0; r < Rows; ++r) {
#pragma GCC unroll 4
        for (int p = 0; p < Panels; ++p) {
            tile.acc[r][p] = _mm512_maskz_loadu_ps(ColumnMask(columns_left - p * kPanelWidth), c + r * ldc + p * kPanelWidth);
        }
    }
}

// One K step: acc[r][p] += rows[r][a_index] * b_row[p * panel_stride .. + 16].
template <int Rows, int Panels>
FASTERNET_AVX512_INLINE void AccumulateStep(Tile<Rows, Panels>& tile, const float* const* rows, int64_t a_index,
                                            const float* b_row, int64_t panel_stride) {
    __m512 b[Panels];
#pragma GCC unroll 4
    for (int p = 0; p < Panels; ++p) b[p] = _mm512_loadu_ps(b_row + p * panel_stride);
#pragma GCC unroll 16
    for (int r = 0; r < Rows; ++r) {
        const __m512 a_value = _mm512_set1_ps(rows[r][a_index]);
#pragma GCC unroll 4
        for (int p = 0; p < Panels; ++p) tile.acc[r][p] = _mm512_fmadd_ps(a_value, b[p], tile.acc[r][p]);
    }
}

// acc[r][p] += sum over kk < length of a[r * row_step + kk] * panel_p[kk][:],
// panel_p = b + p * panel_stride. Rows are independent streams of A (GEMM rows
// or conv pixels at a uniform stride). Tiles with fewer than 8 accumulators
// (1-3 rows) alternate K steps over extra partial sums, so that at least 8
// FMA chains are in flight to cover the FMA latency.
template <int Rows, int Panels>
FASTERNET_AVX512_INLINE void AccumulateRows(Tile<Rows, Panels>& tile, const float* a, int64_t row_step, int length,
                                            const float* b, int64_t panel_stride, Prefetcher* prefetcher = nullptr) {
    constexpr int kChains = Rows * Panels;
    constexpr int kInterleave = kChains >= 8 ? 1 : kChains >= 4 ? 2 : 4;
    const float* rows[Rows];
#pragma GCC unroll 16
    for (int r = 0; r < Rows; ++r) rows[r] = a + r * row_step;
    int kk = 0;
    if constexpr (kInterleave > 1) {
        Tile<Rows, Panels> partial[kInterleave - 1] = {};
        for (; kk + kInterleave <= length; kk += kInterleave) {
            AccumulateStep(tile, rows, kk, b + kk * kPanelWidth, panel_stride);
#pragma GCC unroll 4
            for (int i = 1; i < kInterleave; ++i)
                AccumulateStep(partial[i - 1], rows, kk + i, b + (kk + i) * kPanelWidth, panel_stride);
        }
#pragma GCC unroll 4
        for (int i = 0; i < kInterleave - 1; ++i) {
            for (int r = 0; r < Rows; ++r) {
                for (int p = 0; p < Panels; ++p) tile.acc[r][p] = _mm512_add_ps(tile.acc[r][p], partial[i].acc[r][p]);
            }
        }
    }
    if constexpr (kInterleave == 1) {  // few-row tiles (the head) stream too little to need it
        if (prefetcher && prefetcher->steps > 0) {
            kk = prefetcher->Run(length, [&](int step) {
                AccumulateStep(tile, rows, step, b + step * kPanelWidth, panel_stride);
            });
        }
    }
    for (; kk < length; ++kk) AccumulateStep(tile, rows, kk, b + kk * kPanelWidth, panel_stride);
}

// Taps side by side in one K loop: tap t reads A at rows[r] + t * tap_step
// and B at b + t * length rows. For convs whose taps are not contiguous
// (PConv reads cp of dim channels; a merging conv's kernel rows): with few
// channels, one loop per tap would spend more time entering and leaving loops
// than multiplying. A prefetcher, when given, runs alongside.
template <int Taps, int Rows, int Panels>
FASTERNET_AVX512_INLINE void AccumulateTapsOfRows(Tile<Rows, Panels>& tile, const float* const* rows,
                                                  int64_t tap_step, int length, const float* b, int64_t panel_stride,
                                                  Prefetcher* prefetcher = nullptr) {
    const int64_t b_tap_step = static_cast<int64_t>(length) * kPanelWidth;
    const auto step = [&](int kk) {
#pragma GCC unroll 4
        for (int t = 0; t < Taps; ++t) {
            AccumulateStep(tile, rows, t * tap_step + kk, b + t * b_tap_step + kk * kPanelWidth, panel_stride);
        }
    };
    int kk = 0;
    if (prefetcher && prefetcher->steps > 0) kk = prefetcher->Run(length, step);
    for (; kk < length; ++kk) step(kk);
}

// The same for rows at a uniform stride: row r starts at a + r * row_step.
template <int Taps, int Rows, int Panels>
FASTERNET_AVX512_INLINE void AccumulateTaps(Tile<Rows, Panels>& tile, const float* a, int64_t row_step,
                                            int64_t tap_step, int length, const float* b, int64_t panel_stride) {
    const float* rows[Rows];
#pragma GCC unroll 16
    for (int r = 0; r < Rows; ++r) rows[r] = a + r * row_step;
    AccumulateTapsOfRows<Taps>(tile, rows, tap_step, length, b, panel_stride);
}

// Stores the tile at c (row stride ldc), adding residual (row stride ldr) when given.
template <int Rows, int Panels>
FASTERNET_AVX512_INLINE void StoreTile(const Tile<Rows, Panels>& tile, float* c, int64_t ldc, const float* residual,
                                       int64_t ldr, int columns_left) {
    __mmask16 masks[Panels];
#pragma GCC unroll 4
    for (int p = 0; p < Panels; ++p) masks[p] = ColumnMask(columns_left - p * kPanelWidth);
    if (residual) {
#pragma GCC unroll 16
        for (int r = 0; r < Rows; ++r) {
#pragma GCC unroll 4
            for (int p = 0; p < Panels; ++p) {
                const __m512 add = _mm512_maskz_loadu_ps(masks[p], residual + r * ldr + p * kPanelWidth);
                _mm512_mask_storeu_ps(c + r * ldc + p * kPanelWidth, masks[p], _mm512_add_ps(tile.acc[r][p], add));
            }
        }
    } else {
#pragma GCC unroll 16
        for (int r = 0; r < Rows; ++r) {
#pragma GCC unroll 4
            for (int p = 0; p < Panels; ++p)
                _mm512_mask_storeu_ps(c + r * ldc + p * kPanelWidth, masks[p], tile.acc[r][p]);
        }
    }
}

// GELU, residual and store, out of line: inlined, GELU's temporaries would
// crowd the registers of the K loop before it.
template <int Rows, int Panels>
__attribute__((noinline)) void GeluAndStoreTile(Tile<Rows, Panels>& tile, float* c, int64_t ldc, const float* residual,
                                                int64_t ldr, int columns_left) {
    GeluArray<Rows * Panels>(&tile.acc[0][0]);
    StoreTile(tile, c, ldc, residual, ldr, columns_left);
}

// The epilogue after the K loop: activation, + residual (row stride ldr, when
// given), store at c (row stride ldc).
template <Activation activation, int Rows, int Panels>
FASTERNET_AVX512_INLINE void FinishTile(Tile<Rows, Panels>& tile, float* c, int64_t ldc, const float* residual,
                                        int64_t ldr, int columns_left) {
    if constexpr (activation == Activation::Gelu) {
        // A copy goes out of line, so `tile` itself never escapes and its
        // accumulators can stay in registers through the K loop.
        Tile<Rows, Panels> outgoing = tile;
        GeluAndStoreTile(outgoing, c, ldc, residual, ldr, columns_left);
    } else {
        if constexpr (activation == Activation::Relu) {
            const __m512 zero = _mm512_setzero_ps();
#pragma GCC unroll 16
            for (int r = 0; r < Rows; ++r) {
#pragma GCC unroll 4
                for (int p = 0; p < Panels; ++p) tile.acc[r][p] = MaxPs(tile.acc[r][p], zero);
            }
        }
        StoreTile(tile, c, ldc, residual, ldr, columns_left);
    }
}

// The same with the activation chosen at run time (the convs, where it is rare).
template <int Rows, int Panels>
FASTERNET_AVX512_INLINE void FinishTile(Tile<Rows, Panels>& tile, Activation activation, float* c, int64_t ldc,
                                        const float* residual, int64_t ldr, int columns_left) {
    switch (activation) {
        case Activation::Gelu:
            return FinishTile<Activation::Gelu>(tile, c, ldc, residual, ldr, columns_left);
        case Activation::Relu:
            return FinishTile<Activation::Relu>(tile, c, ldc, residual, ldr, columns_left);
        default:
            return FinishTile<Activation::None>(tile, c, ldc, residual, ldr, columns_left);
    }
}

}  // namespace fasternet::avx512
