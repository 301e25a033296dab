// NEON (AArch64 Advanced SIMD) traits for the drivers (drivers/tile.h): 4-lane
// q vectors, four per 16-column panel; tails copied through a small buffer,
// so nothing past the valid columns is read or written; the register tile
// budget of 32 q registers: rows x panels <= 6, i.e. 6 rows x 1 panel = 24
// accumulators + 4 B vectors + 1 broadcast, and with fewer rows (the head,
// batch 1) more panels at once so enough FMA chains stay in flight.
#pragma once

#include <arm_neon.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/arm_neon/gelu.h"
#include "kernels/drivers/register_tile.h"
#include "kernels/kernels.h"

namespace fasternet::neon {

struct Isa : drivers::ProductTileBudget<6, 6> {
    using Vector = float32x4_t;
    using Mask = int;  // valid lanes, 0..4
    static constexpr int kLanes = 4;
    static constexpr int kVectorsPerPanel = kPanelWidth / kLanes;

    static Mask MaskFor(int count) { return std::clamp(count, 0, kLanes); }
    static Vector Zero() { return vdupq_n_f32(0.0f); }
    static Vector Set1(float x) { return vdupq_n_f32(x); }
    static Vector Broadcast(const float* p) { return vld1q_dup_f32(p); }
    static Vector Load(const float* p) { return vld1q_f32(p); }
    static Vector LoadMasked(const float* p, Mask count) {
        if (count >= kLanes) return vld1q_f32(p);
        float lanes[kLanes] = {0.0f, 0.0f, 0.0f, 0.0f};
        std::memcpy(lanes, p, sizeof(float) * static_cast<size_t>(count));
        return vld1q_f32(lanes);
    }
    static Vector LoadForReuse(const float* p) { return vld1q_f32(p); }
    static void Store(float* p, Vector v) { vst1q_f32(p, v); }
    static void StoreMasked(float* p, Mask count, Vector v) {
        if (count >= kLanes) {
            vst1q_f32(p, v);
            return;
        }
        float lanes[kLanes];
        vst1q_f32(lanes, v);
        std::memcpy(p, lanes, sizeof(float) * static_cast<size_t>(count));
    }
    static Vector Fma(Vector a, Vector b, Vector acc) { return vfmaq_f32(acc, a, b); }
    static Vector Add(Vector a, Vector b) { return vaddq_f32(a, b); }
    static Vector Mul(Vector a, Vector b) { return vmulq_f32(a, b); }
    static Vector Div(Vector a, Vector b) { return vdivq_f32(a, b); }
    // maxnm, not max: ReLU(NaN) is 0 like the scalar definition (x > 0 ? x : 0).
    static Vector Relu(Vector x) { return vmaxnmq_f32(x, vdupq_n_f32(0.0f)); }
    // Always inlined: as an ordinary function GCC marks it const (no visible effect) and
    // deletes every call, so no prefetch would be issued at all.
    __attribute__((always_inline)) static void Prefetch(const char* p) { __builtin_prefetch(p, 0, 2); }
    template <int Count>
    static void Gelu(Vector* v) {
        for (int j = 0; j < Count; ++j) v[j] = neon::Gelu(v[j]);
    }

    // The register tile rules: drivers/register_tile.h (6 rows x 1 panel, rows x panels <= 6).
    static constexpr const char* kRegisterTiles = "6 rows x 1 panel, fewer rows x up to 6 panels (q)";
};

}  // namespace fasternet::neon
