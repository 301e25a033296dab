// Microbenchmarks of the kernels of every kernel set this CPU runs, on the
// shapes FasterNet T0..L meet at 224x224, batch 1: the pointwise GEMMs (with
// their fused epilogues), PConv, the patch embedding and merging convs, the
// head's pool and a batch-norm affine.
//
// Counters: GFLOP/s (2 flops per multiply-add) and peak% against the fp32 FMA
// peak of one core (FASTERNET_PEAK_GFLOPS, default 216: the AVX-512 peak
// measured on the reference machine); GB/s for the memory-bound pool/affine.
// Times are CPU times of the calling thread, so other load on the machine
// distorts them less than wall time. The bf16 GEMMs (gemm_bf16/...) report
// GFLOP/s, and bf16peak% when FASTERNET_BF16_PEAK_GFLOPS gives the bf16 peak
// (`fasternet bench peak` measures it).
//
//   fasternet_kernel_bench --benchmark_filter='gemm/avx512'
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "common/aligned_buffer.h"
#include "kernels/bf16.h"
#include "kernels/dispatch.h"
#include "kernels/kernels.h"

namespace fasternet {
namespace {

double PeakGflops() {
    const char* configured = std::getenv("FASTERNET_PEAK_GFLOPS");
    const double value = configured ? std::atof(configured) : 0.0;
    return value > 0.0 ? value : 216.0;
}

AlignedBuffer RandomBuffer(size_t count, uint32_t seed) {
    AlignedBuffer buffer(count);
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> distribution(-1.0f, 1.0f);
    for (size_t i = 0; i < count; ++i) buffer.data()[i] = distribution(rng);
    return buffer;
}

AlignedBuffer PackedWeights(int k, int n, uint32_t seed) {
    const AlignedBuffer weights = RandomBuffer(static_cast<size_t>(k) * n, seed);
    AlignedBuffer packed(PackedPanelsSize(k, n));
    PackPanels(weights.data(), k, n, packed.data());
    return packed;
}

void SetFlopCounters(benchmark::State& state, double flops_per_iteration) {
    state.counters["GFLOP/s"] =
        benchmark::Counter(flops_per_iteration * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["peak%"] = benchmark::Counter(flops_per_iteration * 1e-9 / PeakGflops() * 100.0,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

struct GemmShape {
    const char* model;  // where the shape comes from
    int64_t m;
    int k, n;
    int k_split;  // > 0: PW1 reading PConv's output and the untouched channels
    bool bias;
    Activation activation;
    bool residual;
    bool cold = false;  // weights rotate over copies larger than the caches, as in a whole network
};

const GemmShape kGemmShapes[] = {
    // Pointwise convs: PW1 (dim -> 2 dim, act) and PW2 (2 dim -> dim, + residual).
    {"T0.s1.pw1", 3136, 40, 80, 10, true, Activation::Gelu, false},
    {"T0.s1.pw2", 3136, 80, 40, 0, false, Activation::None, true},
    {"T0.s1.pw1.nogelu", 3136, 40, 80, 0, false, Activation::None, false},
    {"T2.s1", 3136, 96, 192, 0, false, Activation::None, false},
    {"T2.s1.pw1", 3136, 96, 192, 24, true, Activation::Relu, false},
    {"T2.s2", 784, 192, 384, 0, false, Activation::None, false},
    {"T2.s3", 196, 384, 768, 0, false, Activation::None, false},
    {"T2.s4.pw1", 49, 768, 1536, 0, false, Activation::None, false},
    {"T2.s4.pw2", 49, 1536, 768, 0, false, Activation::None, true},
    // Late stages of S at batch 1 and 16 with the weights coming from memory, not cache.
    {"S.s3.pw1.cold", 196, 512, 1024, 128, true, Activation::Relu, false, true},
    {"S.s4.pw1.cold", 49, 1024, 2048, 256, true, Activation::Relu, false, true},
    {"S.s4.pw2.cold", 49, 2048, 1024, 0, false, Activation::None, true, true},
    {"S.s4.pw1.b16.cold", 784, 1024, 2048, 256, true, Activation::Relu, false, true},
    // L's last stage: the A rows and a panel pair's K rows no longer fit L2 together.
    {"L.s4.pw1", 49, 1536, 3072, 384, true, Activation::Relu, false},
    {"L.s4.pw2", 49, 3072, 1536, 0, false, Activation::None, true},
    {"L.s4.pw1.cold", 49, 1536, 3072, 384, true, Activation::Relu, false, true},
    {"L.s4.pw2.cold", 49, 3072, 1536, 0, false, Activation::None, true, true},
    {"L.s1", 3136, 192, 384, 0, false, Activation::None, false},
    {"square256", 3136, 256, 256, 0, false, Activation::None, false},
    // Head: 1x1 conv to 1280 (batch 1 and 16), classifier with bias.
    {"L.head", 1, 1536, 1280, 0, false, Activation::Relu, false},
    {"L.head.b16", 16, 1536, 1280, 0, false, Activation::Relu, false},
    {"classifier", 1, 1280, 1000, 0, true, Activation::None, false},
};

// One GEMM shape's activations, bias, residual and output, and the arguments that point at them.
struct GemmOperands {
    explicit GemmOperands(const GemmShape& shape)
        : split(shape.k_split > 0),
          // A split A reads [0, k_split) from a cp-wide buffer and the rest in place from a k-wide one.
          lda(split ? shape.k_split : shape.k),
          a(RandomBuffer(static_cast<size_t>(shape.m * lda), 1)),
          a2(RandomBuffer(static_cast<size_t>(shape.m * shape.k), 2)),
          bias(RandomBuffer(static_cast<size_t>(shape.n), 4)),
          residual(RandomBuffer(static_cast<size_t>(shape.m * shape.n), 5)),
          c(static_cast<size_t>(shape.m * shape.n)) {}

    GemmArgs Args(const GemmShape& shape) {
        GemmArgs args;
        args.m = shape.m;
        args.k = shape.k;
        args.n = shape.n;
        args.a = a.data();
        args.lda = lda;
        if (split) {
            args.a2 = a2.data() + shape.k_split;
            args.lda2 = shape.k;
            args.k_split = shape.k_split;
        }
        args.bias = shape.bias ? bias.data() : nullptr;
        args.activation = shape.activation;
        args.residual = shape.residual ? residual.data() : nullptr;
        args.ldr = shape.n;
        args.c = c.data();
        args.ldc = shape.n;
        return args;
    }

    bool split;
    int64_t lda;
    AlignedBuffer a, a2, bias, residual, c;
};

void RegisterGemm(const KernelSet* kernels, const GemmShape& shape) {
    const std::string name = std::string("gemm/") + kernels->name + "/" + shape.model + "/m" + std::to_string(shape.m) +
                             "_k" + std::to_string(shape.k) + "_n" + std::to_string(shape.n);
    benchmark::RegisterBenchmark(name.c_str(), [kernels, shape](benchmark::State& state) {
        GemmOperands operands(shape);
        // Cold: enough copies of the weights to overflow the last-level cache (256 MB).
        const size_t weight_bytes = PackedPanelsSize(shape.k, shape.n) * sizeof(float);
        const size_t copies = shape.cold ? (size_t{256} << 20) / weight_bytes + 1 : 1;
        std::vector<AlignedBuffer> packed;
        for (size_t i = 0; i < copies; ++i) packed.push_back(PackedWeights(shape.k, shape.n, 3));
        GemmArgs args = operands.Args(shape);
        size_t next = 0;
        for (auto _ : state) {
            args.packed_b = packed[next].data();
            next = (next + 1) % copies;
            kernels->gemm(args);
            benchmark::ClobberMemory();
        }
        SetFlopCounters(state, 2.0 * shape.m * shape.k * shape.n);
    });
}

// The same shapes on a bf16 set: weights rounded and packed once, A rounded as the kernel reads it.
void RegisterBf16Gemm(const Bf16KernelSet* kernels, const GemmShape& shape) {
    const std::string name = std::string("gemm_bf16/") + kernels->name + "/" + shape.model + "/m" +
                             std::to_string(shape.m) + "_k" + std::to_string(shape.k) + "_n" + std::to_string(shape.n);
    benchmark::RegisterBenchmark(name.c_str(), [kernels, shape](benchmark::State& state) {
        GemmOperands operands(shape);
        const AlignedBuffer weights = RandomBuffer(static_cast<size_t>(shape.k) * shape.n, 3);
        const size_t packed_size = PackedBf16PanelsSize(shape.k, shape.n);
        const size_t weight_bytes = packed_size * sizeof(bf16);
        const size_t copies = shape.cold ? (size_t{256} << 20) / weight_bytes + 1 : 1;
        std::vector<AlignedBuffer> packed;
        for (size_t i = 0; i < copies; ++i) {
            packed.emplace_back((packed_size + 1) / 2);
            PackBf16Panels(weights.data(), shape.k, shape.n, reinterpret_cast<bf16*>(packed.back().data()));
        }
        Bf16GemmArgs bf;
        bf.gemm = operands.Args(shape);
        size_t next = 0;
        for (auto _ : state) {
            bf.packed_b = reinterpret_cast<const bf16*>(packed[next].data());
            next = (next + 1) % copies;
            kernels->gemm(bf);
            benchmark::ClobberMemory();
        }
        const double flops = 2.0 * shape.m * shape.k * shape.n;
        state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
        const char* peak = std::getenv("FASTERNET_BF16_PEAK_GFLOPS");
        if (peak && std::atof(peak) > 0.0) {
            state.counters["bf16peak%"] = benchmark::Counter(flops * 1e-9 / std::atof(peak) * 100.0,
                                                             benchmark::Counter::kIsIterationInvariantRate);
        }
    });
}

struct ConvShape {
    const char* model;
    int in_h, in_w, in_c;
    int64_t in_pixel_stride;
    int out_c;
    int64_t out_pixel_stride;
    int kernel, stride, pad;
    bool bias;
};

const ConvShape kConvShapes[] = {
    // PConv: cp = dim / 4 channels read from (and written into) a dim-wide tensor.
    {"T0.s1.pconv", 56, 56, 10, 40, 10, 10, 3, 1, 1, false},
    {"T2.s1.pconv", 56, 56, 24, 96, 24, 24, 3, 1, 1, false},
    {"L.s1.pconv", 56, 56, 48, 192, 48, 48, 3, 1, 1, false},
    {"L.s3.pconv", 14, 14, 192, 768, 192, 192, 3, 1, 1, false},
    {"L.s4.pconv", 7, 7, 384, 1536, 384, 384, 3, 1, 1, false},
    // Patch embedding 4x4/s4 from RGB, merging 2x2/s2 (dim -> 2 dim), both with folded BN.
    {"T0.embed", 224, 224, 3, 3, 40, 40, 4, 4, 0, true},
    {"L.embed", 224, 224, 3, 3, 192, 192, 4, 4, 0, true},
    {"T0.merge1", 56, 56, 40, 40, 80, 80, 2, 2, 0, true},
    {"L.merge1", 56, 56, 192, 192, 384, 384, 2, 2, 0, true},
    {"L.merge3", 14, 14, 768, 768, 1536, 1536, 2, 2, 0, true},
};

void RegisterConv(const KernelSet* kernels, const ConvShape& shape) {
    const std::string name = std::string("conv/") + kernels->name + "/" + shape.model + "/" +
                             std::to_string(shape.in_h) + "x" + std::to_string(shape.in_w) + "x" +
                             std::to_string(shape.in_c) + "_to_" + std::to_string(shape.out_c) + "_k" +
                             std::to_string(shape.kernel) + "s" + std::to_string(shape.stride);
    benchmark::RegisterBenchmark(name.c_str(), [kernels, shape](benchmark::State& state) {
        const int out_h = (shape.in_h + 2 * shape.pad - shape.kernel) / shape.stride + 1;
        const int out_w = (shape.in_w + 2 * shape.pad - shape.kernel) / shape.stride + 1;
        const AlignedBuffer input =
            RandomBuffer(static_cast<size_t>(shape.in_h) * shape.in_w * shape.in_pixel_stride, 6);
        const AlignedBuffer packed = PackedWeights(shape.kernel * shape.kernel * shape.in_c, shape.out_c, 7);
        const AlignedBuffer bias = RandomBuffer(static_cast<size_t>(shape.out_c), 8);
        AlignedBuffer output(static_cast<size_t>(out_h) * out_w * shape.out_pixel_stride);
        ConvArgs args;
        args.input = input.data();
        args.in_pixel_stride = shape.in_pixel_stride;
        args.in_h = shape.in_h;
        args.in_w = shape.in_w;
        args.in_c = shape.in_c;
        args.kernel = shape.kernel;
        args.stride = shape.stride;
        args.pad = shape.pad;
        args.packed_weights = packed.data();
        args.bias = shape.bias ? bias.data() : nullptr;
        args.output = output.data();
        args.out_pixel_stride = shape.out_pixel_stride;
        args.out_h = out_h;
        args.out_w = out_w;
        args.out_c = shape.out_c;
        args.row_begin = 0;
        args.row_end = out_h;
        for (auto _ : state) {
            kernels->conv(args);
            benchmark::ClobberMemory();
        }
        // Border taps outside the image count as zero work: count only the valid ones.
        double macs = 0.0;
        for (int oy = 0; oy < out_h; ++oy) {
            for (int ky = 0; ky < shape.kernel; ++ky) {
                const int iy = oy * shape.stride - shape.pad + ky;
                if (iy < 0 || iy >= shape.in_h) continue;
                for (int ox = 0; ox < out_w; ++ox) {
                    for (int kx = 0; kx < shape.kernel; ++kx) {
                        const int ix = ox * shape.stride - shape.pad + kx;
                        if (ix >= 0 && ix < shape.in_w) macs += static_cast<double>(shape.in_c) * shape.out_c;
                    }
                }
            }
        }
        SetFlopCounters(state, 2.0 * macs);
    });
}

void RegisterPoolAndAffine(const KernelSet* kernels) {
    const std::string pool_name = std::string("pool/") + kernels->name + "/L.head/7x7x1536";
    benchmark::RegisterBenchmark(pool_name.c_str(), [kernels](benchmark::State& state) {
        const int64_t pixels = 49;
        const int channels = 1536;
        const AlignedBuffer input = RandomBuffer(static_cast<size_t>(pixels) * channels, 9);
        AlignedBuffer output(channels);
        const PoolArgs args{input.data(), pixels, channels, output.data()};
        for (auto _ : state) {
            kernels->global_average_pool(args);
            benchmark::ClobberMemory();
        }
        state.counters["GB/s"] =
            benchmark::Counter(pixels * channels * sizeof(float) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    });
    const std::string affine_name = std::string("affine/") + kernels->name + "/L.norm0/56x56x192";
    benchmark::RegisterBenchmark(affine_name.c_str(), [kernels](benchmark::State& state) {
        const int64_t pixels = 56 * 56;
        const int channels = 192;
        const AlignedBuffer input = RandomBuffer(static_cast<size_t>(pixels) * channels, 10);
        const AlignedBuffer scale = RandomBuffer(channels, 11);
        const AlignedBuffer shift = RandomBuffer(channels, 12);
        AlignedBuffer output(static_cast<size_t>(pixels) * channels);
        const AffineArgs args{input.data(), pixels, channels, scale.data(), shift.data(), output.data()};
        for (auto _ : state) {
            kernels->channel_affine(args);
            benchmark::ClobberMemory();
        }
        state.counters["GB/s"] = benchmark::Counter(2.0 * pixels * channels * sizeof(float) * 1e-9,
                                                    benchmark::Counter::kIsIterationInvariantRate);
    });
}

void RegisterKernelBenchmarks() {
    for (fasternet_kernel_set set : {FASTERNET_KERNELS_AVX512, FASTERNET_KERNELS_AVX2, FASTERNET_KERNELS_NEON}) {
        const KernelSet* kernels = KernelsFor(set);
        if (!kernels) continue;
        for (const GemmShape& shape : kGemmShapes) RegisterGemm(kernels, shape);
        for (const ConvShape& shape : kConvShapes) RegisterConv(kernels, shape);
        RegisterPoolAndAffine(kernels);
    }
    if (CpuFeatures() & kCpuAvx512bf16) {
        for (const GemmShape& shape : kGemmShapes) RegisterBf16Gemm(Avx512Bf16Kernels(), shape);
    }
    RegisterBf16Gemm(ReferenceBf16Kernels(), kGemmShapes[0]);
    // The scalar reference on a few shapes, for the speed-up.
    const KernelSet* reference = ReferenceKernels();
    RegisterGemm(reference, kGemmShapes[0]);
    RegisterConv(reference, kConvShapes[0]);
}

}  // namespace
}  // namespace fasternet

int main(int argc, char** argv) {
    fasternet::RegisterKernelBenchmarks();
    benchmark::AddCustomContext("peak_gflops_per_core", std::to_string(fasternet::PeakGflops()));
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
