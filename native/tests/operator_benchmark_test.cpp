// fasternet_benchmark_operator (the paper's Table 1 operators): every field is
// checked with a message naming it, and every operator runs on every kernel
// set this machine has, single- and multi-threaded, returning one positive
// finite time per iteration and computing what plain loops over the same
// input and weights compute.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "analysis/analysis.h"
#include "fasternet.h"

namespace {

const fasternet_operator kOperators[] = {FASTERNET_OPERATOR_CONV, FASTERNET_OPERATOR_GROUP_CONV,
                                         FASTERNET_OPERATOR_DEPTHWISE_CONV, FASTERNET_OPERATOR_PARTIAL_CONV,
                                         FASTERNET_OPERATOR_PARTIAL_CONV_POINTWISE};

// A small valid problem: 2 stacked layers of 32 channels on an odd 7x9 map.
fasternet_operator_benchmark Small(fasternet_operator op) {
    fasternet_operator_benchmark b{};
    b.op = op;
    b.channels = 32;
    b.height = 7;
    b.width = 9;
    b.batch = 1;
    b.layers = 2;
    b.groups = 4;
    b.n_div = 4;
    b.threads = 1;
    b.warmup = 1;
    b.kernel_set = FASTERNET_KERNELS_AUTO;
    return b;
}

// Expects the call to fail with `status` and a message containing `fragment`.
void ExpectFailure(const fasternet_operator_benchmark& b, fasternet_status status, const std::string& fragment,
                   int iterations = 2) {
    std::vector<double> seconds(static_cast<size_t>(std::max(iterations, 1)), -1.0);
    EXPECT_EQ(fasternet_benchmark_operator(&b, iterations, seconds.data()), status);
    EXPECT_NE(std::string(fasternet_last_error()).find(fragment), std::string::npos)
        << "message: " << fasternet_last_error();
}

void ExpectPositiveTimes(const fasternet_operator_benchmark& b, int iterations) {
    std::vector<double> seconds(static_cast<size_t>(iterations), -1.0);
    ASSERT_EQ(fasternet_benchmark_operator(&b, iterations, seconds.data()), FASTERNET_OK) << fasternet_last_error();
    for (double s : seconds) {
        EXPECT_TRUE(std::isfinite(s)) << s;
        EXPECT_GT(s, 0.0);
    }
}

TEST(OperatorBenchmarkTest, RejectsUnknownOperator) {
    fasternet_operator_benchmark b = Small(FASTERNET_OPERATOR_CONV);
    b.op = static_cast<fasternet_operator>(5);
    ExpectFailure(b, FASTERNET_INVALID_ARGUMENT, "unknown operator 5");
    b.op = static_cast<fasternet_operator>(-1);
    ExpectFailure(b, FASTERNET_INVALID_ARGUMENT, "unknown operator -1");
}

TEST(OperatorBenchmarkTest, RejectsZeroOrNegativeSizes) {
    for (fasternet_operator op : kOperators) {
        fasternet_operator_benchmark b = Small(op);
        b.channels = 0;
        ExpectFailure(b, FASTERNET_INVALID_ARGUMENT, "channels");
        b = Small(op);
        b.height = -3;
        ExpectFailure(b, FASTERNET_INVALID_ARGUMENT, "height");
        b = Small(op);
        b.width = 0;
        ExpectFailure(b, FASTERNET_INVALID_ARGUMENT, "width");
        b = Small(op);
        b.batch = 0;
        ExpectFailure(b, FASTERNET_INVALID_ARGUMENT, "batch");
        b = Small(op);
        b.layers = 0;
        ExpectFailure(b, FASTERNET_INVALID_ARGUMENT, "layers");
        b = Small(op);
        b.threads = -1;
        ExpectFailure(b, FASTERNET_INVALID_ARGUMENT, "threads");
        b = Small(op);
        b.warmup = -1;
        ExpectFailure(b, FASTERNET_INVALID_ARGUMENT, "warmup");
    }
}

TEST(OperatorBenchmarkTest, RejectsGroupsThatDoNotDivideChannels) {
    fasternet_operator_benchmark b = Small(FASTERNET_OPERATOR_GROUP_CONV);
    b.groups = 5;
    ExpectFailure(b, FASTERNET_INVALID_ARGUMENT, "groups (5) must divide channels (32)");
    b.groups = 0;
    ExpectFailure(b, FASTERNET_INVALID_ARGUMENT, "groups");
    b.groups = 64;
    ExpectFailure(b, FASTERNET_INVALID_ARGUMENT, "groups");
}

TEST(OperatorBenchmarkTest, GroupsMatterOnlyForGroupConv) {
    fasternet_operator_benchmark b = Small(FASTERNET_OPERATOR_CONV);
    b.groups = 5;
    ExpectPositiveTimes(b, 1);
}

TEST(OperatorBenchmarkTest, RejectsNDivOutsideChannels) {
    for (fasternet_operator op : {FASTERNET_OPERATOR_PARTIAL_CONV, FASTERNET_OPERATOR_PARTIAL_CONV_POINTWISE}) {
        fasternet_operator_benchmark b = Small(op);
        b.n_div = 0;
        ExpectFailure(b, FASTERNET_INVALID_ARGUMENT, "n_div");
        b.n_div = 33;
        ExpectFailure(b, FASTERNET_INVALID_ARGUMENT, "n_div");
    }
}

TEST(OperatorBenchmarkTest, RejectsBadIterationsAndNullPointers) {
    fasternet_operator_benchmark b = Small(FASTERNET_OPERATOR_CONV);
    double seconds[1];
    EXPECT_EQ(fasternet_benchmark_operator(&b, 0, seconds), FASTERNET_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fasternet_last_error()).find("iterations"), std::string::npos);
    EXPECT_EQ(fasternet_benchmark_operator(nullptr, 1, seconds), FASTERNET_INVALID_ARGUMENT);
    EXPECT_EQ(fasternet_benchmark_operator(&b, 1, nullptr), FASTERNET_INVALID_ARGUMENT);
}

