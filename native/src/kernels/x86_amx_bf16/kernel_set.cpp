// The amx_bf16 kernel set: the drivers (driver.h) on the real AMX tiles. Compiled
// with FASTERNET_AMX_BF16_FLAGS; runs only where ChooseBf16Set saw AMX-TILE,
// AMX-BF16 and the OS's permission for tile data.
#include <array>

#include "kernels/x86_amx_bf16/driver.h"
#include "kernels/x86_amx_bf16/hardware_tiles.h"

namespace fasternet {

using HardwareKernels = amx_bf16::AmxKernels<amx_bf16::HardwareTiles>;

const Bf16KernelSet* AmxBf16Kernels() {
    static const Bf16KernelSet set = {"amx_bf16", HardwareKernels::Gemm, HardwareKernels::Conv};
    return &set;
}

namespace {

// The drivers' 2 x 2 block with every operand already in its tile: four independent TDPBF16PS
// chains, nothing from memory inside the loop. Inputs are small normal numbers (2^-20), so the
// sums stay normal and finite.
double AmxPeakRoundOnTiles() {
    constexpr int kIterations = 4096;
    constexpr double kFlopsPerProduct = 2.0 * amx_bf16::kMaxTileRows * kPanelWidth * 2 * amx_bf16::kPairsPerTile;
    using Tiles = amx_bf16::HardwareTiles;
    alignas(64) static const auto operand = [] {
        std::array<bf16, 16 * 32> values{};
        values.fill(0x3580);  // 2^-20 as bf16
        return values;
    }();
    HardwareKernels::EnsureConfigured();
    Tiles::Zero<amx_bf16::kCTile00>();
    Tiles::Zero<amx_bf16::kCTile01>();
    Tiles::Zero<amx_bf16::kCTile10>();
    Tiles::Zero<amx_bf16::kCTile11>();
    Tiles::Load<amx_bf16::kATile0>(operand.data(), 64);
    Tiles::Load<amx_bf16::kATile1>(operand.data(), 64);
    Tiles::Load<amx_bf16::kBTile0>(operand.data(), 64);
    Tiles::Load<amx_bf16::kBTile1>(operand.data(), 64);
    for (int i = 0; i < kIterations; ++i) {
        Tiles::DotBf16<amx_bf16::kCTile00, amx_bf16::kATile0, amx_bf16::kBTile0>();
        Tiles::DotBf16<amx_bf16::kCTile01, amx_bf16::kATile0, amx_bf16::kBTile1>();
        Tiles::DotBf16<amx_bf16::kCTile10, amx_bf16::kATile1, amx_bf16::kBTile0>();
        Tiles::DotBf16<amx_bf16::kCTile11, amx_bf16::kATile1, amx_bf16::kBTile1>();
    }
    return kIterations * 4 * kFlopsPerProduct;
}

}  // namespace

AmxPeakRound AmxBf16PeakRound() { return AmxPeakRoundOnTiles; }

}  // namespace fasternet
