// The emulated AMX tiles' operations (emulated_tiles.h), built without ISA flags.
#include "kernels/x86_amx_bf16/emulated_tiles.h"

#include <cmath>
#include <cstring>
#include <string>

namespace fasternet::amx_bf16 {
namespace {

struct Tile {
    uint8_t bytes[kMaxTileRows][kMaxTileBytesPerRow];
};

// Per thread, as the hardware's tile state. Trivially destructible, so it outlives any
// thread_local that releases tiles at thread exit.
struct State {
    TileConfig config;
    bool configured;
    Tile tiles[kTileCount];
};

State& state() {
    static thread_local State s{};
    return s;
}

[[noreturn]] void Fault(const std::string& what) { throw AmxFault("emulated AMX fault: " + what); }

Tile& Use(int t, const char* instruction) {
    State& s = state();
    if (!s.configured) Fault(std::string(instruction) + " before LDTILECFG (tiles not configured)");
    if (s.config.rows[t] == 0 || s.config.colsb[t] == 0) {
        Fault(std::string(instruction) + ": tmm" + std::to_string(t) + " is not configured");
    }
    return s.tiles[t];
}

float FlushDenormal(float x) { return std::fpclassify(x) == FP_SUBNORMAL ? std::copysign(0.0f, x) : x; }

// A bf16 element as fp32 (make_fp32), denormals read as zero.
float Bf16At(const Tile& tile, int row, int index) {
    uint16_t half;
    std::memcpy(&half, tile.bytes[row] + 2 * index, sizeof half);
    const uint32_t bits = static_cast<uint32_t>(half) << 16;
    float value;
    std::memcpy(&value, &bits, sizeof value);
    return FlushDenormal(value);
}

float FloatAt(const Tile& tile, int row, int column) {
    float value;
    std::memcpy(&value, tile.bytes[row] + 4 * column, sizeof value);
    return value;
}

void SetFloatAt(Tile& tile, int row, int column, float value) {
    std::memcpy(tile.bytes[row] + 4 * column, &value, sizeof value);
}

}  // namespace

void EmulatedTiles::LoadConfig(const TileConfig* config) {
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
        if (rows > kMaxTileRows) {
            Fault("LDTILECFG: tile " + std::to_string(t) + " has " + std::to_string(rows) + " rows (max 16)");
        }
        if (colsb > kMaxTileBytesPerRow) {
            Fault("LDTILECFG: tile " + std::to_string(t) + " has " + std::to_string(colsb) + " bytes per row (max 64)");
        }
    }
    s.config = *config;
    s.config.start_row = 0;
    s.configured = true;
    std::memset(s.tiles, 0, sizeof s.tiles);
}

void EmulatedTiles::StoreConfig(TileConfig* config) {
    const State& s = state();
    *config = s.configured ? s.config : TileConfig{};
}

void EmulatedTiles::Release() {
    State& s = state();
    s.configured = false;
    s.config = TileConfig{};
    std::memset(s.tiles, 0, sizeof s.tiles);
}

bool EmulatedTiles::Configured() { return state().configured; }

void EmulatedTiles::ZeroTile(int t) {
    Tile& tile = Use(t, "TILEZERO");
    std::memset(tile.bytes, 0, sizeof tile.bytes);
}

void EmulatedTiles::LoadTile(int t, const void* base, int64_t stride) {
    Tile& tile = Use(t, "TILELOADD");
    const TileConfig& config = state().config;
    std::memset(tile.bytes, 0, sizeof tile.bytes);
    for (int r = 0; r < config.rows[t]; ++r) {
        std::memcpy(tile.bytes[r], static_cast<const uint8_t*>(base) + r * stride, config.colsb[t]);
    }
}

void EmulatedTiles::StoreTile(int t, void* base, int64_t stride) {
    const Tile& tile = Use(t, "TILESTORED");
    const TileConfig& config = state().config;
    for (int r = 0; r < config.rows[t]; ++r) {
        std::memcpy(static_cast<uint8_t*>(base) + r * stride, tile.bytes[r], config.colsb[t]);
    }
}

void EmulatedTiles::DotBf16Tiles(int c_index, int a_index, int b_index) {
    Tile& c = Use(c_index, "TDPBF16PS");
    const Tile& a = Use(a_index, "TDPBF16PS");
    const Tile& b = Use(b_index, "TDPBF16PS");
    const TileConfig& config = state().config;
    if (config.colsb[c_index] % 4 || config.colsb[a_index] % 4 || config.colsb[b_index] % 4) {
        Fault("TDPBF16PS: a tile's bytes per row are not whole dwords (bf16 pairs / fp32)");
    }
    const int m_rows = config.rows[c_index], n_columns = config.colsb[c_index] / 4;
    const int k_pairs = config.colsb[a_index] / 4;
    if (config.rows[a_index] != m_rows) {
        Fault("TDPBF16PS: C has " + std::to_string(m_rows) + " rows, A " + std::to_string(config.rows[a_index]));
    }
    if (config.colsb[b_index] != config.colsb[c_index]) Fault("TDPBF16PS: C and B differ in bytes per row");
    if (config.rows[b_index] != k_pairs) {
        Fault("TDPBF16PS: A holds " + std::to_string(k_pairs) + " K pairs per row but B has " +
              std::to_string(config.rows[b_index]) + " rows");
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

}  // namespace fasternet::amx_bf16
