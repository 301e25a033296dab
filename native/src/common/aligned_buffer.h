// A 64-byte aligned float buffer: cache-line and AVX-512 aligned.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>
#ifdef _WIN32
#include <malloc.h>
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
        data_ = static_cast<float*>(AlignedAllocate(64, bytes));
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