TEST(OperatorBenchmarkTest, RejectsUnknownOrUnsupportedKernelSet) {
    fasternet_operator_benchmark b = Small(FASTERNET_OPERATOR_CONV);
    b.kernel_set = static_cast<fasternet_kernel_set>(9);
    ExpectFailure(b, FASTERNET_INVALID_ARGUMENT, "kernel set");
    for (fasternet_kernel_set set : {FASTERNET_KERNELS_AVX2, FASTERNET_KERNELS_AVX512, FASTERNET_KERNELS_NEON}) {
        if (fasternet_kernel_set_supported(set)) continue;
        b.kernel_set = set;
        ExpectFailure(b, FASTERNET_UNSUPPORTED, fasternet_kernel_set_name(set));
    }
}

TEST(OperatorBenchmarkTest, RefusesHugeProblemsBeforeAllocating) {
    fasternet_operator_benchmark b = Small(FASTERNET_OPERATOR_CONV);
    b.channels = 4096;
    b.height = 4096;
    b.width = 4096;
    ExpectFailure(b, FASTERNET_INVALID_ARGUMENT, "GiB");
}

TEST(OperatorBenchmarkTest, EveryOperatorOnEverySupportedKernelSetReturnsPositiveTimes) {
    for (fasternet_kernel_set set : {FASTERNET_KERNELS_REFERENCE, FASTERNET_KERNELS_AVX2, FASTERNET_KERNELS_AVX512,
                                     FASTERNET_KERNELS_NEON}) {
        if (!fasternet_kernel_set_supported(set)) continue;
        for (fasternet_operator op : kOperators) {
            SCOPED_TRACE(std::string(fasternet_kernel_set_name(set)) + " operator " + std::to_string(op));
            fasternet_operator_benchmark b = Small(op);
            b.kernel_set = set;
            ExpectPositiveTimes(b, 3);
        }
    }
}

TEST(OperatorBenchmarkTest, MultiThreadedBatchedOddShapesRun) {
    for (fasternet_operator op : kOperators) {
        SCOPED_TRACE("operator " + std::to_string(op));
        fasternet_operator_benchmark b = Small(op);
        b.channels = 12;  // cp = 3, groups of 3 channels
        b.height = 5;
        b.width = 3;
        b.batch = 3;
        b.threads = 2;
        ExpectPositiveTimes(b, 2);
        b.threads = 0;  // all cores
        ExpectPositiveTimes(b, 1);
    }
}

