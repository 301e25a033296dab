// bf16 weight packing, the scalar reference bf16 GEMM and conv, and the choice of bf16 set.
#include "kernels/bf16.h"

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <vector>

#include "kernels/dispatch.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#endif
#if defined(__linux__) && (defined(__x86_64__) || defined(_M_X64))
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace fasternet {

void PackBf16Panels(const float* weight, int k, int n, bf16* packed) {
    const int panels = (n + kPanelWidth - 1) / kPanelWidth;
    const int pairs = Bf16PairCount(k);
    for (int p = 0; p < panels; ++p) {
        bf16* panel = packed + p * Bf16PanelStride(k);
        for (int q = 0; q < pairs; ++q) {
            for (int j = 0; j < kPanelWidth; ++j) {
                const int col = p * kPanelWidth + j;
                for (int half = 0; half < 2; ++half) {
                    const int kk = 2 * q + half;
                    const float w = (col < n && kk < k) ? weight[static_cast<size_t>(col) * k + kk] : 0.0f;
                    panel[(static_cast<int64_t>(q) * kPanelWidth + j) * 2 + half] = FloatToBf16(w);
                }
            }
        }
    }
}

void PackBf16ConvPanels(const float* weight, int out_c, int in_c, int kernel, bf16* packed) {
    const int taps = kernel * kernel, tap_channels = Bf16TapChannels(in_c);
    const int k = taps * tap_channels;
    std::vector<float> padded(static_cast<size_t>(out_c) * k, 0.0f);
    for (int co = 0; co < out_c; ++co) {
        for (int t = 0; t < taps; ++t) {
            for (int ci = 0; ci < in_c; ++ci) {
                padded[static_cast<size_t>(co) * k + t * tap_channels + ci] =
                    weight[(static_cast<size_t>(co) * taps + t) * in_c + ci];
            }
        }
    }
    PackBf16Panels(padded.data(), k, out_c, packed);
}

namespace {

// bias + the K pairs of one output column, in order, each pair odd element first
// (VDPBF16PS's order); `a` holds the K values already rounded to bf16. Not loop-vectorized:
// g++ 12 -O3 miscompiles this two-add chain (sums off by whole units, seen from K = 5 up).
__attribute__((optimize("no-tree-loop-vectorize"))) float Bf16Dot(float start, const float* a, const bf16* panel, int lane, int pairs) {
    float sum = start;
    for (int q = 0; q < pairs; ++q) {
        const bf16* w = panel + (static_cast<int64_t>(q) * kPanelWidth + lane) * 2;
        sum += a[2 * q + 1] * Bf16ToFloat(w[1]);
        sum += a[2 * q] * Bf16ToFloat(w[0]);
    }
    return sum;
}

// One output row at a time: the row's K values rounded to bf16 (zero past K), then Bf16Dot.
void ReferenceBf16Gemm(const Bf16GemmArgs& bf) {
    const GemmArgs& args = bf.gemm;
    const int pairs = Bf16PairCount(args.k);
    std::vector<float> row(2 * static_cast<size_t>(pairs), 0.0f);
    for (int64_t i = 0; i < args.m; ++i) {
        const float* a_row = bf.a_bf16 ? nullptr : args.a + i * args.lda;
        const float* a2_row = args.a2 ? args.a2 + i * args.lda2 : nullptr;
        const bf16* a_bf16_row = bf.a_bf16 ? bf.a_bf16 + i * args.lda : nullptr;
        for (int kk = 0; kk < args.k; ++kk) {
            if (a2_row && kk >= args.k_split) {
                row[kk] = RoundToBf16(a2_row[kk - args.k_split]);
            } else {
                row[kk] = a_bf16_row ? Bf16ToFloat(a_bf16_row[kk]) : RoundToBf16(a_row[kk]);
            }
        }
        for (int j = 0; j < args.n; ++j) {
            const bf16* panel = bf.packed_b + (j / kPanelWidth) * Bf16PanelStride(args.k);
            const float sum = Bf16Dot(args.bias ? args.bias[j] : 0.0f, row.data(), panel, j % kPanelWidth, pairs);
            float value = ApplyActivation(sum, args.activation);
            if (args.residual) value += args.residual[i * args.ldr + j];
            if (bf.c_bf16) {
                bf.c_bf16[i * args.ldc + j] = FloatToBf16(value);
            } else {
                args.c[i * args.ldc + j] = value;
            }
        }
    }
}

// One output pixel at a time: its window in the bf16 conv's K order (taps, then
// channels padded to even; zeros outside the image), rounded, then Bf16Dot.
void ReferenceBf16Conv(const Bf16ConvArgs& bf) {
    const ConvArgs& args = bf.conv;
    const int tap_channels = Bf16TapChannels(args.in_c);
    const int k = Bf16ConvDepth(args.kernel, args.in_c);
    std::vector<float> window(static_cast<size_t>(k));
    for (int oy = args.row_begin; oy < args.row_end; ++oy) {
        for (int ox = 0; ox < args.out_w; ++ox) {
            std::fill(window.begin(), window.end(), 0.0f);
            ForEachWindowTap(args, oy, ox, [&](int tap, const float* in) {
                float* window_tap = window.data() + tap * tap_channels;
                for (int ci = 0; ci < args.in_c; ++ci) window_tap[ci] = RoundToBf16(in[ci]);
            });
            const int64_t out = (static_cast<int64_t>(oy) * args.out_w + ox) * args.out_pixel_stride;
            for (int co = 0; co < args.out_c; ++co) {
                const bf16* panel = bf.packed_weights + (co / kPanelWidth) * Bf16PanelStride(k);
                const float sum =
                    Bf16Dot(args.bias ? args.bias[co] : 0.0f, window.data(), panel, co % kPanelWidth, k / 2);
                const float value = ApplyActivation(sum, args.activation);
                if (bf.output_bf16) {
                    bf.output_bf16[out + co] = FloatToBf16(value);
                } else {
                    args.output[out + co] = value;
                }
            }
        }
    }
}

}  // namespace

const Bf16KernelSet* ReferenceBf16Kernels() {
    static const Bf16KernelSet set = {"reference_bf16", ReferenceBf16Gemm, ReferenceBf16Conv};
    return &set;
}

#if !defined(__x86_64__) && !defined(_M_X64)
const Bf16KernelSet* Avx512Bf16Kernels() { return nullptr; }
#endif
#if !defined(__x86_64__) || defined(_WIN32)
// The real AMX set is built for x86-64 Linux only (x86_amx_bf16/kernel_set.cpp, native/CMakeLists.txt).
const Bf16KernelSet* AmxBf16Kernels() { return nullptr; }
AmxPeakRound AmxBf16PeakRound() { return nullptr; }
#endif

Bf16Capabilities DetectBf16Capabilities() {
    Bf16Capabilities caps;
    caps.avx512_bf16 = (CpuFeatures() & kCpuAvx512bf16) != 0;
#if defined(__x86_64__) || defined(_M_X64)
    unsigned eax, ebx, ecx, edx;
    if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
        caps.amx_bf16 = ((edx >> 22) & 1) && ((edx >> 24) & 1);
    }
#if defined(__linux__)
    // Tile data is off until the process asks for it; only then may tiles be used.
    if (caps.amx_bf16) {
        constexpr long kArchReqXcompPerm = 0x1023;
        constexpr long kXfeatureXtiledata = 18;
        caps.amx_permitted = syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
    }
#endif
#endif
    return caps;
}

