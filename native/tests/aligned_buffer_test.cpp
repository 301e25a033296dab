// AlignedBuffer: every buffer cache-line aligned; from one transparent huge page up,
// aligned to the huge page (so the kernel can back it with huge pages) and fully usable.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#ifndef _WIN32
#include <sys/mman.h>
#include <unistd.h>
#endif

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

#ifndef _WIN32
// Resident pages of [p, p + bytes): mincore's view, before anything was written to a new buffer.
size_t ResidentPages(const float* p, size_t bytes) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    std::vector<unsigned char> resident((bytes + page - 1) / page);
    if (mincore(const_cast<float*>(p), bytes, resident.data()) != 0) return SIZE_MAX;
    size_t count = 0;
    for (unsigned char r : resident) count += r & 1;
    return count;
}

// A 2 MB region that already holds a small page gets no huge page when touched (at best a later
// background copy by khugepaged). Large buffers
// must therefore start untouched even after earlier large buffers were written and freed (from
// malloc, glibc hands such memory back out of its heap still resident in small pages).
TEST(AlignedBufferTest, BuffersOfAHugePageOrMoreStartUntouchedAfterLargeFrees) {
    const size_t huge = HugePageBytes();
    if (huge == 0) GTEST_SKIP() << "no transparent huge pages on this system (or FASTERNET_HUGE_PAGES=0)";
    // Model-like: large buffers of assorted sizes with small ones between them, two models' worth
    // created and freed before the buffers checked.
    const size_t floats_per_huge = huge / sizeof(float);
    for (int round = 0; round < 3; ++round) {
        std::vector<AlignedBuffer> buffers;
        for (int i = 0; i < 12; ++i) {
            const size_t count = floats_per_huge * (1 + (i * 7 + round * 3) % 9) + 1000 * i + 17;
            buffers.emplace_back(count);
            EXPECT_EQ(ResidentPages(buffers.back().data(), count * sizeof(float)), 0u)
                << "round " << round << ", buffer " << i;
            for (size_t j = 0; j < count; j += 1024) buffers.back().data()[j] = 1.0f;
            buffers.emplace_back(1000 + 100 * i);  // a bias or a norm between the weights
            buffers.back().data()[0] = 1.0f;
        }
    }
}
#endif

}  // namespace
}  // namespace fasternet