// The last request's buffers are kept for the next identical one: repeated,
// interleaved and re-threaded requests must each get buffers of their own shape.
TEST(OperatorBenchmarkTest, RepeatedAndInterleavedRequestsRun) {
    fasternet_operator_benchmark conv = Small(FASTERNET_OPERATOR_CONV);
    fasternet_operator_benchmark partial = Small(FASTERNET_OPERATOR_PARTIAL_CONV_POINTWISE);
    partial.channels = 48;
    partial.height = 11;
    ExpectPositiveTimes(conv, 1);
    ExpectPositiveTimes(conv, 1);
    ExpectPositiveTimes(partial, 2);
    conv.threads = 2;
    ExpectPositiveTimes(conv, 2);
    conv.layers = 3;
    ExpectPositiveTimes(conv, 1);
    partial.op = FASTERNET_OPERATOR_PARTIAL_CONV;
    ExpectPositiveTimes(partial, 1);
}

TEST(OperatorBenchmarkTest, PartialConvWithNDivOneConvolvesEveryChannel) {
    for (fasternet_operator op : {FASTERNET_OPERATOR_PARTIAL_CONV, FASTERNET_OPERATOR_PARTIAL_CONV_POINTWISE}) {
        fasternet_operator_benchmark b = Small(op);
        b.n_div = 1;
        ExpectPositiveTimes(b, 1);
    }
}

// --- What the stacked layers compute, against plain loops in double precision ---

// Shape of an NHWC tensor of the benchmark.
struct Shape {
    int batch, height, width, channels;
    size_t Size() const { return size_t(batch) * height * width * channels; }
    size_t At(int n, int y, int x, int c) const { return ((size_t(n) * height + y) * width + x) * channels + c; }
};

// out[.., out_first + o] = 3x3 stride-1 pad-1 conv of in's channels [in_first, in_first + in_c) with
// weight[o][(ky * 3 + kx) * in_c + ci], o < out_c.
void ReferenceConv3x3(const std::vector<double>& in, const Shape& s, int in_first, int in_c, const std::vector<float>& weight,
                      int out_c, std::vector<double>& out, int out_first) {
    for (int n = 0; n < s.batch; ++n)
        for (int y = 0; y < s.height; ++y)
            for (int x = 0; x < s.width; ++x)
                for (int o = 0; o < out_c; ++o) {
                    double sum = 0;
                    for (int ky = 0; ky < 3; ++ky)
                        for (int kx = 0; kx < 3; ++kx) {
                            const int iy = y + ky - 1, ix = x + kx - 1;
                            if (iy < 0 || iy >= s.height || ix < 0 || ix >= s.width) continue;
                            for (int ci = 0; ci < in_c; ++ci) {
                                sum += in[s.At(n, iy, ix, in_first + ci)] *
                                       weight[size_t(o) * 9 * in_c + (ky * 3 + kx) * in_c + ci];
                            }
                        }
                    out[s.At(n, y, x, out_first + o)] = sum;
                }
}

