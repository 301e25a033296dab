// One dispatch table per process: the best kernel set this CPU runs, unless
// FASTERNET_KERNELS or fasternet_force_kernel_set chooses another.
#include "kernels/dispatch.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#endif

namespace fasternet {

uint32_t DetectCpuFeatures() {
    uint32_t features = 0;
#if defined(__x86_64__) || defined(_M_X64)
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    const bool fma = (ecx >> 12) & 1;
    const bool osxsave = (ecx >> 27) & 1;
    if (!osxsave) return 0;
    unsigned xcr0_lo, xcr0_hi;
    __asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    const bool ymm_state = (xcr0_lo & 0x6) == 0x6;
    const bool zmm_state = (xcr0_lo & 0xe6) == 0xe6;
    if (fma && ymm_state) features |= kCpuFma;
    if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
        if (((ebx >> 5) & 1) && ymm_state) features |= kCpuAvx2;
        if (zmm_state) {
            if ((ebx >> 16) & 1) features |= kCpuAvx512f;
            if ((ebx >> 17) & 1) features |= kCpuAvx512dq;
            if ((ebx >> 30) & 1) features |= kCpuAvx512bw;
            if ((ebx >> 31) & 1) features |= kCpuAvx512vl;
        }
    }
    if (__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) {
        if (((eax >> 5) & 1) && zmm_state) features |= kCpuAvx512bf16;
    }
#elif defined(__aarch64__)
    features |= kCpuNeon;
#endif
    return features;
}

uint32_t CpuFeatures() {
    static const uint32_t features = DetectCpuFeatures();
    return features;
}

const KernelSet* KernelsFor(fasternet_kernel_set set) {
    const uint32_t f = CpuFeatures();
    switch (set) {
        case FASTERNET_KERNELS_REFERENCE:
            return ReferenceKernels();
        case FASTERNET_KERNELS_AVX2:
            return ((f & kCpuAvx2) && (f & kCpuFma)) ? Avx2Kernels() : nullptr;
        case FASTERNET_KERNELS_AVX512: {
            const uint32_t need = kCpuAvx512f | kCpuAvx512bw | kCpuAvx512vl | kCpuAvx512dq;
            return (f & need) == need ? Avx512Kernels() : nullptr;
        }
        case FASTERNET_KERNELS_NEON:
            return (f & kCpuNeon) ? NeonKernels() : nullptr;
        default:
            return nullptr;
    }
}

fasternet_kernel_set BestKernelSet() {
    for (fasternet_kernel_set set : {FASTERNET_KERNELS_AVX512, FASTERNET_KERNELS_AVX2, FASTERNET_KERNELS_NEON}) {
        if (KernelsFor(set)) return set;
    }
    return FASTERNET_KERNELS_REFERENCE;
}

bool ParseKernelSetName(const char* name, fasternet_kernel_set* set) {
    static const struct {
        const char* name;
        fasternet_kernel_set set;
    } names[] = {{"auto", FASTERNET_KERNELS_AUTO},
                 {"reference", FASTERNET_KERNELS_REFERENCE},
                 {"avx2", FASTERNET_KERNELS_AVX2},
                 {"avx512", FASTERNET_KERNELS_AVX512},
                 {"neon", FASTERNET_KERNELS_NEON}};
    for (const auto& entry : names) {
        if (std::strcmp(entry.name, name) == 0) {
            *set = entry.set;
            return true;
        }
    }
    return false;
}

namespace {

fasternet_kernel_set InitialKernelSet() {
    const char* requested = std::getenv("FASTERNET_KERNELS");
    fasternet_kernel_set set;
    if (requested && *requested && ParseKernelSetName(requested, &set) && set != FASTERNET_KERNELS_AUTO &&
        KernelsFor(set)) {
        return set;
    }
    return BestKernelSet();
}

std::atomic<int>& ActiveSetStorage() {
    static std::atomic<int> active{static_cast<int>(InitialKernelSet())};
    return active;
}

}  // namespace

fasternet_kernel_set ActiveKernelSet() { return static_cast<fasternet_kernel_set>(ActiveSetStorage().load()); }

bool ForceKernelSet(fasternet_kernel_set set) {
    if (set == FASTERNET_KERNELS_AUTO) set = BestKernelSet();
    if (!KernelsFor(set)) return false;
    ActiveSetStorage().store(static_cast<int>(set));
    return true;
}

const char* KernelSetName(fasternet_kernel_set set) {
    switch (set) {
        case FASTERNET_KERNELS_AUTO: return "auto";
        case FASTERNET_KERNELS_REFERENCE: return "reference";
        case FASTERNET_KERNELS_AVX2: return "avx2";
        case FASTERNET_KERNELS_AVX512: return "avx512";
        case FASTERNET_KERNELS_NEON: return "neon";
    }
    return "unknown";
}

}  // namespace fasternet
