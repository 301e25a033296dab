// One tester per operator: runs a fast kernel set against the scalar reference
// on one problem shape, and checks every output element, the untouched bytes
// around and between the outputs (sentinels and guard zones) and that padding
// inputs (NaN) are never read. Builder style:
//
//   GemmTester().M(49).K(40).N(80).Bias().Activation(Activation::Gelu).Test(set);
//
// Tolerance: |fast - reference| <= 1e-5 * (1 + magnitude), magnitude being the
// sum of |terms| of the element (|bias| + sum |a * b| + |residual|).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/kernels.h"
#include "kernels/reference/reference.h"

namespace fasternet::testing {

constexpr double kRelativeTolerance = 1e-5;
// Written where no kernel may write; compared bit for bit.
constexpr float kSentinel = -1234.5f;
// Floats of guard zone on each side of an output buffer.
constexpr size_t kGuardFloats = 37;
// Number of mismatches reported per check before giving up.
constexpr int kMaxReportedMismatches = 5;

inline const char* ActivationName(Activation activation) {
    switch (activation) {
        case Activation::Relu:
            return "relu";
        case Activation::Gelu:
            return "gelu";
        default:
            return "none";
    }
}

// Whether this CPU can run a kernel set (independent of whether it was built).
inline bool CpuRunsKernelSet(fasternet_kernel_set set) {
    const uint32_t f = CpuFeatures();
    switch (set) {
        case FASTERNET_KERNELS_AVX512: {
            const uint32_t need = kCpuAvx512f | kCpuAvx512bw | kCpuAvx512vl | kCpuAvx512dq;
            return (f & need) == need;
        }
        case FASTERNET_KERNELS_AVX2:
            return (f & kCpuAvx2) && (f & kCpuFma);
        case FASTERNET_KERNELS_NEON:
            return (f & kCpuNeon) != 0;
        default:
            return true;
    }
}

// Fixture base for the per-operator suites, parameterised by the fast kernel sets.
class FastKernelSetTest : public ::testing::TestWithParam<fasternet_kernel_set> {
protected:
    void SetUp() override {
        kernels_ = KernelsFor(GetParam());
        if (kernels_) return;
        if (CpuRunsKernelSet(GetParam())) {
            FAIL() << "this CPU runs the " << KernelSetName(GetParam()) << " kernel set but the build has none";
        }
        GTEST_SKIP() << "this CPU cannot run the " << KernelSetName(GetParam()) << " kernel set";
    }
    const KernelSet& Kernels() const { return *kernels_; }

private:
    const KernelSet* kernels_ = nullptr;
};

inline std::string KernelSetTestName(const ::testing::TestParamInfo<fasternet_kernel_set>& info) {
    return KernelSetName(info.param);
}

#define FASTERNET_INSTANTIATE_FOR_FAST_KERNEL_SETS(suite)                                                             \
    INSTANTIATE_TEST_SUITE_P(                                                                                         \
        FastSets, suite, ::testing::Values(FASTERNET_KERNELS_AVX512, FASTERNET_KERNELS_AVX2, FASTERNET_KERNELS_NEON), \
        ::fasternet::testing::KernelSetTestName)

inline std::vector<float> RandomVector(size_t size, std::mt19937& rng, float low = -1.0f, float high = 1.0f) {
    std::uniform_real_distribution<float> distribution(low, high);
    std::vector<float> values(size);
    for (float& v : values) v = distribution(rng);
    return values;
}

inline float QuietNaN() { return std::numeric_limits<float>::quiet_NaN(); }

inline bool SameBits(float a, float b) { return std::memcmp(&a, &b, sizeof(float)) == 0; }

// An output buffer filled with the sentinel, with guard zones on both sides.
class GuardedBuffer {
public:
    explicit GuardedBuffer(size_t size) : storage_(size + 2 * kGuardFloats, kSentinel), size_(size) {}
    float* data() { return storage_.data() + kGuardFloats; }
    const float* data() const { return storage_.data() + kGuardFloats; }
    size_t size() const { return size_; }
    bool GuardsIntact() const {
        for (size_t i = 0; i < kGuardFloats; ++i) {
            if (!SameBits(storage_[i], kSentinel) || !SameBits(storage_[kGuardFloats + size_ + i], kSentinel)) {
                return false;
            }
        }
        return true;
    }

private:
    std::vector<float> storage_;
    size_t size_;
};

// Whether a fast output element agrees with the reference one.
inline bool Agrees(float actual, float expected, double magnitude) {
    if (std::isnan(expected)) return std::isnan(actual);
    if (std::isinf(expected)) return actual == expected;
    // NaN inputs that an activation turned into numbers (ReLU(NaN) = 0) must match exactly.
    if (std::isnan(magnitude)) return actual == expected;
    return std::fabs(static_cast<double>(actual) - expected) <= kRelativeTolerance * (1.0 + magnitude);
}

// Counts mismatches and reports the first few; `describe` builds the message lazily.
class MismatchReport {
public:
    template <typename Describe>
    void Add(Describe describe) {
        if (count_++ < kMaxReportedMismatches) ADD_FAILURE() << describe();
    }
    template <typename Where>
    void CheckElement(float actual, float expected, double magnitude, Where where) {
        if (!Agrees(actual, expected, magnitude)) {
            Add([&] {
                std::ostringstream s;
                s << where() << ": got " << actual << ", reference " << expected << " (magnitude " << magnitude << ")";
                return s.str();
            });
        }
    }
    template <typename Where>
    void CheckUntouched(float actual, Where where) {
        if (!SameBits(actual, kSentinel)) {
            Add([&] {
                std::ostringstream s;
                s << where() << ": written (" << actual << ") but must stay untouched";
                return s.str();
            });
        }
    }
    int count() const { return count_; }

private:
    int count_ = 0;
};

// ---------------------------------------------------------------------------
// GEMM: C = act(A * B + bias) + residual, optionally with A split at k_split.
class GemmTester {
public:
    GemmTester& M(int64_t m) {
        m_ = m;
        return *this;
    }
    GemmTester& K(int k) {
        k_ = k;
        return *this;
    }
    GemmTester& N(int n) {
        n_ = n;
        return *this;
    }
    // Columns [k_split, k) come from a second source (a2).
    GemmTester& KSplit(int k_split) {
        k_split_ = k_split;
        return *this;
    }
    // Extra floats per row beyond the logical width, for A, A2, C and the residual.
    GemmTester& RowPadding(int padding) {
        row_padding_ = padding;
        return *this;
    }
    GemmTester& Bias(bool bias = true) {
        bias_ = bias;
        return *this;
    }
    GemmTester& Activation(fasternet::Activation activation) {
        activation_ = activation;
        return *this;
    }
    GemmTester& Residual(bool residual = true) {
        residual_ = residual;
        return *this;
    }
    // Calls the kernel from this many OpenMP threads on disjoint row ranges.
    GemmTester& Threads(int threads) {
        threads_ = threads;
        return *this;
    }
    // Overrides the random A (row-major m x k, or the concatenation [a | a2]).
    GemmTester& Inputs(std::vector<float> a) {
        inputs_ = std::move(a);
        return *this;
    }
    GemmTester& WeightsAllOnes(bool ones = true) {
        weights_all_ones_ = ones;
        return *this;
    }

