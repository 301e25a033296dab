// bf16: rounding, packing, the reference bf16 GEMM against float64 on the same
// rounded inputs, each fast bf16 set against the reference on awkward shapes,
// and the choice of bf16 set from faked capabilities.
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/bf16.h"
#include "kernels/dispatch.h"

namespace fasternet::testing {
namespace {

uint32_t Bits(float f) {
    uint32_t b;
    std::memcpy(&b, &f, sizeof b);
    return b;
}

float FromBits(uint32_t b) {
    float f;
    std::memcpy(&f, &b, sizeof f);
    return f;
}

TEST(Bf16Rounding, TiesGoToEvenAndOtherValuesToNearest) {
    // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: the even one (1) wins.
    EXPECT_EQ(FloatToBf16(1.0f + std::ldexp(1.0f, -8)), 0x3F80);
    // 1 + 3 * 2^-8 lies halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even).
    EXPECT_EQ(FloatToBf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3F82);
    // Just above the tie rounds up.
    EXPECT_EQ(FloatToBf16(FromBits(0x3F808001)), 0x3F81);
    EXPECT_EQ(FloatToBf16(-2.0f), 0xC000);
    EXPECT_EQ(FloatToBf16(std::numeric_limits<float>::infinity()), 0x7F80);
    // The largest float rounds to infinity, as round-to-nearest-even says.
    EXPECT_EQ(FloatToBf16(std::numeric_limits<float>::max()), 0x7F80);
}

TEST(Bf16Rounding, NaNStaysNaNIncludingPayloadsThatWouldRoundToInfinity) {
    for (uint32_t bits : {0x7FC00000u, 0x7F800001u, 0xFF800001u, 0x7FFFFFFFu, 0x7F80FFFFu}) {
        const float rounded = RoundToBf16(FromBits(bits));
        EXPECT_TRUE(std::isnan(rounded)) << std::hex << bits;
        EXPECT_EQ(std::signbit(rounded), (bits >> 31) != 0) << std::hex << bits;
    }
}

TEST(Bf16Rounding, RandomValuesRoundToTheNearestBf16WithTiesToEven) {
    std::mt19937 rng(7);
    std::uniform_int_distribution<uint32_t> any_bits;
    for (int i = 0; i < 200000; ++i) {
        const float x = FromBits(any_bits(rng));
        if (!std::isfinite(x) || std::fabs(x) > 1e38f) continue;
        const uint32_t down_bits = Bits(x) & 0xFFFF0000u;
        const double down = FromBits(down_bits), up = FromBits(down_bits + 0x10000u);
        const double d_down = std::fabs(double{x} - down), d_up = std::fabs(double{x} - up);
        const double rounded = RoundToBf16(x);
        if (d_down < d_up) {
            ASSERT_EQ(rounded, down) << x;
        } else if (d_up < d_down) {
            ASSERT_EQ(rounded, up) << x;
        } else {
            ASSERT_EQ(rounded, ((down_bits >> 16) & 1) ? up : down) << x;
        }
    }
}

TEST(Bf16Packing, PairPanelsHoldEachWeightAtItsDocumentedPlaceAndZerosPastKAndN) {
    const int k = 5, n = 19;
    std::vector<float> weight(static_cast<size_t>(n) * k);
    for (int j = 0; j < n; ++j)
        for (int kk = 0; kk < k; ++kk) weight[static_cast<size_t>(j) * k + kk] = static_cast<float>(j * 8 + kk + 1);
    std::vector<bf16> packed(PackedBf16PanelsSize(k, n), 0xFFFF);
    ASSERT_EQ(packed.size(), 2u * 16 * 2 * 3);
    PackBf16Panels(weight.data(), k, n, packed.data());
    for (int col = 0; col < 32; ++col) {
        for (int kk = 0; kk < 6; ++kk) {
            const size_t at = (col / 16) * Bf16PanelStride(k) + ((kk / 2) * 16 + col % 16) * 2 + kk % 2;
            const float expected = (col < n && kk < k) ? static_cast<float>(col * 8 + kk + 1) : 0.0f;
            EXPECT_EQ(Bf16ToFloat(packed[at]), expected) << "col " << col << " k " << kk;
        }
    }
}

// One GEMM problem with everything the executor passes: split A, row padding,
// bias, activation, residual; C has columns past n that must stay untouched.
struct Bf16Shape {
    int64_t m;
    int k, n, k_split = 0;
    bool bias = false, residual = false;
    Activation activation = Activation::None;
    int padding = 0;
};

struct Bf16Problem : Bf16Shape {
    explicit Bf16Problem(const Bf16Shape& shape) : Bf16Shape(shape) {}

