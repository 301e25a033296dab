#include "kernels/tuning.h"

#include <algorithm>
#include <sstream>

#include "common/cpu_info.h"
#include "kernels/dispatch.h"

namespace fasternet {

KernelTuning TuningFor(int64_t l1d_bytes, int l1d_ways, int64_t l2_bytes) {
    KernelTuning tuning;
    tuning.gemm_row_block_bytes = l2_bytes / 16;
    tuning.gemm_chunk_weight_bytes = l2_bytes * 3 / 32;
    tuning.conv_chunk_input_bytes = l2_bytes / 4;
    tuning.block_tile_bytes = l2_bytes * 5 / 8;
    tuning.l1_alias_bytes = std::max<int64_t>(256, l1d_bytes / std::max(l1d_ways, 1) / 2);
    return tuning;
}

const KernelTuning& HostTuning() {
    static const KernelTuning tuning = [] {
        const CpuInfo& cpu = HostCpu();
        return TuningFor(cpu.l1d.bytes, cpu.l1d.ways, cpu.l2.bytes);
    }();
    return tuning;
}

int GemmChunkDepth(const KernelTuning& tuning, int panels) {
    constexpr int64_t kPanelRowBytes = 16 * sizeof(float);
    const int64_t depth = tuning.gemm_chunk_weight_bytes / (kPanelRowBytes * std::max(panels, 1)) / 16 * 16;
    return static_cast<int>(std::clamp<int64_t>(depth, 256, 4096));
}

int PaddedRowStride(const KernelTuning& tuning, int hidden) {
    const int64_t row_bytes = int64_t{hidden} * static_cast<int64_t>(sizeof(float));
    return row_bytes % tuning.l1_alias_bytes == 0 ? hidden + 16 : hidden;
}

namespace {

std::string Kilobytes(int64_t bytes) {
    std::ostringstream text;
    if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0) {
        text << bytes / (1024 * 1024) << " MB";
    } else {
        text << bytes / 1024 << " KB";
    }
    return text.str();
}

std::string CacheText(const CacheLevel& cache) {
    std::ostringstream text;
    text << Kilobytes(cache.bytes);
    if (cache.ways > 0) text << ", " << cache.ways << "-way";
    if (cache.line_bytes > 0) text << ", " << cache.line_bytes << " B lines";
    return text.str();
}

}  // namespace

std::string DescribeHostTuning() {
    const CpuInfo& cpu = HostCpu();
    const KernelTuning& tuning = HostTuning();
    std::ostringstream text;
    text << "cpu: " << cpu.model << "\n";
    text << "logical cores: " << cpu.logical_cores << "\n";
    text << "features:";
    static const struct {
        uint32_t bit;
        const char* name;
    } kFeatures[] = {{kCpuAvx2, "avx2"},         {kCpuFma, "fma"},           {kCpuAvx512f, "avx512f"},
                     {kCpuAvx512bw, "avx512bw"}, {kCpuAvx512vl, "avx512vl"}, {kCpuAvx512dq, "avx512dq"},
                     {kCpuAvx512bf16, "avx512bf16"}, {kCpuNeon, "neon"}};
    for (const auto& feature : kFeatures) {
        if (CpuFeatures() & feature.bit) text << " " << feature.name;
    }
    text << "\n";
    text << "caches" << (cpu.caches_measured ? "" : " (not reported by this CPU: defaults)") << ":\n";
    text << "  L1d: " << CacheText(cpu.l1d) << "\n";
    text << "  L2:  " << CacheText(cpu.l2) << "\n";
    text << "  L3:  " << CacheText(cpu.l3) << "\n";
    text << "derived:\n";
    text << "  GEMM row block (A slice):      " << Kilobytes(tuning.gemm_row_block_bytes) << "  (L2 / 16)\n";
    text << "  GEMM K chunk weights:          " << Kilobytes(tuning.gemm_chunk_weight_bytes) << "  (3/32 of L2)\n";
    text << "  conv chunk input:              " << Kilobytes(tuning.conv_chunk_input_bytes) << "  (L2 / 4)\n";
    text << "  fused block hidden tile:       " << Kilobytes(tuning.block_tile_bytes) << "  (5/8 of L2)\n";
    text << "  row strides padded at multiples of " << tuning.l1_alias_bytes << " B  (half an L1d way)\n";
    text << "kernel sets (* = active):\n";
    for (fasternet_kernel_set set : {FASTERNET_KERNELS_AVX512, FASTERNET_KERNELS_AVX2, FASTERNET_KERNELS_NEON,
                                     FASTERNET_KERNELS_REFERENCE}) {
        const KernelSet* kernels = KernelsFor(set);
        if (!kernels) continue;
        text << (set == ActiveKernelSet() ? "  * " : "    ") << kernels->name << ": ";
        if (kernels->gemm_tile_panels > 0) {
            text << "register tiles " << kernels->register_tiles << "; GEMM K chunk "
                 << GemmChunkDepth(tuning, kernels->gemm_tile_panels) << "\n";
        } else {
            text << "scalar\n";
        }
    }
    return text.str();
}

}  // namespace fasternet
