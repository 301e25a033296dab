// AVX512-BF16 GEMM (VDPBF16PS) over bf16 pair panels with the fp32 epilogue.
//
// Layout: A fp32 row-major (columns [k_split, k) from a2 when given), rounded
// to bf16 one row block at a time into a per-thread buffer (K padded to even);
// B in bf16 pair panels (bf16.h); C fp32 row-major at ldc. Blocking: row
// blocks whose bf16 A slice is about 64 KB; within a block, panel groups and
// register tiles as the fp32 GEMM (14 rows x 2 panels, 9 x 3, 1-3 x 4; drivers/tile.h):
// each K pair step loads one 64-byte pair row per panel and broadcasts one
// 32-bit bf16 pair per output row into VDPBF16PS. Epilogue shared with the
// fp32 set: accumulators start at the bias; activation, + residual, masked
// store. No K chunks: a bf16 panel pair of the deepest layer (K = 3072) is 192 KB.
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "kernels/bf16.h"
#include "kernels/drivers/tile.h"
#include "kernels/x86_avx512/isa.h"

namespace fasternet {
namespace avx512_bf16 {
namespace {

// The AVX-512 traits under this set's own name, so the shared tile templates are
// instantiated here separately from the fp32 set's (this unit has wider flags).
struct Isa : avx512::Isa {};
template <int Rows, int Panels>
using Tile = drivers::Tile<Isa, Rows, Panels>;

constexpr int64_t kRowBlockBytes = 64 * 1024;

// Rounds `count` floats to bf16 exactly as FloatToBf16 does (nearest even, NaN quiet).
inline void RoundRowToBf16(const float* in, int count, bf16* out) {
    const __m512i exponent_all_ones = _mm512_set1_epi32(0x7F800000);
    const __m512i abs_mask = _mm512_set1_epi32(0x7FFFFFFF);
    const __m512i rounding_bias = _mm512_set1_epi32(0x7FFF);
    const __m512i one = _mm512_set1_epi32(1);
    const __m512i quiet = _mm512_set1_epi32(0x0040);
    for (int i = 0; i < count; i += 16) {
        const __mmask16 mask = count - i >= 16 ? static_cast<__mmask16>(0xFFFF)
                                               : static_cast<__mmask16>((1u << (count - i)) - 1u);
        const __m512i bits = _mm512_castps_si512(_mm512_maskz_loadu_ps(mask, in + i));
        const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), one);
        __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(bits, _mm512_add_epi32(rounding_bias, lsb)), 16);
        const __mmask16 nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(bits, abs_mask), exponent_all_ones);
        rounded = _mm512_mask_or_epi32(rounded, nan, _mm512_srli_epi32(bits, 16), quiet);
        _mm256_mask_storeu_epi16(out + i, mask, _mm512_cvtepi32_epi16(rounded));
    }
}

// The block's A rows [row, row + rows) as bf16, row stride `stride` (K rounded up to even).
void RoundBlock(const GemmArgs& args, int64_t row, int64_t rows, int64_t stride, bf16* out) {
    const int split = args.a2 ? std::clamp(args.k_split, 0, args.k) : args.k;
    for (int64_t r = 0; r < rows; ++r) {
        bf16* dst = out + r * stride;
        if (split > 0) RoundRowToBf16(args.a + (row + r) * args.lda, split, dst);
        if (args.k > split) RoundRowToBf16(args.a2 + (row + r) * args.lda2, args.k - split, dst + split);
        if (args.k % 2) dst[args.k] = 0;
    }
}

