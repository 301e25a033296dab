// The amx_bf16 GEMM and convs, written once over a tile-operations parameter:
// HardwareTiles (hardware_tiles.h, the AMX instructions) in kernel_set.cpp and
// EmulatedTiles (emulated_tiles.h, plain C++) in emulated_kernel_set.cpp, so the
// same blocking, tails and epilogue run and are tested on CPUs without AMX.
//
// Layout: A is rounded (or copied, when already bf16) one row block at a time
// into a per-thread bf16 buffer: rows padded with zero rows to a multiple of 16,
// each row's K pairs padded with zero pairs to a multiple of 16 (one A tile row is
// 16 pairs = 64 bytes). The convs gather each output pixel's window there (an
// im2col of the pixel block, taps in the bf16 conv's K order, zeros outside the
// image), so pixels tile across output rows. B is the shared bf16 pair panels
// (bf16.h), read in place: 16 consecutive pairs of one panel are one 1 KB B tile
// (stride 64 bytes). A K tail (pairs not a multiple of 16) would read the next
// panel, or past the last one: its B tile comes from a per-call zero-padded
// copy of each panel's last pairs (1 KB per panel), so the packed weights stay
// the layout every bf16 set reads and nothing reads past them.
//
// Blocking: 2 x 2 C tiles (tmm0-3, 32 rows x 32 columns) over 2 A tiles (tmm4-5)
// and 2 B tiles (tmm6-7); 1 x 2, 2 x 1, 1 x 1 at the edges. C starts at zero
// (TILEZERO) and is stored to a per-thread fp32 scratch after K; the epilogue
// (AVX-512, every AMX CPU has it) adds the bias, applies the activation, adds
// the residual and stores only the rows < m and columns < n, fp32 or rounded to
// bf16. Row blocks of about 64 KB of bf16 A, as the avx512_bf16 set's.
//
// Tile configuration: one for every call (tile_config.h), loaded once per
// thread. Each call reads the current one back (STTILECFG, cheap) and reloads
// only if it differs: another library on the same thread (ONNX Runtime's AMX
// kernels, in the same process as `fasternet bench --peer onnxruntime`) may have
// changed or released it. Tiles are released when the thread exits, not after
// each call: a release would cost a LDTILECFG on the next call of every layer,
// and a pool thread that keeps its tiles only makes context switches save its
// 8 KB of tile data.
//
// Numerics: TDPBF16PS sums each 16-pair step's even and odd products in two fp32
// partial sums, then adds them to C; input and output denormals are zero. The
// order differs from the reference set's (pair by pair, odd first, from the bias):
// the results agree within fp32 accumulation-order bounds, not bit for bit.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/bf16.h"
#include "kernels/x86_amx_bf16/tile_config.h"
#include "kernels/x86_avx512_bf16/tiles.h"

namespace fasternet::amx_bf16 {

template <class Tiles>
struct AmxKernels {
    // Where the epilogue writes: the avx512_bf16 tiles' TileOutput (GemmArgs' n, bias, activation,
    // residual, c and ldc; c_bf16 replaces c, rounded to bf16).
    using Output = avx512_bf16::TileOutput;
    static constexpr int kTileElements = kMaxTileRows * kPanelWidth;  // floats in one C tile
    static constexpr int64_t kBTileValues = int64_t{kPairsPerTile} * 2 * kPanelWidth;  // bf16 in one B tile
    static constexpr int64_t kRowBlockBytes = 64 * 1024;

    // The A buffer of one row block: `stride` bf16 per row (a multiple of 32).
    struct ABlock {
        bf16* values;
        int64_t stride;
    };

    static void Gemm(const Bf16GemmArgs& bf) {
        const GemmArgs& args = bf.gemm;
        if (args.m <= 0 || args.n <= 0) return;
        const Output out{args, bf.c_bf16};
        const int split = args.a2 ? std::clamp(args.k_split, 0, args.k) : args.k;
        const auto fill = [&](int64_t row, int64_t rows, const ABlock& block) {
            for (int64_t r = 0; r < rows; ++r) {
                bf16* dst = block.values + r * block.stride;
                if (split > 0 && bf.a_bf16) {
                    std::memcpy(dst, bf.a_bf16 + (row + r) * args.lda, sizeof(bf16) * split);
                } else if (split > 0) {
                    avx512_bf16::RoundRowToBf16(args.a + (row + r) * args.lda, split, dst);
                }
                if (args.k > split) {
                    avx512_bf16::RoundRowToBf16(args.a2 + (row + r) * args.lda2, args.k - split, dst + split);
                }
                std::fill(dst + std::max(args.k, 0), dst + block.stride, bf16{0});
            }
        };
        Multiply(out, 0, args.m, Bf16PairCount(std::max(args.k, 0)), bf.packed_b, Bf16PanelStride(args.k), fill);
    }

