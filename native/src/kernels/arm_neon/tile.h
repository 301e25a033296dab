// The NEON register tile shared by the GEMM and the conv kernels.
//
// A tile is Rows output rows (GEMM rows or conv output pixels) x Vectors
// q-registers of one packed 16-column panel (a panel row is 4 q-registers;
// a tile starts at any of them). The K loop reads four K steps of every A
// row with one 128-bit load and multiplies each B row by one lane of it
// (fmla by element), so A costs a quarter load per FMA column. The main
// shape is 8 rows x 2 vectors (half a panel): 16 accumulators + 8 A vectors
// + B rows fit the 32 AArch64 vector registers; at most 16 accumulators in
// every shape (Rows * Vectors <= 16), so fewer rows span more of the panel.
// Epilogue: accumulators start at the bias, then activation (ReLU or exact
// GELU), then + residual, and a store that leaves columns past the valid
// count untouched (partial only on the tile's last vector).
#pragma once

#include <arm_neon.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

#include "kernels/arm_neon/gelu.h"
#include "kernels/kernels.h"

#define FASTERNET_NEON_INLINE inline __attribute__((always_inline))

namespace fasternet::neon {

constexpr int kLanes = 4;
constexpr int kVectorsPerPanel = kPanelWidth / kLanes;
constexpr int kTileRows = 8;
constexpr int kMaxAccumulators = 16;

constexpr bool TileFits(int rows, int vectors) {
    return rows >= 1 && rows <= kTileRows && vectors >= 1 && vectors <= kVectorsPerPanel &&
           rows * vectors <= kMaxAccumulators;
}

// The widest tile (in vectors) for `rows` rows.
constexpr int VectorsPerTile(int rows) { return std::min(kVectorsPerPanel, kMaxAccumulators / rows); }

// The first `count` (1..4) floats at source, zeros in the other lanes; never reads past them.
FASTERNET_NEON_INLINE float32x4_t LoadPartial(const float* source, int count) {
    float lanes[kLanes] = {0.0f, 0.0f, 0.0f, 0.0f};
    std::memcpy(lanes, source, sizeof(float) * static_cast<size_t>(count));
    return vld1q_f32(lanes);
}

FASTERNET_NEON_INLINE void StorePartial(float* destination, float32x4_t value, int count) {
    float lanes[kLanes];
    vst1q_f32(lanes, value);
    std::memcpy(destination, lanes, sizeof(float) * static_cast<size_t>(count));
}

FASTERNET_NEON_INLINE float32x4_t LoadColumns(const float* source, int count) {
    return count >= kLanes ? vld1q_f32(source) : LoadPartial(source, count);
}

FASTERNET_NEON_INLINE void StoreColumns(float* destination, float32x4_t value, int count) {
    if (count >= kLanes) {
        vst1q_f32(destination, value);
    } else {
        StorePartial(destination, value, count);
    }
}

FASTERNET_NEON_INLINE float32x4_t Relu(float32x4_t x) {
    // maxnm, not max: ReLU(NaN) is 0 like the scalar definition (x > 0 ? x : 0).
    return vmaxnmq_f32(x, vdupq_n_f32(0.0f));
}

// Function table indexed [rows][vectors] over Entry<Rows, Vectors>::Run for
// every shape TileFits allows (other entries stay null).
template <typename Function, template <int, int> class Entry>
struct TileTable {
    Function functions[kTileRows + 1][kVectorsPerPanel + 1] = {};