    std::vector<float> a, a2, weight, bias_values, residual_values;
    std::vector<bf16> packed;

    static constexpr float kSentinel = -12345.0f;

    void Fill(std::mt19937& rng) {
        std::uniform_real_distribution<float> d(-1.0f, 1.0f);
        const auto random = [&](size_t size) {
            std::vector<float> v(size);
            for (float& x : v) x = d(rng);
            return v;
        };
        a = random(static_cast<size_t>(m) * (k + padding));
        a2 = random(static_cast<size_t>(m) * (k + padding));
        weight = random(static_cast<size_t>(n) * k);
        bias_values = random(n);
        residual_values = random(static_cast<size_t>(m) * (n + padding));
        packed.assign(PackedBf16PanelsSize(k, n), 0);
        PackBf16Panels(weight.data(), k, n, packed.data());
    }

    Bf16GemmArgs Args(std::vector<float>& c) const {
        Bf16GemmArgs bf;
        GemmArgs& g = bf.gemm;
        g.m = m, g.k = k, g.n = n;
        g.a = a.data(), g.lda = k + padding;
        if (k_split > 0) g.a2 = a2.data(), g.lda2 = k + padding, g.k_split = k_split;
        g.bias = bias ? bias_values.data() : nullptr;
        g.activation = activation;
        if (residual) g.residual = residual_values.data(), g.ldr = n + padding;
        c.assign(static_cast<size_t>(m) * (n + padding + 1), kSentinel);
        g.c = c.data(), g.ldc = n + padding + 1;
        bf.packed_b = packed.data();
        return bf;
    }

    float AValue(int64_t i, int kk) const {
        const int64_t lda = k + padding;
        return (k_split > 0 && kk >= k_split) ? a2[i * lda + (kk - k_split)] : a[i * lda + kk];
    }

    // Sum over K of |a * w| plus |bias|: the scale of the accumulation's rounding error.
    double Magnitude(int64_t i, int j) const {
        double s = bias ? std::fabs(bias_values[j]) : 0.0;
        for (int kk = 0; kk < k; ++kk)
            s += std::fabs(double{RoundToBf16(AValue(i, kk))} * RoundToBf16(weight[static_cast<size_t>(j) * k + kk]));
        return s;
    }
};

double Activate(double x, Activation activation) {
    switch (activation) {
        case Activation::Relu: return x > 0 ? x : 0;
        case Activation::Gelu: return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
        default: return x;
    }
}

TEST(ReferenceBf16Gemm, EqualsFloat64ProductsOfTheRoundedInputsWithinFp32Accumulation) {
    std::mt19937 rng(11);
    for (Activation activation : {Activation::None, Activation::Relu, Activation::Gelu}) {
        Bf16Problem p({.m = 7, .k = 37, .n = 21, .k_split = 9, .bias = true, .residual = true,
                       .activation = activation, .padding = 3});
        p.Fill(rng);
        std::vector<float> c;
        ReferenceBf16Kernels()->gemm(p.Args(c));
        for (int64_t i = 0; i < p.m; ++i) {
            for (int j = 0; j < p.n; ++j) {
                double sum = p.bias_values[j];
                for (int kk = 0; kk < p.k; ++kk)
                    sum += double{RoundToBf16(p.AValue(i, kk))} * RoundToBf16(p.weight[static_cast<size_t>(j) * p.k + kk]);
                const double expected = Activate(sum, activation) + p.residual_values[i * (p.n + 3) + j];
                const double tolerance = (p.k + 2) * std::ldexp(1.0, -24) * (p.Magnitude(i, j) + 2) + 1e-6;
                ASSERT_NEAR(c[i * (p.n + 4) + j], expected, tolerance) << i << "," << j;
                // Without the rounding of A the result would differ far more than that.
            }
            ASSERT_EQ(c[i * (p.n + 4) + p.n], Bf16Problem::kSentinel);
        }
    }
}

TEST(ReferenceBf16Gemm, RoundsTheActivationsBeforeMultiplying) {
    // a = 1 + 2^-9 rounds to 1; a float GEMM would give 1 + 2^-9.
    Bf16Problem p({.m = 1, .k = 1, .n = 1});
    p.a = {1.0f + std::ldexp(1.0f, -9)};
    p.weight = {1.0f};
    p.packed.assign(PackedBf16PanelsSize(1, 1), 0);
    PackBf16Panels(p.weight.data(), 1, 1, p.packed.data());
    std::vector<float> c;
    ReferenceBf16Kernels()->gemm(p.Args(c));
    EXPECT_EQ(c[0], 1.0f);
}

class FastBf16GemmTest : public ::testing::TestWithParam<Bf16Set> {
protected:
    void SetUp() override {
        const Bf16Capabilities caps = DetectBf16Capabilities();
        const bool cpu_has = GetParam() == Bf16Set::Avx512Bf16 ? caps.avx512_bf16 : caps.amx_bf16 && caps.amx_permitted;
        kernels_ = cpu_has ? Bf16KernelsFor(GetParam()) : nullptr;
        if (kernels_) return;
        if (cpu_has && GetParam() != Bf16Set::Amx) FAIL() << "this CPU runs " << Bf16SetName(GetParam()) << " but the build lacks it";
        GTEST_SKIP() << "this CPU/build cannot run " << Bf16SetName(GetParam());
    }

