// AVX-512 per-channel scale and shift (an inference batch norm).
//
// Layout: pixels x channels, pixel stride = channels. Blocking: one pixel at a
// time, 16 channels per zmm with a masked tail (whose scale and shift stay in
// registers). Multiply then add, rounded like the reference.
#include <immintrin.h>

#include "kernels/x86_avx512/kernels_avx512.h"
#include "kernels/x86_avx512/tile.h"

namespace fasternet::avx512 {

void ChannelAffine(const AffineArgs& args) {
    const int channels = args.channels;
    if (channels <= 0) return;
    const int full_vectors = channels / kPanelWidth;
    const __mmask16 tail_mask = ColumnMask(channels - full_vectors * kPanelWidth);
    const int tail = full_vectors * kPanelWidth;
    const __m512 tail_scale = _mm512_maskz_loadu_ps(tail_mask, args.scale + tail);
    const __m512 tail_shift = _mm512_maskz_loadu_ps(tail_mask, args.shift + tail);
    for (int64_t p = 0; p < args.pixels; ++p) {
        const float* in = args.input + p * channels;
        float* out = args.output + p * channels;
        for (int v = 0; v < full_vectors; ++v) {
            const int c = v * kPanelWidth;
            const __m512 scaled = _mm512_mul_ps(_mm512_loadu_ps(in + c), _mm512_loadu_ps(args.scale + c));
            _mm512_storeu_ps(out + c, _mm512_add_ps(scaled, _mm512_loadu_ps(args.shift + c)));
        }
        if (tail_mask) {
            const __m512 scaled = _mm512_mul_ps(_mm512_maskz_loadu_ps(tail_mask, in + tail), tail_scale);
            _mm512_mask_storeu_ps(out + tail, tail_mask, _mm512_add_ps(scaled, tail_shift));
        }
    }
}

}  // namespace fasternet::avx512
