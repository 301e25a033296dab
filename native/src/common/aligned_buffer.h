// A 64-byte aligned float buffer: cache-line and AVX-512 aligned. Buffers of at least one
// transparent huge page (Linux) are aligned to it and marked for huge pages: the weights of a
// late FasterNet stage stream megabytes per layer, a 4 KB TLB entry per 64 cache lines.
#pragma once

#include <cstddef>
#include <cstdint>
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

// Whole huge pages for a buffer of `bytes` that gets its own mapping (one huge page or more),
// else 0: such buffers come from AlignedAllocate.
inline size_t MappedBytes(size_t bytes) {
    const size_t huge = HugePageBytes();
    return huge != 0 && bytes >= huge ? (bytes + huge - 1) / huge * huge : 0;
}

// 64-byte aligned; from one huge page up, whole huge pages mapped on their own and marked for huge
// pages before anything touches them. Not from malloc: after a large free, glibc serves large
// blocks from its heap, already resident in 4 KB pages, and a 2 MB region with a small page in it
// gets no huge page when touched (a FasterNet-L created after an M had 10-65 MB of its 375 MB in
// huge pages that way).
inline void* AllocateBuffer(size_t bytes) {
    const size_t mapped_bytes = MappedBytes(bytes);
    if (mapped_bytes == 0) return AlignedAllocate(64, bytes);
#ifndef _WIN32  // HugePageBytes() is 0 on Windows
    // Over-map by one huge page, keep the aligned part, unmap the rest.
    const size_t huge = HugePageBytes();
    void* mapped = mmap(nullptr, mapped_bytes + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped == MAP_FAILED) return nullptr;
    const uintptr_t start = reinterpret_cast<uintptr_t>(mapped);
    const uintptr_t aligned = (start + huge - 1) / huge * huge;
    if (aligned > start) munmap(mapped, aligned - start);
    if (start + huge > aligned) munmap(reinterpret_cast<void*>(aligned + mapped_bytes), start + huge - aligned);
    void* p = reinterpret_cast<void*>(aligned);
#ifdef MADV_HUGEPAGE
    madvise(p, mapped_bytes, MADV_HUGEPAGE);  // advice only: without it the memory is still fine
#endif
    return p;
#else
    return nullptr;
#endif
}

// Frees what AllocateBuffer(bytes) returned.
inline void FreeBuffer(void* p, size_t bytes) {
    if (!p) return;
#ifdef _WIN32
    _aligned_free(p);
#else
    if (const size_t mapped_bytes = MappedBytes(bytes))
        munmap(p, mapped_bytes);
    else
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
            Free();
            data_ = other.data_;
            size_ = other.size_;
            other.data_ = nullptr;
            other.size_ = 0;
        }
        return *this;
    }
    ~AlignedBuffer() { Free(); }

    // Discards the contents; new memory is uninitialised.
    void Resize(size_t count) {
        Free();
        if (count == 0) return;
        data_ = static_cast<float*>(AllocateBuffer(Bytes(count)));
        if (!data_) throw std::bad_alloc();
        size_ = count;
    }

    float* data() { return data_; }
    const float* data() const { return data_; }
    size_t size() const { return size_; }

private:
    static size_t Bytes(size_t count) { return (count * sizeof(float) + 63) / 64 * 64; }
    void Free() {
        FreeBuffer(data_, Bytes(size_));
        data_ = nullptr;
        size_ = 0;
    }

    float* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace fasternet
