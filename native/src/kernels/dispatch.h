// Run-time choice of the kernel set.
#pragma once

#include <cstdint>

#include "fasternet.h"
#include "kernels/kernels.h"

namespace fasternet {

constexpr uint32_t kCpuAvx2 = FASTERNET_CPU_AVX2;
constexpr uint32_t kCpuFma = FASTERNET_CPU_FMA;
constexpr uint32_t kCpuAvx512f = FASTERNET_CPU_AVX512F;
constexpr uint32_t kCpuAvx512bw = FASTERNET_CPU_AVX512BW;
constexpr uint32_t kCpuAvx512vl = FASTERNET_CPU_AVX512VL;
constexpr uint32_t kCpuAvx512dq = FASTERNET_CPU_AVX512DQ;
constexpr uint32_t kCpuAvx512bf16 = FASTERNET_CPU_AVX512BF16;
constexpr uint32_t kCpuNeon = FASTERNET_CPU_NEON;

uint32_t CpuFeatures();

// The kernel table for a set, or nullptr when this build or CPU cannot run it.
const KernelSet* KernelsFor(fasternet_kernel_set set);

fasternet_kernel_set BestKernelSet();
fasternet_kernel_set ActiveKernelSet();
bool ForceKernelSet(fasternet_kernel_set set);
bool ParseKernelSetName(const char* name, fasternet_kernel_set* set);
const char* KernelSetName(fasternet_kernel_set set);

}  // namespace fasternet
