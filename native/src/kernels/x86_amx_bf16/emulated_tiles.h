// AMX tiles emulated in plain C++, with Intel's documented semantics, so that the
// amx_bf16 drivers (driver.h) run and are tested on CPUs without AMX.
//
// State per thread, as the hardware's: a configuration (TileConfig, palette 1)
// and eight tiles of 16 rows x 64 bytes. What each operation does (Intel SDM,
// instruction pages of LDTILECFG, TILELOADD, TILESTORED, TILEZERO, TDPBF16PS,
// TILERELEASE):
// - LoadConfig: checks the configuration (palette 0 or 1, reserved bytes and
//   tiles 8-15 zero, rows <= 16, colsb <= 64, colsb a multiple of 4 here since
//   every tile this set uses holds dwords) and zeroes every tile; palette 0
//   returns to the INIT state (not configured), as Release does.
// - Load<T>(base, stride): row r < rows[T] reads colsb[T] bytes at base + r * stride;
//   the bytes past colsb and the rows past rows[T] become zero.
// - Store<T>(base, stride): writes rows[T] rows of colsb[T] bytes.
// - DotBf16<C, A, B>: as the SDM's Operation section: for each row m of C, two fp32
//   partial sums per output column n, one over the even and one over the odd bf16
//   of each K pair k (k < A.colsb / 4), each step an FMA (products of two bf16 are
//   exact in fp32, so FMA = multiply then add) with round to nearest even, input
//   denormals read as zero and output denormals flushed to zero; then
//   C[m][n] += even + odd (flushed as well). MXCSR plays no part.
// Where the hardware raises #UD or #GP (an unconfigured tile, C/A/B not distinct,
// C.rows != A.rows, C.colsb != B.colsb, A.colsb / 4 != B.rows, rows of partial dwords,
// a bad configuration),
// the emulator throws AmxFault naming the rule, so a driver bug is a test failure
// here and not a crash on an AMX machine.
//
// The work is done out of line in emulated_tiles.cpp, built without ISA flags:
// the tests call these tiles from plain units and the emulated kernel set from
// an AVX-512 one, and one shared copy must run on any x86-64 (the per-index
// templates below only forward, always inlined).
#pragma once

#include <cstdint>
#include <stdexcept>

#include "kernels/x86_amx_bf16/tile_config.h"

namespace fasternet::amx_bf16 {

struct AmxFault : std::logic_error {
    using std::logic_error::logic_error;
};

class EmulatedTiles {
public:
    static void LoadConfig(const TileConfig* config);
    static void StoreConfig(TileConfig* config);  // STTILECFG: all zeros in the INIT state
    static void Release();
    static bool Configured();

    template <int T>
    [[gnu::always_inline]] static void Zero() {
        static_assert(T >= 0 && T < kTileCount, "palette 1 has tiles tmm0-tmm7");
        ZeroTile(T);
    }
    template <int T>
    [[gnu::always_inline]] static void Load(const void* base, int64_t stride) {
        static_assert(T >= 0 && T < kTileCount, "palette 1 has tiles tmm0-tmm7");
        LoadTile(T, base, stride);
    }
    template <int T>
    [[gnu::always_inline]] static void Store(void* base, int64_t stride) {
        static_assert(T >= 0 && T < kTileCount, "palette 1 has tiles tmm0-tmm7");
        StoreTile(T, base, stride);
    }
    template <int C, int A, int B>
    [[gnu::always_inline]] static void DotBf16() {
        static_assert(C >= 0 && C < kTileCount && A >= 0 && A < kTileCount && B >= 0 && B < kTileCount,
                      "palette 1 has tiles tmm0-tmm7");
        static_assert(C != A && C != B && A != B, "TDPBF16PS needs three distinct tiles (#UD otherwise)");
        DotBf16Tiles(C, A, B);
    }

private:
    static void ZeroTile(int t);
    static void LoadTile(int t, const void* base, int64_t stride);
    static void StoreTile(int t, void* base, int64_t stride);
    static void DotBf16Tiles(int c, int a, int b);
};

}  // namespace fasternet::amx_bf16
