// The AVX512-BF16 register tiles (VDPBF16PS) and the loop over panel groups that
// the bf16 GEMM and the bf16 convs share. Include only from this folder's units.
//
// A tile is Rows output rows (GEMM rows or conv output pixels) x Panels bf16
// pair panels, the AVX-512 tile shapes (14 rows x 2 panels, 9 x 3, 1-3 x 4;
// drivers/tile.h, x86_avx512/isa.h). Its A operand is bf16, one pointer per
// row, read in `taps` segments at fixed offsets from that pointer, each
// `pairs_per_tap` K pairs long (a GEMM: one segment; a 3x3 conv: nine, one per
// tap, in a zero-bordered bf16 copy of the input). Each K pair step loads one
// 64-byte pair row per panel and broadcasts one 32-bit bf16 pair per row into
// VDPBF16PS. Epilogue shared with the fp32 sets (drivers::FinishTile):
// accumulators start at the bias; activation, + residual, masked store; or,
// for a bf16 output (TileOutput::c_bf16), the same rounded to bf16.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/bf16.h"
#include "kernels/drivers/tile.h"
#include "kernels/x86_avx512/isa.h"

namespace fasternet::avx512_bf16 {

// The AVX-512 traits under this set's own name, so the shared tile templates are
// instantiated here separately from the fp32 set's (this unit has wider flags).
struct Isa : avx512::Isa {};

// 16 floats rounded to bf16 exactly as FloatToBf16 does (nearest even, NaN quiet;
// VCVTNEPS2BF16 would flush denormals to zero, which the reference set does not).
inline __m256i RoundVectorToBf16(__m512 values) {
    const __m512i bits = _mm512_castps_si512(values);
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
    __m512i rounded =
        _mm512_srli_epi32(_mm512_add_epi32(bits, _mm512_add_epi32(_mm512_set1_epi32(0x7FFF), lsb)), 16);
    const __mmask16 nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(bits, _mm512_set1_epi32(0x7FFFFFFF)),
                                                  _mm512_set1_epi32(0x7F800000));
    rounded = _mm512_mask_or_epi32(rounded, nan, _mm512_srli_epi32(bits, 16), _mm512_set1_epi32(0x0040));
    return _mm512_cvtepi32_epi16(rounded);
}

// Rounds `count` floats to bf16 exactly as FloatToBf16 does.
inline void RoundRowToBf16(const float* in, int count, bf16* out) {
    for (int i = 0; i < count; i += 16) {
        const __mmask16 mask = count - i >= 16 ? static_cast<__mmask16>(0xFFFF)
                                               : static_cast<__mmask16>((1u << (count - i)) - 1u);
        _mm256_mask_storeu_epi16(out + i, mask, RoundVectorToBf16(_mm512_maskz_loadu_ps(mask, in + i)));
    }
}

// What a tile's epilogue writes: `gemm` carries n, bias, activation, residual (ldr)
// and c (ldc); with c_bf16 the result is rounded to bf16 and stored there instead,
// at the same row stride.
struct TileOutput {
    GemmArgs gemm;
    bf16* c_bf16 = nullptr;
};

// The bf16-output epilogue: activation, + residual, rounded, masked bf16 store.
template <Activation activation, int Rows, int Panels>
FASTERNET_KERNEL_INLINE void StoreTileAsBf16(drivers::Tile<Isa, Rows, Panels>& tile, bf16* c, int64_t ldc,
                                             const float* residual, int64_t ldr, int columns_left) {
    constexpr int kVectors = drivers::Tile<Isa, Rows, Panels>::kVectors;
    if constexpr (activation == Activation::Gelu) Isa::template Gelu<Rows * kVectors>(&tile.acc[0][0]);
    const drivers::TileMasks<Isa, kVectors> masks(columns_left);
#pragma GCC unroll 16
    for (int r = 0; r < Rows; ++r) {
#pragma GCC unroll 32
        for (int j = 0; j < kVectors; ++j) {
            __m512 value = tile.acc[r][j];
            if constexpr (activation == Activation::Relu) value = Isa::Relu(value);
            if (residual) value = Isa::Add(value, Isa::LoadMasked(residual + r * ldr + j * Isa::kLanes, masks.mask[j]));
            _mm256_mask_storeu_epi16(c + r * ldc + j * Isa::kLanes, masks.mask[j], RoundVectorToBf16(value));
        }
    }
}

// GELU out of line, as drivers::FinishTile does, so its temporaries stay out of the K loop's registers.
template <Activation activation, int Rows, int Panels>
__attribute__((noinline)) void GeluAndStoreTileAsBf16(drivers::Tile<Isa, Rows, Panels>& tile, bf16* c, int64_t ldc,
                                                      const float* residual, int64_t ldr, int columns_left) {
    StoreTileAsBf16<activation>(tile, c, ldc, residual, ldr, columns_left);
}

// Where a row's K pairs are: `taps` segments at offsets[t] bf16 values from the
// row's pointer, each pairs_per_tap pairs; the weights' K runs over the taps in order.
struct TapLayout {
    int taps = 1;
    int pairs_per_tap = 0;
    const int64_t* offsets = nullptr;
};