    std::string Describe() const {
        std::ostringstream s;
        s << "gemm m=" << m_ << " k=" << k_ << " n=" << n_;
        if (k_split_ >= 0) s << " k_split=" << k_split_;
        s << " pad=" << row_padding_ << " bias=" << bias_ << " act=" << ActivationName(activation_)
          << " residual=" << residual_ << " threads=" << threads_;
        return s.str();
    }

    void Test(const KernelSet& kernels) const {
        SCOPED_TRACE(Describe());
        std::mt19937 rng(static_cast<uint32_t>(m_ * 7919 + k_ * 104729 + n_ * 1299709 + k_split_ * 31 + row_padding_));
        const bool split = k_split_ >= 0;
        const int first_width = split ? k_split_ : k_;
        const int second_width = split ? k_ - k_split_ : 0;
        const int64_t lda = first_width + row_padding_;
        const int64_t lda2 = second_width + row_padding_;
        const int64_t ldc = n_ + row_padding_;
        const int64_t ldr = n_ + row_padding_ + 3;

        // A's padding columns hold NaN: reading them would poison the output.
        std::vector<float> a(static_cast<size_t>(m_ * lda), QuietNaN());
        std::vector<float> a2(static_cast<size_t>(std::max<int64_t>(1, m_ * lda2)), QuietNaN());
        const std::vector<float> random_a = inputs_.empty() ? RandomVector(static_cast<size_t>(m_) * k_, rng) : inputs_;
        auto a_value = [&](int64_t i, int kk) { return random_a[static_cast<size_t>(i * k_ + kk)]; };
        for (int64_t i = 0; i < m_; ++i) {
            for (int kk = 0; kk < first_width; ++kk) a[i * lda + kk] = a_value(i, kk);
            for (int kk = 0; kk < second_width; ++kk) a2[i * lda2 + kk] = a_value(i, first_width + kk);
        }
        const std::vector<float> weights = weights_all_ones_ ? std::vector<float>(static_cast<size_t>(n_) * k_, 1.0f)
                                                             : RandomVector(static_cast<size_t>(n_) * k_, rng);
        std::vector<float> packed(PackedPanelsSize(k_, n_));
        PackPanels(weights.data(), k_, n_, packed.data());
        const std::vector<float> bias = RandomVector(static_cast<size_t>(n_), rng);
        std::vector<float> residual(static_cast<size_t>(std::max<int64_t>(1, m_ * ldr)), QuietNaN());
        for (int64_t i = 0; i < m_; ++i) {
            for (int j = 0; j < n_; ++j) residual[i * ldr + j] = std::uniform_real_distribution<float>(-1, 1)(rng);
        }

        GemmArgs args;
        args.m = m_;
        args.k = k_;
        args.n = n_;
        args.a = a.data();
        args.lda = lda;
        if (split) {
            args.a2 = a2.data();
            args.lda2 = lda2;
            args.k_split = k_split_;
        }
        args.packed_b = packed.data();
        args.bias = bias_ ? bias.data() : nullptr;
        args.activation = activation_;
        args.residual = residual_ ? residual.data() : nullptr;
        args.ldr = ldr;
        args.ldc = ldc;

        GuardedBuffer expected(static_cast<size_t>(m_ * ldc));
        GuardedBuffer actual(static_cast<size_t>(m_ * ldc));
        GemmArgs reference_args = args;
        reference_args.c = expected.data();
        reference::Gemm(reference_args);
        args.c = actual.data();
        RunRows(kernels, args);

        ASSERT_TRUE(actual.GuardsIntact()) << "the kernel wrote before or after the output buffer";
        MismatchReport report;
        for (int64_t i = 0; i < m_; ++i) {
            for (int64_t j = 0; j < ldc; ++j) {
                const float got = actual.data()[i * ldc + j];
                auto where = [&] { return "c[" + std::to_string(i) + "][" + std::to_string(j) + "]"; };
                if (j >= n_) {
                    report.CheckUntouched(got, where);
                    continue;
                }
                double magnitude = bias_ ? std::fabs(bias[j]) : 0.0;
                for (int kk = 0; kk < k_; ++kk) {
                    magnitude += std::fabs(a_value(i, kk) * weights[static_cast<size_t>(j) * k_ + kk]);
                }
                if (residual_) magnitude += std::fabs(residual[i * ldr + j]);
                report.CheckElement(got, expected.data()[i * ldc + j], magnitude, where);
            }
        }
        EXPECT_EQ(report.count(), 0) << "mismatching or stray elements";
    }

private:
    void RunRows(const KernelSet& kernels, const GemmArgs& args) const {
        if (threads_ <= 1) {
            kernels.gemm(args);
            return;
        }
        // Uneven, interleaved chunks so both threads run kernels at the same time.
        const int64_t chunk = std::max<int64_t>(1, (m_ + 4) / 5);
        const int64_t chunks = (m_ + chunk - 1) / chunk;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads_)
        for (int64_t c = 0; c < chunks; ++c) {
            const int64_t begin = c * chunk;
            GemmArgs part = args;
            part.m = std::min(m_, begin + chunk) - begin;
            part.a = args.a + begin * args.lda;
            if (args.a2) part.a2 = args.a2 + begin * args.lda2;
            if (args.residual) part.residual = args.residual + begin * args.ldr;
            part.c = args.c + begin * args.ldc;
            kernels.gemm(part);
        }
    }

