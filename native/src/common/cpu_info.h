// The host CPU as the kernels need it: model name, logical cores and data cache
// sizes, read once at load from CPUID (x86: leaf 4 on Intel, 0x8000001D on AMD)
// or sysfs (arm64, and x86 when CPUID does not describe its caches).
#pragma once

#include <cstdint>
#include <string>

namespace fasternet {

struct CacheLevel {
    int64_t bytes = 0;  // 0 when unknown
    int ways = 0;       // associativity; 0 when unknown
    int line_bytes = 0;
};

struct CpuInfo {
    std::string model;  // brand string, or "unknown"
    int logical_cores = 1;
    CacheLevel l1d, l2, l3;  // per core for L1d/L2, as the CPU reports L3 (shared)
    bool caches_measured = false;  // false: the sizes below are the fallbacks
};

// Detected once per process; caches that cannot be read get conservative defaults
// (32 KB 8-way L1d, 1 MB L2, 8 MB L3) and caches_measured stays false.
const CpuInfo& HostCpu();

}  // namespace fasternet
