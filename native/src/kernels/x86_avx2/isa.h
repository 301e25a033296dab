// AVX2 + FMA traits for the drivers (drivers/tile.h): 8-lane ymm vectors, two
// per 16-column panel; tails through vmaskmov (plain loads and stores when a
// vector is whole); the register tile budget of 16 ymm: rows x panels <= 6,
// i.e. 6 rows x 1 panel = 12 accumulators + 2 B halves + 1 broadcast, and
// with fewer rows (the head, batch 1) more panels at once so enough FMA
// chains stay in flight.
// Include only from translation units compiled with the AVX2 flags.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/drivers/register_tile.h"
#include "kernels/kernels.h"
#include "kernels/x86_avx2/gelu.h"

namespace fasternet::avx2 {

struct Isa : drivers::ProductTileBudget<6, 6> {
    using Vector = __m256;
    struct Mask {
        bool whole;
        __m256i lanes;
    };
    static constexpr int kLanes = 8;
    static constexpr int kVectorsPerPanel = kPanelWidth / kLanes;

    static Mask MaskFor(int count) {
        static const int32_t kMaskWindow[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
        count = std::clamp(count, 0, kLanes);
        return Mask{count == kLanes, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kMaskWindow + kLanes - count))};
    }
    static Vector Zero() { return _mm256_setzero_ps(); }
    static Vector Set1(float x) { return _mm256_set1_ps(x); }
    static Vector Broadcast(const float* p) { return _mm256_broadcast_ss(p); }
    static Vector Load(const float* p) { return _mm256_loadu_ps(p); }
    static Vector LoadMasked(const float* p, const Mask& m) {
        return m.whole ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, m.lanes);
    }
    static Vector LoadForReuse(const float* p) { return _mm256_loadu_ps(p); }
    static void Store(float* p, Vector v) { _mm256_storeu_ps(p, v); }
    static void StoreMasked(float* p, const Mask& m, Vector v) {
        if (m.whole) {
            _mm256_storeu_ps(p, v);
        } else {
            _mm256_maskstore_ps(p, m.lanes, v);
        }
    }
    static Vector Fma(Vector a, Vector b, Vector acc) { return _mm256_fmadd_ps(a, b, acc); }
    static Vector Add(Vector a, Vector b) { return _mm256_add_ps(a, b); }
    static Vector Mul(Vector a, Vector b) { return _mm256_mul_ps(a, b); }
    static Vector Div(Vector a, Vector b) { return _mm256_div_ps(a, b); }
    // max returns its second operand for NaN: ReLU(NaN) = 0 as the scalar definition.
    static Vector Relu(Vector x) { return _mm256_max_ps(x, _mm256_setzero_ps()); }
    // Always inlined: as an ordinary function GCC marks it const (no visible effect) and
    // deletes every call, so no prefetch would be issued at all.
    __attribute__((always_inline)) static void Prefetch(const char* p) { _mm_prefetch(p, _MM_HINT_T1); }
    template <int Count>
    static void Gelu(Vector* v) {
        GeluArray<Count>(v);
    }

    // The register tile rules: drivers/register_tile.h (6 rows x 1 panel, rows x panels <= 6).
    static constexpr const char* kRegisterTiles = "6 rows x 1 panel, fewer rows x up to 6 panels (ymm)";
};

}  // namespace fasternet::avx2