    static void Conv(const Bf16ConvArgs& bf) {
        const ConvArgs& args = bf.conv;
        const int row_begin = std::max(args.row_begin, 0);
        const int row_end = std::min(args.row_end, args.out_h);
        if (row_begin >= row_end || args.out_w <= 0 || args.out_c <= 0) return;
        const int tap_channels = Bf16TapChannels(args.in_c);
        const int k = Bf16ConvDepth(args.kernel, args.in_c);
        // Output pixel p (= oy * out_w + ox) is GEMM row p.
        Output out;
        out.gemm.n = args.out_c;
        out.gemm.bias = args.bias;
        out.gemm.activation = args.activation;
        out.gemm.c = args.output;
        out.gemm.ldc = args.out_pixel_stride;
        out.c_bf16 = bf.output_bf16;
        const auto fill = [&](int64_t first_pixel, int64_t pixels, const ABlock& block) {
            for (int64_t i = 0; i < pixels; ++i) {
                bf16* dst = block.values + i * block.stride;
                const int oy = static_cast<int>((first_pixel + i) / args.out_w);
                const int ox = static_cast<int>((first_pixel + i) % args.out_w);
                std::fill(dst, dst + block.stride, bf16{0});  // padding taps, pad channels, K past the window
                ForEachWindowTap(args, oy, ox, [&](int tap, const float* in) {
                    avx512_bf16::RoundRowToBf16(in, args.in_c, dst + tap * tap_channels);
                });
            }
        };
        const int64_t first = int64_t{row_begin} * args.out_w, last = int64_t{row_end} * args.out_w;
        Multiply(out, first, last - first, k / 2, bf.packed_weights, Bf16PanelStride(k), fill);
    }

    // Loads the drivers' tile configuration unless it is already the current one.
    static void EnsureConfigured() {
        // Releases this thread's tiles when it exits (if the drivers configured them).
        struct ReleaseAtThreadExit {
            bool configured = false;
            ~ReleaseAtThreadExit() {
                if (configured) Tiles::Release();
            }
        };
        static const TileConfig wanted = DriverTileConfig();
        thread_local ReleaseAtThreadExit release;
        TileConfig current;
        Tiles::StoreConfig(&current);
        if (!SameConfig(current, wanted)) {
            Tiles::LoadConfig(&wanted);
            release.configured = true;
        }
    }

private:
    // GEMM rows [first, first + rows) of `out` from A rows that fill(row, count, block)
    // writes into a block (K pairs `pairs`, zero padded), B from `packed_b` (panel_stride apart).
    template <class Fill>
    static void Multiply(const Output& out, int64_t first, int64_t rows, int pairs, const bf16* packed_b,
                         int64_t panel_stride, Fill&& fill) {
        EnsureConfigured();
        const int steps = (pairs + kPairsPerTile - 1) / kPairsPerTile;
        const int full_steps = pairs / kPairsPerTile, tail_pairs = pairs % kPairsPerTile;
        const int panels = (out.gemm.n + kPanelWidth - 1) / kPanelWidth;

        // Each panel's K tail as a whole B tile, zero past the last pair.
        thread_local std::vector<bf16> tails;
        if (tail_pairs > 0) {
            tails.assign(static_cast<size_t>(panels) * kBTileValues, 0);
            for (int p = 0; p < panels; ++p) {
                std::memcpy(tails.data() + p * kBTileValues, packed_b + p * panel_stride + full_steps * kBTileValues,
                            sizeof(bf16) * tail_pairs * 2 * kPanelWidth);
            }
        }

        const int64_t a_stride = int64_t{std::max(steps, 1)} * kPairsPerTile * 2;
        const int64_t block_rows =
            std::max<int64_t>(2 * kMaxTileRows, kRowBlockBytes / (a_stride * int64_t{sizeof(bf16)}) /
                                                    (2 * kMaxTileRows) * (2 * kMaxTileRows));
        thread_local std::vector<bf16> a_buffer;
        const int64_t buffer_rows = std::min(block_rows, (rows + kMaxTileRows - 1) / kMaxTileRows * kMaxTileRows);
        if (a_buffer.size() < static_cast<size_t>(buffer_rows * a_stride)) a_buffer.resize(buffer_rows * a_stride);
        alignas(64) float c_scratch[4 * kTileElements];

        for (int64_t block_first = first; block_first < first + rows; block_first += block_rows) {
            const int64_t block_count = std::min(block_rows, first + rows - block_first);
            const int64_t row_tiles = (block_count + kMaxTileRows - 1) / kMaxTileRows;
            const ABlock block{a_buffer.data(), a_stride};
            fill(block_first, block_count, block);
            std::fill(a_buffer.data() + block_count * a_stride, a_buffer.data() + row_tiles * kMaxTileRows * a_stride,
                      bf16{0});
            for (int panel = 0; panel < panels; panel += 2) {
                const bool two_panels = panel + 1 < panels;
                const bf16* b[2] = {packed_b + panel * panel_stride,
                                    two_panels ? packed_b + (panel + 1) * panel_stride : nullptr};
                const bf16* b_tail[2] = {nullptr, nullptr};
                if (tail_pairs > 0) {
                    b_tail[0] = tails.data() + panel * kBTileValues;
                    if (two_panels) b_tail[1] = b_tail[0] + kBTileValues;
                }
                for (int64_t tile = 0; tile < row_tiles; tile += 2) {
                    const bool two_rows = tile + 1 < row_tiles;
                    const bf16* a = a_buffer.data() + tile * kMaxTileRows * a_stride;
                    if (two_rows && two_panels) {
                        Block<2, 2>(a, a_stride, steps, full_steps, b, b_tail, c_scratch);
                    } else if (two_rows) {
                        Block<2, 1>(a, a_stride, steps, full_steps, b, b_tail, c_scratch);
                    } else if (two_panels) {
                        Block<1, 2>(a, a_stride, steps, full_steps, b, b_tail, c_scratch);
                    } else {
                        Block<1, 1>(a, a_stride, steps, full_steps, b, b_tail, c_scratch);
                    }
                    for (int r = 0; r < (two_rows ? 2 : 1); ++r) {
                        const int64_t row = block_first + (tile + r) * kMaxTileRows;
                        const int valid_rows = static_cast<int>(std::min<int64_t>(kMaxTileRows, block_first + block_count - row));
                        for (int p = 0; p < (two_panels ? 2 : 1); ++p) {
                            const int column = (panel + p) * kPanelWidth;
                            Finish(c_scratch + (2 * r + p) * kTileElements, valid_rows,
                                   std::min(kPanelWidth, out.gemm.n - column), out, row, column);
                        }
                    }
                }
            }
        }
    }

