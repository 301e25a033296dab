// AVX-512 traits for the drivers (drivers/tile.h): 16-lane zmm vectors, mask
// registers for tails, and the register tile budget of 32 zmm.
//
// Tile shapes (accumulators + B rows + 1 broadcast <= 32 zmm):
//   2 panels x 14 rows (28 + 2 + 1), the main one;
//   3 panels x 9 rows (27 + 3 + 1), for an odd panel count, instead of a
//     lone 1-panel pass (which, with half the work per row pointer, loop
//     and epilogue, measured ~70% of peak against ~90%);
//   1 panel x 14 rows, only when N fits one panel;
//   4 panels x 1-3 rows, when there are no more rows (the head, batch 1).
// Include only from translation units compiled with the AVX-512 flags.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/kernels.h"
#include "kernels/x86_avx512/gelu.h"

namespace fasternet::avx512 {

struct Isa {
    using Vector = __m512;
    using Mask = __mmask16;
    static constexpr int kLanes = 16;
    static constexpr int kVectorsPerPanel = kPanelWidth / kLanes;

    static Mask MaskFor(int count) {
        return count >= kLanes ? static_cast<Mask>(0xFFFF) : static_cast<Mask>((1u << (count > 0 ? count : 0)) - 1u);
    }
    static Vector Zero() { return _mm512_setzero_ps(); }
    static Vector Set1(float x) { return _mm512_set1_ps(x); }
    static Vector Broadcast(const float* p) { return _mm512_set1_ps(*p); }
    static Vector Load(const float* p) { return _mm512_loadu_ps(p); }
    static Vector LoadMasked(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
    // Masked even when whole: GCC does not fold it into an FMA, so a reused input is loaded once.
    static Vector LoadForReuse(const float* p) { return _mm512_maskz_loadu_ps(static_cast<Mask>(0xFFFF), p); }
    static void Store(float* p, Vector v) { _mm512_storeu_ps(p, v); }
    static void StoreMasked(float* p, Mask m, Vector v) { _mm512_mask_storeu_ps(p, m, v); }
    static Vector Fma(Vector a, Vector b, Vector acc) { return _mm512_fmadd_ps(a, b, acc); }
    static Vector Add(Vector a, Vector b) { return _mm512_add_ps(a, b); }
    static Vector Mul(Vector a, Vector b) { return _mm512_mul_ps(a, b); }
    static Vector Div(Vector a, Vector b) { return _mm512_div_ps(a, b); }
    static Vector Relu(Vector x) { return MaxPs(x, _mm512_setzero_ps()); }
    // Always inlined: as an ordinary function GCC marks it const (no visible effect) and
    // deletes every call, so no prefetch would be issued at all.
    __attribute__((always_inline)) static void Prefetch(const char* p) { _mm_prefetch(p, _MM_HINT_T1); }
    template <int Count>
    static void Gelu(Vector* v) {
        GeluArray<Count>(v);
    }

    static constexpr int kTileRows = 14;
    static constexpr int kWideTileRows = 9;
    static constexpr int kFewRows = 3;
    static constexpr int kMaxTilePanels = 4;
    static constexpr int kMaxConvPanels = 3;
    static constexpr int kMainTilePanels = 2;
    static constexpr const char* kRegisterTiles = "14 rows x 2 panels, 9 x 3, 1-3 x 4 (zmm)";
    // GEMM row blocks: multiples of both tile heights (14 and 9), so full blocks split into full tiles.
    static constexpr int kRowQuantum = kTileRows * kWideTileRows;
    static constexpr int kMinBlockRows = kRowQuantum;

    static constexpr bool TileFits(int rows, int panels) {
        return panels <= 2 || (panels == 3 && rows <= kWideTileRows) || rows <= kFewRows;
    }
    // Rows of a full tile `panels` wide.
    static constexpr int TileRowsFor(int panels) {
        return panels == 3 ? kWideTileRows : panels == 4 ? kFewRows : kTileRows;
    }
    // Width of the panel group starting at `panel`: three first when the panel
    // count is odd, then pairs; 1-3 rows take four panels at a time so enough
    // FMA chains stay in flight.
    static int PanelGroupWidth(int panel, int panels, int64_t rows) {
        if (rows <= kFewRows) return std::min(4, panels - panel);
        if (panel == 0 && panels % 2 == 1 && panels >= 3) return 3;
        return std::min(2, panels - panel);
    }
};

}  // namespace fasternet::avx512
