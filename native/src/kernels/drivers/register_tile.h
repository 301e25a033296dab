// A register tile policy shared by kernel sets whose tile budget is a plain product:
// rows x panels <= AccumulatorPanels. The main tile is TileRows rows x 1 panel; with
// fewer rows (the head, batch 1) the driver takes more panels at once, so enough FMA
// chains stay in flight. The AVX2 (16 ymm) and NEON (32 q) sets both use 6 x 1; a set
// inherits it and adds what differs (its vector traits and kRegisterTiles' text).
// Plain constants and arithmetic: safe to include from any translation unit.
#pragma once

#include <algorithm>
#include <cstdint>

namespace fasternet::drivers {

template <int TileRows, int AccumulatorPanels>
struct ProductTileBudget {
    static_assert(TileRows >= 1 && AccumulatorPanels >= TileRows, "the main tile must fit the budget");

    static constexpr int kTileRows = TileRows;
    static constexpr int kMaxAccumulatorPanels = AccumulatorPanels;  // rows x panels, at most
    static constexpr int kMaxTilePanels = kMaxAccumulatorPanels;
    static constexpr int kMaxConvPanels = 1;
    static constexpr int kMainTilePanels = 1;
    static constexpr int kRowQuantum = kTileRows;
    // At least 8 tiles per block, so large K does not re-stream B every few rows.
    static constexpr int kMinBlockRows = 8 * kTileRows;

    static constexpr bool TileFits(int rows, int panels) { return rows * panels <= kMaxAccumulatorPanels; }
    static constexpr int TileRowsFor(int panels) { return kMaxAccumulatorPanels / panels; }
    static int PanelGroupWidth(int panel, int panels, int64_t rows) {
        const int width = rows >= kTileRows ? 1 : kMaxAccumulatorPanels / static_cast<int>(std::max<int64_t>(rows, 1));
        return std::min(width, panels - panel);
    }
};

}  // namespace fasternet::drivers
