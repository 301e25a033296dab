// The register tile shared by the GEMM and conv drivers, written once over an
// ISA's traits (x86_avx512/isa.h, x86_avx2/isa.h, arm_neon/isa.h).
//
// A tile is Rows x Panels packed 16-column weight panels; each panel is
// Isa::kVectorsPerPanel vector accumulators per row (1 zmm, 2 ymm, 4 q), so a
// tile holds Rows x kVectors accumulators, vector j covering columns
// [j * kLanes, (j + 1) * kLanes) of the tile. Each step of the K loop loads
// one 16-float row from each panel and broadcasts one A value per output row
// into kVectors FMAs. Accumulators start at the bias (or at C for a later K
// chunk); the epilogue applies the activation, adds the residual and stores
// under a lane mask, so columns past N are never written. Which tile shapes
// exist (TileFits) and how panels are grouped is the traits' register budget.
//
// The ISA traits an instantiation needs (one struct per kernel set):
//   Vector, Mask, kLanes, kVectorsPerPanel; Zero, Set1, Broadcast(const float*),
//   Load, LoadMasked, Store, StoreMasked, MaskFor(columns left), Fma(a, b, acc),
//   Add, Mul, Div, Relu, Prefetch, Gelu<N>(Vector*); the register tile policy
//   kTileRows, kMaxTilePanels, kMaxConvPanels, TileFits, TileRowsFor,
//   PanelGroupWidth, kRowQuantum, kMinBlockRows (AVX2 and NEON inherit them from
//   drivers/register_tile.h); LoadForReuse (depthwise).
// Everything here is a template over the traits, so each ISA's translation
// unit instantiates its own copy under its own target flags and nothing
// compiled with wider instructions is shared with another set.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>

#include "kernels/kernels.h"

#define FASTERNET_KERNEL_INLINE inline __attribute__((always_inline))

namespace fasternet::drivers {

// Function table indexed [rows][panels] over Entry<Rows, Panels>::Run, for
// every shape Isa::TileFits allows (other entries stay null).
template <class Isa, typename Function, template <int, int> class Entry, int MaxPanels>
struct TileTable {
    Function functions[Isa::kTileRows + 1][MaxPanels + 1] = {};

    constexpr TileTable() { FillRows(std::make_integer_sequence<int, Isa::kTileRows>{}); }

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
        if constexpr (Isa::TileFits(Rows, Panels)) functions[Rows][Panels] = &Entry<Rows, Panels>::Run;
    }
};

template <class Isa, int Rows, int Panels>
struct Tile {
    static constexpr int kVectors = Panels * Isa::kVectorsPerPanel;
    typename Isa::Vector acc[Rows][kVectors];
};

// Pulls the weights a GEMM needs next into cache while the current tile runs,
// so that streaming them from memory overlaps the FMAs instead of stalling the
// first tile that needs them. It covers `ranges` runs of cache lines (one per
// panel of the next group, range_stride bytes apart): one line of each per K
// step, for `steps` steps. Idle when steps is 0.
template <class Isa>
struct Prefetcher {
    static constexpr int kLineBytes = 64;

    const char* next = nullptr;
    int64_t range_stride = 0;
    int ranges = 0;
    int64_t steps = 0;  // still to run

