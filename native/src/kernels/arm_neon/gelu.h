// Vectorised exact GELU for NEON: 0.5 * x * (1 + erf(x / sqrt(2))), 4 lanes.
//
// The method and coefficients of the x86 sets (x86_avx512/gelu.h, fitted by
// x86_avx512/erfc_fit.py), so every ISA rounds alike: 1 + erf(z) comes from
// erfc(|z|) (2 - erfc for z >= 0, erfc for z < 0), which keeps negative inputs
// accurate instead of cancelling; erfc(a) = t * exp(-a^2 + Q(t)) with
// t = 1 / (1 + a/2) and Q of degree 9 (relative error below 2e-7, absolute
// error of GELU about 1e-7 for |x| <= 1, growing like |x| * 1e-7 above).
// NaN propagates; +inf -> +inf.
#pragma once

#include <arm_neon.h>

namespace fasternet::neon {

// exp(y) for y <= ~1; inputs below -87 are clamped (the result, ~1e-38, only
// ever multiplies an already negligible erfc).
inline float32x4_t ExpNonPositive(float32x4_t y) {
    y = vmaxq_f32(y, vdupq_n_f32(-87.0f));
    const float32x4_t n = vrndnq_f32(vmulq_f32(y, vdupq_n_f32(1.44269504088896341f)));
    // Two-part ln 2 keeps the reduced argument exact to float precision.
    float32x4_t r = vfmsq_f32(y, n, vdupq_n_f32(0.693145751953125f));
    r = vfmsq_f32(r, n, vdupq_n_f32(1.42860676533018710e-06f));
    // Taylor series to degree 7: |r| <= ln2/2 gives an error below 1e-8.
    float32x4_t p = vdupq_n_f32(1.0f / 5040.0f);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 720.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 120.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 24.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 6.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(0.5f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
    // 2^n for n in [-126, 1]: build the exponent field directly.
    const int32x4_t exponent = vshlq_n_s32(vaddq_s32(vcvtnq_s32_f32(n), vdupq_n_s32(127)), 23);
    return vmulq_f32(p, vreinterpretq_f32_s32(exponent));
}

inline float32x4_t Gelu(float32x4_t x) {
    const float32x4_t one = vdupq_n_f32(1.0f);
    // Same float constant as the scalar definition, so z matches bit for bit.
    const float32x4_t z = vmulq_f32(x, vdupq_n_f32(0.70710678118654752f));
    const float32x4_t a = vabsq_f32(z);
    const float32x4_t t = vdivq_f32(one, vfmaq_f32(one, a, vdupq_n_f32(0.5f)));
    float32x4_t q = vdupq_n_f32(0.168798432f);
    q = vfmaq_f32(vdupq_n_f32(-0.813478887f), q, t);
    q = vfmaq_f32(vdupq_n_f32(1.47351515f), q, t);
    q = vfmaq_f32(vdupq_n_f32(-1.12133539f), q, t);
    q = vfmaq_f32(vdupq_n_f32(0.271474838f), q, t);
    q = vfmaq_f32(vdupq_n_f32(-0.184003681f), q, t);
    q = vfmaq_f32(vdupq_n_f32(0.0963944644f), q, t);
    q = vfmaq_f32(vdupq_n_f32(0.374124497f), q, t);
    q = vfmaq_f32(vdupq_n_f32(1.00002265f), q, t);
    q = vfmaq_f32(vdupq_n_f32(-1.26551223f), q, t);
    const float32x4_t erfc_a = vmulq_f32(t, ExpNonPositive(vfmsq_f32(q, a, a)));
    const uint32x4_t negative = vcltq_f32(z, vdupq_n_f32(0.0f));
    const float32x4_t one_plus_erf = vbslq_f32(negative, erfc_a, vsubq_f32(vdupq_n_f32(2.0f), erfc_a));
    const float32x4_t result = vmulq_f32(vmulq_f32(vdupq_n_f32(0.5f), x), one_plus_erf);
    // Pass NaN through unchanged rather than rely on every step above propagating it.
    return vbslq_f32(vceqq_f32(x, x), result, x);
}

}  // namespace fasternet::neon