// The benchmark's stacked layers from its input and weights (PyTorch's semantics of each operator).
std::vector<double> ReferenceStack(const fasternet_operator_benchmark& b, const fasternet::OperatorBenchmarkRun& run) {
    const Shape s{b.batch, b.height, b.width, b.channels};
    const int c = b.channels, cp = c / std::max(b.n_div, 1);
    std::vector<double> x(run.input.begin(), run.input.end());
    for (int l = 0; l < b.layers; ++l) {
        std::vector<double> y(s.Size(), 0.0);
        switch (b.op) {
            case FASTERNET_OPERATOR_CONV:
                ReferenceConv3x3(x, s, 0, c, run.weights.at(l), c, y, 0);
                break;
            case FASTERNET_OPERATOR_GROUP_CONV: {
                const int group_c = c / b.groups;
                for (int g = 0; g < b.groups; ++g) {
                    ReferenceConv3x3(x, s, g * group_c, group_c, run.weights.at(size_t(l) * b.groups + g), group_c, y,
                                     g * group_c);
                }
                break;
            }
            case FASTERNET_OPERATOR_DEPTHWISE_CONV: {
                // One input and one output channel per group; the weights are stored tap-major.
                const std::vector<float>& w = run.weights.at(l);
                for (int ch = 0; ch < c; ++ch) {
                    std::vector<float> taps(9);
                    for (int t = 0; t < 9; ++t) taps[t] = w[size_t(t) * c + ch];
                    ReferenceConv3x3(x, s, ch, 1, taps, 1, y, ch);
                }
                break;
            }
            case FASTERNET_OPERATOR_PARTIAL_CONV:
                y = x;  // the channels past cp pass through untouched
                ReferenceConv3x3(x, s, 0, cp, run.weights.at(l), cp, y, 0);
                break;
            case FASTERNET_OPERATOR_PARTIAL_CONV_POINTWISE: {
                std::vector<double> mixed = x;  // [PConv's cp channels | the untouched ones]
                ReferenceConv3x3(x, s, 0, cp, run.weights.at(2 * size_t(l)), cp, mixed, 0);
                const std::vector<float>& w = run.weights.at(2 * size_t(l) + 1);
                for (size_t pixel = 0; pixel < s.Size() / c; ++pixel)
                    for (int o = 0; o < c; ++o) {
                        double sum = 0;
                        for (int i = 0; i < c; ++i) sum += mixed[pixel * c + i] * w[size_t(o) * c + i];
                        y[pixel * c + o] = sum;
                    }
                break;
            }
        }
        x = std::move(y);
    }
    return x;
}

void ExpectStackMatchesReference(const fasternet_operator_benchmark& b) {
    const fasternet::OperatorBenchmarkRun run = fasternet::OperatorBenchmarkOnce(b);
    const std::vector<double> expected = ReferenceStack(b, run);
    ASSERT_EQ(run.output.size(), expected.size());
    size_t bad = 0, changed = 0;
    for (size_t i = 0; i < expected.size(); ++i) {
        if (std::abs(expected[i] - run.input[i]) > 1e-3) ++changed;
        if (!(std::abs(run.output[i] - expected[i]) <= 1e-4 + 1e-4 * std::abs(expected[i]))) {
            if (++bad <= 5) ADD_FAILURE() << "element " << i << ": " << run.output[i] << ", expected " << expected[i];
        }
    }
    EXPECT_EQ(bad, 0u) << "of " << expected.size();
    // The layers did something: most values differ from the input (PConv keeps 3/4 of them).
    const size_t touched = b.op == FASTERNET_OPERATOR_PARTIAL_CONV ? expected.size() / std::max(b.n_div, 1) : expected.size();
    EXPECT_GT(changed, touched * 9 / 10);
}

TEST(OperatorBenchmarkTest, EveryOperatorComputesWhatPlainLoopsComputeOnEverySupportedKernelSet) {
    for (fasternet_kernel_set set : {FASTERNET_KERNELS_REFERENCE, FASTERNET_KERNELS_AVX2, FASTERNET_KERNELS_AVX512,
                                     FASTERNET_KERNELS_NEON}) {
        if (!fasternet_kernel_set_supported(set)) continue;
        for (fasternet_operator op : kOperators) {
            SCOPED_TRACE(std::string(fasternet_kernel_set_name(set)) + " operator " + std::to_string(op));
            fasternet_operator_benchmark b = Small(op);  // 32 channels: GConv 4 groups of 8, PConv cp = 8
            b.kernel_set = set;
            b.layers = 3;  // odd: the result is in the first ping-pong buffer
            ExpectStackMatchesReference(b);
            // Batched, odd sizes, cp = 3, groups of 3, rows split over 2 and 3 threads.
            b.channels = 12;
            b.height = 5;
            b.width = 3;
            b.batch = 3;
            b.layers = 2;
            b.threads = 2;
            ExpectStackMatchesReference(b);
            b.threads = 3;
            b.n_div = 2;  // cp = 6
            b.groups = 2;
            ExpectStackMatchesReference(b);
        }
    }
}

}  // namespace
