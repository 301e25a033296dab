// fasternet_benchmark_operator (the paper's Table 1 operators): every field is
// checked with a message naming it, and every operator runs on every kernel
// set this machine has, single- and multi-threaded, returning one positive
// finite time per iteration.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

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

}  // namespace
