// Activation buffers a model reuses across runs.
//
// Each run in flight holds one buffer. When it returns, the buffer stays in the pool for the
// next run only while the idle buffers total at most max_idle_bytes (0: no limit); otherwise
// the least recently used ones are freed. Trim frees idle buffers unused for a given time, so a
// model that served a burst of large batches gives the memory back once the burst is over.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <vector>

#include "common/aligned_buffer.h"

namespace fasternet {

class ScratchPool {
public:
    using Clock = std::chrono::steady_clock;

    // A buffer of at least `floats` floats: the smallest idle one that fits, else the largest
    // idle one regrown (so the pool never holds more buffers than runs were ever in flight),
    // else a new one. Throws std::bad_alloc.
    AlignedBuffer Acquire(size_t floats);

    // Returns a buffer to the pool, then frees the least recently used buffers over the limit.
    void Release(AlignedBuffer buffer);

    // Frees idle buffers unused for at least `idle` (zero: every idle buffer); returns the bytes freed.
    size_t Trim(Clock::duration idle = Clock::duration::zero());

    void set_max_idle_bytes(size_t bytes);
    size_t idle_bytes() const;
    size_t idle_buffers() const;

private:
    struct Idle {
        AlignedBuffer buffer;
        Clock::time_point since;
    };
    void EvictOverLimit();  // mutex_ held

    mutable std::mutex mutex_;
    std::vector<Idle> idle_;  // oldest first
    size_t idle_bytes_ = 0;
    size_t max_idle_bytes_ = 0;
};

}  // namespace fasternet