    int64_t m_ = 1;
    int k_ = 1;
    int n_ = 1;
    int k_split_ = -1;
    int row_padding_ = 0;
    bool bias_ = false;
    fasternet::Activation activation_ = fasternet::Activation::None;
    bool residual_ = false;
    int threads_ = 1;
    std::vector<float> inputs_;
    bool weights_all_ones_ = false;
};

// ---------------------------------------------------------------------------
// Conv: one NHWC image, K ordered (kh, kw, ci), output rows [row_begin, row_end).
class ConvTester {
public:
    ConvTester& InputSize(int h, int w) {
        in_h_ = h;
        in_w_ = w;
        return *this;
    }
    ConvTester& InChannels(int c) {
        in_c_ = c;
        return *this;
    }
    ConvTester& OutChannels(int c) {
        out_c_ = c;
        return *this;
    }
    ConvTester& Kernel(int kernel) {
        kernel_ = kernel;
        return *this;
    }
    ConvTester& Stride(int stride) {
        stride_ = stride;
        return *this;
    }
    ConvTester& Pad(int pad) {
        pad_ = pad;
        return *this;
    }
    // Pixel strides as extra floats beyond in_c / out_c.
    ConvTester& InPixelPadding(int padding) {
        in_pixel_padding_ = padding;
        return *this;
    }
    ConvTester& OutPixelPadding(int padding) {
        out_pixel_padding_ = padding;
        return *this;
    }
    // Output rows [begin, end) only; end < 0 counts from out_h (-1 = out_h).
    ConvTester& Rows(int begin, int end) {
        row_begin_ = begin;
        row_end_ = end;
        return *this;
    }
    ConvTester& Bias(bool bias = true) {
        bias_ = bias;
        return *this;
    }
    ConvTester& Activation(fasternet::Activation activation) {
        activation_ = activation;
        return *this;
    }
    ConvTester& Threads(int threads) {
        threads_ = threads;
        return *this;
    }