namespace {

bool CanRun(Bf16Set set, const Bf16Capabilities& caps) {
    switch (set) {
        case Bf16Set::Reference: return true;
        case Bf16Set::Avx512Bf16: return caps.avx512_bf16 && Bf16KernelsFor(set);
        // AMX only when CPUID reports it and the OS granted tile data to this process (and with
        // AVX512-BF16, which the AMX set's rounding and epilogue use; every AMX CPU has it).
        case Bf16Set::Amx: return caps.amx_bf16 && caps.amx_permitted && caps.avx512_bf16 && Bf16KernelsFor(set);
    }
    return false;
}

}  // namespace

bool ParseBf16SetName(const char* name, Bf16Set* set) {
    for (Bf16Set candidate : {Bf16Set::Reference, Bf16Set::Avx512Bf16, Bf16Set::Amx}) {
        if (std::strcmp(name, Bf16SetName(candidate)) == 0) {
            *set = candidate;
            return true;
        }
    }
    return false;
}

bool ChooseBf16Set(fasternet_kernel_set fp32_set, const Bf16Capabilities& caps, Bf16Set* set, const char** reason,
                   const char* requested) {
    if (requested && *requested && std::strcmp(requested, "auto") != 0) {
        Bf16Set wanted;
        if (!ParseBf16SetName(requested, &wanted)) {
            *reason = "FASTERNET_BF16_KERNELS must be auto, reference_bf16, avx512_bf16 or amx_bf16";
            return false;
        }
        if (!CanRun(wanted, caps)) {
            *reason = wanted == Bf16Set::Amx
                          ? "FASTERNET_BF16_KERNELS=amx_bf16: this CPU, OS or build cannot run AMX tiles (needs "
                            "AMX-TILE, AMX-BF16, AVX512-BF16 and the OS's permission for tile data)"
                          : "FASTERNET_BF16_KERNELS=avx512_bf16: this CPU/build lacks AVX512-BF16";
            return false;
        }
        *set = wanted;
        return true;
    }
    if (fp32_set == FASTERNET_KERNELS_REFERENCE) {
        *set = Bf16Set::Reference;
        return true;
    }
    // Best first.
    for (Bf16Set candidate : {Bf16Set::Amx, Bf16Set::Avx512Bf16}) {
        if (CanRun(candidate, caps)) {
            *set = candidate;
            return true;
        }
    }
    *reason = caps.amx_bf16 && !caps.amx_permitted
                  ? "bf16 precision: this CPU has AMX but the OS refused tile data to this process, and it lacks "
                    "AVX512-BF16; use the reference kernel set for the (slow) reference bf16 path"
                  : "bf16 precision needs AVX512-BF16 or AMX, which this CPU/build lacks; use the reference kernel "
                    "set for the (slow) reference bf16 path";
    return false;
}

const Bf16KernelSet* Bf16KernelsFor(Bf16Set set) {
    switch (set) {
        case Bf16Set::Reference: return ReferenceBf16Kernels();
        case Bf16Set::Avx512Bf16: return Avx512Bf16Kernels();
        case Bf16Set::Amx: return AmxBf16Kernels();
    }
    return nullptr;
}

const char* Bf16SetName(Bf16Set set) {
    switch (set) {
        case Bf16Set::Reference: return "reference_bf16";
        case Bf16Set::Avx512Bf16: return "avx512_bf16";
        case Bf16Set::Amx: return "amx_bf16";
    }
    return "unknown";
}

}  // namespace fasternet
