// A 64-byte aligned float buffer: cache-line and AVX-512 aligned. Buffers of at least one
// transparent huge page (Linux) are aligned to it and marked for huge pages: the weights of a
// late FasterNet stage stream megabytes per layer, a 4 KB TLB entry per 64 cache lines.
#pragma once

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#ifdef _WIN32
#include <malloc.h>
#else
#include <sys/mman.h>
#endif

namespace fasternet {

// std::aligned_alloc is missing from the Windows C runtime (mingw-w64 included): there,
// _aligned_malloc, whose blocks must go back through _aligned_free.
inline void* AlignedAllocate(size_t alignment, size_t bytes) {
#ifdef _WIN32
    return _aligned_malloc(bytes, alignment);
#else
    return std::aligned_alloc(alignment, bytes);
#endif
}

// The transparent huge page size (Linux sysfs), or 0 when there is none or
// FASTERNET_HUGE_PAGES=0 turns them off.
inline size_t HugePageBytes() {
#ifdef _WIN32
    return 0;
#else
    static const size_t bytes = [] {
        const char* setting = std::getenv("FASTERNET_HUGE_PAGES");
        if (setting && std::strcmp(setting, "0") == 0) return size_t{0};
        size_t value = 0;
        if (FILE* file = std::fopen("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "r")) {
            unsigned long long read = 0;
            if (std::fscanf(file, "%llu", &read) == 1) value = static_cast<size_t>(read);
            std::fclose(file);
        }
        // A power of two of a sane size, or nothing.
        return value >= 4096 && value <= (size_t{1} << 30) && (value & (value - 1)) == 0 ? value : size_t{0};
    }();
    return bytes;
#endif
}

// 64-byte aligned; whole huge pages (with the kernel asked to back them so) from one huge page up.
inline void* AllocateBuffer(size_t bytes) {
    const size_t huge = HugePageBytes();
    if (huge == 0 || bytes < huge) return AlignedAllocate(64, bytes);
    const size_t rounded = (bytes + huge - 1) / huge * huge;
    void* p = AlignedAllocate(huge, rounded);
#ifndef _WIN32
#ifdef MADV_HUGEPAGE
    if (p) madvise(p, rounded, MADV_HUGEPAGE);  // advice only: without it the memory is still fine
#endif
#endif
    return p;
}

inline void AlignedFree(void* p) {
#ifdef _WIN32
    _aligned_free(p);
#else
    std::free(p);
#endif
}

class AlignedBuffer {
public:
    AlignedBuffer() = default;
    explicit AlignedBuffer(size_t count) { Resize(count); }
    AlignedBuffer(const AlignedBuffer&) = delete;
    AlignedBuffer& operator=(const AlignedBuffer&) = delete;
    AlignedBuffer(AlignedBuffer&& other) noexcept : data_(other.data_), size_(other.size_) {
        other.data_ = nullptr;
        other.size_ = 0;
    }
    AlignedBuffer& operator=(AlignedBuffer&& other) noexcept {
        if (this != &other) {
            AlignedFree(data_);
            data_ = other.data_;
            size_ = other.size_;
            other.data_ = nullptr;
            other.size_ = 0;
        }
        return *this;
    }
    ~AlignedBuffer() { AlignedFree(data_); }

    // Discards the contents; new memory is uninitialised.
    void Resize(size_t count) {
        AlignedFree(data_);
        data_ = nullptr;
        size_ = 0;
        if (count == 0) return;
        const size_t bytes = ((count * sizeof(float) + 63) / 64) * 64;
        data_ = static_cast<float*>(AllocateBuffer(bytes));
        if (!data_) throw std::bad_alloc();
        size_ = count;
    }

    float* data() { return data_; }
    const float* data() const { return data_; }
    size_t size() const { return size_; }

private:
    float* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace fasternet
