// The depthwise 3x3 conv (stride 1, pad 1; the paper's DWConv, used by the
// operator benchmarks): the reference against the definition (valid-tap
// counts under zero padding, channels that never mix), then every kernel set
// against the reference over odd and tiny images, channel counts that are not
// multiples of the vector width, row ranges, and two threads on disjoint rows.
// The input sits between NaN guard zones, so a read outside the image poisons
// the output; rows outside the range and the floats around the output must
// stay untouched.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "kernel_tester.h"
#if defined(__x86_64__)
#include "kernels/x86_avx2/kernels_avx2.h"
#include "kernels/x86_avx512/kernels_avx512.h"
#endif

namespace fasternet::testing {
namespace {

using DepthwiseFunction = void (*)(const DepthwiseConvArgs&);

// An NHWC image between NaN guard zones of a whole image row (and a pixel) on each side.
class GuardedImage {
public:
    GuardedImage(int h, int w, int channels)
        : guard_(int64_t{w + 1} * channels + 16),
          size_(int64_t{h} * w * channels),
          storage_(static_cast<size_t>(size_ + 2 * guard_), QuietNaN()) {}
    float* data() { return storage_.data() + guard_; }
    const float* data() const { return storage_.data() + guard_; }
    int64_t size() const { return size_; }

private:
    int64_t guard_;
    int64_t size_;
    std::vector<float> storage_;
};

class DepthwiseTester {
public:
    DepthwiseTester& Size(int h, int w) { h_ = h; w_ = w; return *this; }
    DepthwiseTester& Channels(int channels) { channels_ = channels; return *this; }
    // Output rows [begin, end) only; end < 0 counts from h (-1 = h).
    DepthwiseTester& Rows(int begin, int end) { row_begin_ = begin; row_end_ = end; return *this; }
    DepthwiseTester& Bias(bool bias = true) { bias_ = bias; return *this; }
    DepthwiseTester& Threads(int threads) { threads_ = threads; return *this; }

    std::string Describe() const {
        return "depthwise " + std::to_string(h_) + "x" + std::to_string(w_) + "x" + std::to_string(channels_) +
               " rows=[" + std::to_string(row_begin_) + "," + std::to_string(row_end_) + ") bias=" +
               std::to_string(bias_) + " threads=" + std::to_string(threads_);
    }

    void Test(DepthwiseFunction depthwise_conv) const {
        SCOPED_TRACE(Describe());
        const int row_end = row_end_ < 0 ? h_ + 1 + row_end_ : row_end_;
        std::mt19937 rng(static_cast<uint32_t>(h_ * 1009 + w_ * 101 + channels_ * 11 + row_begin_ + bias_));
        GuardedImage input(h_, w_, channels_);
        const std::vector<float> values = RandomVector(static_cast<size_t>(input.size()), rng);
        std::copy(values.begin(), values.end(), input.data());
        const std::vector<float> weights = RandomVector(static_cast<size_t>(9 * channels_), rng);
        const std::vector<float> bias = RandomVector(static_cast<size_t>(channels_), rng);

        DepthwiseConvArgs args;
        args.input = input.data();
        args.h = h_;
        args.w = w_;
        args.channels = channels_;
        args.weights = weights.data();
        args.bias = bias_ ? bias.data() : nullptr;
        args.row_begin = row_begin_;
        args.row_end = row_end;
        GuardedBuffer expected(static_cast<size_t>(input.size()));
        GuardedBuffer actual(static_cast<size_t>(input.size()));
        DepthwiseConvArgs reference_args = args;
        reference_args.output = expected.data();
        reference::DepthwiseConv(reference_args);
        args.output = actual.data();
        RunRows(depthwise_conv, args);

        ASSERT_TRUE(actual.GuardsIntact()) << "the kernel wrote before or after the output buffer";
        MismatchReport report;
        for (int y = 0; y < h_; ++y) {
            for (int x = 0; x < w_; ++x) {
                for (int c = 0; c < channels_; ++c) {
                    const int64_t index = (int64_t{y} * w_ + x) * channels_ + c;
                    const float got = actual.data()[index];
                    auto where = [&] {
                        return "out[" + std::to_string(y) + "][" + std::to_string(x) + "][" + std::to_string(c) + "]";
                    };
                    if (y < row_begin_ || y >= row_end) {
                        report.CheckUntouched(got, where);
                        continue;
                    }
                    double magnitude = bias_ ? std::fabs(bias[c]) : 0.0;
                    for (int ky = 0; ky < 3; ++ky) {
                        for (int kx = 0; kx < 3; ++kx) {
                            const int iy = y + ky - 1, ix = x + kx - 1;
                            if (iy < 0 || iy >= h_ || ix < 0 || ix >= w_) continue;
                            magnitude += std::fabs(input.data()[(int64_t{iy} * w_ + ix) * channels_ + c] *
                                                   weights[(ky * 3 + kx) * channels_ + c]);
                        }
                    }
                    report.CheckElement(got, expected.data()[index], magnitude, where);
                }
            }
        }
        EXPECT_EQ(report.count(), 0) << "mismatching or stray elements";
    }

private:
    void RunRows(DepthwiseFunction depthwise_conv, const DepthwiseConvArgs& args) const {
        if (threads_ <= 1) {
            depthwise_conv(args);
            return;
        }
        const int rows = args.row_end - args.row_begin;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads_)
        for (int r = 0; r < rows; ++r) {
            DepthwiseConvArgs part = args;
            part.row_begin = args.row_begin + r;
            part.row_end = part.row_begin + 1;
            depthwise_conv(part);
        }
    }

