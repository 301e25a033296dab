// AVX2 global average pool over NHWC pixels.
//
// Layout: pixels x channels, pixel stride = channels. Blocking: 32 channels
// (four ymm sums) per pass down the pixels, masked loads for the tail.
// Each channel is summed in pixel order, as the reference does, then divided
// by the pixel count.
#include <immintrin.h>

#include "kernels/x86_avx2/kernels_avx2.h"
#include "kernels/x86_avx2/tile.h"

namespace fasternet::avx2 {

void GlobalAveragePool(const PoolArgs& args) {
    if (args.channels <= 0) return;
    const __m256 count = _mm256_set1_ps(static_cast<float>(args.pixels));
    constexpr int kVectors = 4;
    constexpr int kBlock = kVectors * kHalfPanel;
    for (int c = 0; c < args.channels; c += kBlock) {
        __m256i masks[kVectors];
        __m256 sums[kVectors];
        for (int v = 0; v < kVectors; ++v) {
            masks[v] = LaneMask(args.channels - c - v * kHalfPanel);
            sums[v] = _mm256_setzero_ps();
        }
        const float* in = args.input + c;
        if (args.channels - c >= kBlock) {
            for (int64_t p = 0; p < args.pixels; ++p, in += args.channels) {
#pragma GCC unroll 4
                for (int v = 0; v < kVectors; ++v)
                    sums[v] = _mm256_add_ps(sums[v], _mm256_loadu_ps(in + v * kHalfPanel));
            }
        } else {
            for (int64_t p = 0; p < args.pixels; ++p, in += args.channels) {
#pragma GCC unroll 4
                for (int v = 0; v < kVectors; ++v) {
                    sums[v] = _mm256_add_ps(sums[v], _mm256_maskload_ps(in + v * kHalfPanel, masks[v]));
                }
            }
        }
        for (int v = 0; v < kVectors; ++v) {
            _mm256_maskstore_ps(args.output + c + v * kHalfPanel, masks[v], _mm256_div_ps(sums[v], count));
        }
    }
}

}  // namespace fasternet::avx2