    int OutH() const { return (in_h_ + 2 * pad_ - kernel_) / stride_ + 1; }
    int OutW() const { return (in_w_ + 2 * pad_ - kernel_) / stride_ + 1; }

    std::string Describe() const {
        std::ostringstream s;
        s << "conv " << in_h_ << "x" << in_w_ << "x" << in_c_ << " -> " << out_c_ << " kernel=" << kernel_
          << " stride=" << stride_ << " pad=" << pad_ << " in_pixel_pad=" << in_pixel_padding_
          << " out_pixel_pad=" << out_pixel_padding_ << " rows=[" << row_begin_ << "," << row_end_ << ") bias=" << bias_
          << " act=" << ActivationName(activation_) << " threads=" << threads_;
        return s.str();
    }

    void Test(const KernelSet& kernels) const {
        SCOPED_TRACE(Describe());
        const int out_h = OutH();
        const int out_w = OutW();
        ASSERT_GT(out_h, 0);
        ASSERT_GT(out_w, 0);
        const int row_begin = row_begin_;
        const int row_end = row_end_ < 0 ? out_h + 1 + row_end_ : row_end_;
        std::mt19937 rng(static_cast<uint32_t>(in_h_ * 131 + in_w_ * 137 + in_c_ * 139 + out_c_ * 149 + kernel_ * 151 +
                                               stride_ * 157 + pad_ * 163 + in_pixel_padding_ * 167));
        const int64_t in_stride = in_c_ + in_pixel_padding_;
        const int64_t out_stride = out_c_ + out_pixel_padding_;
        const int k_total = kernel_ * kernel_ * in_c_;

        // Channels past in_c within a pixel hold NaN: reading them would poison the output.
        std::vector<float> input(static_cast<size_t>(in_h_) * in_w_ * in_stride, QuietNaN());
        for (int64_t p = 0; p < static_cast<int64_t>(in_h_) * in_w_; ++p) {
            for (int c = 0; c < in_c_; ++c)
                input[p * in_stride + c] = std::uniform_real_distribution<float>(-1, 1)(rng);
        }
        const std::vector<float> weights = RandomVector(static_cast<size_t>(out_c_) * k_total, rng);
        std::vector<float> packed(PackedPanelsSize(k_total, out_c_));
        PackPanels(weights.data(), k_total, out_c_, packed.data());
        const std::vector<float> bias = RandomVector(static_cast<size_t>(out_c_), rng);

        ConvArgs args;
        args.input = input.data();
        args.in_pixel_stride = in_stride;
        args.in_h = in_h_;
        args.in_w = in_w_;
        args.in_c = in_c_;
        args.kernel = kernel_;
        args.stride = stride_;
        args.pad = pad_;
        args.packed_weights = packed.data();
        args.bias = bias_ ? bias.data() : nullptr;
        args.activation = activation_;
        args.out_pixel_stride = out_stride;
        args.out_h = out_h;
        args.out_w = out_w;
        args.out_c = out_c_;
        args.row_begin = row_begin;
        args.row_end = row_end;

        const size_t out_size = static_cast<size_t>(out_h) * out_w * out_stride;
        GuardedBuffer expected(out_size);
        GuardedBuffer actual(out_size);
        ConvArgs reference_args = args;
        reference_args.output = expected.data();
        reference::Conv(reference_args);
        args.output = actual.data();
        RunRows(kernels, args);

        ASSERT_TRUE(actual.GuardsIntact()) << "the kernel wrote before or after the output buffer";
        MismatchReport report;
        for (int oy = 0; oy < out_h; ++oy) {
            for (int ox = 0; ox < out_w; ++ox) {
                for (int64_t c = 0; c < out_stride; ++c) {
                    const size_t index = (static_cast<size_t>(oy) * out_w + ox) * out_stride + c;
                    const float got = actual.data()[index];
                    auto where = [&] {
                        return "out[" + std::to_string(oy) + "][" + std::to_string(ox) + "][" + std::to_string(c) + "]";
                    };
                    if (oy < row_begin || oy >= row_end || c >= out_c_) {
                        report.CheckUntouched(got, where);
                        continue;
                    }
                    double magnitude = bias_ ? std::fabs(bias[c]) : 0.0;
                    for (int ky = 0; ky < kernel_; ++ky) {
                        const int iy = oy * stride_ - pad_ + ky;
                        if (iy < 0 || iy >= in_h_) continue;
                        for (int kx = 0; kx < kernel_; ++kx) {
                            const int ix = ox * stride_ - pad_ + kx;
                            if (ix < 0 || ix >= in_w_) continue;
                            for (int ci = 0; ci < in_c_; ++ci) {
                                magnitude += std::fabs(
                                    input[(static_cast<size_t>(iy) * in_w_ + ix) * in_stride + ci] *
                                    weights[static_cast<size_t>(c) * k_total + (ky * kernel_ + kx) * in_c_ + ci]);
                            }
                        }
                    }
                    report.CheckElement(got, expected.data()[index], magnitude, where);
                }
            }
        }
        EXPECT_EQ(report.count(), 0) << "mismatching or stray elements";
    }

private:
    void RunRows(const KernelSet& kernels, const ConvArgs& args) const {
        if (threads_ <= 1) {
            kernels.conv(args);
            return;
        }
        const int rows = args.row_end - args.row_begin;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads_)
        for (int r = 0; r < rows; ++r) {
            ConvArgs part = args;
            part.row_begin = args.row_begin + r;
            part.row_end = part.row_begin + 1;
            kernels.conv(part);
        }
    }

    int in_h_ = 1, in_w_ = 1, in_c_ = 1, out_c_ = 1;
    int kernel_ = 1, stride_ = 1, pad_ = 0;
    int in_pixel_padding_ = 0, out_pixel_padding_ = 0;
    int row_begin_ = 0, row_end_ = -1;
    bool bias_ = false;
    fasternet::Activation activation_ = fasternet::Activation::None;
    int threads_ = 1;
};

