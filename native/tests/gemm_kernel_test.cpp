// The GEMM (pointwise conv) kernel of every fast kernel set against the scalar reference.
#include <cmath>
#include <limits>
#include <vector>

#include "kernel_tester.h"

namespace fasternet::testing {
namespace {

class GemmKernelTest : public FastKernelSetTest {};

const int kChannelCounts[] = {1, 3, 10, 16, 17, 20, 36, 40, 72, 80, 100};
const int64_t kRowCounts[] = {1, 2, 3, 4, 5, 7, 13, 14, 15, 28, 29, 49, 64, 100, 197};
const Activation kActivations[] = {Activation::None, Activation::Relu, Activation::Gelu};

TEST_P(GemmKernelTest, KernelSetTableIsCompleteAndNamed) {
    EXPECT_STREQ(Kernels().name, KernelSetName(GetParam()));
    EXPECT_NE(Kernels().gemm, nullptr);
    EXPECT_NE(Kernels().conv, nullptr);
    EXPECT_NE(Kernels().global_average_pool, nullptr);
    EXPECT_NE(Kernels().channel_affine, nullptr);
    EXPECT_NE(Kernels().depthwise_conv, nullptr);
}

// Every (m, k, n) of the sweep; bias, activation, residual and row padding
// rotate so every combination meets many shapes.
void SweepAwkwardShapes(const KernelSet& kernels, int threads) {
    int variant = 0;
    for (int n : kChannelCounts) {
        for (int k : kChannelCounts) {
            for (int64_t m : kRowCounts) {
                GemmTester()
                    .M(m)
                    .K(k)
                    .N(n)
                    .Bias(variant % 2 == 1)
                    .Activation(kActivations[(variant / 2) % 3])
                    .Residual((variant / 6) % 2 == 1)
                    .RowPadding((variant / 12) % 2 == 1 ? 5 : 0)
                    .Threads(threads)
                    .Test(kernels);
                ++variant;
                if (::testing::Test::HasFailure()) return;
            }
        }
    }
}

TEST_P(GemmKernelTest, MatchesReferenceOverAwkwardShapes) { SweepAwkwardShapes(Kernels(), 1); }

TEST_P(GemmKernelTest, ConcurrentCallsOnDisjointRowRangesMatchReference) { SweepAwkwardShapes(Kernels(), 2); }

TEST_P(GemmKernelTest, EachActivationWithBiasAndResidualMatchesReference) {
    const struct {
        int64_t m;
        int k, n;
    } shapes[] = {{49, 40, 80}, {13, 17, 100}, {1, 100, 10}, {64, 72, 36}, {197, 20, 3}};
    for (Activation activation : kActivations) {
        for (const auto& s : shapes) {
            for (int padding : {0, 3}) {
                GemmTester()
                    .M(s.m)
                    .K(s.k)
                    .N(s.n)
                    .Bias()
                    .Residual()
                    .RowPadding(padding)
                    .Activation(activation)
                    .Test(Kernels());
            }
        }
    }
}

// PW1 reads PConv's output (cp channels) for columns [0, cp) and the untouched
// channels in place for [cp, dim).
TEST_P(GemmKernelTest, SplitInputReadsColumnsPastKSplitFromSecondSource) {
    const struct {
        int k, k_split;
    } splits[] = {{40, 10}, {20, 5}, {17, 0}, {17, 17}, {100, 25}, {36, 9}, {64, 16}, {3, 1}};
    for (const auto& s : splits) {
        for (int64_t m : {1, 5, 14, 49, 100}) {
            for (int padding : {0, 7}) {
                GemmTester()
                    .M(m)
                    .K(s.k)
                    .N(2 * s.k)
                    .KSplit(s.k_split)
                    .RowPadding(padding)
                    .Bias()
                    .Activation(Activation::Gelu)
                    .Test(Kernels());
            }
        }
    }
}

TEST_P(GemmKernelTest, LargeKAndManyRowBlocksMatchReference) {
    GemmTester().M(49).K(1536).N(40).Bias().Residual().Test(Kernels());
    GemmTester().M(197).K(768).N(100).Activation(Activation::Relu).Test(Kernels());
    GemmTester().M(1000).K(40).N(17).Residual().RowPadding(2).Test(Kernels());
    GemmTester().M(700).K(300).N(33).KSplit(75).Bias().Test(Kernels());
}

// Deep K runs in chunks with C stored and reloaded in between; the activation
// and residual only after the last chunk, the split of A anywhere.
TEST_P(GemmKernelTest, DeepKInChunksMatchesReference) {
    const struct {
        int k, k_split;
    } shapes[] = {{3072, 0}, {1537, 1000}, {1536, 384}, {2305, 769}, {769, 768}};
    for (const auto& s : shapes) {
        for (Activation activation : kActivations) {
            GemmTester()
                .M(29)
                .K(s.k)
                .N(50)
                .KSplit(s.k_split)
                .Bias()
                .Residual()
                .RowPadding(3)
                .Activation(activation)
                .Test(Kernels());
        }
    }
}

TEST_P(GemmKernelTest, FasterNetShapesMatchReference) {
    // T0 stage 1 block at 224x224: PW1 with GELU, PW2 with the residual.
    GemmTester().M(3136).K(40).N(80).KSplit(10).Bias().Activation(Activation::Gelu).Test(Kernels());
    GemmTester().M(3136).K(80).N(40).Residual().Test(Kernels());
    // Late stage and head: few rows, wide matrices; the classifier has a bias.
    GemmTester().M(49).K(384).N(768).Bias().Activation(Activation::Relu).Test(Kernels());
    GemmTester().M(1).K(1280).N(1000).Bias().Test(Kernels());
    GemmTester().M(16).K(1280).N(10).Bias().Test(Kernels());
}

TEST_P(GemmKernelTest, NaNInputsPropagateLikeTheReference) {
    const int64_t m = 20;
    const int k = 17;
    std::vector<float> a(static_cast<size_t>(m) * k, 0.25f);
    for (int64_t i = 0; i < m; i += 3) a[i * k + (i % k)] = std::numeric_limits<float>::quiet_NaN();
    for (Activation activation : kActivations) {
        GemmTester().M(m).K(k).N(20).Inputs(a).Bias().Activation(activation).Test(Kernels());
    }
}

// GELU through a 1 x 1 GEMM with weight 1: the output is GELU(x) exactly as the
// epilogue computes it, checked against the scalar erf definition.
std::vector<float> GeluThroughGemm(const KernelSet& kernels, const std::vector<float>& x) {
    const float one = 1.0f;
    std::vector<float> packed(PackedPanelsSize(1, 1));
    PackPanels(&one, 1, 1, packed.data());
    std::vector<float> out(x.size(), kSentinel);
    GemmArgs args;
    args.m = static_cast<int64_t>(x.size());
    args.k = 1;
    args.n = 1;
    args.a = x.data();
    args.lda = 1;
    args.packed_b = packed.data();
    args.activation = Activation::Gelu;
    args.c = out.data();
    args.ldc = 1;
    kernels.gemm(args);
    return out;
}

TEST_P(GemmKernelTest, VectorisedGeluMatchesErfDefinitionFromMinus10To10) {
    std::vector<float> x;
    for (int i = -100000; i <= 100000; ++i) x.push_back(static_cast<float>(i) * 1e-4f);
    const std::vector<float> gelu = GeluThroughGemm(Kernels(), x);
    double worst = 0.0;
    float worst_x = 0.0f;
    for (size_t i = 0; i < x.size(); ++i) {
        const double expected = ApplyActivation(x[i], Activation::Gelu);
        const double error = std::fabs(gelu[i] - expected) / std::max(1.0, std::fabs(expected));
        if (!(error <= worst)) {
            worst = error;
            worst_x = x[i];
        }
    }
    EXPECT_LE(worst, 1e-6) << "worst at x = " << worst_x;
}

TEST_P(GemmKernelTest, VectorisedGeluHandlesLargeMagnitudesInfinitiesAndNaN) {
    const float inf = std::numeric_limits<float>::infinity();
    const std::vector<float> x = {0.0f,
                                  -0.0f,
                                  1e-30f,
                                  -1e-30f,
                                  1e-38f,
                                  -13.0f,
                                  -20.0f,
                                  20.0f,
                                  50.0f,
                                  -50.0f,
                                  1e4f,
                                  -1e4f,
                                  1e30f,
                                  -1e30f,
                                  3e38f,
                                  -3e38f,
                                  inf,
                                  -inf,
                                  std::numeric_limits<float>::quiet_NaN(),
                                  -std::numeric_limits<float>::quiet_NaN()};
    const std::vector<float> gelu = GeluThroughGemm(Kernels(), x);
    for (size_t i = 0; i < x.size(); ++i) {
        const float expected = ApplyActivation(x[i], Activation::Gelu);
        if (std::isnan(expected)) {
            EXPECT_TRUE(std::isnan(gelu[i])) << "GELU(" << x[i] << ") = " << gelu[i];
        } else if (std::isinf(expected)) {
            EXPECT_EQ(gelu[i], expected) << "GELU(" << x[i] << ")";
        } else {
            EXPECT_NEAR(gelu[i], expected, 1e-6 * std::max(1.0f, std::fabs(expected))) << "GELU(" << x[i] << ")";
        }
    }
    EXPECT_TRUE(std::isnan(gelu[18]) && std::isnan(gelu[19])) << "NaN must propagate";
    EXPECT_EQ(gelu[16], inf);
}

FASTERNET_INSTANTIATE_FOR_FAST_KERNEL_SETS(GemmKernelTest);

}  // namespace
}  // namespace fasternet::testing
