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
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/x86_amx_bf16/tile_config.h"

namespace fasternet::amx_bf16 {

struct AmxFault : std::logic_error {
    using std::logic_error::logic_error;
};

class EmulatedTiles {
public:
    static void LoadConfig(const TileConfig* config) {
        State& s = state();
        if (config->palette > 1) Fault("LDTILECFG: palette " + std::to_string(config->palette) + " (only 0 and 1 exist)");
        for (uint8_t byte : config->reserved) {
            if (byte != 0) Fault("LDTILECFG: reserved bytes 2-15 must be zero");
        }
        if (config->palette == 0) return Release();
        for (int t = 0; t < 16; ++t) {
            const int rows = config->rows[t], colsb = config->colsb[t];
            if (t >= kTileCount && (rows != 0 || colsb != 0)) {
                Fault("LDTILECFG: tile " + std::to_string(t) + " does not exist in palette 1");
            }
            if (rows > kMaxTileRows) Fault("LDTILECFG: tile " + std::to_string(t) + " has " + std::to_string(rows) + " rows (max 16)");
            if (colsb > kMaxTileBytesPerRow) {
                Fault("LDTILECFG: tile " + std::to_string(t) + " has " + std::to_string(colsb) + " bytes per row (max 64)");
            }
        }
        s.config = *config;
        s.config.start_row = 0;
        s.configured = true;
        std::memset(s.tiles, 0, sizeof s.tiles);
    }

    // STTILECFG: the current configuration, all zeros in the INIT state.
    static void StoreConfig(TileConfig* config) {
        const State& s = state();
        if (s.configured) {
            *config = s.config;
        } else {
            *config = TileConfig{};
        }
    }

    static void Release() {
        State& s = state();
        s.configured = false;
        s.config = TileConfig{};
        std::memset(s.tiles, 0, sizeof s.tiles);
    }

    static bool Configured() { return state().configured; }

    template <int T>
    static void Zero() {
        Tile& tile = Use<T>("TILEZERO");
        std::memset(tile.bytes, 0, sizeof tile.bytes);
    }

    template <int T>
    static void Load(const void* base, int64_t stride) {
        Tile& tile = Use<T>("TILELOADD");
        const State& s = state();
        std::memset(tile.bytes, 0, sizeof tile.bytes);
        for (int r = 0; r < s.config.rows[T]; ++r) {
            std::memcpy(tile.bytes[r], static_cast<const uint8_t*>(base) + r * stride, s.config.colsb[T]);
        }
    }

    template <int T>
    static void Store(void* base, int64_t stride) {
        const Tile& tile = Use<T>("TILESTORED");
        const State& s = state();
        for (int r = 0; r < s.config.rows[T]; ++r) {
            std::memcpy(static_cast<uint8_t*>(base) + r * stride, tile.bytes[r], s.config.colsb[T]);
        }
    }

    template <int C, int A, int B>
    static void DotBf16() {
        static_assert(C != A && C != B && A != B, "TDPBF16PS needs three distinct tiles (#UD otherwise)");
        Tile& c = Use<C>("TDPBF16PS");
        const Tile& a = Use<A>("TDPBF16PS");
        const Tile& b = Use<B>("TDPBF16PS");
        const TileConfig& config = state().config;
        if (config.colsb[C] % 4 || config.colsb[A] % 4 || config.colsb[B] % 4) {
            Fault("TDPBF16PS: a tile's bytes per row are not whole dwords (bf16 pairs / fp32)");
        }
        const int m_rows = config.rows[C], n_columns = config.colsb[C] / 4, k_pairs = config.colsb[A] / 4;
        if (config.rows[A] != m_rows) Fault("TDPBF16PS: C has " + std::to_string(m_rows) + " rows, A " + std::to_string(config.rows[A]));
        if (config.colsb[B] != config.colsb[C]) Fault("TDPBF16PS: C and B differ in bytes per row");
        if (config.rows[B] != k_pairs) {
            Fault("TDPBF16PS: A holds " + std::to_string(k_pairs) + " K pairs per row but B has " +
                  std::to_string(config.rows[B]) + " rows");
        }
        for (int m = 0; m < m_rows; ++m) {
            float even[16] = {}, odd[16] = {};
            for (int k = 0; k < k_pairs; ++k) {
                const float a_even = Bf16At(a, m, 2 * k), a_odd = Bf16At(a, m, 2 * k + 1);
                for (int n = 0; n < n_columns; ++n) {
                    even[n] = FlushDenormal(std::fma(a_even, Bf16At(b, k, 2 * n), even[n]));
                    odd[n] = FlushDenormal(std::fma(a_odd, Bf16At(b, k, 2 * n + 1), odd[n]));
                }
            }
            for (int n = 0; n < n_columns; ++n) {
                const float sum = FlushDenormal(even[n] + odd[n]);
                SetFloatAt(c, m, n, FlushDenormal(FlushDenormal(FloatAt(c, m, n)) + sum));
            }
            std::memset(c.bytes[m] + 4 * n_columns, 0, kMaxTileBytesPerRow - 4 * n_columns);
        }
        for (int m = m_rows; m < kMaxTileRows; ++m) std::memset(c.bytes[m], 0, kMaxTileBytesPerRow);
    }

private:
    struct Tile {
        uint8_t bytes[kMaxTileRows][kMaxTileBytesPerRow];
    };
    // Trivially destructible, so it outlives any thread_local that releases tiles at thread exit.
    struct State {
        TileConfig config;
        bool configured;
        Tile tiles[kTileCount];
    };

    static State& state() {
        static thread_local State s{};
        return s;
    }

    [[noreturn]] static void Fault(const std::string& what) { throw AmxFault("emulated AMX fault: " + what); }

    template <int T>
    static Tile& Use(const char* instruction) {
        static_assert(T >= 0 && T < kTileCount, "palette 1 has tiles tmm0-tmm7");
        State& s = state();
        if (!s.configured) Fault(std::string(instruction) + " before LDTILECFG (tiles not configured)");
        if (s.config.rows[T] == 0 || s.config.colsb[T] == 0) {
            Fault(std::string(instruction) + ": tmm" + std::to_string(T) + " is not configured");
        }
        return s.tiles[T];
    }

    static float FlushDenormal(float x) { return std::fpclassify(x) == FP_SUBNORMAL ? std::copysign(0.0f, x) : x; }

    // A bf16 element as fp32 (make_fp32), denormals read as zero.
    static float Bf16At(const Tile& tile, int row, int index) {
        uint16_t half;
        std::memcpy(&half, tile.bytes[row] + 2 * index, sizeof half);
        const uint32_t bits = static_cast<uint32_t>(half) << 16;
        float value;
        std::memcpy(&value, &bits, sizeof value);
        return FlushDenormal(value);
    }

    static float FloatAt(const Tile& tile, int row, int column) {
        float value;
        std::memcpy(&value, tile.bytes[row] + 4 * column, sizeof value);
        return value;
    }

    static void SetFloatAt(Tile& tile, int row, int column, float value) {
        std::memcpy(tile.bytes[row] + 4 * column, &value, sizeof value);
    }
};

}  // namespace fasternet::amx_bf16
