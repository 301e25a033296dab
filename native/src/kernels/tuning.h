// Cache-dependent choices of the drivers and the executor, derived once from the
// host CPU's caches (common/cpu_info.h) instead of constants tuned to one machine.
// The ratios were chosen on an AMD EPYC (Zen 5: 48 KB 12-way L1d, 1 MB L2), where they
// give the values measured best there (64 KB, 768 deep for two panels, 256 KB, 640 KB).
#pragma once

#include <cstdint>
#include <string>

namespace fasternet {

struct KernelTuning {
    // GEMM: a row block's A slice (stays in L1/L2 while every panel group passes): L2 / 16.
    int64_t gemm_row_block_bytes = 64 * 1024;
    // GEMM: one K chunk of one panel group's weights (beside the A slice in L2): 3/32 of L2.
    int64_t gemm_chunk_weight_bytes = 96 * 1024;
    // Conv: input rows a chunk of output rows may touch (stays in L2 across panel groups): L2 / 4.
    int64_t conv_chunk_input_bytes = 256 * 1024;
    // Fused block: the hidden tile a thread keeps for PW2 (most of L2, the rest for weights): 5/8 of L2.
    int64_t block_tile_bytes = 640 * 1024;
    // Row strides that are a multiple of this put a tile's rows into a few L1 sets: half an L1 way.
    int64_t l1_alias_bytes = 2048;
};

KernelTuning TuningFor(int64_t l1d_bytes, int l1d_ways, int64_t l2_bytes);

// For this CPU, computed once.
const KernelTuning& HostTuning();

// Deepest K loop one GEMM pass runs for a kernel set whose widest regular tile spans
// `panels` 16-column panels: its weights for the chunk fill gemm_chunk_weight_bytes.
int GemmChunkDepth(const KernelTuning& tuning, int panels);

// Floats between rows of a hidden tensor of `hidden` channels: one cache line more when
// the row bytes are a multiple of l1_alias_bytes.
int PaddedRowStride(const KernelTuning& tuning, int hidden);

// The CPU, its features, caches and the choices above per kernel set this build and CPU run.
std::string DescribeHostTuning();

}  // namespace fasternet
