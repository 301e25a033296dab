// The emulated AMX tiles (x86_amx_bf16/emulated_tiles.h) against scalar arithmetic,
// and their refusals of what the hardware faults on; then the amx_bf16 drivers'
// tile configuration handling on them. The drivers' results against the reference
// bf16 set are in bf16_kernel_test.cpp (emulated_amx_bf16 cases).
#if defined(__x86_64__)

#include <array>
#include <cmath>
#include <initializer_list>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/bf16.h"
#include "kernels/dispatch.h"
#include "kernels/x86_amx_bf16/emulated.h"
#include "kernels/x86_amx_bf16/emulated_tiles.h"

namespace fasternet::testing {
namespace {

using amx_bf16::AmxFault;
using amx_bf16::TileConfig;
using Tiles = amx_bf16::EmulatedTiles;

TileConfig Config(std::initializer_list<std::array<int, 3>> tiles) {  // {tile, rows, colsb}
    TileConfig config;
    config.palette = 1;
    for (const auto& t : tiles) {
        config.rows[t[0]] = static_cast<uint8_t>(t[1]);
        config.colsb[t[0]] = static_cast<uint16_t>(t[2]);
    }
    return config;
}

// Every test starts from the INIT state (the emulator's state is per thread).
class EmulatedTilesTest : public ::testing::Test {
protected:
    void SetUp() override { Tiles::Release(); }
    void TearDown() override { Tiles::Release(); }
};

TEST_F(EmulatedTilesTest, LoadAndStoreMoveRowsTimesColsbBytesWithTheirStrides) {
    const TileConfig config = Config({{0, 5, 12}});
    Tiles::LoadConfig(&config);
    std::vector<uint8_t> source(16 * 100);
    for (size_t i = 0; i < source.size(); ++i) source[i] = static_cast<uint8_t>(i * 7 + 1);
    Tiles::Load<0>(source.data(), 100);
    std::vector<uint8_t> out(16 * 40, 0xEE);
    Tiles::Store<0>(out.data(), 40);
    for (int r = 0; r < 16; ++r) {
        for (int b = 0; b < 40; ++b) {
            const uint8_t expected = (r < 5 && b < 12) ? source[r * 100 + b] : 0xEE;
            ASSERT_EQ(out[r * 40 + b], expected) << "row " << r << " byte " << b;
        }
    }
}

TEST_F(EmulatedTilesTest, ZeroAndLoadConfigClearTiles) {
    const TileConfig config = Config({{3, 2, 8}});
    Tiles::LoadConfig(&config);
    const float ones[4] = {1, 1, 1, 1};
    Tiles::Load<3>(ones, 0);  // stride 0: every row reads the same bytes
    float out[8] = {};
    Tiles::Store<3>(out, 16);  // rows at out[0..1] and out[4..5]
    EXPECT_EQ(out[0], 1.0f);
    EXPECT_EQ(out[5], 1.0f);
    EXPECT_EQ(out[2], 0.0f);
    Tiles::Zero<3>();
    Tiles::Store<3>(out, 16);
    EXPECT_EQ(out[0], 0.0f);
    EXPECT_EQ(out[5], 0.0f);
    Tiles::Load<3>(ones, 0);
    Tiles::LoadConfig(&config);
    Tiles::Store<3>(out, 16);
    EXPECT_EQ(out[1], 0.0f);
    EXPECT_EQ(out[4], 0.0f);
}

TEST_F(EmulatedTilesTest, StoreConfigReturnsTheLoadedConfigurationAndZerosWhenReleased) {
    TileConfig read;
    Tiles::StoreConfig(&read);
    EXPECT_TRUE(amx_bf16::SameConfig(read, TileConfig{}));
    const TileConfig config = Config({{0, 16, 64}, {5, 3, 20}});
    Tiles::LoadConfig(&config);
    Tiles::StoreConfig(&read);
    EXPECT_TRUE(amx_bf16::SameConfig(read, config));
    Tiles::Release();
    Tiles::StoreConfig(&read);
    EXPECT_TRUE(amx_bf16::SameConfig(read, TileConfig{}));
}

// A tile product of M x K pairs by K pairs x N against a float64 sum of the same
// products: rows, columns and K come from the configuration, not from 16 x 64 bytes.
TEST_F(EmulatedTilesTest, DotProductOfSmallTilesMatchesScalarSums) {
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> d(-2.0f, 2.0f);
    for (const auto& shape : {std::array<int, 3>{3, 5, 7}, {16, 16, 16}, {1, 1, 1}, {16, 3, 2}, {9, 16, 13}}) {
        const int m = shape[0], pairs = shape[1], n = shape[2];
        const TileConfig config = Config({{0, m, 4 * n}, {1, m, 4 * pairs}, {2, pairs, 4 * n}});
        Tiles::LoadConfig(&config);
        std::vector<bf16> a(static_cast<size_t>(m) * 2 * pairs), b(static_cast<size_t>(pairs) * 2 * n);
        std::vector<float> c(static_cast<size_t>(m) * n);
        for (bf16& x : a) x = FloatToBf16(d(rng));
        for (bf16& x : b) x = FloatToBf16(d(rng));
        for (float& x : c) x = d(rng);
        Tiles::Load<1>(a.data(), 4 * pairs);
        Tiles::Load<2>(b.data(), 4 * n);
        Tiles::Load<0>(c.data(), 4 * n);
        Tiles::DotBf16<0, 1, 2>();
        std::vector<float> out(static_cast<size_t>(m) * n);
        Tiles::Store<0>(out.data(), 4 * n);
        for (int i = 0; i < m; ++i) {
            for (int j = 0; j < n; ++j) {
                double sum = c[i * n + j], magnitude = std::fabs(sum);
                for (int k = 0; k < 2 * pairs; ++k) {
                    const double product = double{Bf16ToFloat(a[i * 2 * pairs + k])} * Bf16ToFloat(b[(k / 2) * 2 * n + 2 * j + k % 2]);
                    sum += product;
                    magnitude += std::fabs(product);
                }
                ASSERT_NEAR(out[i * n + j], sum, (2 * pairs + 2) * std::ldexp(1.0, -24) * magnitude)
                    << m << "x" << pairs << "x" << n << " at " << i << "," << j;
            }
        }
    }
}

// The SDM's order: the even and odd products of the instruction's pairs are summed apart,
// then together, then added to C. With C = -2^24, even = 2^24 and odd = 1 that gives 0
// (2^24 + 1 rounds to 2^24); adding to C in turn (C + even + odd) would give 1.
TEST_F(EmulatedTilesTest, DotProductSumsEvenAndOddPartsBeforeAddingToC) {
    const TileConfig config = Config({{0, 1, 4}, {1, 1, 4}, {2, 1, 4}});
    Tiles::LoadConfig(&config);
    const bf16 a[2] = {FloatToBf16(std::ldexp(1.0f, 12)), FloatToBf16(1.0f)};
    const bf16 b[2] = {FloatToBf16(std::ldexp(1.0f, 12)), FloatToBf16(1.0f)};
    const float c = -std::ldexp(1.0f, 24);
    Tiles::Load<1>(a, 4);
    Tiles::Load<2>(b, 4);
    Tiles::Load<0>(&c, 4);
    Tiles::DotBf16<0, 1, 2>();
    float out = -1.0f;
    Tiles::Store<0>(&out, 4);
    EXPECT_EQ(out, 0.0f);
}

TEST_F(EmulatedTilesTest, DenormalInputsCountAsZeroAndDenormalResultsAreFlushed) {
    const TileConfig config = Config({{0, 1, 4}, {1, 1, 4}, {2, 1, 4}});
    Tiles::LoadConfig(&config);
    float out;
    const auto product = [&](bf16 a_even, bf16 b_even, float c) {
        const bf16 a[2] = {a_even, 0}, b[2] = {b_even, 0};
        Tiles::Load<1>(a, 4);
        Tiles::Load<2>(b, 4);
        Tiles::Load<0>(&c, 4);
        Tiles::DotBf16<0, 1, 2>();
        Tiles::Store<0>(&out, 4);
        return out;
    };
    // 0x0001: the smallest bf16 denormal; times 2^100 it would be a normal 2^-33.
    EXPECT_EQ(product(0x0001, FloatToBf16(std::ldexp(1.0f, 100)), 0.0f), 0.0f);
    // 2^-70 * 2^-70 = 2^-140 is an fp32 denormal: flushed.
    EXPECT_EQ(product(FloatToBf16(std::ldexp(1.0f, -70)), FloatToBf16(std::ldexp(1.0f, -70)), 0.0f), 0.0f);
    // A normal result is kept.
    EXPECT_EQ(product(FloatToBf16(std::ldexp(1.0f, -60)), FloatToBf16(std::ldexp(1.0f, -60)), 0.0f), std::ldexp(1.0f, -120));
    // NaN propagates.
    EXPECT_TRUE(std::isnan(product(FloatToBf16(std::numeric_limits<float>::quiet_NaN()), FloatToBf16(1.0f), 1.0f)));
}

TEST_F(EmulatedTilesTest, RefusesWhatTheHardwareFaultsOn) {
    float buffer[256] = {};
    // Nothing configured: every tile instruction faults.
    EXPECT_THROW(Tiles::Zero<0>(), AmxFault);
    EXPECT_THROW(Tiles::Load<0>(buffer, 64), AmxFault);
    EXPECT_THROW((Tiles::DotBf16<0, 1, 2>()), AmxFault);
    // Bad configurations.
    for (const TileConfig& bad : {Config({{0, 17, 64}}), Config({{0, 16, 65}}), Config({{8, 1, 4}})}) {
        EXPECT_THROW(Tiles::LoadConfig(&bad), AmxFault);
    }
    TileConfig palette2 = Config({{0, 1, 4}});
    palette2.palette = 2;
    EXPECT_THROW(Tiles::LoadConfig(&palette2), AmxFault);
    TileConfig reserved = Config({{0, 1, 4}});
    reserved.reserved[3] = 1;
    EXPECT_THROW(Tiles::LoadConfig(&reserved), AmxFault);
    // A tile left out of the configuration.
    const TileConfig only0 = Config({{0, 16, 64}});
    Tiles::LoadConfig(&only0);
    EXPECT_THROW(Tiles::Load<1>(buffer, 64), AmxFault);
    // K mismatch: A holds 16 pairs per row, B has 8 rows.
    const TileConfig k_mismatch = Config({{0, 16, 64}, {1, 16, 64}, {2, 8, 64}});
    Tiles::LoadConfig(&k_mismatch);
    EXPECT_THROW((Tiles::DotBf16<0, 1, 2>()), AmxFault);
    // C and A rows differ; C and B columns differ; partial dwords.
    const TileConfig rows_mismatch = Config({{0, 8, 64}, {1, 16, 64}, {2, 16, 64}});
    Tiles::LoadConfig(&rows_mismatch);
    EXPECT_THROW((Tiles::DotBf16<0, 1, 2>()), AmxFault);
    const TileConfig columns_mismatch = Config({{0, 16, 32}, {1, 16, 64}, {2, 16, 64}});
    Tiles::LoadConfig(&columns_mismatch);
    EXPECT_THROW((Tiles::DotBf16<0, 1, 2>()), AmxFault);
    const TileConfig partial_dwords = Config({{0, 16, 62}, {1, 16, 64}, {2, 16, 62}});
    Tiles::LoadConfig(&partial_dwords);
    EXPECT_THROW((Tiles::DotBf16<0, 1, 2>()), AmxFault);
    // A good one runs; after a release the tiles fault again.
    const TileConfig good = Config({{0, 16, 64}, {1, 16, 64}, {2, 16, 64}});
    Tiles::LoadConfig(&good);
    EXPECT_NO_THROW((Tiles::DotBf16<0, 1, 2>()));
    Tiles::Release();
    EXPECT_THROW(Tiles::Store<0>(buffer, 64), AmxFault);
}

// The drivers load their configuration once per thread and again whenever something else on
// the thread changed or released it (another library's AMX kernels).
TEST_F(EmulatedTilesTest, DriversReconfigureWhenTheThreadsTilesWereChangedOrReleased) {
    if (!DetectBf16Capabilities().avx512_bf16) GTEST_SKIP() << "the amx_bf16 drivers' epilogue needs AVX512-BF16";
    const int m = 20, k = 40, n = 24;
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> d(-1.0f, 1.0f);
    std::vector<float> a(m * k), w(n * k);
    for (float& x : a) x = d(rng);
    for (float& x : w) x = d(rng);
    std::vector<bf16> packed(PackedBf16PanelsSize(k, n));
    PackBf16Panels(w.data(), k, n, packed.data());
    const auto run = [&](const Bf16KernelSet* set) {
        std::vector<float> c(m * n);
        Bf16GemmArgs bf;
        bf.gemm.m = m, bf.gemm.k = k, bf.gemm.n = n;
        bf.gemm.a = a.data(), bf.gemm.lda = k;
        bf.gemm.c = c.data(), bf.gemm.ldc = n;
        bf.packed_b = packed.data();
        set->gemm(bf);
        return c;
    };
    const std::vector<float> expected = run(ReferenceBf16Kernels());
    const auto check = [&](const char* when) {
        const std::vector<float> c = run(EmulatedAmxBf16Kernels());
        for (int i = 0; i < m * n; ++i) ASSERT_NEAR(c[i], expected[i], 1e-4) << when << " at " << i;
    };
    check("first call");
    const TileConfig other = Config({{0, 4, 8}, {1, 4, 8}});
    Tiles::LoadConfig(&other);
    check("after another configuration");
    Tiles::Release();
    check("after a release");
    TileConfig current;
    Tiles::StoreConfig(&current);
    EXPECT_EQ(current.palette, 1);
    EXPECT_EQ(current.rows[7], 16);
}

}  // namespace
}  // namespace fasternet::testing

#endif  // __x86_64__
