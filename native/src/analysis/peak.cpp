// The roofline's two ceilings, measured: fp32 FMA throughput and triad memory bandwidth.
//
// Peak: every thread runs many independent FMA chains (more chains than FMA latency x
// FMA ports) so the pipes never wait, with the widest FMA the active kernel set uses;
// best of short rounds.
// Bandwidth: STREAM's triad a[i] = b[i] + s * c[i], best of several passes.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "analysis/analysis.h"
#include "common/aligned_buffer.h"
#include "common/error.h"
#include "kernels/bf16.h"
#include "kernels/dispatch.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define FASTERNET_PEAK_X86 1
#elif defined(__aarch64__)
#include <arm_neon.h>
#define FASTERNET_PEAK_NEON 1
#endif

namespace fasternet {
namespace {

using Clock = std::chrono::steady_clock;

// FMAs per loop trip and per call of a chain kernel; the chains' result goes to this sink so
// the compiler cannot drop the work.
constexpr int64_t kTripsPerCall = 1 << 14;
volatile float g_sink = 0.0f;

// Multiplier and addend keep every chain bounded near 1 (x -> 0.999999 x + 1e-6): no overflow,
// no denormals, whatever the run time. Volatile, so the compiler cannot fold the chains away.
volatile float g_scale = 0.999999f;
volatile float g_shift = 1e-6f;

// One call: kTripsPerCall trips of `Chains` FMAs of `Lanes` floats. Returns flops done.
using ChainKernel = double (*)();

#if defined(FASTERNET_PEAK_X86)
__attribute__((target("avx512f"))) double FmaChainsAvx512() {
    constexpr int kChains = 24;  // 32 zmm registers: 24 chains + 2 constants, latency 4 x 2 ports = 8 needed
    const __m512 scale = _mm512_set1_ps(g_scale), shift = _mm512_set1_ps(g_shift);
    __m512 acc[kChains];
#pragma GCC unroll 32
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(1.0f + 0.001f * static_cast<float>(c));
    for (int64_t trip = 0; trip < kTripsPerCall; ++trip) {
#pragma GCC unroll 32
        for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], scale, shift);
    }
    __m512 sum = acc[0];
#pragma GCC unroll 32
    for (int c = 1; c < kChains; ++c) sum = _mm512_add_ps(sum, acc[c]);
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, sum);
    float total = 0.0f;
    for (float v : lanes) total += v;
    g_sink = total;
    return 2.0 * 16 * kChains * static_cast<double>(kTripsPerCall);
}

// bf16 pair dot products: acc += a[2i] * b[2i] + a[2i+1] * b[2i+1] per fp32 lane. Products of
// 2^-10 keep the chains far from overflow over a call.
__attribute__((target("avx512f,avx512bf16"))) double Bf16DotChainsAvx512() {
    constexpr int kChains = 24;
    const __m512bh a = (__m512bh)_mm512_set1_epi16(0x3A80);  // bf16 2^-10
    const __m512bh b = (__m512bh)_mm512_set1_epi16(0x3F80);  // bf16 1
    __m512 acc[kChains];
#pragma GCC unroll 32
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(0.001f * static_cast<float>(c));
    for (int64_t trip = 0; trip < kTripsPerCall; ++trip) {
#pragma GCC unroll 32
        for (int c = 0; c < kChains; ++c) acc[c] = _mm512_dpbf16_ps(acc[c], a, b);
    }
    __m512 sum = acc[0];
#pragma GCC unroll 32
    for (int c = 1; c < kChains; ++c) sum = _mm512_add_ps(sum, acc[c]);
    g_sink = _mm512_reduce_add_ps(sum);
    return 4.0 * 16 * kChains * static_cast<double>(kTripsPerCall);
}

__attribute__((target("avx2,fma"))) double FmaChainsAvx2() {
    constexpr int kChains = 12;  // 16 ymm registers: 12 chains + 2 constants
    const __m256 scale = _mm256_set1_ps(g_scale), shift = _mm256_set1_ps(g_shift);
    __m256 acc[kChains];
#pragma GCC unroll 32
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_ps(1.0f + 0.001f * static_cast<float>(c));
    for (int64_t trip = 0; trip < kTripsPerCall; ++trip) {
#pragma GCC unroll 32
        for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], scale, shift);
    }
    __m256 sum = acc[0];
#pragma GCC unroll 32
    for (int c = 1; c < kChains; ++c) sum = _mm256_add_ps(sum, acc[c]);
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, sum);
    float total = 0.0f;
    for (float v : lanes) total += v;
    g_sink = total;
    return 2.0 * 8 * kChains * static_cast<double>(kTripsPerCall);
}
#endif

