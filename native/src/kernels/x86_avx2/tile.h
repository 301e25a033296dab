// The AVX2 register tile shared by the GEMM and the conv kernels.
//
// A tile is Rows x Panels packed 16-column weight panels, each panel two ymm
// accumulators per row. Each step of the K loop loads one 16-float row from
// each panel (two ymm) and broadcasts one A value per output row into
// 2 * Panels FMAs. 6 rows x 1 panel = 12 accumulators + 2 B halves + 1
// broadcast fills the 16 ymm registers. The epilogue mirrors the AVX-512 one:
// accumulators start at the bias, then activation, + residual, and a store
// that leaves columns past N untouched (masked only on the last panel).
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "kernels/kernels.h"
#include "kernels/x86_avx2/gelu.h"

#define FASTERNET_AVX2_INLINE inline __attribute__((always_inline))

namespace fasternet::avx2 {

constexpr int kTileRows = 6;
constexpr int kHalfPanel = 8;
constexpr int kMaxAccumulatorPanels = 6;  // rows x panels <= 6: at most 12 ymm accumulators

constexpr bool TileFits(int rows, int panels) { return rows * panels <= kMaxAccumulatorPanels; }

// Rows of a full tile `panels` wide.
constexpr int TileRowsFor(int panels) { return kMaxAccumulatorPanels / panels; }

// Width of the panel group starting at `panel`: one panel for 6-row tiles;
// with fewer rows, more panels at once so enough FMA chains stay in flight.
inline int PanelGroupWidth(int panel, int panels, int64_t rows) {
    const int width = rows >= kTileRows ? 1 : kMaxAccumulatorPanels / static_cast<int>(std::max<int64_t>(rows, 1));
    return std::min(width, panels - panel);
}

// Lane mask selecting the first `count` (clamped to 0..8) of eight floats.
inline __m256i LaneMask(int count) {
    static const int32_t kMaskWindow[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    count = std::clamp(count, 0, kHalfPanel);
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kMaskWindow + kHalfPanel - count));
}

// Function table indexed [rows][panels] over Entry<Rows, Panels>::Run, for
// every shape TileFits allows (other entries stay null).
template <typename Function, template <int, int> class Entry, int MaxPanels = kMaxAccumulatorPanels>
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
    __m256 acc[Rows][Panels][2];
};

// Which lanes of each panel half hold real columns.
template <int Panels>
struct ColumnMasks {
    bool full[Panels];
    __m256i half[Panels][2];
    explicit ColumnMasks(int columns_left) {
        for (int p = 0; p < Panels; ++p) {
            const int left = columns_left - p * kPanelWidth;
            full[p] = left >= kPanelWidth;
            half[p][0] = LaneMask(left);
            half[p][1] = LaneMask(left - kHalfPanel);
        }
    }
};

template <int Panels>
FASTERNET_AVX2_INLINE __m256 LoadHalf(const float* source, const ColumnMasks<Panels>& masks, int p, int h) {
    return masks.full[p] ? _mm256_loadu_ps(source) : _mm256_maskload_ps(source, masks.half[p][h]);
}

template <int Panels>
FASTERNET_AVX2_INLINE void StoreHalf(float* destination, __m256 value, const ColumnMasks<Panels>& masks, int p, int h) {
    if (masks.full[p]) {
        _mm256_storeu_ps(destination, value);
    } else {
        _mm256_maskstore_ps(destination, masks.half[p][h], value);
    }
}

