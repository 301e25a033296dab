// The activation-buffer pool: reuse, the idle limit, trimming by age.
#include <gtest/gtest.h>

#include <chrono>
#include <utility>

#include "model/scratch_pool.h"

namespace {

using fasternet::AlignedBuffer;
using fasternet::ScratchPool;

TEST(ScratchPool, ReusesTheSmallestIdleBufferThatFits) {
    ScratchPool pool;
    AlignedBuffer small = pool.Acquire(100), large = pool.Acquire(1000);
    const float* small_data = small.data();
    pool.Release(std::move(small));
    pool.Release(std::move(large));
    EXPECT_EQ(pool.idle_buffers(), 2u);
    EXPECT_EQ(pool.idle_bytes(), 1100 * sizeof(float));
    AlignedBuffer again = pool.Acquire(50);
    EXPECT_EQ(again.data(), small_data);
    EXPECT_EQ(pool.idle_buffers(), 1u);
    EXPECT_EQ(pool.idle_bytes(), 1000 * sizeof(float));
}

TEST(ScratchPool, GrowsTheLargestIdleBufferInsteadOfKeepingAnother) {
    ScratchPool pool;
    AlignedBuffer a = pool.Acquire(10), b = pool.Acquire(20);  // two runs in flight: two buffers
    pool.Release(std::move(a));
    pool.Release(std::move(b));
    ASSERT_EQ(pool.idle_buffers(), 2u);
    AlignedBuffer big = pool.Acquire(5000);  // neither fits
    EXPECT_GE(big.size(), 5000u);
    EXPECT_EQ(pool.idle_buffers(), 1u) << "the 20-float buffer was regrown, the 10-float one stays idle";
}

TEST(ScratchPool, IdleBytesStayWithinTheLimitDroppingTheLeastRecentlyUsed) {
    ScratchPool pool;
    pool.set_max_idle_bytes(1500 * sizeof(float));
    AlignedBuffer a = pool.Acquire(1000), b = pool.Acquire(1000);
    const float* b_data = b.data();
    pool.Release(std::move(a));
    pool.Release(std::move(b));  // 2000 floats idle > 1500: the older (a) goes
    EXPECT_EQ(pool.idle_buffers(), 1u);
    EXPECT_EQ(pool.idle_bytes(), 1000 * sizeof(float));
    EXPECT_EQ(pool.Acquire(1000).data(), b_data);
    pool.set_max_idle_bytes(10);
    pool.Release(pool.Acquire(1000));  // larger than the whole limit: freed at once
    EXPECT_EQ(pool.idle_bytes(), 0u);
}

TEST(ScratchPool, TrimFreesOnlyBuffersIdleLongEnough) {
    ScratchPool pool;
    pool.Release(pool.Acquire(100));
    EXPECT_EQ(pool.Trim(std::chrono::hours(1)), 0u) << "used just now";
    EXPECT_EQ(pool.idle_buffers(), 1u);
    EXPECT_EQ(pool.Trim(), 100 * sizeof(float));
    EXPECT_EQ(pool.idle_buffers(), 0u);
    EXPECT_EQ(pool.idle_bytes(), 0u);
    EXPECT_GE(pool.Acquire(100).size(), 100u) << "an empty pool still serves";
}

}  // namespace
