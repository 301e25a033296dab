// bf16: rounding, packing, the reference bf16 GEMM and conv against float64 on the
// same rounded inputs, each fast bf16 set against the reference on awkward shapes,
// and the choice of bf16 set from faked capabilities.
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/bf16.h"
#include "kernels/dispatch.h"
#if defined(__x86_64__)
#include "kernels/x86_amx_bf16/emulated.h"
#endif

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

constexpr bf16 kBf16Sentinel = 0xABCD;

// The bf16 buffers of a problem run with bf16 activations: A (the a columns) handed
// over already rounded, and/or the output taken as bf16.
struct Bf16Io {
    std::vector<bf16> a, c;
};

Bf16GemmArgs WithBf16Io(const Bf16Problem& p, Bf16GemmArgs bf, bool bf16_input, bool bf16_output, Bf16Io& io) {
    if (bf16_input) {
        io.a.resize(p.a.size());
        for (size_t i = 0; i < p.a.size(); ++i) io.a[i] = FloatToBf16(p.a[i]);
        bf.a_bf16 = io.a.data();
        bf.gemm.a = nullptr;
    }
    if (bf16_output) {
        io.c.assign(static_cast<size_t>(p.m) * bf.gemm.ldc, kBf16Sentinel);
        bf.c_bf16 = io.c.data();
        bf.gemm.c = nullptr;
    }
    return bf;
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

TEST(ReferenceBf16Gemm, Bf16InputAndOutputGiveTheFp32PathsResultRounded) {
    // Rounding a layer's output where the next layer would round its input changes nothing.
    std::mt19937 rng(17);
    for (Activation activation : {Activation::None, Activation::Relu, Activation::Gelu}) {
        for (int k_split : {0, 6}) {
            Bf16Problem p({.m = 9, .k = 23, .n = 19, .k_split = k_split, .bias = true, .residual = k_split > 0,
                           .activation = activation, .padding = 2});
            p.Fill(rng);
            std::vector<float> c, unused;
            ReferenceBf16Kernels()->gemm(p.Args(c));
            Bf16Io io;
            ReferenceBf16Kernels()->gemm(WithBf16Io(p, p.Args(unused), true, true, io));
            const int64_t ldc = p.n + p.padding + 1;
            for (int64_t i = 0; i < p.m; ++i) {
                for (int64_t j = 0; j < ldc; ++j) {
                    const bf16 expected = j < p.n ? FloatToBf16(c[i * ldc + j]) : kBf16Sentinel;
                    ASSERT_EQ(io.c[i * ldc + j], expected) << i << "," << j << " split " << k_split;
                }
            }
        }
    }
}

// A fast bf16 set under test: the dispatchable ones, and the amx_bf16 drivers on
// emulated tiles (x86_amx_bf16/emulated.h), which run wherever AVX512-BF16 does.
struct Bf16SetUnderTest {
    const char* name;
    const Bf16KernelSet* (*kernels)();  // nullptr where the build lacks the set
    const char* (*cannot_run)();       // why this CPU/OS cannot run it; nullptr when it can
    bool build_must_have;              // on a CPU that runs it, a build without it fails instead of skipping
};

const char* NoAvx512Bf16() {
    return DetectBf16Capabilities().avx512_bf16 ? nullptr : "this CPU has no AVX512-BF16";
}

const char* NoAmx() {
    const Bf16Capabilities caps = DetectBf16Capabilities();
    if (!caps.amx_bf16) return "this CPU has no AMX-TILE + AMX-BF16 (the emulated_amx_bf16 cases run the same drivers)";
    if (!caps.amx_permitted) return "the OS refused AMX tile data (XTILEDATA) to this process";
    return nullptr;
}

const char* EmulatedAmxCannotRun() {
    return DetectBf16Capabilities().avx512_bf16 ? nullptr
                                                : "the amx_bf16 drivers' epilogue is AVX512-BF16 code and this CPU lacks it";
}

const Bf16KernelSet* Avx512Bf16Set() { return Bf16KernelsFor(Bf16Set::Avx512Bf16); }
const Bf16KernelSet* AmxSet() { return Bf16KernelsFor(Bf16Set::Amx); }
#if defined(__x86_64__)
const Bf16KernelSet* EmulatedAmxSet() { return EmulatedAmxBf16Kernels(); }
#else
const Bf16KernelSet* EmulatedAmxSet() { return nullptr; }
#endif

#if defined(__linux__)
constexpr bool kAmxBuiltHere = true;  // the real AMX set is built for x86-64 Linux
#else
constexpr bool kAmxBuiltHere = false;
#endif

const Bf16SetUnderTest kFastSets[] = {
    {"avx512_bf16", Avx512Bf16Set, NoAvx512Bf16, true},
    {"amx_bf16", AmxSet, NoAmx, kAmxBuiltHere},
    {"emulated_amx_bf16", EmulatedAmxSet, EmulatedAmxCannotRun, true},
};

std::string SetName(const ::testing::TestParamInfo<Bf16SetUnderTest>& info) { return info.param.name; }
void PrintTo(const Bf16SetUnderTest& set, std::ostream* os) { *os << set.name; }

class FastBf16GemmTest : public ::testing::TestWithParam<Bf16SetUnderTest> {
protected:
    void SetUp() override {
        const Bf16SetUnderTest& set = GetParam();
        if (const char* reason = set.cannot_run()) GTEST_SKIP() << reason;
        kernels_ = set.kernels();
        if (kernels_) return;
        if (set.build_must_have) FAIL() << "this CPU runs " << set.name << " but the build lacks it";
        GTEST_SKIP() << "this build has no " << set.name;
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

    // The same with A given as bf16 and/or the output taken as bf16: the output may
    // differ from the reference's by the accumulation-order bound plus one bf16 step
    // (a sum near a rounding boundary rounds either way); columns past n stay untouched.
    void CheckBf16Io(const Bf16Shape& shape, bool bf16_input, bool bf16_output, uint32_t seed) {
        Bf16Problem p(shape);
        std::mt19937 rng(seed);
        p.Fill(rng);
        std::vector<float> expected, actual;
        Bf16Io expected_io, actual_io;
        ReferenceBf16Kernels()->gemm(WithBf16Io(p, p.Args(expected), bf16_input, bf16_output, expected_io));
        kernels_->gemm(WithBf16Io(p, p.Args(actual), bf16_input, bf16_output, actual_io));
        const int64_t ldc = p.n + p.padding + 1;
        for (int64_t i = 0; i < p.m; ++i) {
            for (int64_t j = 0; j < ldc; ++j) {
                const auto where = [&] {
                    return ::testing::Message() << "m " << p.m << " k " << p.k << " n " << p.n << " split "
                                                << p.k_split << " bf16 in " << bf16_input << " out " << bf16_output
                                                << " at " << i << "," << j;
                };
                if (bf16_output && j >= p.n) {
                    ASSERT_EQ(actual_io.c[i * ldc + j], kBf16Sentinel) << where();
                    continue;
                }
                const float e = bf16_output ? Bf16ToFloat(expected_io.c[i * ldc + j]) : expected[i * ldc + j];
                const float a = bf16_output ? Bf16ToFloat(actual_io.c[i * ldc + j]) : actual[i * ldc + j];
                double tolerance = 0.0;
                if (j < p.n) {
                    tolerance = 4 * (p.k + 2) * std::ldexp(1.0, -24) * (p.Magnitude(i, static_cast<int>(j)) + 2) + 2e-6;
                    if (bf16_output) tolerance += std::ldexp(std::fabs(double{e}), -7);
                }
                ASSERT_NEAR(a, e, tolerance) << where();
            }
        }
    }

    const Bf16KernelSet* kernels_ = nullptr;
};

TEST_P(FastBf16GemmTest, Bf16InputsAndOutputsMatchReference) {
    // Even K (A read in place), odd K (copied with its pad zero), A split with an fp32 a2
    // (PW1: PConv's bf16 rows beside the untouched fp32 channels), padded rows.
    const Activation activations[] = {Activation::None, Activation::Relu, Activation::Gelu};
    uint32_t variant = 0;
    for (int k : {1, 2, 7, 16, 40, 81}) {
        for (int n : {1, 17, 40, 80}) {
            for (int64_t m : {1, 13, 29, 197}) {
                Bf16Shape p{.m = m, .k = k, .n = n};
                p.k_split = variant % 3 == 0 ? (k + 3) / 4 : 0;
                p.bias = variant % 2 == 1;
                p.residual = (variant / 2) % 3 == 1;
                p.activation = activations[(variant / 4) % 3];
                p.padding = (variant / 3) % 2 ? 3 : 0;
                CheckBf16Io(p, true, variant % 4 != 3, variant);
                CheckBf16Io(p, variant % 2 == 0, true, variant + 1000);
                ++variant;
                if (HasFailure()) return;
            }
        }
    }
    // FasterNet's PW1 (bf16 PConv rows + fp32 channels -> bf16 hidden) and PW2 (bf16 hidden -> fp32 + residual).
    CheckBf16Io({.m = 3136, .k = 40, .n = 80, .k_split = 10, .bias = true, .activation = Activation::Gelu}, true,
                true, 1);
    CheckBf16Io({.m = 3136, .k = 80, .n = 40, .residual = true, .padding = 16}, true, false, 2);
    CheckBf16Io({.m = 49, .k = 1536, .n = 768, .bias = true, .activation = Activation::Relu}, true, true, 3);
}

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

TEST_P(FastBf16GemmTest, TileEdgesMatchReference) {
    // Sizes around the AMX tiles' 16 rows, 16 columns and 16 K pairs (32 values): one row or
    // column, one short of a tile, a tile, one past, and several tiles with tails; with split A,
    // bias, residual, each activation, padded strides, bf16 input and/or output.
    const int64_t ms[] = {1, 15, 16, 17, 33, 49, 196};
    const int ns[] = {1, 15, 16, 17, 40, 96};
    const int ks[] = {1, 2, 31, 32, 33, 40, 96};
    const Activation activations[] = {Activation::None, Activation::Relu, Activation::Gelu};
    uint32_t variant = 0;
    for (int k : ks) {
        for (int n : ns) {
            for (int64_t m : ms) {
                Bf16Shape p{.m = m, .k = k, .n = n};
                p.k_split = variant % 3 == 0 ? (k + 1) / 3 : 0;
                p.bias = variant % 2 == 0;
                p.residual = (variant / 2) % 2 == 1;
                p.activation = activations[variant % 3];
                p.padding = (variant / 5) % 2 ? 7 : 0;
                if (variant % 4 == 0) {
                    Check(p, variant);
                } else {
                    CheckBf16Io(p, variant % 4 != 2, variant % 4 != 1, variant);
                }
                ++variant;
                if (HasFailure()) return;
            }
        }
    }
    // Deep K with a tail (3072 = 96 steps of 16 pairs; 3070 and 3090 end mid-tile).
    Check({.m = 17, .k = 3070, .n = 33, .bias = true, .activation = Activation::Gelu, .padding = 2}, 7);
    CheckBf16Io({.m = 33, .k = 3090, .n = 17, .k_split = 1000, .residual = true}, true, true, 8);
}

INSTANTIATE_TEST_SUITE_P(FastSets, FastBf16GemmTest, ::testing::ValuesIn(kFastSets), SetName);

// One conv problem as the executor passes it: an NHWC image whose pixels may hold more
// channels than the conv reads (PConv), output rows [row_begin, row_end) into an output
// whose pixels have channels past out_c that must stay untouched.
struct Bf16ConvShape {
    int h, w, in_c, out_c, kernel, stride = 1, pad = 0;
    int in_padding = 0, out_padding = 0;  // extra channels per pixel
    bool bias = false;
    Activation activation = Activation::None;
    int row_begin = 0, row_end = -1;  // -1: every output row
};

struct Bf16ConvProblem : Bf16ConvShape {
    explicit Bf16ConvProblem(const Bf16ConvShape& shape) : Bf16ConvShape(shape) {
        out_h = (h + 2 * pad - kernel) / stride + 1;
        out_w = (w + 2 * pad - kernel) / stride + 1;
        if (row_end < 0) row_end = out_h;
    }

    int out_h, out_w;
    std::vector<float> input, weight, bias_values;  // weight in the fp32 conv's order [out][(kh, kw, ci)]
    std::vector<bf16> packed;

    int k() const { return kernel * kernel * in_c; }
    int64_t in_stride() const { return in_c + in_padding; }
    int64_t out_stride() const { return out_c + out_padding; }

    void Fill(std::mt19937& rng) {
        std::uniform_real_distribution<float> d(-1.0f, 1.0f);
        input.resize(static_cast<size_t>(h) * w * in_stride());
        for (float& x : input) x = d(rng);
        weight.resize(static_cast<size_t>(out_c) * k());
        for (float& x : weight) x = d(rng);
        bias_values.resize(out_c);
        for (float& x : bias_values) x = d(rng);
        packed.assign(PackedBf16PanelsSize(Bf16ConvDepth(kernel, in_c), out_c), 0xFFFF);
        PackBf16ConvPanels(weight.data(), out_c, in_c, kernel, packed.data());
    }

    // The same args with the output taken as bf16 into `out_bf16` (sentinel-filled).
    Bf16ConvArgs Bf16OutputArgs(std::vector<float>& unused, std::vector<bf16>& out_bf16) const {
        Bf16ConvArgs bf = Args(unused);
        out_bf16.assign(unused.size(), kBf16Sentinel);
        bf.output_bf16 = out_bf16.data();
        bf.conv.output = nullptr;
        return bf;
    }

    Bf16ConvArgs Args(std::vector<float>& out) const {
        Bf16ConvArgs bf;
        ConvArgs& a = bf.conv;
        a.input = input.data();
        a.in_pixel_stride = in_stride();
        a.in_h = h, a.in_w = w, a.in_c = in_c;
        a.kernel = kernel, a.stride = stride, a.pad = pad;
        a.bias = bias ? bias_values.data() : nullptr;
        a.activation = activation;
        out.assign(static_cast<size_t>(out_h) * out_w * out_stride(), Bf16Problem::kSentinel);
        a.output = out.data();
        a.out_pixel_stride = out_stride();
        a.out_h = out_h, a.out_w = out_w, a.out_c = out_c;
        a.row_begin = row_begin, a.row_end = row_end;
        bf.packed_weights = packed.data();
        return bf;
    }

    // The float64 sum over the window of rounded input x rounded weight (plus bias), and its magnitude.
    void Exact(int oy, int ox, int co, double* sum, double* magnitude) const {
        *sum = bias ? bias_values[co] : 0.0;
        *magnitude = std::fabs(*sum);
        for (int ky = 0; ky < kernel; ++ky) {
            for (int kx = 0; kx < kernel; ++kx) {
                const int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                for (int ci = 0; ci < in_c; ++ci) {
                    const double product = double{RoundToBf16(input[(int64_t{iy} * w + ix) * in_stride() + ci])} *
                                           RoundToBf16(weight[static_cast<size_t>(co) * k() + (ky * kernel + kx) * in_c + ci]);
                    *sum += product;
                    *magnitude += std::fabs(product);
                }
            }
        }
    }
};

TEST(Bf16ConvPacking, TapsHoldTheirChannelsPaddedToEvenWithZeros) {
    const int in_c = 3, out_c = 17, kernel = 2;
    std::vector<float> weight(static_cast<size_t>(out_c) * kernel * kernel * in_c);
    for (size_t i = 0; i < weight.size(); ++i) weight[i] = static_cast<float>(i + 1);
    const int k = Bf16ConvDepth(kernel, in_c);
    ASSERT_EQ(k, 16);
    std::vector<bf16> packed(PackedBf16PanelsSize(k, out_c), 0xFFFF);
    PackBf16ConvPanels(weight.data(), out_c, in_c, kernel, packed.data());
    for (int co = 0; co < 32; ++co) {
        for (int kk = 0; kk < k; ++kk) {
            const int tap = kk / 4, ci = kk % 4;
            const size_t at = (co / 16) * Bf16PanelStride(k) + ((kk / 2) * 16 + co % 16) * 2 + kk % 2;
            const float expected =
                (co < out_c && ci < in_c) ? weight[static_cast<size_t>(co) * 12 + tap * in_c + ci] : 0.0f;
            EXPECT_EQ(Bf16ToFloat(packed[at]), expected) << "out " << co << " k " << kk;
        }
    }
}

TEST(ReferenceBf16Conv, EqualsFloat64ProductsOfTheRoundedInputsWithinFp32Accumulation) {
    std::mt19937 rng(13);
    const Bf16ConvShape shapes[] = {
        {.h = 7, .w = 6, .in_c = 5, .out_c = 5, .kernel = 3, .pad = 1, .in_padding = 15, .bias = true},
        {.h = 9, .w = 7, .in_c = 3, .out_c = 19, .kernel = 2, .stride = 2, .activation = Activation::Relu},
        {.h = 11, .w = 9, .in_c = 4, .out_c = 18, .kernel = 3, .stride = 2, .pad = 1, .out_padding = 3,
         .bias = true, .activation = Activation::Gelu, .row_begin = 1, .row_end = 4},
    };
    for (const Bf16ConvShape& shape : shapes) {
        Bf16ConvProblem p(shape);
        p.Fill(rng);
        std::vector<float> out;
        ReferenceBf16Kernels()->conv(p.Args(out));
        for (int oy = 0; oy < p.out_h; ++oy) {
            for (int ox = 0; ox < p.out_w; ++ox) {
                for (int co = 0; co < p.out_stride(); ++co) {
                    const float actual = out[(int64_t{oy} * p.out_w + ox) * p.out_stride() + co];
                    if (co >= p.out_c || oy < p.row_begin || oy >= p.row_end) {
                        ASSERT_EQ(actual, Bf16Problem::kSentinel) << oy << "," << ox << "," << co;
                        continue;
                    }
                    double sum, magnitude;
                    p.Exact(oy, ox, co, &sum, &magnitude);
                    const double tolerance = (p.k() + 2) * std::ldexp(1.0, -24) * (magnitude + 2) + 1e-6;
                    ASSERT_NEAR(actual, Activate(sum, p.activation), tolerance) << oy << "," << ox << "," << co;
                }
            }
        }
    }
}

TEST(ReferenceBf16Conv, RoundsTheActivationsBeforeMultiplying) {
    // A 1x1 image, 1x1 kernel: x = 1 + 2^-9 rounds to 1; a float conv would give 1 + 2^-9.
    Bf16ConvProblem p({.h = 1, .w = 1, .in_c = 1, .out_c = 1, .kernel = 1});
    p.input = {1.0f + std::ldexp(1.0f, -9)};
    p.weight = {1.0f};
    p.packed.assign(PackedBf16PanelsSize(Bf16ConvDepth(1, 1), 1), 0);
    PackBf16ConvPanels(p.weight.data(), 1, 1, 1, p.packed.data());
    std::vector<float> out;
    ReferenceBf16Kernels()->conv(p.Args(out));
    EXPECT_EQ(out[0], 1.0f);
}

TEST(ReferenceBf16Conv, Bf16OutputIsTheFp32OutputRounded) {
    std::mt19937 rng(19);
    Bf16ConvProblem p({.h = 7, .w = 9, .in_c = 5, .out_c = 5, .kernel = 3, .pad = 1, .in_padding = 15,
                       .out_padding = 2, .bias = true, .activation = Activation::Gelu, .row_begin = 2, .row_end = 6});
    p.Fill(rng);
    std::vector<float> out, unused;
    std::vector<bf16> out_bf16;
    ReferenceBf16Kernels()->conv(p.Args(out));
    ReferenceBf16Kernels()->conv(p.Bf16OutputArgs(unused, out_bf16));
    for (size_t i = 0; i < out.size(); ++i) {
        const bf16 expected = out[i] == Bf16Problem::kSentinel ? kBf16Sentinel : FloatToBf16(out[i]);
        ASSERT_EQ(out_bf16[i], expected) << "at " << i;
    }
}

class FastBf16ConvTest : public FastBf16GemmTest {
protected:
    // Fast against reference: the same products summed in the same order, so only
    // the GELU approximation differs; untouched outputs keep the sentinel.
    void Check(const Bf16ConvShape& shape, uint32_t seed) {
        Bf16ConvProblem p(shape);
        std::mt19937 rng(seed);
        p.Fill(rng);
        std::vector<float> expected, actual;
        ReferenceBf16Kernels()->conv(p.Args(expected));
        kernels_->conv(p.Args(actual));
        for (size_t i = 0; i < expected.size(); ++i) {
            const int64_t pixel = static_cast<int64_t>(i) / p.out_stride();
            const int co = static_cast<int>(i % p.out_stride());
            double tolerance = 0.0;
            if (expected[i] != Bf16Problem::kSentinel) {
                double sum, magnitude;
                p.Exact(static_cast<int>(pixel / p.out_w), static_cast<int>(pixel % p.out_w), co, &sum, &magnitude);
                tolerance = 4 * (p.k() + 2) * std::ldexp(1.0, -24) * (magnitude + 2) + 2e-6;
            }
            ASSERT_NEAR(actual[i], expected[i], tolerance)
                << p.h << "x" << p.w << " in_c " << p.in_c << " out_c " << p.out_c << " kernel " << p.kernel
                << " stride " << p.stride << " pad " << p.pad << " rows " << p.row_begin << "-" << p.row_end
                << " at pixel " << pixel << " channel " << co;
        }
    }
};

TEST_P(FastBf16ConvTest, Bf16OutputMatchesReference) {
    // PConv into a bf16 tile (the fused block), odd channel counts, partial row ranges,
    // and a merge: within the fp32 bound plus one bf16 step; untouched values stay.
    const Bf16ConvShape shapes[] = {
        {.h = 14, .w = 15, .in_c = 10, .out_c = 10, .kernel = 3, .pad = 1, .in_padding = 30, .row_begin = 3,
         .row_end = 9},
        {.h = 7, .w = 7, .in_c = 33, .out_c = 33, .kernel = 3, .pad = 1, .in_padding = 99, .out_padding = 1,
         .activation = Activation::Gelu},
        {.h = 5, .w = 3, .in_c = 1, .out_c = 1, .kernel = 3, .pad = 1, .in_padding = 3, .bias = true},
        {.h = 15, .w = 13, .in_c = 33, .out_c = 66, .kernel = 2, .stride = 2, .out_padding = 2, .bias = true,
         .activation = Activation::Relu},
    };
    uint32_t seed = 200;
    for (const Bf16ConvShape& shape : shapes) {
        Bf16ConvProblem p(shape);
        std::mt19937 rng(seed++);
        p.Fill(rng);
        std::vector<float> unused;
        std::vector<bf16> expected, actual;
        ReferenceBf16Kernels()->conv(p.Bf16OutputArgs(unused, expected));
        kernels_->conv(p.Bf16OutputArgs(unused, actual));
        for (size_t i = 0; i < expected.size(); ++i) {
            const int64_t pixel = static_cast<int64_t>(i) / p.out_stride();
            const int co = static_cast<int>(i % p.out_stride());
            if (expected[i] == kBf16Sentinel) {
                ASSERT_EQ(actual[i], kBf16Sentinel) << "pixel " << pixel << " channel " << co;
                continue;
            }
            double sum, magnitude;
            p.Exact(static_cast<int>(pixel / p.out_w), static_cast<int>(pixel % p.out_w), co, &sum, &magnitude);
            const double e = Bf16ToFloat(expected[i]);
            const double tolerance =
                4 * (p.k() + 2) * std::ldexp(1.0, -24) * (magnitude + 2) + 2e-6 + std::ldexp(std::fabs(e), -7);
            ASSERT_NEAR(Bf16ToFloat(actual[i]), e, tolerance)
                << p.h << "x" << p.w << " in_c " << p.in_c << " kernel " << p.kernel << " at pixel " << pixel
                << " channel " << co;
        }
    }
}

TEST_P(FastBf16ConvTest, PartialConvMatchesReferenceOnAwkwardShapes) {
    // 3x3/s1/p1 on cp of dim channels: T0's cp = 10, odd cp, maps narrower than a tile,
    // a single pixel, row ranges that start and end mid-image (the fused block's tiles).
    const int cps[] = {1, 3, 10, 17, 20, 33};
    const int sizes[][2] = {{1, 1}, {2, 3}, {5, 7}, {7, 7}, {14, 15}, {3, 29}};
    const Activation activations[] = {Activation::None, Activation::Relu, Activation::Gelu};
    uint32_t variant = 0;
    for (int cp : cps) {
        for (const auto& size : sizes) {
            Bf16ConvShape s{.h = size[0], .w = size[1], .in_c = cp, .out_c = cp, .kernel = 3, .pad = 1};
            s.in_padding = 3 * cp;
            s.out_padding = variant % 2 ? 5 : 0;
            s.bias = variant % 3 == 1;
            s.activation = activations[(variant / 2) % 3];
            if (variant % 4 == 3 && s.h > 2) s.row_begin = 1, s.row_end = s.h - 1;
            Check(s, variant++);
            if (HasFailure()) return;
        }
    }
}

TEST_P(FastBf16ConvTest, MergingAndOtherStridedConvsMatchReference) {
    // Merges (2x2/s2) with odd input sizes (the last row and column unread), odd channel
    // counts (padded taps), wide outputs (panel groups); the embedding's 4x4/s4 on 3
    // channels; a 3x3/s2/p1 conv with borders on every side.
    const Bf16ConvShape shapes[] = {
        {.h = 56, .w = 56, .in_c = 40, .out_c = 80, .kernel = 2, .stride = 2, .bias = true},
        {.h = 7, .w = 9, .in_c = 5, .out_c = 10, .kernel = 2, .stride = 2, .bias = true},
        {.h = 15, .w = 13, .in_c = 33, .out_c = 66, .kernel = 2, .stride = 2, .out_padding = 2},
        {.h = 14, .w = 14, .in_c = 160, .out_c = 320, .kernel = 2, .stride = 2, .bias = true,
         .row_begin = 2, .row_end = 5},
        {.h = 29, .w = 31, .in_c = 3, .out_c = 40, .kernel = 4, .stride = 4, .bias = true,
         .activation = Activation::Gelu},
        {.h = 13, .w = 10, .in_c = 7, .out_c = 48, .kernel = 3, .stride = 2, .pad = 1, .in_padding = 1,
         .bias = true, .activation = Activation::Relu},
    };
    uint32_t seed = 100;
    for (const Bf16ConvShape& shape : shapes) {
        Check(shape, seed++);
        if (HasFailure()) return;
    }
}

TEST_P(FastBf16ConvTest, NaNInAnInputPixelReachesOnlyTheOutputsWhoseWindowsHoldIt) {
    Bf16ConvProblem p({.h = 6, .w = 5, .in_c = 4, .out_c = 20, .kernel = 3, .pad = 1, .in_padding = 12});
    std::mt19937 rng(9);
    p.Fill(rng);
    const int ny = 2, nx = 4;
    p.input[(int64_t{ny} * p.w + nx) * p.in_stride() + 1] = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> out;
    kernels_->conv(p.Args(out));
    for (int oy = 0; oy < p.out_h; ++oy) {
        for (int ox = 0; ox < p.out_w; ++ox) {
            const bool sees = std::abs(oy - ny) <= 1 && std::abs(ox - nx) <= 1;
            for (int co = 0; co < p.out_c; ++co)
                EXPECT_EQ(std::isnan(out[(int64_t{oy} * p.out_w + ox) * p.out_c + co]), sees) << oy << "," << ox;
        }
    }
}

TEST_P(FastBf16ConvTest, FasterNetMapSizesMatchReference) {
    // PConv at the 56x56, 14x14 and 7x7 maps (pixel tiles crossing output rows, K tails of 9 taps
    // of odd channel counts), a merge per stage boundary, the 4x4/s4 embedding on 3 channels.
    const Bf16ConvShape shapes[] = {
        {.h = 56, .w = 56, .in_c = 10, .out_c = 10, .kernel = 3, .pad = 1, .in_padding = 30, .out_padding = 30},
        {.h = 14, .w = 14, .in_c = 35, .out_c = 35, .kernel = 3, .pad = 1, .in_padding = 105, .bias = true,
         .activation = Activation::Gelu},
        {.h = 7, .w = 7, .in_c = 80, .out_c = 80, .kernel = 3, .pad = 1, .in_padding = 240, .row_begin = 2,
         .row_end = 5},
        {.h = 7, .w = 7, .in_c = 17, .out_c = 17, .kernel = 3, .pad = 1, .activation = Activation::Relu},
        {.h = 28, .w = 28, .in_c = 80, .out_c = 160, .kernel = 2, .stride = 2, .bias = true},
        {.h = 15, .w = 15, .in_c = 33, .out_c = 47, .kernel = 2, .stride = 2, .out_padding = 1},
        {.h = 32, .w = 36, .in_c = 3, .out_c = 40, .kernel = 4, .stride = 4, .bias = true},
    };
    uint32_t seed = 300;
    for (const Bf16ConvShape& shape : shapes) {
        Check(shape, seed++);
        if (HasFailure()) return;
    }
}

INSTANTIATE_TEST_SUITE_P(FastSets, FastBf16ConvTest, ::testing::ValuesIn(kFastSets), SetName);

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
#if defined(__linux__)
    // x86-64 Linux builds carry the real AMX set under its name.
    ASSERT_NE(Bf16KernelsFor(Bf16Set::Amx), nullptr);
    EXPECT_STREQ(Bf16KernelsFor(Bf16Set::Amx)->name, "amx_bf16");
    EXPECT_EQ(set, Bf16Set::Amx);
#endif
    // The AMX set's rounding and epilogue are AVX512-BF16 code: without it, no AMX either.
    const Bf16Capabilities amx_without_avx512_bf16{.avx512_bf16 = false, .amx_bf16 = true, .amx_permitted = true};
    EXPECT_FALSE(ChooseBf16Set(FASTERNET_KERNELS_AVX512, amx_without_avx512_bf16, &set, &reason));
}

TEST(Bf16Dispatch, FasternetBf16KernelsForcesASetOnlyWhereItCanRun) {
    Bf16Set set;
    const char* reason = nullptr;
    const Bf16Capabilities all{.avx512_bf16 = true, .amx_bf16 = true, .amx_permitted = true};
    const Bf16Capabilities amx_refused{.avx512_bf16 = true, .amx_bf16 = true, .amx_permitted = false};
    // Reference on any CPU, even with the fast fp32 set.
    ASSERT_TRUE(ChooseBf16Set(FASTERNET_KERNELS_AVX512, Bf16Capabilities{}, &set, &reason, "reference_bf16"));
    EXPECT_EQ(set, Bf16Set::Reference);
    // "auto" and "" are the ordinary choice.
    ASSERT_TRUE(ChooseBf16Set(FASTERNET_KERNELS_REFERENCE, all, &set, &reason, "auto"));
    EXPECT_EQ(set, Bf16Set::Reference);
    ASSERT_TRUE(ChooseBf16Set(FASTERNET_KERNELS_REFERENCE, all, &set, &reason, ""));
    EXPECT_EQ(set, Bf16Set::Reference);
    // An unknown name, and AMX where the OS refused tile data: clear errors, never AMX.
    EXPECT_FALSE(ChooseBf16Set(FASTERNET_KERNELS_AVX512, all, &set, &reason, "amx"));
    EXPECT_NE(std::string(reason).find("FASTERNET_BF16_KERNELS"), std::string::npos) << reason;
    EXPECT_FALSE(ChooseBf16Set(FASTERNET_KERNELS_AVX512, amx_refused, &set, &reason, "amx_bf16"));
    EXPECT_NE(std::string(reason).find("permission"), std::string::npos) << reason;
    EXPECT_FALSE(ChooseBf16Set(FASTERNET_KERNELS_AVX512, Bf16Capabilities{}, &set, &reason, "avx512_bf16"));
    if (Bf16KernelsFor(Bf16Set::Avx512Bf16) == nullptr) return;  // not an x86-64 build
    // avx512_bf16 on a CPU whose best is AMX (to compare the two there).
    ASSERT_TRUE(ChooseBf16Set(FASTERNET_KERNELS_AVX512, all, &set, &reason, "avx512_bf16"));
    EXPECT_EQ(set, Bf16Set::Avx512Bf16);
    if (Bf16KernelsFor(Bf16Set::Amx) == nullptr) return;  // a build without the AMX set
    ASSERT_TRUE(ChooseBf16Set(FASTERNET_KERNELS_AVX512, all, &set, &reason, "amx_bf16"));
    EXPECT_EQ(set, Bf16Set::Amx);
}

TEST(Bf16Dispatch, NeverChoosesTheEmulatedAmxSet) {
    const Bf16KernelSet* emulated = EmulatedAmxSet();
    if (!emulated) GTEST_SKIP() << "this build has no emulated AMX set (not an x86-64 build)";
    EXPECT_STREQ(emulated->name, "emulated_amx_bf16");
    for (int bits = 0; bits < 8; ++bits) {
        const Bf16Capabilities caps{.avx512_bf16 = (bits & 1) != 0, .amx_bf16 = (bits & 2) != 0,
                                    .amx_permitted = (bits & 4) != 0};
        for (fasternet_kernel_set fp32 : {FASTERNET_KERNELS_REFERENCE, FASTERNET_KERNELS_AVX2, FASTERNET_KERNELS_AVX512}) {
            Bf16Set set;
            const char* reason = nullptr;
            for (const char* requested : {"", "reference_bf16", "avx512_bf16", "amx_bf16", "emulated_amx_bf16"}) {
                if (!ChooseBf16Set(fp32, caps, &set, &reason, requested)) continue;
                EXPECT_NE(Bf16KernelsFor(set), emulated) << Bf16SetName(set);
                if (set == Bf16Set::Amx) EXPECT_TRUE(caps.amx_bf16 && caps.amx_permitted && caps.avx512_bf16);
            }
        }
    }
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