#if defined(FASTERNET_PEAK_NEON)
double FmaChainsNeon() {
    constexpr int kChains = 16;  // 32 q registers
    const float32x4_t scale = vdupq_n_f32(g_scale), shift = vdupq_n_f32(g_shift);
    float32x4_t acc[kChains];
#pragma GCC unroll 32
    for (int c = 0; c < kChains; ++c) acc[c] = vdupq_n_f32(1.0f + 0.001f * static_cast<float>(c));
    for (int64_t trip = 0; trip < kTripsPerCall; ++trip) {
#pragma GCC unroll 32
        for (int c = 0; c < kChains; ++c) acc[c] = vfmaq_f32(shift, acc[c], scale);
    }
    float32x4_t sum = acc[0];
#pragma GCC unroll 32
    for (int c = 1; c < kChains; ++c) sum = vaddq_f32(sum, acc[c]);
    g_sink = vaddvq_f32(sum);
    return 2.0 * 4 * kChains * static_cast<double>(kTripsPerCall);
}
#endif

// Portable fallback: multiply-add chains in plain C++ (a multiply and an add: 2 flops, as an FMA).
double FmaChainsScalar() {
    constexpr int kChains = 8;
    const float scale = g_scale, shift = g_shift;
    float acc[kChains];
#pragma GCC unroll 32
    for (int c = 0; c < kChains; ++c) acc[c] = 1.0f + 0.001f * static_cast<float>(c);
    for (int64_t trip = 0; trip < kTripsPerCall; ++trip) {
#pragma GCC unroll 32
        for (int c = 0; c < kChains; ++c) acc[c] = acc[c] * scale + shift;
    }
    float total = 0.0f;
    for (float v : acc) total += v;
    g_sink = total;
    return 2.0 * kChains * static_cast<double>(kTripsPerCall);
}

// The widest FMA that the active kernel set itself uses (a forced avx2 set measures avx2's peak).
ChainKernel ChainKernelForActiveSet() {
    switch (ActiveKernelSet()) {
#if defined(FASTERNET_PEAK_X86)
        case FASTERNET_KERNELS_AVX512:
            if (CpuFeatures() & kCpuAvx512f) return FmaChainsAvx512;
            [[fallthrough]];
        case FASTERNET_KERNELS_AVX2:
            if ((CpuFeatures() & kCpuAvx2) && (CpuFeatures() & kCpuFma)) return FmaChainsAvx2;
            break;
#endif
#if defined(FASTERNET_PEAK_NEON)
        case FASTERNET_KERNELS_NEON:
            return FmaChainsNeon;
#endif
        default:
            break;
    }
    return FmaChainsScalar;
}