// `out` carries what the epilogue needs: n, bias, activation, residual (ldr), c (ldc).
template <Activation activation, int Rows, int Panels>
struct Bf16Tile {
    static void Run(const TileOutput& output, const bf16* const* a_rows, const TapLayout& layout, const bf16* b,
                    int64_t panel_stride, int64_t row, int column) {
        const GemmArgs& out = output.gemm;
        const int columns_left = out.n - column;
        drivers::Tile<Isa, Rows, Panels> tile;
        drivers::StartTile(tile, out.bias ? out.bias + column : nullptr, columns_left);
        const bf16* rows[Rows];
        for (int t = 0; t < layout.taps; ++t) {
#pragma GCC unroll 16
            for (int r = 0; r < Rows; ++r) rows[r] = a_rows[r] + layout.offsets[t];
            for (int q = 0; q < layout.pairs_per_tap; ++q, b += 2 * kPanelWidth) {
                __m512bh w[Panels];
#pragma GCC unroll 4
                for (int p = 0; p < Panels; ++p) w[p] = (__m512bh)_mm512_loadu_si512(b + p * panel_stride);
#pragma GCC unroll 16
                for (int r = 0; r < Rows; ++r) {
                    int32_t pair;
                    __builtin_memcpy(&pair, rows[r] + 2 * q, sizeof pair);
                    const __m512bh x = (__m512bh)_mm512_set1_epi32(pair);
#pragma GCC unroll 4
                    for (int p = 0; p < Panels; ++p) tile.acc[r][p] = _mm512_dpbf16_ps(tile.acc[r][p], x, w[p]);
                }
            }
        }
        const float* residual = out.residual ? out.residual + row * out.ldr + column : nullptr;
        if (output.c_bf16) {
            bf16* c = output.c_bf16 + row * out.ldc + column;
            if constexpr (activation == Activation::Gelu) {
                drivers::Tile<Isa, Rows, Panels> outgoing = tile;  // `tile` never escapes the K loop's registers
                GeluAndStoreTileAsBf16<activation>(outgoing, c, out.ldc, residual, out.ldr, columns_left);
            } else {
                StoreTileAsBf16<activation>(tile, c, out.ldc, residual, out.ldr, columns_left);
            }
            return;
        }
        drivers::FinishTile<activation>(tile, out.c + row * out.ldc + column, out.ldc, residual, out.ldr,
                                        columns_left);
    }
};

template <int Rows, int Panels>
using TileNone = Bf16Tile<Activation::None, Rows, Panels>;
template <int Rows, int Panels>
using TileRelu = Bf16Tile<Activation::Relu, Rows, Panels>;
template <int Rows, int Panels>
using TileGelu = Bf16Tile<Activation::Gelu, Rows, Panels>;

using TileFunction = void (*)(const TileOutput&, const bf16* const*, const TapLayout&, const bf16*, int64_t, int64_t,
                              int);

struct TileTables {
    static constexpr drivers::TileTable<Isa, TileFunction, TileNone, Isa::kMaxTilePanels> none{};
    static constexpr drivers::TileTable<Isa, TileFunction, TileRelu, Isa::kMaxTilePanels> relu{};
    static constexpr drivers::TileTable<Isa, TileFunction, TileGelu, Isa::kMaxTilePanels> gelu{};

    static const TileFunction (&For(Activation activation))[Isa::kTileRows + 1][Isa::kMaxTilePanels + 1] {
        return activation == Activation::Gelu   ? gelu.functions
               : activation == Activation::Relu ? relu.functions
                                                : none.functions;
    }
};

// Output rows [first, first + rows) of `out` against every panel group, in equal
// tiles; row_at(i) is row i's bf16 A pointer. packed_b: the first panel.
template <class RowAt>
void RunRowsOnPanels(const TileOutput& out, int64_t first, int64_t rows, RowAt&& row_at, const TapLayout& layout,
                     const bf16* packed_b, int64_t panel_stride) {
    const auto& tiles = TileTables::For(out.gemm.activation);
    const int panels = (out.gemm.n + kPanelWidth - 1) / kPanelWidth;
    int width;
    for (int panel = 0; panel < panels; panel += width) {
        width = Isa::PanelGroupWidth(panel, panels, rows);
        const int64_t tile_count = (rows + Isa::TileRowsFor(width) - 1) / Isa::TileRowsFor(width);
        int64_t row = first;
        for (int64_t t = 0; t < tile_count; ++t) {
            const int tile_rows = static_cast<int>(rows / tile_count + (t < rows % tile_count ? 1 : 0));
            const bf16* a_rows[Isa::kTileRows];
            for (int r = 0; r < tile_rows; ++r) a_rows[r] = row_at(row + r);
            tiles[tile_rows][width](out, a_rows, layout, packed_b + panel * panel_stride, panel_stride, row,
                                    panel * kPanelWidth);
            row += tile_rows;
        }
    }
}

}  // namespace fasternet::avx512_bf16