// ---------------------------------------------------------------------------
// Global average pool and per-channel affine over pixels x channels.
class PoolTester {
public:
    PoolTester& Pixels(int64_t pixels) {
        pixels_ = pixels;
        return *this;
    }
    PoolTester& Channels(int channels) {
        channels_ = channels;
        return *this;
    }

    void Test(const KernelSet& kernels) const {
        SCOPED_TRACE("pool pixels=" + std::to_string(pixels_) + " channels=" + std::to_string(channels_));
        std::mt19937 rng(static_cast<uint32_t>(pixels_ * 17 + channels_));
        const std::vector<float> input = RandomVector(static_cast<size_t>(pixels_) * channels_, rng, -4.0f, 4.0f);
        PoolArgs args;
        args.input = input.data();
        args.pixels = pixels_;
        args.channels = channels_;
        GuardedBuffer expected(static_cast<size_t>(channels_));
        GuardedBuffer actual(static_cast<size_t>(channels_));
        PoolArgs reference_args = args;
        reference_args.output = expected.data();
        reference::GlobalAveragePool(reference_args);
        args.output = actual.data();
        kernels.global_average_pool(args);
        ASSERT_TRUE(actual.GuardsIntact()) << "the kernel wrote before or after the output buffer";
        MismatchReport report;
        for (int c = 0; c < channels_; ++c) {
            double magnitude = 0.0;
            for (int64_t p = 0; p < pixels_; ++p) magnitude += std::fabs(input[p * channels_ + c]);
            report.CheckElement(actual.data()[c], expected.data()[c], magnitude / static_cast<double>(pixels_),
                                [&] { return "pool[" + std::to_string(c) + "]"; });
        }
        EXPECT_EQ(report.count(), 0);
    }

private:
    int64_t pixels_ = 1;
    int channels_ = 1;
};