    int h_ = 1, w_ = 1, channels_ = 1;
    int row_begin_ = 0, row_end_ = -1;
    bool bias_ = false;
    int threads_ = 1;
};

const int kChannelCounts[] = {1, 3, 4, 8, 10, 17, 40, 72};
const struct {
    int h, w;
} kSizes[] = {{1, 1}, {1, 5}, {5, 1}, {2, 2}, {3, 7}, {7, 3}, {7, 9}, {13, 5}, {9, 11}, {14, 14}, {28, 5}};

void SweepShapes(DepthwiseFunction depthwise_conv, int threads) {
    int variant = 0;
    for (const auto& size : kSizes) {
        for (int channels : kChannelCounts) {
            DepthwiseTester().Size(size.h, size.w).Channels(channels).Bias(variant++ % 2 == 1).Threads(threads).Test(
                depthwise_conv);
            if (::testing::Test::HasFailure()) return;
        }
    }
}

void SweepRowRanges(DepthwiseFunction depthwise_conv) {
    const struct {
        int h, w, begin, end;
    } ranges[] = {{9, 11, 0, 1}, {9, 11, 8, 9}, {9, 11, 4, 5}, {9, 11, 1, 8}, {9, 11, 3, 9}, {1, 7, 0, 1}, {2, 3, 1, 2}};
    for (const auto& r : ranges) {
        for (int channels : {3, 17, 40}) {
            DepthwiseTester().Size(r.h, r.w).Channels(channels).Rows(r.begin, r.end).Bias().Test(depthwise_conv);
        }
    }
}

// All-ones input and weights, no bias: each output counts its valid taps
// (4 in a corner, 6 along an edge, 9 inside; fewer on 1-pixel-wide images).
void ExpectValidTapCounts(DepthwiseFunction depthwise_conv) {
    for (const auto& size : kSizes) {
        const int channels = 17;
        SCOPED_TRACE("valid taps " + std::to_string(size.h) + "x" + std::to_string(size.w));
        GuardedImage input(size.h, size.w, channels);
        std::fill(input.data(), input.data() + input.size(), 1.0f);
        const std::vector<float> weights(static_cast<size_t>(9 * channels), 1.0f);
        GuardedBuffer output(static_cast<size_t>(input.size()));
        DepthwiseConvArgs args;
        args.input = input.data();
        args.h = size.h;
        args.w = size.w;
        args.channels = channels;
        args.weights = weights.data();
        args.output = output.data();
        args.row_begin = 0;
        args.row_end = size.h;
        depthwise_conv(args);
        ASSERT_TRUE(output.GuardsIntact());
        MismatchReport report;
        for (int y = 0; y < size.h; ++y) {
            for (int x = 0; x < size.w; ++x) {
                const int rows = std::min(y + 1, size.h - 1) - std::max(y - 1, 0) + 1;
                const int columns = std::min(x + 1, size.w - 1) - std::max(x - 1, 0) + 1;
                for (int c = 0; c < channels; ++c) {
                    report.CheckElement(output.data()[(int64_t{y} * size.w + x) * channels + c],
                                        static_cast<float>(rows * columns), 0.0, [&] {
                                            return "out[" + std::to_string(y) + "][" + std::to_string(x) + "][" +
                                                   std::to_string(c) + "]";
                                        });
                }
            }
        }
        EXPECT_EQ(report.count(), 0);
    }
}

// One channel carries an impulse; every other channel must be exactly its bias.
void ExpectChannelsDoNotMix(DepthwiseFunction depthwise_conv) {
    const int h = 5, w = 6, channels = 19;
    for (int hot : {0, 3, 8, 16, 18}) {
        SCOPED_TRACE("impulse in channel " + std::to_string(hot));
        GuardedImage input(h, w, channels);
        std::fill(input.data(), input.data() + input.size(), 0.0f);
        input.data()[(int64_t{2} * w + 3) * channels + hot] = 1.0f;
        std::vector<float> weights(static_cast<size_t>(9 * channels));
        for (size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<float>(i % 7) + 1.0f;
        std::vector<float> bias(static_cast<size_t>(channels));
        for (int c = 0; c < channels; ++c) bias[c] = 0.25f * static_cast<float>(c);
        GuardedBuffer output(static_cast<size_t>(input.size()));
        DepthwiseConvArgs args;
        args.input = input.data();
        args.h = h;
        args.w = w;
        args.channels = channels;
        args.weights = weights.data();
        args.bias = bias.data();
        args.output = output.data();
        args.row_begin = 0;
        args.row_end = h;
        depthwise_conv(args);
        ASSERT_TRUE(output.GuardsIntact());
        for (int y = 0; y < h; ++y) {
            for (int x = 0; x < w; ++x) {
                for (int c = 0; c < channels; ++c) {
                    const int ky = 2 - y + 1, kx = 3 - x + 1;  // the tap that sees the impulse
                    const bool sees_impulse = c == hot && ky >= 0 && ky < 3 && kx >= 0 && kx < 3;
                    const float want = bias[c] + (sees_impulse ? weights[(ky * 3 + kx) * channels + c] : 0.0f);
                    ASSERT_EQ(output.data()[(int64_t{y} * w + x) * channels + c], want)
                        << "out[" << y << "][" << x << "][" << c << "]";
                }
            }
        }
    }
}

TEST(DepthwiseReferenceTest, ReferenceTableListsTheReferenceKernel) {
    EXPECT_EQ(ReferenceKernels()->depthwise_conv, &reference::DepthwiseConv);
}

TEST(DepthwiseReferenceTest, CountsValidTapsWithZeroPadding) { ExpectValidTapCounts(reference::DepthwiseConv); }

TEST(DepthwiseReferenceTest, ChannelsDoNotMix) { ExpectChannelsDoNotMix(reference::DepthwiseConv); }

class DepthwiseKernelTest : public FastKernelSetTest {
protected:
    DepthwiseFunction Function() {
        if (!Kernels().depthwise_conv) {
            ADD_FAILURE() << KernelSetName(GetParam()) << " kernel set has no depthwise_conv entry";
        }
        return Kernels().depthwise_conv;
    }
};

TEST_P(DepthwiseKernelTest, KernelSetHasADepthwiseConv) { EXPECT_NE(Kernels().depthwise_conv, nullptr); }

TEST_P(DepthwiseKernelTest, CountsValidTapsWithZeroPadding) {
    if (DepthwiseFunction f = Function()) ExpectValidTapCounts(f);
}

TEST_P(DepthwiseKernelTest, ChannelsDoNotMix) {
    if (DepthwiseFunction f = Function()) ExpectChannelsDoNotMix(f);
}

TEST_P(DepthwiseKernelTest, DepthwiseConvMatchesReference) {
    if (DepthwiseFunction f = Function()) SweepShapes(f, 1);
}

TEST_P(DepthwiseKernelTest, DepthwiseConvConcurrentRowsMatchReference) {
    if (DepthwiseFunction f = Function()) SweepShapes(f, 2);
}

TEST_P(DepthwiseKernelTest, WritesOnlyTheRequestedRows) {
    if (DepthwiseFunction f = Function()) SweepRowRanges(f);
}

FASTERNET_INSTANTIATE_FOR_FAST_KERNEL_SETS(DepthwiseKernelTest);

#if defined(__x86_64__)
// The x86 functions themselves, whether or not a kernel table lists them yet.
TEST(DepthwiseKernelFunctionTest, Avx512MatchesReference) {
    if (!CpuRunsKernelSet(FASTERNET_KERNELS_AVX512)) GTEST_SKIP() << "this CPU has no AVX-512";
    SweepShapes(avx512::DepthwiseConv, 1);
    SweepRowRanges(avx512::DepthwiseConv);
}

TEST(DepthwiseKernelFunctionTest, Avx2MatchesReference) {
    if (!CpuRunsKernelSet(FASTERNET_KERNELS_AVX2)) GTEST_SKIP() << "this CPU has no AVX2 + FMA";
    SweepShapes(avx2::DepthwiseConv, 1);
    SweepRowRanges(avx2::DepthwiseConv);
}
#endif

}  // namespace
}  // namespace fasternet::testing
