// The real AMX tiles: thin wrappers over the AMX intrinsics, the same operations
// as EmulatedTiles (emulated_tiles.h). Include only from a unit compiled with
// -mamx-tile -mamx-bf16 (FASTERNET_AMX_BF16_FLAGS).
//
// g++'s tile intrinsics are macros that paste the tile number into the
// instruction text, so a tile index must be a literal: each index (and each
// C, A, B triple the drivers use) gets an explicit specialization below.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/x86_amx_bf16/tile_config.h"

namespace fasternet::amx_bf16 {

struct HardwareTiles {
    // Not _tile_loadconfig / _tile_storeconfig: g++ 12's name only the first 8 of the 64
    // bytes as the asm's memory operand, so stores to the rest of the configuration could
    // be dropped or reads of it folded. These name the whole TileConfig.
    static void LoadConfig(const TileConfig* config) { __asm__ volatile("ldtilecfg %0" : : "m"(*config)); }
    static void StoreConfig(TileConfig* config) { __asm__ volatile("sttilecfg %0" : "=m"(*config)); }
    static void Release() { _tile_release(); }

    template <int T>
    static void Zero();
    template <int T>
    static void Load(const void* base, int64_t stride);
    template <int T>
    static void Store(void* base, int64_t stride);
    template <int C, int A, int B>
    static void DotBf16();
};

// TILELOADD's asm names no memory input: the empty barrier makes the stores that
// filled the A buffer or a scratch B tile happen before the load reads them.
#define FASTERNET_AMX_TILE_OPS(T)                                                                   \
    template <>                                                                                     \
    inline void HardwareTiles::Zero<T>() {                                                          \
        _tile_zero(T);                                                                              \
    }                                                                                               \
    template <>                                                                                     \
    inline void HardwareTiles::Load<T>(const void* base, int64_t stride) {                          \
        __asm__ volatile("" ::: "memory");                                                          \
        _tile_loadd(T, base, stride);                                                               \
    }                                                                                               \
    template <>                                                                                     \
    inline void HardwareTiles::Store<T>(void* base, int64_t stride) {                               \
        _tile_stored(T, base, stride);                                                              \
    }

FASTERNET_AMX_TILE_OPS(0)
FASTERNET_AMX_TILE_OPS(1)
FASTERNET_AMX_TILE_OPS(2)
FASTERNET_AMX_TILE_OPS(3)
FASTERNET_AMX_TILE_OPS(4)
FASTERNET_AMX_TILE_OPS(5)
FASTERNET_AMX_TILE_OPS(6)
FASTERNET_AMX_TILE_OPS(7)
#undef FASTERNET_AMX_TILE_OPS

#define FASTERNET_AMX_DOT(C, A, B)                    \
    template <>                                       \
    inline void HardwareTiles::DotBf16<C, A, B>() {   \
        _tile_dpbf16ps(C, A, B);                      \
    }

// The drivers' 2 x 2 blocking (tile_config.h): C tiles 0-3, A tiles 4-5, B tiles 6-7.
FASTERNET_AMX_DOT(0, 4, 6)
FASTERNET_AMX_DOT(1, 4, 7)
FASTERNET_AMX_DOT(2, 5, 6)
FASTERNET_AMX_DOT(3, 5, 7)
#undef FASTERNET_AMX_DOT

}  // namespace fasternet::amx_bf16
