// The conv kernel of every fast kernel set against the scalar reference:
// PConv (3x3/s1/p1 on the first cp of dim channels), the patch embedding
// (4x4/s4), the merging conv (2x2/s2) and a general sweep of kernels,
// strides, paddings, odd sizes, row sub-ranges and pixel strides.
#include <vector>

#include "kernel_tester.h"

namespace fasternet::testing {
namespace {

class ConvKernelTest : public FastKernelSetTest {};

const Activation kActivations[] = {Activation::None, Activation::Relu, Activation::Gelu};

struct Size {
    int h, w;
};
const Size kOddSizes[] = {{7, 9}, {13, 5}, {1, 1}, {2, 3}, {16, 16}, {5, 56}, {30, 2}};

// Row ranges of an output with out_h rows: all, the inner rows, one middle row.
std::vector<std::pair<int, int>> RowRanges(int out_h) {
    std::vector<std::pair<int, int>> ranges = {{0, out_h}};
    if (out_h > 2) ranges.push_back({1, out_h - 1});
    if (out_h > 1) ranges.push_back({out_h / 2, out_h / 2 + 1});
    return ranges;
}

void SweepPartialConv(const KernelSet& kernels, int threads) {
    for (int cp : {1, 3, 10, 16, 17, 20, 36}) {
        for (const Size& size : kOddSizes) {
            for (const auto& rows : RowRanges(size.h)) {
                for (bool output_is_full_tensor : {false, true}) {
                    // Reads the first cp channels of a dim = 4 cp tensor, writes cp or dim wide pixels.
                    ConvTester()
                        .InputSize(size.h, size.w)
                        .InChannels(cp)
                        .InPixelPadding(3 * cp)
                        .OutChannels(cp)
                        .OutPixelPadding(output_is_full_tensor ? 3 * cp : 0)
                        .Kernel(3)
                        .Stride(1)
                        .Pad(1)
                        .Rows(rows.first, rows.second)
                        .Threads(threads)
                        .Test(kernels);
                    if (::testing::Test::HasFailure()) return;
                }
            }
        }
    }
}

TEST_P(ConvKernelTest, PartialConvMatchesReference) { SweepPartialConv(Kernels(), 1); }

TEST_P(ConvKernelTest, PartialConvConcurrentRowsMatchReference) { SweepPartialConv(Kernels(), 2); }

TEST_P(ConvKernelTest, PatchEmbeddingMatchesReference) {
    const Size sizes[] = {{28, 20}, {31, 17}, {4, 4}, {8, 12}, {7, 5}};
    for (int in_c : {1, 3}) {
        for (int out_c : {10, 17, 40, 96}) {
            for (const Size& size : sizes) {
                const int out_h = (size.h - 4) / 4 + 1;
                for (const auto& rows : RowRanges(out_h)) {
                    ConvTester()
                        .InputSize(size.h, size.w)
                        .InChannels(in_c)
                        .OutChannels(out_c)
                        .Kernel(4)
                        .Stride(4)
                        .Bias()
                        .Rows(rows.first, rows.second)
                        .Test(Kernels());
                    if (HasFailure()) return;
                }
            }
        }
    }
}

TEST_P(ConvKernelTest, MergingConvMatchesReference) {
    const Size sizes[] = {{14, 14}, {7, 9}, {2, 3}, {2, 2}, {15, 4}};
    for (int in_c : {10, 16, 20, 40, 72}) {
        for (const Size& size : sizes) {
            for (int out_padding : {0, 5}) {
                ConvTester()
                    .InputSize(size.h, size.w)
                    .InChannels(in_c)
                    .OutChannels(2 * in_c)
                    .OutPixelPadding(out_padding)
                    .Kernel(2)
                    .Stride(2)
                    .Bias()
                    .Test(Kernels());
                if (HasFailure()) return;
            }
        }
    }
}

TEST_P(ConvKernelTest, GeneralKernelsStridesAndPaddingsMatchReference) {
    const Size sizes[] = {{7, 9}, {13, 5}, {2, 3}, {9, 1}};
    int variant = 0;
    for (int kernel : {1, 2, 3, 4}) {
        for (int stride : {1, 2, 4}) {
            for (int pad : {0, 1}) {
                for (const Size& size : sizes) {
                    if (size.h + 2 * pad < kernel || size.w + 2 * pad < kernel) continue;
                    for (int in_c : {1, 3, 17}) {
                        for (int out_c : {1, 16, 20, 40}) {
                            const int out_h = (size.h + 2 * pad - kernel) / stride + 1;
                            ConvTester()
                                .InputSize(size.h, size.w)
                                .InChannels(in_c)
                                .OutChannels(out_c)
                                .Kernel(kernel)
                                .Stride(stride)
                                .Pad(pad)
                                .InPixelPadding(variant % 3 == 1 ? 2 : 0)
                                .OutPixelPadding(variant % 4 == 2 ? 3 : 0)
                                .Bias(variant % 2 == 0)
                                .Activation(kActivations[variant % 3])
                                .Rows(variant % 5 == 4 && out_h > 2 ? 1 : 0, out_h)
                                .Test(Kernels());
                            ++variant;
                            if (HasFailure()) return;
                        }
                    }
                }
            }
        }
    }
}

TEST_P(ConvKernelTest, EachActivationMatchesReference) {
    for (Activation activation : kActivations) {
        ConvTester()
            .InputSize(9, 11)
            .InChannels(10)
            .InPixelPadding(30)
            .OutChannels(10)
            .Kernel(3)
            .Pad(1)
            .Activation(activation)
            .Bias()
            .Test(Kernels());
        ConvTester()
            .InputSize(16, 12)
            .InChannels(3)
            .OutChannels(40)
            .Kernel(4)
            .Stride(4)
            .Activation(activation)
            .Bias()
            .Test(Kernels());
    }
}

TEST_P(ConvKernelTest, FasterNetShapesMatchReference) {
    // T0 at 224x224: embedding, stage-1 PConv (cp 10 of 40), a merging conv; L's late PConv.
    ConvTester().InputSize(224, 224).InChannels(3).OutChannels(40).Kernel(4).Stride(4).Bias().Test(Kernels());
    ConvTester().InputSize(56, 56).InChannels(10).InPixelPadding(30).OutChannels(10).Kernel(3).Pad(1).Test(Kernels());
    ConvTester().InputSize(56, 56).InChannels(40).OutChannels(80).Kernel(2).Stride(2).Bias().Test(Kernels());
    ConvTester()
        .InputSize(7, 7)
        .InChannels(96)
        .InPixelPadding(288)
        .OutChannels(96)
        .OutPixelPadding(288)
        .Kernel(3)
        .Pad(1)
        .Threads(2)
        .Test(Kernels());
}

FASTERNET_INSTANTIATE_FOR_FAST_KERNEL_SETS(ConvKernelTest);

}  // namespace
}  // namespace fasternet::testing
