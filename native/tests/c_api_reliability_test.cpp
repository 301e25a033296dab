// The C ABI under load and misuse: output buffers of the wrong size, thread
// counts beyond the core count through the executor's split paths, and many
// callers running mixed shapes on one model at once. The Threaded* cases are
// the ones the ThreadSanitizer build runs (./build.sh test-sanitize).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "fasternet.h"
#include "test_configs.h"

namespace {

using fasternet::testing::RandomInput;
using fasternet::testing::TinyConfig;

struct Model {
    fasternet_model* model = nullptr;
    Model(const fasternet_model_config& config, int threads, fasternet_kernel_set set = FASTERNET_KERNELS_AUTO) {
        fasternet_model_options options{threads, set, FASTERNET_PRECISION_FLOAT32, 0};
        EXPECT_EQ(fasternet_model_create_random(&config, 7, &options, &model), FASTERNET_OK) << fasternet_last_error();
    }
    Model(const Model&) = delete;
    Model& operator=(const Model&) = delete;
    ~Model() { fasternet_model_destroy(model); }
};

struct Shape {
    int batch, height, width;
    size_t input_size() const { return static_cast<size_t>(batch) * 3 * height * width; }
};

// Every output of one run, concatenated; empty when the run failed.
std::vector<float> RunAll(const fasternet_model* model, const std::vector<float>& input, Shape s) {
    const int count = fasternet_model_output_count(model);
    std::vector<std::vector<float>> outputs(count);
    std::vector<float*> pointers;
    std::vector<int64_t> sizes;
    for (int i = 0; i < count; ++i) {
        int64_t shape[4];
        if (fasternet_model_output_shape(model, s.batch, s.height, s.width, i, shape) != FASTERNET_OK) return {};
        outputs[i].resize(shape[0] * shape[1] * shape[2] * shape[3]);
        pointers.push_back(outputs[i].data());
        sizes.push_back(static_cast<int64_t>(outputs[i].size()));
    }
    if (fasternet_model_run(model, input.data(), static_cast<int64_t>(input.size()), s.batch, s.height, s.width,
                            count, pointers.data(), sizes.data()) != FASTERNET_OK) {
        return {};
    }
    std::vector<float> all;
    for (const auto& o : outputs) all.insert(all.end(), o.begin(), o.end());
    return all;
}

bool BitIdentical(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(CApiReliability, OutputBufferOfTheWrongSizeIsRefusedAndLeftUntouched) {
    Model m(TinyConfig(), 1);
    const Shape s{2, 32, 32};
    const std::vector<float> input = RandomInput(s.input_size(), 1);
    for (const int64_t room : {int64_t{13}, int64_t{15}, int64_t{0}}) {  // expected: 2 images x 7 classes = 14
        std::vector<float> output(16, -123.0f);
        float* outputs[] = {output.data()};
        const int64_t sizes[] = {room};
        EXPECT_EQ(fasternet_model_run(m.model, input.data(), static_cast<int64_t>(input.size()), s.batch, s.height,
                                      s.width, 1, outputs, sizes),
                  FASTERNET_SHAPE_MISMATCH);
        const std::string error = fasternet_last_error();
        EXPECT_NE(error.find("output 0 has room for " + std::to_string(room) + " floats, expected 2 x 7 x 1 x 1 = 14"),
                  std::string::npos)
            << error;
        for (float v : output) ASSERT_EQ(v, -123.0f) << "a refused run wrote to the output";
    }
}

TEST(CApiReliability, WrongOutputCountAndNullOutputsAreRefused) {
    Model m(TinyConfig(1), 1);  // a backbone: four outputs
    const Shape s{1, 32, 32};
    const std::vector<float> input = RandomInput(s.input_size(), 2);
    std::vector<float> output(1000);
    float* outputs[] = {output.data()};
    const int64_t sizes[] = {1000};
    EXPECT_EQ(fasternet_model_run(m.model, input.data(), static_cast<int64_t>(input.size()), 1, 32, 32, 1, outputs,
                                  sizes),
              FASTERNET_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fasternet_last_error()).find("4 output(s)"), std::string::npos) << fasternet_last_error();
    EXPECT_NE(fasternet_model_run(m.model, input.data(), static_cast<int64_t>(input.size()), 1, 32, 32, 4, nullptr,
                                  sizes),
              FASTERNET_OK);
    EXPECT_NE(std::string(fasternet_last_error()).find("outputs"), std::string::npos) << fasternet_last_error();
}

// The executor picks channel or pixel splits from the thread count; 3, 5 and 16
// threads (more than this machine's cores) must agree with one thread.
TEST(CApiReliability, ThreadCountsBeyondTheCoresMatchOneThread) {
    for (int backbone = 0; backbone <= 1; ++backbone) {
        const fasternet_model_config config = TinyConfig(backbone);
        Model one(config, 1);
        for (const Shape s : {Shape{1, 64, 48}, Shape{3, 45, 39}, Shape{1, 224, 224}}) {
            const std::vector<float> input = RandomInput(s.input_size(), 3);
            const std::vector<float> expected = RunAll(one.model, input, s);
            ASSERT_FALSE(expected.empty()) << fasternet_last_error();
            float scale = 0.0f;
            for (float v : expected) scale = std::max(scale, std::fabs(v));
            for (const int threads : {3, 5, 16}) {
                SCOPED_TRACE("backbone " + std::to_string(backbone) + ", " + std::to_string(threads) + " threads, " +
                             std::to_string(s.batch) + "x" + std::to_string(s.height) + "x" + std::to_string(s.width));
                Model many(config, threads);
                ASSERT_EQ(fasternet_model_num_threads(many.model), threads);
                const std::vector<float> actual = RunAll(many.model, input, s);
                ASSERT_EQ(actual.size(), expected.size()) << fasternet_last_error();
                for (size_t i = 0; i < actual.size(); ++i) {
                    ASSERT_NEAR(actual[i], expected[i], 1e-5f * scale) << "at " << i;
                }
            }
        }
    }
}

// 16 callers at once on one model, each cycling through different batch sizes and
// image sizes: every result bit-identical to the same call made alone.
TEST(CApiReliability, ThreadedSixteenCallersWithMixedShapesMatchOneCallerBitForBit) {
    Model m(TinyConfig(), 2);
    const std::vector<Shape> shapes = {{1, 32, 32}, {2, 45, 39}, {3, 64, 48}, {1, 97, 61}, {4, 40, 40}};
    std::vector<std::vector<float>> inputs, expected;
    for (size_t i = 0; i < shapes.size(); ++i) {
        inputs.push_back(RandomInput(shapes[i].input_size(), 10 + static_cast<unsigned>(i)));
        expected.push_back(RunAll(m.model, inputs[i], shapes[i]));
        ASSERT_FALSE(expected.back().empty()) << fasternet_last_error();
    }
    constexpr int kCallers = 16, kRunsEach = 6;
    std::vector<int> mismatches(kCallers, 0);
    std::vector<std::thread> callers;
    for (int t = 0; t < kCallers; ++t) {
        callers.emplace_back([&, t] {
            for (int r = 0; r < kRunsEach; ++r) {
                const size_t k = static_cast<size_t>(t + r) % shapes.size();
                if (!BitIdentical(RunAll(m.model, inputs[k], shapes[k]), expected[k])) ++mismatches[t];
            }
        });
    }
    for (auto& c : callers) c.join();
    for (int t = 0; t < kCallers; ++t) EXPECT_EQ(mismatches[t], 0) << "caller " << t;
}

}  // namespace

