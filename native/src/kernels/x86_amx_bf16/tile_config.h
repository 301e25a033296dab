// The AMX tile configuration (LDTILECFG's 64-byte memory operand, palette 1) and
// the one configuration the amx_bf16 drivers use. Plain C++: shared by the real
// tiles (hardware_tiles.h) and the emulated ones (emulated_tiles.h).
#pragma once

#include <cstdint>
#include <cstring>

namespace fasternet::amx_bf16 {

// Palette 1: eight tiles (tmm0-tmm7) of at most 16 rows x 64 bytes.
constexpr int kTileCount = 8;
constexpr int kMaxTileRows = 16;
constexpr int kMaxTileBytesPerRow = 64;

// LDTILECFG / STTILECFG memory layout. Entries for tiles 8-15 and the reserved bytes must be zero.
struct alignas(64) TileConfig {
    uint8_t palette = 0;    // 0: tiles off (the INIT state); 1: the only palette with tiles
    uint8_t start_row = 0;  // restart row after a fault inside a tile load/store; 0 otherwise
    uint8_t reserved[14] = {};
    uint16_t colsb[16] = {};  // bytes per row of each tile
    uint8_t rows[16] = {};
};
static_assert(sizeof(TileConfig) == 64, "LDTILECFG reads exactly 64 bytes");

// Helpers with internal linkage: each unit (plain, AVX-512, AMX flags) keeps its own copy.
static inline bool SameConfig(const TileConfig& a, const TileConfig& b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// The drivers' tiles: tmm0-3 hold 2 x 2 fp32 C tiles (16 rows x 16 floats), tmm4-5 two
// A tiles (16 rows x 16 bf16 pairs), tmm6-7 two B tiles (16 K pairs x 16 columns, one
// 1 KB block of a pair panel). Every tile is 16 rows x 64 bytes, so one configuration
// serves every shape: tails are handled in the data (zero rows and pairs), not by
// reconfiguring (LDTILECFG once per thread).
constexpr int kCTile00 = 0, kCTile01 = 1, kCTile10 = 2, kCTile11 = 3;
constexpr int kATile0 = 4, kATile1 = 5;
constexpr int kBTile0 = 6, kBTile1 = 7;
constexpr int kPairsPerTile = 16;  // K pairs per A tile row / B tile rows

static inline TileConfig DriverTileConfig() {
    TileConfig config;
    config.palette = 1;
    for (int t = 0; t < kTileCount; ++t) {
        config.rows[t] = kMaxTileRows;
        config.colsb[t] = kMaxTileBytesPerRow;
    }
    return config;
}

}  // namespace fasternet::amx_bf16
