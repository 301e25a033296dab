// AVX-512 global average pool over NHWC pixels.
//
// Layout: pixels x channels, pixel stride = channels. Blocking: 64 channels
// (four zmm sums) per pass down the pixels, a masked block for the tail.
// Each channel is summed in pixel order, as the reference does, then divided
// by the pixel count.
#include <immintrin.h>

#include <algorithm>

#include "kernels/x86_avx512/kernels_avx512.h"
#include "kernels/x86_avx512/tile.h"

namespace fasternet::avx512 {

void GlobalAveragePool(const PoolArgs& args) {
    if (args.channels <= 0) return;
    const __m512 count = _mm512_set1_ps(static_cast<float>(args.pixels));
    constexpr int kBlock = 4 * kPanelWidth;
    for (int c = 0; c < args.channels; c += kBlock) {
        __mmask16 masks[4];
        __m512 sums[4];
        for (int v = 0; v < 4; ++v) {
            masks[v] = ColumnMask(args.channels - c - v * kPanelWidth);
            sums[v] = _mm512_setzero_ps();
        }
        const float* in = args.input + c;
        for (int64_t p = 0; p < args.pixels; ++p, in += args.channels) {
#pragma GCC unroll 4
            for (int v = 0; v < 4; ++v) {
                sums[v] = _mm512_add_ps(sums[v], _mm512_maskz_loadu_ps(masks[v], in + v * kPanelWidth));
            }
        }
        for (int v = 0; v < 4; ++v) {
            _mm512_mask_storeu_ps(args.output + c + v * kPanelWidth, masks[v], _mm512_div_ps(sums[v], count));
        }
    }
}

}  // namespace fasternet::avx512
