// Static work split inside an OpenMP team: each thread takes one contiguous share.
#pragma once

#include <algorithm>
#include <cstdint>

namespace fasternet {

// This thread's contiguous share [begin, end) of `count` items.
inline void Share(int64_t count, int thread, int threads, int64_t& begin, int64_t& end) {
    begin = count * thread / threads;
    end = count * (thread + 1) / threads;
}

// Calls fn(image, begin, end) for this thread's share of batch * rows rows (or pixels),
// one call per image the share touches.
template <typename Fn>
void ForEachRowRange(int batch, int rows, int thread, int threads, Fn&& fn) {
    int64_t begin, end;
    Share(int64_t{batch} * rows, thread, threads, begin, end);
    while (begin < end) {
        const int image = static_cast<int>(begin / rows);
        const int row_begin = static_cast<int>(begin % rows);
        const int row_end = static_cast<int>(std::min<int64_t>(rows, row_begin + (end - begin)));
        fn(image, row_begin, row_end);
        begin += row_end - row_begin;
    }
}

}  // namespace fasternet