// Accumulators start at the bias (or zero) of the tile's columns.
template <int Rows, int Panels>
FASTERNET_AVX2_INLINE void StartTile(Tile<Rows, Panels>& tile, const float* bias, const ColumnMasks<Panels>& masks) {
    __m256 start[Panels][2];
    for (int p = 0; p < Panels; ++p) {
        for (int h = 0; h < 2; ++h) {
            start[p][h] = bias ? LoadHalf(bias + p * kPanelWidth + h * kHalfPanel, masks, p, h) : _mm256_setzero_ps();
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < Rows; ++r) {
#pragma GCC unroll 8
        for (int p = 0; p < Panels; ++p) {
            tile.acc[r][p][0] = start[p][0];
            tile.acc[r][p][1] = start[p][1];
        }
    }
}

// One K step: acc[r][p] += rows[r][a_index] * b_row[p * panel_stride .. + 16].
template <int Rows, int Panels>
FASTERNET_AVX2_INLINE void AccumulateStep(Tile<Rows, Panels>& tile, const float* const* rows, int64_t a_index,
                                          const float* b_row, int64_t panel_stride) {
    __m256 b[Panels][2];
#pragma GCC unroll 8
    for (int p = 0; p < Panels; ++p) {
        b[p][0] = _mm256_loadu_ps(b_row + p * panel_stride);
        b[p][1] = _mm256_loadu_ps(b_row + p * panel_stride + kHalfPanel);
    }
#pragma GCC unroll 8
    for (int r = 0; r < Rows; ++r) {
        const __m256 a_value = _mm256_broadcast_ss(rows[r] + a_index);
#pragma GCC unroll 8
        for (int p = 0; p < Panels; ++p) {
            tile.acc[r][p][0] = _mm256_fmadd_ps(a_value, b[p][0], tile.acc[r][p][0]);
            tile.acc[r][p][1] = _mm256_fmadd_ps(a_value, b[p][1], tile.acc[r][p][1]);
        }
    }
}

// acc[r][p] += sum over kk < length of a[r * row_step + kk] * panel_p[kk][:],
// panel_p = b + p * panel_stride. Tiles with fewer than 8 accumulators
// alternate K steps over a second partial sum, so that at least 8 FMA chains
// are in flight to cover the FMA latency.
template <int Rows, int Panels>
FASTERNET_AVX2_INLINE void AccumulateRows(Tile<Rows, Panels>& tile, const float* a, int64_t row_step, int length,
                                          const float* b, int64_t panel_stride) {
    constexpr bool kInterleave = Rows * Panels * 2 < 8;
    const float* rows[Rows];
#pragma GCC unroll 8
    for (int r = 0; r < Rows; ++r) rows[r] = a + r * row_step;
    int kk = 0;
    if constexpr (kInterleave) {
        Tile<Rows, Panels> partial = {};
        for (; kk + 2 <= length; kk += 2) {
            AccumulateStep(tile, rows, kk, b + kk * kPanelWidth, panel_stride);
            AccumulateStep(partial, rows, kk + 1, b + (kk + 1) * kPanelWidth, panel_stride);
        }
        for (int r = 0; r < Rows; ++r) {
            for (int p = 0; p < Panels; ++p) {
                tile.acc[r][p][0] = _mm256_add_ps(tile.acc[r][p][0], partial.acc[r][p][0]);
                tile.acc[r][p][1] = _mm256_add_ps(tile.acc[r][p][1], partial.acc[r][p][1]);
            }
        }
    }
    for (; kk < length; ++kk) AccumulateStep(tile, rows, kk, b + kk * kPanelWidth, panel_stride);
}

// Taps side by side in one K loop: tap t reads A at a + t * tap_step (and
// rows at row_step) and B at b + t * length rows. For convs whose taps are not
// contiguous (PConv reads cp of dim channels): with few channels, one loop per
// tap would spend more time entering and leaving loops than multiplying.
template <int Taps, int Rows, int Panels>
FASTERNET_AVX2_INLINE void AccumulateTaps(Tile<Rows, Panels>& tile, const float* a, int64_t row_step, int64_t tap_step,
                                          int length, const float* b, int64_t panel_stride) {
    const float* rows[Rows];
#pragma GCC unroll 8
    for (int r = 0; r < Rows; ++r) rows[r] = a + r * row_step;
    const int64_t b_tap_step = static_cast<int64_t>(length) * kPanelWidth;
    for (int kk = 0; kk < length; ++kk) {
#pragma GCC unroll 4
        for (int t = 0; t < Taps; ++t) {
            AccumulateStep(tile, rows, t * tap_step + kk, b + t * b_tap_step + kk * kPanelWidth, panel_stride);
        }
    }
}

// Stores the tile at c (row stride ldc), adding residual (row stride ldr) when given.
template <int Rows, int Panels>
FASTERNET_AVX2_INLINE void StoreTile(const Tile<Rows, Panels>& tile, float* c, int64_t ldc, const float* residual,
                                     int64_t ldr, const ColumnMasks<Panels>& masks) {
#pragma GCC unroll 8
    for (int r = 0; r < Rows; ++r) {
#pragma GCC unroll 8
        for (int p = 0; p < Panels; ++p) {
            for (int h = 0; h < 2; ++h) {
                const int offset = p * kPanelWidth + h * kHalfPanel;
                __m256 value = tile.acc[r][p][h];
                if (residual) value = _mm256_add_ps(value, LoadHalf(residual + r * ldr + offset, masks, p, h));
                StoreHalf(c + r * ldc + offset, value, masks, p, h);
            }
        }
    }
}

// GELU, residual and store, out of line: inlined, GELU's temporaries would
// crowd the registers of the K loop before it.
template <int Rows, int Panels>
__attribute__((noinline)) void GeluAndStoreTile(Tile<Rows, Panels>& tile, float* c, int64_t ldc, const float* residual,
                                                int64_t ldr, const ColumnMasks<Panels>& masks) {
    GeluArray<Rows * Panels * 2>(&tile.acc[0][0][0]);
    StoreTile(tile, c, ldc, residual, ldr, masks);
}

// The epilogue after the K loop: activation, + residual (row stride ldr, when
// given), store at c (row stride ldc).
template <Activation activation, int Rows, int Panels>
FASTERNET_AVX2_INLINE void FinishTile(Tile<Rows, Panels>& tile, float* c, int64_t ldc, const float* residual,
                                      int64_t ldr, const ColumnMasks<Panels>& masks) {
    if constexpr (activation == Activation::Gelu) {
        // A copy goes out of line, so `tile` itself never escapes and its
        // accumulators can stay in registers through the K loop.
        Tile<Rows, Panels> outgoing = tile;
        GeluAndStoreTile(outgoing, c, ldc, residual, ldr, masks);
    } else {
        if constexpr (activation == Activation::Relu) {
            const __m256 zero = _mm256_setzero_ps();
#pragma GCC unroll 8
            for (int r = 0; r < Rows; ++r) {
#pragma GCC unroll 8
                for (int p = 0; p < Panels; ++p) {
                    tile.acc[r][p][0] = _mm256_max_ps(tile.acc[r][p][0], zero);
                    tile.acc[r][p][1] = _mm256_max_ps(tile.acc[r][p][1], zero);
                }
            }
        }
        StoreTile(tile, c, ldc, residual, ldr, masks);
    }
}

// The same with the activation chosen at run time (the convs, where it is rare).
template <int Rows, int Panels>
FASTERNET_AVX2_INLINE void FinishTile(Tile<Rows, Panels>& tile, Activation activation, float* c, int64_t ldc,
                                      const float* residual, int64_t ldr, const ColumnMasks<Panels>& masks) {
    switch (activation) {
        case Activation::Gelu:
            return FinishTile<Activation::Gelu>(tile, c, ldc, residual, ldr, masks);
        case Activation::Relu:
            return FinishTile<Activation::Relu>(tile, c, ldc, residual, ldr, masks);
        default:
            return FinishTile<Activation::None>(tile, c, ldc, residual, ldr, masks);
    }
}

}  // namespace fasternet::avx2