double SecondsSince(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

namespace {

double MeasureChainsGflops(ChainKernel kernel, int threads, double seconds) {
    if (threads < 1) Fail(FASTERNET_INVALID_ARGUMENT, "threads must be at least 1, got ", threads);
    kernel();  // warm-up: wakes the FMA units up to their full-width clock
    // A ceiling is the best the machine can do: best of short rounds, so that a moment of
    // contention from other processes lowers one round, not the result.
    constexpr double kRoundSeconds = 0.05;
    const int rounds = std::max(1, static_cast<int>(seconds / kRoundSeconds));
    const double round_seconds = seconds / rounds;
    double best = 0.0;
    for (int round = 0; round < rounds; ++round) {
        double total_flops = 0.0;
        double wall_seconds = 0.0;
#pragma omp parallel num_threads(threads) reduction(+ : total_flops)
        {
            // Every thread works until the same deadline, so the wall time covers all of them.
#pragma omp barrier
            const Clock::time_point start = Clock::now();
            double flops = 0.0;
            do {
                flops += kernel();
            } while (SecondsSince(start) < round_seconds);
            total_flops += flops;
            const double elapsed = SecondsSince(start);
#pragma omp critical
            wall_seconds = std::max(wall_seconds, elapsed);
        }
        best = std::max(best, total_flops / wall_seconds / 1e9);
    }
    return best;
}

}  // namespace

double MeasurePeakGflops(int threads, double seconds) {
    return MeasureChainsGflops(ChainKernelForActiveSet(), threads, seconds);
}

double MeasureBf16PeakGflops(int threads, double seconds) {
#if defined(FASTERNET_PEAK_X86)
    if (CpuFeatures() & kCpuAvx512bf16) return MeasureChainsGflops(Bf16DotChainsAvx512, threads, seconds);
#endif
    Fail(FASTERNET_UNSUPPORTED, "this CPU has no AVX512-BF16 (VDPBF16PS) to measure");
}

double MeasureAmxBf16PeakGflops(int threads, double seconds) {
    static const Bf16Capabilities caps = DetectBf16Capabilities();
    if (!caps.amx_bf16) Fail(FASTERNET_UNSUPPORTED, "this CPU has no AMX-TILE + AMX-BF16 (TDPBF16PS) to measure");
    if (!caps.amx_permitted) Fail(FASTERNET_UNSUPPORTED, "the OS refused AMX tile data (XTILEDATA) to this process");
    if (!caps.avx512_bf16) Fail(FASTERNET_UNSUPPORTED, "this CPU has AMX but no AVX512-BF16; the AMX set is not used");
    const AmxPeakRound round = AmxBf16PeakRound();
    if (!round) Fail(FASTERNET_UNSUPPORTED, "this build has no AMX tiles (built for x86-64 Linux only)");
    return MeasureChainsGflops(round, threads, seconds);
}

namespace {

using TriadKernel = void (*)(float* a, const float* b, const float* c, float scalar, int64_t begin, int64_t end);

void TriadPortable(float* a, const float* b, const float* c, float scalar, int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) a[i] = b[i] + scalar * c[i];
}

#if defined(FASTERNET_PEAK_X86)
// 256-bit loads and stores: one thread needs wide accesses to come near the memory bus's speed.
__attribute__((target("avx2,fma"))) void TriadAvx2(float* a, const float* b, const float* c, float scalar,
                                                  int64_t begin, int64_t end) {
    const __m256 s = _mm256_set1_ps(scalar);
    int64_t i = begin;
    for (; i + 8 <= end; i += 8) {
        _mm256_storeu_ps(a + i, _mm256_fmadd_ps(s, _mm256_loadu_ps(c + i), _mm256_loadu_ps(b + i)));
    }
    for (; i < end; ++i) a[i] = b[i] + scalar * c[i];
}
#endif

TriadKernel TriadKernelForCpu() {
#if defined(FASTERNET_PEAK_X86)
    if ((CpuFeatures() & kCpuAvx2) && (CpuFeatures() & kCpuFma)) return TriadAvx2;
#endif
    return TriadPortable;
}

}  // namespace

double MeasureBandwidth(int threads, int64_t bytes) {
    if (threads < 1) Fail(FASTERNET_INVALID_ARGUMENT, "threads must be at least 1, got ", threads);
    const int64_t count = bytes / 3 / static_cast<int64_t>(sizeof(float));
    if (count < 1) Fail(FASTERNET_INVALID_ARGUMENT, "bytes must hold at least one float per array, got ", bytes);
    AlignedBuffer a(static_cast<size_t>(count)), b(static_cast<size_t>(count)), c(static_cast<size_t>(count));
    float* pa = a.data();
    float* pb = b.data();
    float* pc = c.data();
    const TriadKernel triad = TriadKernelForCpu();

    // First touch by the thread that will stream each slice: pages land on its memory node.
    const auto slice = [count](int thread, int thread_count) {
        const int64_t per = (count + thread_count - 1) / thread_count;
        const int64_t begin = std::min<int64_t>(count, per * thread);
        return std::pair<int64_t, int64_t>{begin, std::min<int64_t>(count, begin + per)};
    };
#pragma omp parallel num_threads(threads)
    {
        const auto [begin, end] = slice(omp_get_thread_num(), omp_get_num_threads());
        for (int64_t i = begin; i < end; ++i) {
            pa[i] = 0.0f;
            pb[i] = 1.0f;
            pc[i] = 2.0f;
        }
    }

    constexpr int kPasses = 8;  // the first pass also faults pages in; best of the rest
    double best = 0.0;
    for (int pass = 0; pass < kPasses; ++pass) {
        const Clock::time_point start = Clock::now();
#pragma omp parallel num_threads(threads)
        {
            const auto [begin, end] = slice(omp_get_thread_num(), omp_get_num_threads());
            triad(pa, pb, pc, 0.5f, begin, end);
        }
        const double elapsed = SecondsSince(start);
        if (pass > 0 || kPasses == 1) best = std::max(best, 3.0 * sizeof(float) * static_cast<double>(count) / elapsed);
    }
    g_sink = pa[count / 2];
    return best / 1e9;
}

}  // namespace fasternet
