// Measurements behind the C ABI's roofline, profile and operator-benchmark calls.
#pragma once

#include <cstdint>
#include <vector>

#include "fasternet.h"

namespace fasternet {

// fp32 FMA throughput in GFLOP/s with `threads` threads (>= 1) over about `seconds`.
double MeasurePeakGflops(int threads, double seconds);

// VDPBF16PS throughput in GFLOP/s (4 flops per fp32 lane: two bf16 products and their
// sums); fails with FASTERNET_UNSUPPORTED where the CPU lacks AVX512-BF16.
double MeasureBf16PeakGflops(int threads, double seconds);

// TDPBF16PS (AMX tiles) throughput in GFLOP/s, counted as VDPBF16PS's (2 flops per bf16
// product); fails with FASTERNET_UNSUPPORTED naming why where AMX cannot run (no AMX-TILE +
// AMX-BF16, no AVX512-BF16, the OS refused tile data, or a build without the AMX set).
double MeasureAmxBf16PeakGflops(int threads, double seconds);

// Triad bandwidth in GB/s over `bytes` bytes in total with `threads` threads (>= 1).
double MeasureBandwidth(int threads, int64_t bytes);

// Times `iterations` runs of the stacked operators; seconds[i] = run i's wall time.
// Throws Error naming a bad field.
void BenchmarkOperator(const fasternet_operator_benchmark& benchmark, int iterations, double* seconds);

// One run of the benchmark's stacked layers with its data kept, so tests can check what they computed.
struct OperatorBenchmarkRun {
    std::vector<float> input;  // batch x height x width x channels (NHWC)
    // Every weight matrix in the order the layers use them: Conv one [out][kh][kw][in] matrix per layer,
    // GConv one per group per layer, PConv one cp x 3x3 x cp per layer, PConv + PWConv that and then the
    // C x C pointwise [out][in] per layer; DWConv one [ky * 3 + kx][channel] per layer.
    std::vector<std::vector<float>> weights;
    // The last layer's output (NHWC, all channels; PConv's untouched channels are the input's).
    std::vector<float> output;
};
OperatorBenchmarkRun OperatorBenchmarkOnce(const fasternet_operator_benchmark& benchmark);

}  // namespace fasternet