    // Fast against reference: the same products, summed in the same order per
    // output, so the only differences are the GELU approximation's.
    void Check(const Bf16Shape& shape, uint32_t seed) {
        Bf16Problem p(shape);
        std::mt19937 rng(seed);
        p.Fill(rng);
        std::vector<float> expected, actual;
        ReferenceBf16Kernels()->gemm(p.Args(expected));
        kernels_->gemm(p.Args(actual));
        const int64_t ldc = p.n + p.padding + 1;
        for (int64_t i = 0; i < p.m; ++i) {
            for (int64_t j = 0; j < ldc; ++j) {
                const float e = expected[i * ldc + j], a = actual[i * ldc + j];
                const double tolerance =
                    j < p.n ? 4 * (p.k + 2) * std::ldexp(1.0, -24) * (p.Magnitude(i, static_cast<int>(j)) + 2) + 2e-6
                            : 0.0;
                ASSERT_NEAR(a, e, tolerance) << "m " << p.m << " k " << p.k << " n " << p.n << " split " << p.k_split
                                             << " at " << i << "," << j;
            }
        }
    }

    const Bf16KernelSet* kernels_ = nullptr;
};

TEST_P(FastBf16GemmTest, MatchesReferenceOnAwkwardShapes) {
    const int ks[] = {1, 2, 3, 10, 17, 40, 81};
    const int ns[] = {1, 15, 16, 17, 33, 40, 80, 100};
    const int64_t ms[] = {1, 2, 3, 4, 13, 14, 15, 29, 49, 127, 197};
    const Activation activations[] = {Activation::None, Activation::Relu, Activation::Gelu};
    uint32_t variant = 0;
    for (int k : ks) {
        for (int n : ns) {
            for (int64_t m : ms) {
                Bf16Shape p{.m = m, .k = k, .n = n};
                p.k_split = variant % 3 == 0 ? k / 4 : 0;
                p.bias = variant % 2 == 1;
                p.residual = (variant / 2) % 2 == 1;
                p.activation = activations[(variant / 4) % 3];
                p.padding = (variant / 12) % 2 ? 5 : 0;
                Check(p, variant++);
                if (HasFailure()) return;
            }
        }
    }
}

TEST_P(FastBf16GemmTest, FasterNetShapesAndManyRowBlocksMatchReference) {
    Check({.m = 3136, .k = 40, .n = 80, .k_split = 10, .bias = true, .activation = Activation::Gelu}, 1);
    Check({.m = 3136, .k = 80, .n = 40, .residual = true}, 2);
    Check({.m = 49, .k = 1536, .n = 768, .bias = true, .activation = Activation::Relu}, 3);
    Check({.m = 98, .k = 3072, .n = 50, .residual = true, .padding = 1}, 4);
    Check({.m = 1000, .k = 255, .n = 33, .k_split = 64, .bias = true}, 5);
}

TEST_P(FastBf16GemmTest, NaNInAnInputRowReachesThatRowsOutputsOnly) {
    Bf16Problem p({.m = 20, .k = 17, .n = 40, .bias = true});
    std::mt19937 rng(3);
    p.Fill(rng);
    p.a[5 * 17 + 4] = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> c;
    kernels_->gemm(p.Args(c));
    for (int64_t i = 0; i < p.m; ++i)
        for (int j = 0; j < p.n; ++j) EXPECT_EQ(std::isnan(c[i * 41 + j]), i == 5) << i << "," << j;
}

INSTANTIATE_TEST_SUITE_P(FastSets, FastBf16GemmTest, ::testing::Values(Bf16Set::Avx512Bf16),
                         [](const auto& info) { return std::string(Bf16SetName(info.param)); });

// The choice of set, from faked capability reports: testable on any CPU.
TEST(Bf16Dispatch, NeverPicksAmxWithoutBothCpuidAndOsPermission) {
    if (Bf16KernelsFor(Bf16Set::Avx512Bf16) == nullptr) {
        GTEST_SKIP() << "this build has no x86 bf16 kernels (not an x86-64 build)";
    }
    Bf16Set set;
    const char* reason = nullptr;
    const Bf16Capabilities amx_refused{.avx512_bf16 = true, .amx_bf16 = true, .amx_permitted = false};
    ASSERT_TRUE(ChooseBf16Set(FASTERNET_KERNELS_AVX512, amx_refused, &set, &reason));
    EXPECT_EQ(set, Bf16Set::Avx512Bf16);
    const Bf16Capabilities no_cpuid{.avx512_bf16 = true, .amx_bf16 = false, .amx_permitted = true};
    ASSERT_TRUE(ChooseBf16Set(FASTERNET_KERNELS_AVX512, no_cpuid, &set, &reason));
    EXPECT_EQ(set, Bf16Set::Avx512Bf16);
    const Bf16Capabilities amx_only_refused{.avx512_bf16 = false, .amx_bf16 = true, .amx_permitted = false};
    EXPECT_FALSE(ChooseBf16Set(FASTERNET_KERNELS_AVX512, amx_only_refused, &set, &reason));
    EXPECT_NE(std::string(reason).find("refused"), std::string::npos) << reason;
}

TEST(Bf16Dispatch, AmxWhenCpuidAndOsAllowItAndTheBuildHasIt) {
    if (Bf16KernelsFor(Bf16Set::Avx512Bf16) == nullptr) {
        GTEST_SKIP() << "this build has no x86 bf16 kernels (not an x86-64 build)";
    }
    Bf16Set set;
    const char* reason = nullptr;
    const Bf16Capabilities all{.avx512_bf16 = true, .amx_bf16 = true, .amx_permitted = true};
    ASSERT_TRUE(ChooseBf16Set(FASTERNET_KERNELS_AVX512, all, &set, &reason));
    EXPECT_EQ(set, Bf16KernelsFor(Bf16Set::Amx) ? Bf16Set::Amx : Bf16Set::Avx512Bf16);
}

TEST(Bf16Dispatch, ReferenceKernelsGiveTheReferenceBf16SetAndNoBf16CpuIsAClearError) {
    Bf16Set set;
    const char* reason = nullptr;
    ASSERT_TRUE(ChooseBf16Set(FASTERNET_KERNELS_REFERENCE, Bf16Capabilities{}, &set, &reason));
    EXPECT_EQ(set, Bf16Set::Reference);
    EXPECT_FALSE(ChooseBf16Set(FASTERNET_KERNELS_AVX2, Bf16Capabilities{}, &set, &reason));
    EXPECT_NE(std::string(reason).find("AVX512-BF16"), std::string::npos) << reason;
}

}  // namespace
}  // namespace fasternet::testing