    // Rows x Panels C tiles over all K steps, stored to scratch (tile (r, p) at (2r + p) * kTileElements).
    template <int Rows, int Panels>
    static void Block(const bf16* a, int64_t a_stride, int steps, int full_steps, const bf16* const b[2],
                      const bf16* const b_tail[2], float* scratch) {
        constexpr int64_t kBStride = 2 * kPanelWidth * int64_t{sizeof(bf16)};  // one pair row: 64 bytes
        const int64_t a_stride_bytes = a_stride * int64_t{sizeof(bf16)};
        Tiles::template Zero<kCTile00>();
        if constexpr (Panels == 2) Tiles::template Zero<kCTile01>();
        if constexpr (Rows == 2) Tiles::template Zero<kCTile10>();
        if constexpr (Rows == 2 && Panels == 2) Tiles::template Zero<kCTile11>();
        for (int s = 0; s < steps; ++s) {
            const bool tail = s >= full_steps;
            Tiles::template Load<kATile0>(a + s * kPairsPerTile * 2, a_stride_bytes);
            if constexpr (Rows == 2) {
                Tiles::template Load<kATile1>(a + kMaxTileRows * a_stride + s * kPairsPerTile * 2, a_stride_bytes);
            }
            Tiles::template Load<kBTile0>(tail ? b_tail[0] : b[0] + s * kBTileValues, kBStride);
            if constexpr (Panels == 2) Tiles::template Load<kBTile1>(tail ? b_tail[1] : b[1] + s * kBTileValues, kBStride);
            Tiles::template DotBf16<kCTile00, kATile0, kBTile0>();
            if constexpr (Panels == 2) Tiles::template DotBf16<kCTile01, kATile0, kBTile1>();
            if constexpr (Rows == 2) Tiles::template DotBf16<kCTile10, kATile1, kBTile0>();
            if constexpr (Rows == 2 && Panels == 2) Tiles::template DotBf16<kCTile11, kATile1, kBTile1>();
        }
        constexpr int64_t kCStride = kPanelWidth * int64_t{sizeof(float)};
        Tiles::template Store<kCTile00>(scratch, kCStride);
        if constexpr (Panels == 2) Tiles::template Store<kCTile01>(scratch + kTileElements, kCStride);
        if constexpr (Rows == 2) Tiles::template Store<kCTile10>(scratch + 2 * kTileElements, kCStride);
        if constexpr (Rows == 2 && Panels == 2) Tiles::template Store<kCTile11>(scratch + 3 * kTileElements, kCStride);
    }

    // The epilogue of one C tile: + bias, activation, + residual, the valid rows and columns
    // stored as fp32 or rounded to bf16.
    static void Finish(const float* tile, int rows, int columns, const Output& out, int64_t row, int column) {
        using Isa = avx512::Isa;
        const GemmArgs& gemm = out.gemm;
        const Isa::Mask mask = Isa::MaskFor(columns);
        const Isa::Vector bias = gemm.bias ? Isa::LoadMasked(gemm.bias + column, mask) : Isa::Zero();
        for (int r = 0; r < rows; ++r) {
            Isa::Vector value = Isa::Add(Isa::Load(tile + r * kPanelWidth), bias);
            if (gemm.activation == Activation::Relu) value = Isa::Relu(value);
            if (gemm.activation == Activation::Gelu) Isa::Gelu<1>(&value);
            if (gemm.residual) value = Isa::Add(value, Isa::LoadMasked(gemm.residual + (row + r) * gemm.ldr + column, mask));
            if (out.c_bf16) {
                _mm256_mask_storeu_epi16(out.c_bf16 + (row + r) * gemm.ldc + column, mask,
                                         avx512_bf16::RoundVectorToBf16(value));
            } else {
                Isa::StoreMasked(gemm.c + (row + r) * gemm.ldc + column, mask, value);
            }
        }
    }
};

}  // namespace fasternet::amx_bf16