template <Activation activation, int Rows, int Panels>
struct Bf16Tile {
    // a: the tile's first bf16 A row (row stride a_stride); b: the group's first panel.
    static void Run(const GemmArgs& args, const bf16* a, int64_t a_stride, const bf16* b, int64_t panel_stride,
                    int64_t row, int column) {
        const int columns_left = args.n - column;
        float* c = args.c + row * args.ldc + column;
        Tile<Rows, Panels> tile;
        drivers::StartTile(tile, args.bias ? args.bias + column : nullptr, columns_left);
        const int pairs = Bf16PairCount(args.k);
        const bf16* rows[Rows];
#pragma GCC unroll 16
        for (int r = 0; r < Rows; ++r) rows[r] = a + r * a_stride;
        for (int q = 0; q < pairs; ++q) {
            __m512bh w[Panels];
#pragma GCC unroll 4
            for (int p = 0; p < Panels; ++p) {
                w[p] = (__m512bh)_mm512_loadu_si512(b + p * panel_stride + int64_t{q} * 2 * kPanelWidth);
            }
#pragma GCC unroll 16
            for (int r = 0; r < Rows; ++r) {
                int32_t pair;
                __builtin_memcpy(&pair, rows[r] + 2 * q, sizeof pair);
                const __m512bh x = (__m512bh)_mm512_set1_epi32(pair);
#pragma GCC unroll 4
                for (int p = 0; p < Panels; ++p) tile.acc[r][p] = _mm512_dpbf16_ps(tile.acc[r][p], x, w[p]);
            }
        }
        drivers::FinishTile<activation>(tile, c, args.ldc,
                                       args.residual ? args.residual + row * args.ldr + column : nullptr, args.ldr,
                                       columns_left);
    }
};

template <int Rows, int Panels>
using TileNone = Bf16Tile<Activation::None, Rows, Panels>;
template <int Rows, int Panels>
using TileRelu = Bf16Tile<Activation::Relu, Rows, Panels>;
template <int Rows, int Panels>
using TileGelu = Bf16Tile<Activation::Gelu, Rows, Panels>;

using TileFunction = void (*)(const GemmArgs&, const bf16*, int64_t, const bf16*, int64_t, int64_t, int);
constexpr drivers::TileTable<Isa, TileFunction, TileNone, Isa::kMaxTilePanels> kTilesNone;
constexpr drivers::TileTable<Isa, TileFunction, TileRelu, Isa::kMaxTilePanels> kTilesRelu;
constexpr drivers::TileTable<Isa, TileFunction, TileGelu, Isa::kMaxTilePanels> kTilesGelu;

void Gemm(const Bf16GemmArgs& bf) {
    const GemmArgs& args = bf.gemm;
    if (args.m <= 0 || args.n <= 0) return;
    const auto& tiles = args.activation == Activation::Gelu   ? kTilesGelu.functions
                        : args.activation == Activation::Relu ? kTilesRelu.functions
                                                              : kTilesNone.functions;
    const int panels = (args.n + kPanelWidth - 1) / kPanelWidth;
    const int64_t panel_stride = Bf16PanelStride(args.k);
    const int64_t a_stride = 2 * int64_t{Bf16PairCount(args.k)};
    constexpr int64_t kRowQuantum = Isa::kRowQuantum;
    const int64_t block_rows = std::max<int64_t>(
        kRowQuantum, kRowBlockBytes / (a_stride * int64_t{sizeof(bf16)}) / kRowQuantum * kRowQuantum);

    thread_local std::vector<bf16> a_block;
    const size_t block_size = static_cast<size_t>(std::min(block_rows, args.m) * a_stride);
    if (a_block.size() < block_size) a_block.resize(block_size);

    for (int64_t block_begin = 0; block_begin < args.m; block_begin += block_rows) {
        const int64_t rows = std::min(args.m - block_begin, block_rows);
        RoundBlock(args, block_begin, rows, a_stride, a_block.data());
        int width;
        for (int panel = 0; panel < panels; panel += width) {
            width = Isa::PanelGroupWidth(panel, panels, rows);
            const int64_t tile_count = (rows + Isa::TileRowsFor(width) - 1) / Isa::TileRowsFor(width);
            int64_t row = 0;
            for (int64_t t = 0; t < tile_count; ++t) {
                const int tile_rows = static_cast<int>(rows / tile_count + (t < rows % tile_count ? 1 : 0));
                tiles[tile_rows][width](args, a_block.data() + row * a_stride, a_stride,
                                        bf.packed_b + panel * panel_stride, panel_stride, block_begin + row,
                                        panel * kPanelWidth);
                row += tile_rows;
            }
        }
    }
}

}  // namespace
}  // namespace avx512_bf16

const Bf16KernelSet* Avx512Bf16Kernels() {
    static const Bf16KernelSet set = {"avx512_bf16", avx512_bf16::Gemm};
    return &set;
}

}  // namespace fasternet