namespace {

TEST(CApiReliability, IdleScratchIsReportedTrimmedAndBoundedByTheOption) {
    const fasternet_model_config config = TinyConfig();
    Model m(config, 1);
    int64_t idle_bytes = -1;
    int32_t idle_buffers = -1;
    ASSERT_EQ(fasternet_model_scratch_usage(m.model, &idle_bytes, &idle_buffers), FASTERNET_OK);
    EXPECT_EQ(idle_bytes, 0);
    const Shape s{2, 64, 64};
    ASSERT_FALSE(RunAll(m.model, RandomInput(s.input_size(), 9), s).empty()) << fasternet_last_error();
    ASSERT_EQ(fasternet_model_scratch_usage(m.model, &idle_bytes, &idle_buffers), FASTERNET_OK);
    EXPECT_GT(idle_bytes, 0) << "the run's activations are kept for the next run";
    EXPECT_EQ(idle_buffers, 1);
    int64_t freed = 0;
    ASSERT_EQ(fasternet_model_trim_scratch(m.model, 3600.0, &freed), FASTERNET_OK);
    EXPECT_EQ(freed, 0) << "used less than an hour ago";
    ASSERT_EQ(fasternet_model_trim_scratch(m.model, 0.0, &freed), FASTERNET_OK);
    EXPECT_EQ(freed, idle_bytes);
    ASSERT_EQ(fasternet_model_scratch_usage(m.model, &idle_bytes, nullptr), FASTERNET_OK);
    EXPECT_EQ(idle_bytes, 0);
    EXPECT_EQ(fasternet_model_trim_scratch(m.model, -1.0, nullptr), FASTERNET_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fasternet_last_error()).find("idle_seconds"), std::string::npos);

    // A limit below one run's activations: nothing is kept, and results do not change.
    fasternet_model_options bounded{1, FASTERNET_KERNELS_AUTO, FASTERNET_PRECISION_FLOAT32, 4096};
    fasternet_model* small = nullptr;
    ASSERT_EQ(fasternet_model_create_random(&config, 7, &bounded, &small), FASTERNET_OK) << fasternet_last_error();
    const std::vector<float> input = RandomInput(s.input_size(), 9);
    const std::vector<float> first = RunAll(small, input, s), second = RunAll(small, input, s);
    EXPECT_TRUE(BitIdentical(first, second));
    EXPECT_TRUE(BitIdentical(first, RunAll(m.model, input, s)));
    ASSERT_EQ(fasternet_model_scratch_usage(small, &idle_bytes, nullptr), FASTERNET_OK);
    EXPECT_EQ(idle_bytes, 0);
    fasternet_model_destroy(small);

    bounded.max_idle_scratch_bytes = -5;
    EXPECT_EQ(fasternet_model_create_random(&config, 7, &bounded, &small), FASTERNET_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fasternet_last_error()).find("max_idle_scratch_bytes"), std::string::npos);
}

}  // namespace