    // Runs step(kk) for kk < `length`, prefetching during as many of them as are left.
    template <typename Step>
    FASTERNET_KERNEL_INLINE int Run(int length, Step&& step) {
        const int covered = static_cast<int>(std::min<int64_t>(length, steps));
        for (int kk = 0; kk < covered; ++kk, next += kLineBytes) {
            for (int r = 0; r < ranges; ++r) Isa::Prefetch(next + r * range_stride);
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

// Lane masks of a tile's vectors: vector j has columns_left - j * kLanes real columns.
template <class Isa, int Vectors>
struct TileMasks {
    typename Isa::Mask mask[Vectors];
    FASTERNET_KERNEL_INLINE explicit TileMasks(int columns_left) {
#pragma GCC unroll 32
        for (int j = 0; j < Vectors; ++j) mask[j] = Isa::MaskFor(columns_left - j * Isa::kLanes);
    }
};

// Accumulators start at the bias (or zero) of the tile's columns.
template <class Isa, int Rows, int Panels>
FASTERNET_KERNEL_INLINE void StartTile(Tile<Isa, Rows, Panels>& tile, const float* bias, int columns_left) {
    constexpr int kVectors = Tile<Isa, Rows, Panels>::kVectors;
    typename Isa::Vector start[kVectors];
    if (bias) {
        const TileMasks<Isa, kVectors> masks(columns_left);
#pragma GCC unroll 32
        for (int j = 0; j < kVectors; ++j) start[j] = Isa::LoadMasked(bias + j * Isa::kLanes, masks.mask[j]);
    } else {
#pragma GCC unroll 32
        for (int j = 0; j < kVectors; ++j) start[j] = Isa::Zero();
    }
#pragma GCC unroll 16
    for (int r = 0; r < Rows; ++r) {
#pragma GCC unroll 32
        for (int j = 0; j < kVectors; ++j) tile.acc[r][j] = start[j];
    }
}

// Accumulators start at what an earlier K chunk stored at c (row stride ldc).
template <class Isa, int Rows, int Panels>
FASTERNET_KERNEL_INLINE void LoadTile(Tile<Isa, Rows, Panels>& tile, const float* c, int64_t ldc, int columns_left) {
    constexpr int kVectors = Tile<Isa, Rows, Panels>::kVectors;
    const TileMasks<Isa, kVectors> masks(columns_left);
#pragma GCC unroll 16
    for (int r = 0; r < Rows; ++r) {
#pragma GCC unroll 32
        for (int j = 0; j < kVectors; ++j) tile.acc[r][j] = Isa::LoadMasked(c + r * ldc + j * Isa::kLanes, masks.mask[j]);
    }
}

// One K step: acc[r][p] += rows[r][a_index] * b_row[p * panel_stride .. + 16].
template <class Isa, int Rows, int Panels>
FASTERNET_KERNEL_INLINE void AccumulateStep(Tile<Isa, Rows, Panels>& tile, const float* const* rows, int64_t a_index,
                                            const float* b_row, int64_t panel_stride) {
    constexpr int kVectors = Tile<Isa, Rows, Panels>::kVectors;
    constexpr int kPerPanel = Isa::kVectorsPerPanel;
    typename Isa::Vector b[kVectors];
#pragma GCC unroll 32
    for (int j = 0; j < kVectors; ++j) b[j] = Isa::Load(b_row + (j / kPerPanel) * panel_stride + (j % kPerPanel) * Isa::kLanes);
#pragma GCC unroll 16
    for (int r = 0; r < Rows; ++r) {
        const typename Isa::Vector a_value = Isa::Broadcast(rows[r] + a_index);
#pragma GCC unroll 32
        for (int j = 0; j < kVectors; ++j) tile.acc[r][j] = Isa::Fma(a_value, b[j], tile.acc[r][j]);
    }
}

// acc[r][p] += sum over kk < length of a[r * row_step + kk] * panel_p[kk][:],
// panel_p = b + p * panel_stride. Rows are independent streams of A (GEMM rows
// or conv pixels at a uniform stride). Tiles with fewer than 8 accumulators
// alternate K steps over extra partial sums, so that at least 8 FMA chains
// are in flight to cover the FMA latency.
template <class Isa, int Rows, int Panels>
FASTERNET_KERNEL_INLINE void AccumulateRows(Tile<Isa, Rows, Panels>& tile, const float* a, int64_t row_step,
                                            int length, const float* b, int64_t panel_stride,
                                            Prefetcher<Isa>* prefetcher = nullptr) {
    constexpr int kChains = Rows * Tile<Isa, Rows, Panels>::kVectors;
    constexpr int kInterleave = kChains >= 8 ? 1 : kChains >= 4 ? 2 : 4;
    const float* rows[Rows];
#pragma GCC unroll 16
    for (int r = 0; r < Rows; ++r) rows[r] = a + r * row_step;
    int kk = 0;
    if constexpr (kInterleave > 1) {
        Tile<Isa, Rows, Panels> partial[kInterleave - 1];
        for (auto& sum : partial) StartTile(sum, nullptr, 0);
        for (; kk + kInterleave <= length; kk += kInterleave) {
            AccumulateStep(tile, rows, kk, b + kk * kPanelWidth, panel_stride);
#pragma GCC unroll 4
            for (int i = 1; i < kInterleave; ++i)
                AccumulateStep(partial[i - 1], rows, kk + i, b + (kk + i) * kPanelWidth, panel_stride);
        }
#pragma GCC unroll 4
        for (int i = 0; i < kInterleave - 1; ++i) {
            for (int r = 0; r < Rows; ++r) {
                for (int j = 0; j < Tile<Isa, Rows, Panels>::kVectors; ++j)
                    tile.acc[r][j] = Isa::Add(tile.acc[r][j], partial[i].acc[r][j]);
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
template <int Taps, class Isa, int Rows, int Panels>
FASTERNET_KERNEL_INLINE void AccumulateTapsOfRows(Tile<Isa, Rows, Panels>& tile, const float* const* rows,
                                                  int64_t tap_step, int length, const float* b, int64_t panel_stride,
                                                  Prefetcher<Isa>* prefetcher = nullptr) {
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
template <int Taps, class Isa, int Rows, int Panels>
FASTERNET_KERNEL_INLINE void AccumulateTaps(Tile<Isa, Rows, Panels>& tile, const float* a, int64_t row_step,
                                            int64_t tap_step, int length, const float* b, int64_t panel_stride) {
    const float* rows[Rows];
#pragma GCC unroll 16
    for (int r = 0; r < Rows; ++r) rows[r] = a + r * row_step;
    AccumulateTapsOfRows<Taps>(tile, rows, tap_step, length, b, panel_stride);
}

// Stores the tile at c (row stride ldc), adding residual (row stride ldr) when given.
template <class Isa, int Rows, int Panels>
FASTERNET_KERNEL_INLINE void StoreTile(const Tile<Isa, Rows, Panels>& tile, float* c, int64_t ldc,
                                       const float* residual, int64_t ldr, int columns_left) {
    constexpr int kVectors = Tile<Isa, Rows, Panels>::kVectors;
    const TileMasks<Isa, kVectors> masks(columns_left);
    if (residual) {
#pragma GCC unroll 16
        for (int r = 0; r < Rows; ++r) {
#pragma GCC unroll 32
            for (int j = 0; j < kVectors; ++j) {
                const auto add = Isa::LoadMasked(residual + r * ldr + j * Isa::kLanes, masks.mask[j]);
                Isa::StoreMasked(c + r * ldc + j * Isa::kLanes, masks.mask[j], Isa::Add(tile.acc[r][j], add));
            }
        }
    } else {
#pragma GCC unroll 16
        for (int r = 0; r < Rows; ++r) {
#pragma GCC unroll 32
            for (int j = 0; j < kVectors; ++j) Isa::StoreMasked(c + r * ldc + j * Isa::kLanes, masks.mask[j], tile.acc[r][j]);
        }
    }
}

// GELU, residual and store, out of line: inlined, GELU's temporaries would
// crowd the registers of the K loop before it.
template <class Isa, int Rows, int Panels>
__attribute__((noinline)) void GeluAndStoreTile(Tile<Isa, Rows, Panels>& tile, float* c, int64_t ldc,
                                                const float* residual, int64_t ldr, int columns_left) {
    Isa::template Gelu<Rows * Tile<Isa, Rows, Panels>::kVectors>(&tile.acc[0][0]);
    StoreTile(tile, c, ldc, residual, ldr, columns_left);
}

// The epilogue after the K loop: activation, + residual (row stride ldr, when
// given), store at c (row stride ldc).
template <Activation activation, class Isa, int Rows, int Panels>
FASTERNET_KERNEL_INLINE void FinishTile(Tile<Isa, Rows, Panels>& tile, float* c, int64_t ldc, const float* residual,
                                        int64_t ldr, int columns_left) {
    if constexpr (activation == Activation::Gelu) {
        // A copy goes out of line, so `tile` itself never escapes and its
        // accumulators can stay in registers through the K loop.
        Tile<Isa, Rows, Panels> outgoing = tile;
        GeluAndStoreTile(outgoing, c, ldc, residual, ldr, columns_left);
    } else {
        if constexpr (activation == Activation::Relu) {
#pragma GCC unroll 16
            for (int r = 0; r < Rows; ++r) {
#pragma GCC unroll 32
                for (int j = 0; j < Tile<Isa, Rows, Panels>::kVectors; ++j) tile.acc[r][j] = Isa::Relu(tile.acc[r][j]);
            }
        }
        StoreTile(tile, c, ldc, residual, ldr, columns_left);
    }
}

// The same with the activation chosen at run time (the convs, where it is rare).
template <class Isa, int Rows, int Panels>
FASTERNET_KERNEL_INLINE void FinishTile(Tile<Isa, Rows, Panels>& tile, Activation activation, float* c, int64_t ldc,
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

}  // namespace fasternet::drivers
