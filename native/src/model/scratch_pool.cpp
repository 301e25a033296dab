#include "model/scratch_pool.h"

#include <algorithm>
#include <utility>

namespace fasternet {

namespace {
size_t Bytes(const AlignedBuffer& buffer) { return buffer.size() * sizeof(float); }
}  // namespace

AlignedBuffer ScratchPool::Acquire(size_t floats) {
    AlignedBuffer buffer;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto best = idle_.end(), largest = idle_.end();
        for (auto it = idle_.begin(); it != idle_.end(); ++it) {
            const size_t size = it->buffer.size();
            if (size >= floats && (best == idle_.end() || size < best->buffer.size())) best = it;
            if (largest == idle_.end() || size > largest->buffer.size()) largest = it;
        }
        const auto chosen = best != idle_.end() ? best : largest;
        if (chosen != idle_.end()) {
            idle_bytes_ -= Bytes(chosen->buffer);
            buffer = std::move(chosen->buffer);
            idle_.erase(chosen);
        }
    }
    if (buffer.size() < floats) buffer.Resize(floats);  // outside the lock: allocation may be slow
    return buffer;
}

void ScratchPool::Release(AlignedBuffer buffer) {
    if (buffer.size() == 0) return;
    std::lock_guard<std::mutex> lock(mutex_);
    idle_bytes_ += Bytes(buffer);
    idle_.push_back(Idle{std::move(buffer), Clock::now()});
    EvictOverLimit();
}

size_t ScratchPool::Trim(Clock::duration idle) {
    std::vector<Idle> freed;  // destroyed after the lock is released
    {
        std::lock_guard<std::mutex> lock(mutex_);
        const Clock::time_point cutoff = Clock::now() - idle;
        auto keep = std::stable_partition(idle_.begin(), idle_.end(),
                                          [&](const Idle& entry) { return entry.since > cutoff; });
        for (auto it = keep; it != idle_.end(); ++it) freed.push_back(std::move(*it));
        idle_.erase(keep, idle_.end());
        size_t bytes = 0;
        for (const Idle& entry : freed) bytes += Bytes(entry.buffer);
        idle_bytes_ -= bytes;
        return bytes;
    }
}

void ScratchPool::set_max_idle_bytes(size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    max_idle_bytes_ = bytes;
    EvictOverLimit();
}

void ScratchPool::EvictOverLimit() {
    while (max_idle_bytes_ != 0 && idle_bytes_ > max_idle_bytes_ && !idle_.empty()) {
        idle_bytes_ -= Bytes(idle_.front().buffer);
        idle_.erase(idle_.begin());
    }
}

size_t ScratchPool::idle_bytes() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return idle_bytes_;
}

size_t ScratchPool::idle_buffers() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return idle_.size();
}

}  // namespace fasternet
