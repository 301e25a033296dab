// AVX2 per-channel scale and shift (an inference batch norm).
//
// Layout: pixels x channels, pixel stride = channels. Blocking: one pixel at a
// time, 8 channels per ymm with a masked tail (whose scale and shift stay in
// registers). Multiply then add, rounded like the reference.
#include <immintrin.h>

#include "kernels/x86_avx2/kernels_avx2.h"
#include "kernels/x86_avx2/tile.h"

namespace fasternet::avx2 {

void ChannelAffine(const AffineArgs& args) {
    const int channels = args.channels;
    if (channels <= 0) return;
    const int full_vectors = channels / kHalfPanel;
    const int tail = full_vectors * kHalfPanel;
    const __m256i tail_mask = LaneMask(channels - tail);
    const __m256 tail_scale = _mm256_maskload_ps(args.scale + tail, tail_mask);
    const __m256 tail_shift = _mm256_maskload_ps(args.shift + tail, tail_mask);
    for (int64_t p = 0; p < args.pixels; ++p) {
        const float* in = args.input + p * channels;
        float* out = args.output + p * channels;
        for (int v = 0; v < full_vectors; ++v) {
            const int c = v * kHalfPanel;
            const __m256 scaled = _mm256_mul_ps(_mm256_loadu_ps(in + c), _mm256_loadu_ps(args.scale + c));
            _mm256_storeu_ps(out + c, _mm256_add_ps(scaled, _mm256_loadu_ps(args.shift + c)));
        }
        if (tail < channels) {
            const __m256 scaled = _mm256_mul_ps(_mm256_maskload_ps(in + tail, tail_mask), tail_scale);
            _mm256_maskstore_ps(out + tail, tail_mask, _mm256_add_ps(scaled, tail_shift));
        }
    }
}

}  // namespace fasternet::avx2
