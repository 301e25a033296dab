// bf16 weight packing, the scalar reference bf16 GEMM and the choice of bf16 set.
#include "kernels/bf16.h"

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

namespace {

// One output at a time, K pairs in order, each pair added odd element first.
void ReferenceBf16Gemm(const Bf16GemmArgs& bf) {
    const GemmArgs& args = bf.gemm;
    const int pairs = Bf16PairCount(args.k);
    for (int64_t i = 0; i < args.m; ++i) {
        const float* a_row = args.a + i * args.lda;
        const float* a2_row = args.a2 ? args.a2 + i * args.lda2 : nullptr;
        const auto a_at = [&](int kk) -> float {
            if (kk >= args.k) return 0.0f;
            const float a = (a2_row && kk >= args.k_split) ? a2_row[kk - args.k_split] : a_row[kk];
            return RoundToBf16(a);
        };
        for (int j = 0; j < args.n; ++j) {
            const bf16* panel = bf.packed_b + (j / kPanelWidth) * Bf16PanelStride(args.k);
            const int lane = j % kPanelWidth;
            float sum = args.bias ? args.bias[j] : 0.0f;
            for (int q = 0; q < pairs; ++q) {
                const bf16* w = panel + (static_cast<int64_t>(q) * kPanelWidth + lane) * 2;
                sum += a_at(2 * q + 1) * Bf16ToFloat(w[1]);
                sum += a_at(2 * q) * Bf16ToFloat(w[0]);
            }
            float value = ApplyActivation(sum, args.activation);
            if (args.residual) value += args.residual[i * args.ldr + j];
            args.c[i * args.ldc + j] = value;
        }
    }
}

}  // namespace

const Bf16KernelSet* ReferenceBf16Kernels() {
    static const Bf16KernelSet set = {"reference_bf16", ReferenceBf16Gemm};
    return &set;
}

#if !defined(__x86_64__) && !defined(_M_X64)
const Bf16KernelSet* Avx512Bf16Kernels() { return nullptr; }
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

bool ChooseBf16Set(fasternet_kernel_set fp32_set, const Bf16Capabilities& caps, Bf16Set* set, const char** reason) {
    if (fp32_set == FASTERNET_KERNELS_REFERENCE) {
        *set = Bf16Set::Reference;
        return true;
    }
    // Best first. AMX tiles are not built yet: the AMX set exists only as a name here.
    if (caps.amx_bf16 && caps.amx_permitted && Bf16KernelsFor(Bf16Set::Amx)) {
        *set = Bf16Set::Amx;
        return true;
    }
    if (caps.avx512_bf16 && Bf16KernelsFor(Bf16Set::Avx512Bf16)) {
        *set = Bf16Set::Avx512Bf16;
        return true;
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
        case Bf16Set::Amx: return nullptr;
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
