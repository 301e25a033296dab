#include "common/cpu_info.h"

#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#endif

namespace fasternet {
namespace {

#if defined(__x86_64__) || defined(_M_X64)
std::string BrandString() {
    unsigned regs[12] = {};
    unsigned max_extended = __get_cpuid_max(0x80000000u, nullptr);
    if (max_extended < 0x80000004u) return {};
    for (unsigned leaf = 0; leaf < 3; ++leaf) {
        __get_cpuid(0x80000002u + leaf, &regs[leaf * 4], &regs[leaf * 4 + 1], &regs[leaf * 4 + 2], &regs[leaf * 4 + 3]);
    }
    char text[49] = {};
    std::memcpy(text, regs, 48);
    std::string brand(text);
    const size_t first = brand.find_first_not_of(' ');
    const size_t last = brand.find_last_not_of(' ');
    return first == std::string::npos ? std::string() : brand.substr(first, last - first + 1);
}

// Deterministic cache parameters: Intel's leaf 4 and AMD's 0x8000001D share one layout.
bool ReadCpuidCaches(CpuInfo& info) {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    unsigned leaf = 4;
    if (__get_cpuid(0x80000001u, &eax, &ebx, &ecx, &edx) && ((ecx >> 22) & 1) &&
        __get_cpuid_max(0x80000000u, nullptr) >= 0x8000001Du) {
        leaf = 0x8000001Du;  // AMD topology extensions
    } else if (__get_cpuid_max(0, nullptr) < 4) {
        return false;
    }
    bool found = false;
    for (unsigned index = 0; index < 16; ++index) {
        __cpuid_count(leaf, index, eax, ebx, ecx, edx);
        const unsigned type = eax & 0x1f;  // 0 none, 1 data, 2 instruction, 3 unified
        if (type == 0) break;
        if (type == 2) continue;
        const unsigned level = (eax >> 5) & 0x7;
        CacheLevel cache;
        cache.ways = static_cast<int>(((ebx >> 22) & 0x3ff) + 1);
        const int64_t partitions = ((ebx >> 12) & 0x3ff) + 1;
        cache.line_bytes = static_cast<int>((ebx & 0xfff) + 1);
        const int64_t sets = int64_t{ecx} + 1;
        cache.bytes = cache.ways * partitions * cache.line_bytes * sets;
        if (level == 1) info.l1d = cache;
        if (level == 2) info.l2 = cache;
        if (level == 3) info.l3 = cache;
        found = true;
    }
    return found && info.l1d.bytes > 0 && info.l2.bytes > 0;
}

// AMD's older cache leaves (also what virtual machines that hide the leaves above keep):
// 0x80000005 ECX for L1d, 0x80000006 ECX / EDX for L2 / L3.
bool ReadLegacyAmdCaches(CpuInfo& info) {
    if (__get_cpuid_max(0x80000000u, nullptr) < 0x80000006u) return false;
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    __get_cpuid(0x80000005u, &eax, &ebx, &ecx, &edx);
    info.l1d = {int64_t{ecx >> 24} * 1024, static_cast<int>((ecx >> 16) & 0xff), static_cast<int>(ecx & 0xff)};
    __get_cpuid(0x80000006u, &eax, &ebx, &ecx, &edx);
    static const int kWays[16] = {0, 1, 2, 3, 4, 6, 8, 0, 16, 0, 32, 48, 64, 96, 128, 0};
    info.l2 = {int64_t{ecx >> 16} * 1024, kWays[(ecx >> 12) & 0xf], static_cast<int>(ecx & 0xff)};
    info.l3 = {int64_t{edx >> 18} * 512 * 1024, kWays[(edx >> 12) & 0xf], static_cast<int>(edx & 0xff)};
    return info.l1d.bytes > 0 && info.l2.bytes > 0;
}
#endif

std::string ReadLine(const std::string& path) {
    std::ifstream file(path);
    std::string line;
    std::getline(file, line);
    return line;
}

// "48K", "1024K", "32M" -> bytes.
int64_t ParseSize(const std::string& text) {
    if (text.empty()) return 0;
    size_t used = 0;
    int64_t value = 0;
    try {
        value = std::stoll(text, &used);
    } catch (...) {
        return 0;
    }
    const char unit = used < text.size() ? text[used] : ' ';
    if (unit == 'K' || unit == 'k') return value * 1024;
    if (unit == 'M' || unit == 'm') return value * 1024 * 1024;
    return value;
}

bool ReadSysfsCaches(CpuInfo& info) {
    bool found = false;
    for (int index = 0; index < 16; ++index) {
        const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
        const std::string level = ReadLine(dir + "level");
        if (level.empty()) break;
        const std::string type = ReadLine(dir + "type");
        if (type == "Instruction") continue;
        CacheLevel cache;
        cache.bytes = ParseSize(ReadLine(dir + "size"));
        cache.ways = static_cast<int>(ParseSize(ReadLine(dir + "ways_of_associativity")));
        cache.line_bytes = static_cast<int>(ParseSize(ReadLine(dir + "coherency_line_size")));
        if (cache.bytes <= 0) continue;
        if (level == "1") info.l1d = cache;
        if (level == "2") info.l2 = cache;
        if (level == "3") info.l3 = cache;
        found = true;
    }
    return found && info.l1d.bytes > 0 && info.l2.bytes > 0;
}

std::string ProcCpuModel() {
    std::ifstream file("/proc/cpuinfo");
    std::string line;
    while (std::getline(file, line)) {
        for (const char* key : {"model name", "Model", "Hardware"}) {
            if (line.rfind(key, 0) == 0) {
                const size_t colon = line.find(':');
                if (colon != std::string::npos && colon + 2 <= line.size()) return line.substr(colon + 2);
            }
        }
    }
    return {};
}

CpuInfo DetectCpu() {
    CpuInfo info;
    const unsigned cores = std::thread::hardware_concurrency();
    info.logical_cores = cores > 0 ? static_cast<int>(cores) : 1;
#if defined(__x86_64__) || defined(_M_X64)
    info.model = BrandString();
    info.caches_measured = ReadCpuidCaches(info) || ReadLegacyAmdCaches(info);
#endif
    if (!info.caches_measured) info.caches_measured = ReadSysfsCaches(info);
    if (info.model.empty()) info.model = ProcCpuModel();
    if (info.model.empty()) info.model = "unknown";
    if (!info.caches_measured) {
        info.l1d = {32 * 1024, 8, 64};
        info.l2 = {1024 * 1024, 16, 64};
        info.l3 = {8 * 1024 * 1024, 16, 64};
    }
    if (info.l1d.ways <= 0) info.l1d.ways = 8;
    if (info.l1d.line_bytes <= 0) info.l1d.line_bytes = 64;
    return info;
}

}  // namespace

const CpuInfo& HostCpu() {
    static const CpuInfo info = DetectCpu();
    return info;
}

}  // namespace fasternet
