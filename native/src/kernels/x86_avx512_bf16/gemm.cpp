// AVX512-BF16 GEMM (VDPBF16PS) over bf16 pair panels with the fp32 epilogue.
//
// Layout: A fp32 row-major (columns [k_split, k) from a2 when given), rounded
// to bf16 one row block at a time into a per-thread buffer (K padded to even),
// or already bf16 (a_bf16: read in place when it is all of an even K);
// B in bf16 pair panels (bf16.h); C fp32 row-major at ldc, or bf16 (c_bf16). Blocking: row
// blocks whose bf16 A slice is about 64 KB; within a block, panel groups and
// register tiles (tiles.h). No K chunks: a bf16 panel pair of the deepest
// layer (K = 3072) is 192 KB.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/x86_avx512_bf16/tiles.h"

namespace fasternet {
namespace avx512_bf16 {

constexpr int64_t kRowBlockBytes = 64 * 1024;

namespace {

// The block's A rows [row, row + rows) as bf16, row stride `stride` (K rounded up to even).
void RoundBlock(const Bf16GemmArgs& bf, int64_t row, int64_t rows, int64_t stride, bf16* out) {
    const GemmArgs& args = bf.gemm;
    const int split = args.a2 ? std::clamp(args.k_split, 0, args.k) : args.k;
    for (int64_t r = 0; r < rows; ++r) {
        bf16* dst = out + r * stride;
        if (split > 0 && bf.a_bf16) {
            std::memcpy(dst, bf.a_bf16 + (row + r) * args.lda, sizeof(bf16) * split);
        } else if (split > 0) {
            RoundRowToBf16(args.a + (row + r) * args.lda, split, dst);
        }
        if (args.k > split) RoundRowToBf16(args.a2 + (row + r) * args.lda2, args.k - split, dst + split);
        if (args.k % 2) dst[args.k] = 0;
    }
}

}  // namespace

void Gemm(const Bf16GemmArgs& bf) {
    const GemmArgs& args = bf.gemm;
    if (args.m <= 0 || args.n <= 0) return;
    const int64_t panel_stride = Bf16PanelStride(args.k);
    const int64_t a_stride = 2 * int64_t{Bf16PairCount(args.k)};
    constexpr int64_t kRowQuantum = Isa::kRowQuantum;
    const int64_t block_rows = std::max<int64_t>(
        kRowQuantum, kRowBlockBytes / (a_stride * int64_t{sizeof(bf16)}) / kRowQuantum * kRowQuantum);
    const int64_t offset = 0;
    const TapLayout layout{1, Bf16PairCount(args.k), &offset};

    const TileOutput out{args, bf.c_bf16};

    // A bf16 A of even K is read in place; otherwise each row block is rounded (or,
    // for an odd K, copied with its pad zero) into a per-thread buffer first.
    if (bf.a_bf16 && !args.a2 && args.k % 2 == 0) {
        for (int64_t block_begin = 0; block_begin < args.m; block_begin += block_rows) {
            RunRowsOnPanels(
                out, block_begin, std::min(args.m - block_begin, block_rows),
                [&](int64_t row) { return bf.a_bf16 + row * args.lda; }, layout, bf.packed_b, panel_stride);
        }
        return;
    }

    thread_local std::vector<bf16> a_block;
    const size_t block_size = static_cast<size_t>(std::min(block_rows, args.m) * a_stride);
    if (a_block.size() < block_size) a_block.resize(block_size);

    for (int64_t block_begin = 0; block_begin < args.m; block_begin += block_rows) {
        const int64_t rows = std::min(args.m - block_begin, block_rows);
        RoundBlock(bf, block_begin, rows, a_stride, a_block.data());
        const bf16* block = a_block.data();
        RunRowsOnPanels(
            out, block_begin, rows, [&](int64_t row) { return block + (row - block_begin) * a_stride; }, layout,
            bf.packed_b, panel_stride);
    }
}

}  // namespace avx512_bf16
}  // namespace fasternet
