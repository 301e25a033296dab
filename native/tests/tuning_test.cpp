// Cache-derived tuning: the ratios give back the constants measured best on an AMD
// EPYC (Zen 5) and scale with the caches of other CPUs.
#include <gtest/gtest.h>

#include "common/cpu_info.h"
#include "kernels/tuning.h"

namespace fasternet {
namespace {

TEST(Tuning, Zen5CachesGiveTheValuesMeasuredBestThere) {
    // Zen 5: 48 KB 12-way L1d, 1 MB L2; hand-tuned there: 64 KB row blocks, K chunks of 768
    // for the two-panel AVX-512 tile, 256 KB conv chunks, 640 KB block tiles, 2 KB aliasing.
    const KernelTuning tuning = TuningFor(48 * 1024, 12, 1024 * 1024);
    EXPECT_EQ(tuning.gemm_row_block_bytes, 64 * 1024);
    EXPECT_EQ(GemmChunkDepth(tuning, 2), 768);
    EXPECT_EQ(tuning.conv_chunk_input_bytes, 256 * 1024);
    EXPECT_EQ(tuning.block_tile_bytes, 640 * 1024);
    EXPECT_EQ(PaddedRowStride(tuning, 1024), 1024 + 16);  // 4 KB rows: padded
    EXPECT_EQ(PaddedRowStride(tuning, 512), 512 + 16);    // 2 KB rows: padded
    EXPECT_EQ(PaddedRowStride(tuning, 960), 960);
}

TEST(Tuning, LargerL2GivesLargerBlocksAndDeeperChunks) {
    // Emerald Rapids: 48 KB 12-way L1d, 2 MB L2.
    const KernelTuning zen5 = TuningFor(48 * 1024, 12, 1024 * 1024);
    const KernelTuning emerald_rapids = TuningFor(48 * 1024, 12, 2 * 1024 * 1024);
    EXPECT_EQ(emerald_rapids.gemm_row_block_bytes, 2 * zen5.gemm_row_block_bytes);
    EXPECT_EQ(GemmChunkDepth(emerald_rapids, 2), 2 * GemmChunkDepth(zen5, 2));
    EXPECT_EQ(emerald_rapids.block_tile_bytes, 2 * zen5.block_tile_bytes);
    // A one-panel tile (AVX2, NEON) streams half the weights per K step: twice as deep.
    EXPECT_EQ(GemmChunkDepth(zen5, 1), 2 * GemmChunkDepth(zen5, 2));
}

TEST(Tuning, HostCpuReportsUsableCaches) {
    const CpuInfo& cpu = HostCpu();
    EXPECT_FALSE(cpu.model.empty());
    EXPECT_GE(cpu.logical_cores, 1);
    EXPECT_GE(cpu.l1d.bytes, 8 * 1024);
    EXPECT_GT(cpu.l2.bytes, cpu.l1d.bytes);
    const KernelTuning& tuning = HostTuning();
    EXPECT_GE(GemmChunkDepth(tuning, 2), 256);
    EXPECT_GT(tuning.block_tile_bytes, 0);
}

}  // namespace
}  // namespace fasternet