class AffineTester {
public:
    AffineTester& Pixels(int64_t pixels) {
        pixels_ = pixels;
        return *this;
    }
    AffineTester& Channels(int channels) {
        channels_ = channels;
        return *this;
    }
    AffineTester& InPlace(bool in_place = true) {
        in_place_ = in_place;
        return *this;
    }

    void Test(const KernelSet& kernels) const {
        SCOPED_TRACE("affine pixels=" + std::to_string(pixels_) + " channels=" + std::to_string(channels_) +
                     (in_place_ ? " in place" : ""));
        std::mt19937 rng(static_cast<uint32_t>(pixels_ * 23 + channels_));
        const size_t size = static_cast<size_t>(pixels_) * channels_;
        const std::vector<float> input = RandomVector(size, rng, -4.0f, 4.0f);
        const std::vector<float> scale = RandomVector(static_cast<size_t>(channels_), rng, -2.0f, 2.0f);
        const std::vector<float> shift = RandomVector(static_cast<size_t>(channels_), rng);
        AffineArgs args;
        args.pixels = pixels_;
        args.channels = channels_;
        args.scale = scale.data();
        args.shift = shift.data();
        GuardedBuffer expected(size);
        GuardedBuffer actual(size);
        AffineArgs reference_args = args;
        reference_args.input = input.data();
        reference_args.output = expected.data();
        reference::ChannelAffine(reference_args);
        if (in_place_) {
            std::copy(input.begin(), input.end(), actual.data());
            args.input = actual.data();
        } else {
            args.input = input.data();
        }
        args.output = actual.data();
        kernels.channel_affine(args);
        ASSERT_TRUE(actual.GuardsIntact()) << "the kernel wrote before or after the output buffer";
        MismatchReport report;
        for (size_t i = 0; i < size; ++i) {
            const size_t c = i % static_cast<size_t>(channels_);
            const double magnitude = std::fabs(input[i] * scale[c]) + std::fabs(shift[c]);
            report.CheckElement(actual.data()[i], expected.data()[i], magnitude,
                                [&] { return "affine[" + std::to_string(i) + "]"; });
        }
        EXPECT_EQ(report.count(), 0);
    }

private:
    int64_t pixels_ = 1;
    int channels_ = 1;
    bool in_place_ = false;
};

}  // namespace fasternet::testing