    constexpr TileTable() { FillRows(std::make_integer_sequence<int, kTileRows>{}); }

private:
    template <int... RowsMinusOne>
    constexpr void FillRows(std::integer_sequence<int, RowsMinusOne...>) {
        (FillVectors<RowsMinusOne + 1>(std::make_integer_sequence<int, kVectorsPerPanel>{}), ...);
    }
    template <int Rows, int... VectorsMinusOne>
    constexpr void FillVectors(std::integer_sequence<int, VectorsMinusOne...>) {
        (Set<Rows, VectorsMinusOne + 1>(), ...);
    }
    template <int Rows, int Vectors>
    constexpr void Set() {
        if constexpr (TileFits(Rows, Vectors)) functions[Rows][Vectors] = &Entry<Rows, Vectors>::Run;
    }
};

// Columns a tile covers: `valid` (1 .. 4 * Vectors) real columns; only the last vector may be partial.
template <int Vectors>
struct TileColumns {
    int valid;
    FASTERNET_NEON_INLINE int Count(int v) const { return std::min(kLanes, valid - v * kLanes); }
};

template <int Rows, int Vectors>
struct Tile {
    float32x4_t acc[Rows][Vectors];
};

// Accumulators start at the bias (or zero) of the tile's columns.
template <int Rows, int Vectors>
FASTERNET_NEON_INLINE void StartTile(Tile<Rows, Vectors>& tile, const float* bias, TileColumns<Vectors> columns) {
    float32x4_t start[Vectors];
#pragma GCC unroll 4
    for (int v = 0; v < Vectors; ++v) {
        start[v] = bias ? LoadColumns(bias + v * kLanes, columns.Count(v)) : vdupq_n_f32(0.0f);
    }
#pragma GCC unroll 8
    for (int r = 0; r < Rows; ++r) {
#pragma GCC unroll 4
        for (int v = 0; v < Vectors; ++v) tile.acc[r][v] = start[v];
    }
}

// One K step per lane of the A vectors: acc[r][v] += a[r][Lane] * b_row[v].
template <int Lane, int Rows, int Vectors>
FASTERNET_NEON_INLINE void AccumulateLane(Tile<Rows, Vectors>& tile, const float32x4_t (&a)[Rows], const float* b) {
    float32x4_t b_row[Vectors];
#pragma GCC unroll 4
    for (int v = 0; v < Vectors; ++v) b_row[v] = vld1q_f32(b + Lane * kPanelWidth + v * kLanes);
#pragma GCC unroll 8
    for (int r = 0; r < Rows; ++r) {
#pragma GCC unroll 4
        for (int v = 0; v < Vectors; ++v) tile.acc[r][v] = vfmaq_laneq_f32(tile.acc[r][v], b_row[v], a[r], Lane);
    }
}

// acc[r][:] += sum over kk < length of a[r * row_step + kk] * b[kk][0 .. 4 * Vectors),
// b pointing at the tile's first column in a panel (rows kPanelWidth floats apart).
template <int Rows, int Vectors>
FASTERNET_NEON_INLINE void AccumulateRows(Tile<Rows, Vectors>& result, const float* a, int64_t row_step, int length,
                                          const float* b) {
    // A local copy the compiler keeps in registers through the loop (the caller's may live in memory).
    Tile<Rows, Vectors> tile = result;
    const float* rows[Rows];
#pragma GCC unroll 8
    for (int r = 0; r < Rows; ++r) rows[r] = a + r * row_step;
    int kk = 0;
    for (; kk + kLanes <= length; kk += kLanes) {
        float32x4_t a_values[Rows];
#pragma GCC unroll 8
        for (int r = 0; r < Rows; ++r) a_values[r] = vld1q_f32(rows[r] + kk);
        const float* b_rows = b + static_cast<int64_t>(kk) * kPanelWidth;
        AccumulateLane<0>(tile, a_values, b_rows);
        AccumulateLane<1>(tile, a_values, b_rows);
        AccumulateLane<2>(tile, a_values, b_rows);
        AccumulateLane<3>(tile, a_values, b_rows);
    }
    // K tail one step at a time: A rows are never read past `length`.
    for (; kk < length; ++kk) {
        float32x4_t b_row[Vectors];
#pragma GCC unroll 4
        for (int v = 0; v < Vectors; ++v) b_row[v] = vld1q_f32(b + static_cast<int64_t>(kk) * kPanelWidth + v * kLanes);
#pragma GCC unroll 8
        for (int r = 0; r < Rows; ++r) {
            const float a_value = rows[r][kk];
#pragma GCC unroll 4
            for (int v = 0; v < Vectors; ++v) tile.acc[r][v] = vfmaq_n_f32(tile.acc[r][v], b_row[v], a_value);
        }
    }
    result = tile;
}

template <int Rows, int Vectors>
FASTERNET_NEON_INLINE void ApplyTileActivation(Tile<Rows, Vectors>& tile, Activation activation) {
    if (activation == Activation::Relu) {
#pragma GCC unroll 8
        for (int r = 0; r < Rows; ++r) {
#pragma GCC unroll 4
            for (int v = 0; v < Vectors; ++v) tile.acc[r][v] = Relu(tile.acc[r][v]);
        }
    } else if (activation == Activation::Gelu) {
        for (int r = 0; r < Rows; ++r) {
            for (int v = 0; v < Vectors; ++v) tile.acc[r][v] = Gelu(tile.acc[r][v]);
        }
    }
}

// Stores the tile at c (row stride ldc), adding residual (row stride ldr) when given.
template <int Rows, int Vectors>
FASTERNET_NEON_INLINE void StoreTile(const Tile<Rows, Vectors>& tile, float* c, int64_t ldc, const float* residual,
                                     int64_t ldr, TileColumns<Vectors> columns) {
#pragma GCC unroll 8
    for (int r = 0; r < Rows; ++r) {
#pragma GCC unroll 4
        for (int v = 0; v < Vectors; ++v) {
            const int count = columns.Count(v);
            float32x4_t value = tile.acc[r][v];
            if (residual) value = vaddq_f32(value, LoadColumns(residual + r * ldr + v * kLanes, count));
            StoreColumns(c + r * ldc + v * kLanes, value, count);
        }
    }
}

}  // namespace fasternet::neon
