// AlignedBuffer: every buffer cache-line aligned; from one transparent huge page up,
// aligned to the huge page (so the kernel can back it with huge pages) and fully usable.
#include <gtest/gtest.h>

#include <cstdint>

#include "common/aligned_buffer.h"

namespace fasternet {
namespace {

uintptr_t Address(const float* p) { return reinterpret_cast<uintptr_t>(p); }

TEST(AlignedBufferTest, SmallBuffersAreCacheLineAligned) {
    for (size_t count : {size_t{1}, size_t{17}, size_t{1000}, size_t{100003}}) {
        AlignedBuffer buffer(count);
        EXPECT_EQ(Address(buffer.data()) % 64, 0u) << count;
        EXPECT_EQ(buffer.size(), count);
    }
}

TEST(AlignedBufferTest, BuffersOfAHugePageOrMoreAreHugePageAlignedAndWritable) {
    const size_t huge = HugePageBytes();
    if (huge == 0) GTEST_SKIP() << "no transparent huge pages on this system (or FASTERNET_HUGE_PAGES=0)";
    // One float short of a huge page stays a plain allocation; exactly one and more are aligned.
    for (size_t bytes : {huge, huge + 4, 3 * huge - 4}) {
        const size_t count = bytes / sizeof(float);
        AlignedBuffer buffer(count);
        EXPECT_EQ(Address(buffer.data()) % huge, 0u) << bytes;
        for (size_t i = 0; i < count; i += 1024) buffer.data()[i] = static_cast<float>(i);
        buffer.data()[count - 1] = 1.5f;
        EXPECT_EQ(buffer.data()[count - 1], 1.5f);
        EXPECT_EQ(buffer.data()[1024], 1024.0f);
    }
    AlignedBuffer below(huge / sizeof(float) - 1);
    EXPECT_EQ(Address(below.data()) % 64, 0u);
}

}  // namespace
}  // namespace fasternet
