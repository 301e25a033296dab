// Global average pool and per-channel affine of every fast kernel set against the reference.
#include "kernel_tester.h"

namespace fasternet::testing {
namespace {

class PoolAffineKernelTest : public FastKernelSetTest {};

const int kChannelCounts[] = {1, 3, 10, 16, 17, 20, 36, 40, 63, 64, 65, 72, 80, 100, 1280};
const int64_t kPixelCounts[] = {1, 2, 7, 49, 200};

TEST_P(PoolAffineKernelTest, GlobalAveragePoolMatchesReference) {
    for (int channels : kChannelCounts) {
        for (int64_t pixels : kPixelCounts) PoolTester().Pixels(pixels).Channels(channels).Test(Kernels());
    }
}

TEST_P(PoolAffineKernelTest, ChannelAffineMatchesReference) {
    for (int channels : kChannelCounts) {
        for (int64_t pixels : kPixelCounts) AffineTester().Pixels(pixels).Channels(channels).Test(Kernels());
    }
}

TEST_P(PoolAffineKernelTest, ChannelAffineInPlaceMatchesReference) {
    for (int channels : {3, 17, 40, 100}) AffineTester().Pixels(49).Channels(channels).InPlace().Test(Kernels());
}

FASTERNET_INSTANTIATE_FOR_FAST_KERNEL_SETS(PoolAffineKernelTest);

}  // namespace
}  // namespace fasternet::testing
