// The C ABI end to end with random weights: shapes, determinism, batching,
// threads, concurrent callers and clear errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "fasternet.h"
#include "kernels/bf16.h"
#include "model/architecture.h"
#include "test_configs.h"

namespace {

using fasternet::testing::RandomInput;
using fasternet::testing::TinyConfig;

struct ModelHandle {
    fasternet_model* model = nullptr;
    ~ModelHandle() { fasternet_model_destroy(model); }
};

ModelHandle CreateRandom(const fasternet_model_config& config, int threads,
                         fasternet_kernel_set set = FASTERNET_KERNELS_AUTO) {
    ModelHandle handle;
    fasternet_model_options options{threads, set, FASTERNET_PRECISION_FLOAT32, 0};
    EXPECT_EQ(fasternet_model_create_random(&config, 42, &options, &handle.model), FASTERNET_OK)
        << fasternet_last_error();
    return handle;
}

std::vector<std::vector<float>> RunModel(const fasternet_model* model, const std::vector<float>& input, int batch,
                                    int height, int width) {
    const int count = fasternet_model_output_count(model);
    std::vector<std::vector<float>> outputs(count);
    std::vector<float*> pointers;
    std::vector<int64_t> sizes;
    for (int i = 0; i < count; ++i) {
        int64_t shape[4];
        EXPECT_EQ(fasternet_model_output_shape(model, batch, height, width, i, shape), FASTERNET_OK)
            << fasternet_last_error();
        outputs[i].resize(shape[0] * shape[1] * shape[2] * shape[3]);
        pointers.push_back(outputs[i].data());
        sizes.push_back(static_cast<int64_t>(outputs[i].size()));
    }
    EXPECT_EQ(fasternet_model_run(model, input.data(), static_cast<int64_t>(input.size()), batch, height, width, count,
                                  pointers.data(), sizes.data()),
              FASTERNET_OK)
        << fasternet_last_error();
    return outputs;
}

void ExpectClose(const std::vector<float>& actual, const std::vector<float>& expected, float tolerance) {
    ASSERT_EQ(actual.size(), expected.size());
    float scale = 0.0f;
    for (float v : expected) scale = std::max(scale, std::fabs(v));
    for (size_t i = 0; i < actual.size(); ++i) {
        ASSERT_NEAR(actual[i], expected[i], tolerance * scale) << "at " << i;
    }
}

TEST(CApi, VersionAndKernelSetQueries) {
    EXPECT_STREQ(fasternet_version(), FASTERNET_VERSION);
    EXPECT_TRUE(fasternet_kernel_set_supported(FASTERNET_KERNELS_REFERENCE));
    EXPECT_STREQ(fasternet_kernel_set_name(FASTERNET_KERNELS_AVX512), "avx512");
    EXPECT_TRUE(fasternet_kernel_set_supported(fasternet_active_kernel_set()));
}

TEST(CApi, CpuReportNamesCachesAndTheActiveKernelSet) {
    const std::string report = fasternet_cpu_report();
    for (const char* line : {"cpu: ", "L1d: ", "L2:  ", "GEMM K chunk", "fused block hidden tile"}) {
        EXPECT_NE(report.find(line), std::string::npos) << line << " missing from:\n" << report;
    }
    const std::string active = std::string("* ") + fasternet_kernel_set_name(fasternet_active_kernel_set()) + ":";
    EXPECT_NE(report.find(active), std::string::npos) << report;
}

TEST(CApi, ClassifierProducesFiniteLogitsOfTheRightShape) {
    ModelHandle m = CreateRandom(TinyConfig(), 1);
    int64_t shape[4];
    ASSERT_EQ(fasternet_model_output_shape(m.model, 3, 37, 45, 0, shape), FASTERNET_OK);
    EXPECT_EQ(shape[0], 3);
    EXPECT_EQ(shape[1], 7);
    const auto out = RunModel(m.model, RandomInput(3 * 3 * 37 * 45, 1), 3, 37, 45);
    float spread = 0.0f;
    for (float v : out[0]) {
        EXPECT_TRUE(std::isfinite(v));
        spread = std::max(spread, std::fabs(v - out[0][0]));
    }
    EXPECT_GT(spread, 0.0f) << "logits should depend on the input";
}

TEST(CApi, BatchedRunEqualsOneImageAtATime) {
    ModelHandle m = CreateRandom(TinyConfig(), 1);
    const int h = 33, w = 41, per_image = 3 * h * w;
    const std::vector<float> input = RandomInput(3 * per_image, 2);
    const auto batched = RunModel(m.model, input, 3, h, w);
    for (int n = 0; n < 3; ++n) {
        std::vector<float> one(input.begin() + n * per_image, input.begin() + (n + 1) * per_image);
        const auto single = RunModel(m.model, one, 1, h, w);
        std::vector<float> slice(batched[0].begin() + n * 7, batched[0].begin() + (n + 1) * 7);
        ExpectClose(single[0], slice, 1e-5f);
    }
}

// Each image from its own buffer (as a server batching requests passes them) gives exactly the contiguous batch's
// outputs, for the classifier and the backbone, one thread and two.
TEST(CApi, ImagesInSeparateBuffersGiveExactlyTheContiguousBatchsOutputs) {
    const int batch = 3, h = 33, w = 41, per_image = 3 * h * w;
    for (int backbone = 0; backbone <= 1; ++backbone) {
        for (int threads = 1; threads <= 2; ++threads) {
            fasternet_model_config config = TinyConfig();
            config.backbone = backbone;
            ModelHandle m = CreateRandom(config, threads);
            const std::vector<float> input = RandomInput(batch * per_image, 5);
            const auto contiguous = RunModel(m.model, input, batch, h, w);

            std::vector<std::vector<float>> buffers;  // allocated last image first: addresses not in batch order
            for (int n = batch - 1; n >= 0; --n) {
                buffers.emplace_back(input.begin() + n * per_image, input.begin() + (n + 1) * per_image);
            }
            std::vector<const float*> images;
            for (int n = 0; n < batch; ++n) images.push_back(buffers[batch - 1 - n].data());
            std::vector<std::vector<float>> outputs(contiguous.size());
            std::vector<float*> pointers;
            std::vector<int64_t> sizes;
            for (size_t i = 0; i < contiguous.size(); ++i) {
                outputs[i].assign(contiguous[i].size(), -1.0f);
                pointers.push_back(outputs[i].data());
                sizes.push_back(static_cast<int64_t>(outputs[i].size()));
            }
            ASSERT_EQ(fasternet_model_run_images(m.model, images.data(), batch, h, w, static_cast<int32_t>(pointers.size()),
                                                 pointers.data(), sizes.data(), nullptr),
                      FASTERNET_OK)
                << fasternet_last_error();
            for (size_t i = 0; i < contiguous.size(); ++i) {
                EXPECT_EQ(outputs[i], contiguous[i]) << "output " << i << ", backbone " << backbone << ", threads "
                                                     << threads;
            }
        }
    }
}

TEST(CApi, RunImagesNamesAMissingImageAndChecksLikeRun) {
    ModelHandle m = CreateRandom(TinyConfig(), 1);
    const std::vector<float> image = RandomInput(3 * 32 * 32, 6);
    std::vector<float> output(2 * 7);
    float* outputs[] = {output.data()};
    int64_t sizes[] = {2 * 7};
    const float* with_gap[] = {image.data(), nullptr};
    EXPECT_EQ(fasternet_model_run_images(m.model, with_gap, 2, 32, 32, 1, outputs, sizes, nullptr),
              FASTERNET_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fasternet_last_error()).find("image 1 is null"), std::string::npos) << fasternet_last_error();
    EXPECT_EQ(fasternet_model_run_images(m.model, nullptr, 2, 32, 32, 1, outputs, sizes, nullptr),
              FASTERNET_INVALID_ARGUMENT);
    const float* both[] = {image.data(), image.data()};
    EXPECT_EQ(fasternet_model_run_images(m.model, both, 0, 32, 32, 1, outputs, sizes, nullptr),
              FASTERNET_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fasternet_last_error()).find("batch"), std::string::npos) << fasternet_last_error();
    int64_t one_image_of_room[] = {7};
    EXPECT_EQ(fasternet_model_run_images(m.model, both, 2, 32, 32, 1, outputs, one_image_of_room, nullptr),
              FASTERNET_SHAPE_MISMATCH);
    const int32_t cancelled = 1;
    EXPECT_EQ(fasternet_model_run_images(m.model, both, 2, 32, 32, 1, outputs, sizes, &cancelled),
              FASTERNET_CANCELLED);
    EXPECT_EQ(fasternet_model_run_images(m.model, both, 2, 32, 32, 1, outputs, sizes, nullptr), FASTERNET_OK)
        << fasternet_last_error();
}

TEST(CApi, TwoThreadsMatchOneThread) {
    for (int backbone = 0; backbone <= 1; ++backbone) {
        fasternet_model_config config = TinyConfig();
        config.backbone = backbone;
        ModelHandle one = CreateRandom(config, 1);
        ModelHandle two = CreateRandom(config, 2);
        const std::vector<float> input = RandomInput(2 * 3 * 64 * 48, 3);
        const auto a = RunModel(one.model, input, 2, 64, 48);
        const auto b = RunModel(two.model, input, 2, 64, 48);
        ASSERT_EQ(a.size(), b.size());
        for (size_t i = 0; i < a.size(); ++i) ExpectClose(b[i], a[i], 1e-5f);
    }
}

TEST(CApi, EveryKernelSetMatchesTheReference) {
    for (int set = FASTERNET_KERNELS_AVX2; set <= FASTERNET_KERNELS_NEON; ++set) {
        const auto kernel_set = static_cast<fasternet_kernel_set>(set);
        if (!fasternet_kernel_set_supported(kernel_set)) continue;
        SCOPED_TRACE(fasternet_kernel_set_name(kernel_set));
        for (int backbone = 0; backbone <= 1; ++backbone) {
            fasternet_model_config config = TinyConfig();
            config.backbone = backbone;
            ModelHandle reference = CreateRandom(config, 2, FASTERNET_KERNELS_REFERENCE);
            ModelHandle fast = CreateRandom(config, 2, kernel_set);
            const std::vector<float> input = RandomInput(3 * 3 * 45 * 39, 4);
            const auto expected = RunModel(reference.model, input, 3, 45, 39);
            const auto actual = RunModel(fast.model, input, 3, 45, 39);
            for (size_t i = 0; i < expected.size(); ++i) ExpectClose(actual[i], expected[i], 1e-4f);
        }
    }
}

TEST(CApi, ConcurrentCallersGetTheSameAnswer) {
    ModelHandle m = CreateRandom(TinyConfig(), 2);
    const std::vector<float> input = RandomInput(2 * 3 * 40 * 40, 5);
    const auto expected = RunModel(m.model, input, 2, 40, 40);
    std::vector<std::vector<std::vector<float>>> results(4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 5; ++i) results[t] = RunModel(m.model, input, 2, 40, 40);
        });
    }
    for (auto& t : threads) t.join();
    for (const auto& r : results) ExpectClose(r[0], expected[0], 0.0f);
}

// Plans are compiled per (batch, height, width), cached on the model (a few, least
// recently used dropped) and shared: more shapes than the cache holds, run from many
// callers at once, each must give exactly what a fresh model running only that shape gives.
TEST(CApi, ShapesPlannedConcurrentlyOnOneModelMatchFreshSingleShapeModels) {
    struct Shape {
        int batch, height, width;
    };
    // Batch 1 at small sizes takes the channel-split path and the merge-as-GEMM path; larger ones the fused tiles.
    const Shape shapes[] = {{1, 64, 64}, {2, 40, 56}, {3, 32, 32}, {1, 96, 72}, {2, 64, 48}, {1, 33, 47}};
    for (int backbone = 0; backbone <= 1; ++backbone) {
        fasternet_model_config config = TinyConfig();
        config.backbone = backbone;
        ModelHandle shared = CreateRandom(config, 2);
        std::vector<std::vector<float>> inputs;
        std::vector<std::vector<std::vector<float>>> expected;
        for (size_t i = 0; i < std::size(shapes); ++i) {
            const Shape& s = shapes[i];
            inputs.push_back(RandomInput(size_t(s.batch) * 3 * s.height * s.width, 20 + static_cast<unsigned>(i)));
            ModelHandle fresh = CreateRandom(config, 2);
            expected.push_back(RunModel(fresh.model, inputs[i], s.batch, s.height, s.width));
        }
        std::vector<std::vector<std::vector<float>>> results(std::size(shapes));
        std::vector<std::thread> callers;
        for (size_t i = 0; i < std::size(shapes); ++i) {
            callers.emplace_back([&, i] {
                for (int repeat = 0; repeat < 3; ++repeat) {
                    results[i] = RunModel(shared.model, inputs[i], shapes[i].batch, shapes[i].height, shapes[i].width);
                }
            });
        }
        for (auto& caller : callers) caller.join();
        for (size_t i = 0; i < std::size(shapes); ++i) {
            ASSERT_EQ(results[i].size(), expected[i].size()) << "shape " << i;
            for (size_t o = 0; o < expected[i].size(); ++o) {
                SCOPED_TRACE("backbone " + std::to_string(backbone) + ", shape " + std::to_string(i) + ", output " +
                             std::to_string(o));
                ExpectClose(results[i][o], expected[i][o], 0.0f);
            }
        }
    }
}

TEST(CApi, BackboneReturnsFourNormalisedMaps) {
    fasternet_model_config config = TinyConfig();
    config.backbone = 1;
    ModelHandle m = CreateRandom(config, 1);
    ASSERT_EQ(fasternet_model_output_count(m.model), 4);
    int64_t shape[4];
    ASSERT_EQ(fasternet_model_output_shape(m.model, 2, 64, 96, 3, shape), FASTERNET_OK);
    EXPECT_EQ(shape[1], 160);
    EXPECT_EQ(shape[2], 2);
    EXPECT_EQ(shape[3], 3);
}

TEST(CApi, WrongInputSizeIsAClearError) {
    ModelHandle m = CreateRandom(TinyConfig(), 1);
    std::vector<float> input(100), output(7);
    float* outputs[] = {output.data()};
    int64_t sizes[] = {7};
    EXPECT_EQ(fasternet_model_run(m.model, input.data(), 100, 1, 32, 32, 1, outputs, sizes), FASTERNET_SHAPE_MISMATCH);
    EXPECT_NE(std::string(fasternet_last_error()).find("expected 1 x 3 x 32 x 32"), std::string::npos)
        << fasternet_last_error();
    EXPECT_EQ(fasternet_model_run(m.model, input.data(), 100, 0, 32, 32, 1, outputs, sizes),
              FASTERNET_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fasternet_last_error()).find("batch"), std::string::npos);
    std::vector<float> small(3 * 8 * 8);
    EXPECT_EQ(fasternet_model_run(m.model, small.data(), 192, 1, 8, 8, 1, outputs, sizes),
              FASTERNET_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fasternet_last_error()).find("too small"), std::string::npos) << fasternet_last_error();
    EXPECT_EQ(fasternet_model_run(nullptr, input.data(), 100, 1, 32, 32, 1, outputs, sizes),
              FASTERNET_INVALID_ARGUMENT);
}

TEST(CApi, Bf16PrecisionIsReportedAndAnUnknownPrecisionIsAClearError) {
    const fasternet_model_config config = TinyConfig();
    fasternet_model_options options{1, FASTERNET_KERNELS_REFERENCE, FASTERNET_PRECISION_BFLOAT16, 0};
    fasternet_model* model = nullptr;
    ASSERT_EQ(fasternet_model_create_random(&config, 1, &options, &model), FASTERNET_OK) << fasternet_last_error();
    EXPECT_EQ(fasternet_model_precision(model), FASTERNET_PRECISION_BFLOAT16);
    EXPECT_STREQ(fasternet_model_precision_kernels(model), "reference_bf16");
    fasternet_model_destroy(model);

    int32_t bad = 7;
    std::memcpy(&options.precision, &bad, sizeof bad);
    model = nullptr;
    EXPECT_EQ(fasternet_model_create_random(&config, 1, &options, &model), FASTERNET_INVALID_ARGUMENT);
    EXPECT_EQ(model, nullptr);
    EXPECT_NE(std::string(fasternet_last_error()).find("unknown precision 7"), std::string::npos) << fasternet_last_error();
}

TEST(CApi, HugeInputIsRefusedBeforeAllocating) {
    ModelHandle m = CreateRandom(TinyConfig(), 1);
    float dummy = 0.0f, out = 0.0f;
    float* outputs[] = {&out};
    int64_t sizes[] = {int64_t{1000000} * 7};
    const int64_t huge = int64_t{1000000} * 3 * 4096 * 4096;
    EXPECT_EQ(fasternet_model_run(m.model, &dummy, huge, 1000000, 4096, 4096, 1, outputs, sizes),
              FASTERNET_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fasternet_last_error()).find("limit"), std::string::npos) << fasternet_last_error();
}

TEST(CApi, MissingAndUnexpectedTensorsAreListed) {
    const fasternet_model_config config = TinyConfig();
    std::vector<float> data(64 * 160, 0.5f);
    fasternet_tensor tensors[2] = {};
    tensors[0].name = "head.bias";
    tensors[0].data = data.data();
    tensors[0].ndim = 1;
    tensors[0].shape[0] = 7;
    tensors[1].name = "head.extra";
    tensors[1].data = data.data();
    tensors[1].ndim = 1;
    tensors[1].shape[0] = 7;
    fasternet_model* model = nullptr;
    EXPECT_EQ(fasternet_model_create(&config, tensors, 2, nullptr, &model), FASTERNET_MISSING_TENSOR);
    EXPECT_EQ(model, nullptr);
    const std::string error = fasternet_last_error();
    EXPECT_NE(error.find("missing tensors"), std::string::npos) << error;
    EXPECT_NE(error.find("patch_embed.proj.weight"), std::string::npos) << error;
    EXPECT_NE(error.find("unexpected tensors (1): head.extra"), std::string::npos) << error;

}

TEST(CApi, WrongShapeIsNamedWhenEveryNameIsRight) {
    const fasternet_model_config config = TinyConfig();
    const auto expected = fasternet::Architecture(config).ExpectedTensors();
    std::vector<std::vector<float>> storage;
    std::vector<fasternet_tensor> tensors;
    for (const auto& t : expected) {
        int64_t count = 1;
        for (int64_t d : t.shape) count *= d;
        storage.emplace_back(static_cast<size_t>(count) + 1, 0.5f);
        fasternet_tensor view{};
        view.name = t.name.c_str();
        view.data = storage.back().data();
        view.ndim = static_cast<int32_t>(t.shape.size());
        for (int d = 0; d < view.ndim; ++d) view.shape[d] = t.shape[d];
        if (t.name == "head.bias") view.shape[0] = 8;
        tensors.push_back(view);
    }
    fasternet_model* model = nullptr;
    EXPECT_EQ(fasternet_model_create(&config, tensors.data(), static_cast<int32_t>(tensors.size()), nullptr, &model),
              FASTERNET_SHAPE_MISMATCH);
    EXPECT_EQ(model, nullptr);
    EXPECT_NE(std::string(fasternet_last_error()).find("'head.bias' has shape [8], expected [7]"), std::string::npos)
        << fasternet_last_error();
}

TEST(CApi, PeakAndBandwidthAreMeasuredAndBadArgumentsRefused) {
    double gflops = 0.0, bandwidth = 0.0;
    ASSERT_EQ(fasternet_measure_peak(1, 0.05, &gflops), FASTERNET_OK) << fasternet_last_error();
    EXPECT_TRUE(std::isfinite(gflops));
    EXPECT_GT(gflops, 0.0);  // a positive rate, whatever the host (timing is for benchmarks)
    ASSERT_EQ(fasternet_measure_bandwidth(1, int64_t{3} << 20, &bandwidth), FASTERNET_OK) << fasternet_last_error();
    EXPECT_TRUE(std::isfinite(bandwidth));
    EXPECT_GT(bandwidth, 0.0);
    EXPECT_EQ(fasternet_measure_peak(-1, 0.05, &gflops), FASTERNET_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fasternet_last_error()).find("threads"), std::string::npos);
    EXPECT_EQ(fasternet_measure_peak(1, 0.0, &gflops), FASTERNET_INVALID_ARGUMENT);
    EXPECT_EQ(fasternet_measure_bandwidth(1, 1000, &bandwidth), FASTERNET_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fasternet_last_error()).find("bytes"), std::string::npos);
}

TEST(CApi, AmxPeakIsMeasuredOnlyWhereAmxRunsAndOtherwiseRefusedWithTheReason) {
    double gflops = 0.0;
    EXPECT_EQ(fasternet_measure_amx_bf16_peak(1, 0.0, &gflops), FASTERNET_INVALID_ARGUMENT);
    EXPECT_EQ(fasternet_measure_amx_bf16_peak(1, 0.05, nullptr), FASTERNET_INVALID_ARGUMENT);
    const fasternet::Bf16Capabilities caps = fasternet::DetectBf16Capabilities();
    const fasternet_status status = fasternet_measure_amx_bf16_peak(1, 0.05, &gflops);
    if (caps.amx_bf16 && caps.amx_permitted && caps.avx512_bf16 && fasternet::AmxBf16PeakRound()) {
        ASSERT_EQ(status, FASTERNET_OK) << fasternet_last_error();
        EXPECT_TRUE(std::isfinite(gflops));
        EXPECT_GT(gflops, 0.0);
        return;
    }
    // Here (no AMX, or the OS refused it): a clear refusal naming why, never a crash on a tile instruction.
    EXPECT_EQ(status, FASTERNET_UNSUPPORTED);
    const std::string reason = fasternet_last_error();
    EXPECT_TRUE(reason.find("AMX") != std::string::npos || reason.find("tile") != std::string::npos) << reason;
}

TEST(CApi, ProfileNamesEveryLayerAndItsTimesAreNonNegative) {
    ModelHandle m = CreateRandom(TinyConfig(), 2);
    const std::vector<float> input = RandomInput(3 * 64 * 64, 9);
    std::vector<fasternet_layer_time> layers(64);
    int32_t count = 0;
    ASSERT_EQ(fasternet_model_profile(m.model, input.data(), static_cast<int64_t>(input.size()), 1, 64, 64,
                                      layers.data(), static_cast<int32_t>(layers.size()), &count),
              FASTERNET_OK)
        << fasternet_last_error();
    // input, patch_embed, 5 blocks x 3 parts, 3 merges, head.
    ASSERT_EQ(count, 1 + 1 + 5 * 3 + 3 + 1);
    EXPECT_STREQ(layers[0].name, "input");
    EXPECT_STREQ(layers[1].name, "patch_embed");
    EXPECT_STREQ(layers[2].name, "stages.0.blocks.0.pconv");
    EXPECT_STREQ(layers[5].name, "stages.1");
    EXPECT_STREQ(layers[count - 1].name, "head");
    for (int i = 0; i < count; ++i) EXPECT_GE(layers[i].seconds, 0.0) << layers[i].name;
    int32_t needed = 0;
    EXPECT_EQ(fasternet_model_profile(m.model, input.data(), static_cast<int64_t>(input.size()), 1, 64, 64,
                                      layers.data(), 3, &needed),
              FASTERNET_INVALID_ARGUMENT);
    EXPECT_EQ(needed, count);
}

}  // namespace

namespace {

std::vector<fasternet_layer_info> LayerTable(const fasternet_model_config& config, int height, int width) {
    int32_t count = -1;
    EXPECT_EQ(fasternet_config_layers(&config, height, width, nullptr, 0, &count), FASTERNET_INVALID_ARGUMENT);
    std::vector<fasternet_layer_info> layers(static_cast<size_t>(count > 0 ? count : 0));
    EXPECT_EQ(fasternet_config_layers(&config, height, width, layers.data(), count, &count), FASTERNET_OK)
        << fasternet_last_error();
    return layers;
}

}  // namespace

TEST(CApi, LayerTableRefusesASmallBufferAndReportsTheCount) {
    const fasternet_model_config config = TinyConfig();
    int32_t count = -1;
    EXPECT_EQ(fasternet_config_layers(&config, 32, 32, nullptr, 0, &count), FASTERNET_INVALID_ARGUMENT);
    // input, embedding, 5 blocks x 3, 3 merges, head
    EXPECT_EQ(count, 1 + 1 + 5 * 3 + 3 + 1);
    std::vector<fasternet_layer_info> layers(static_cast<size_t>(count));
    int32_t reported = -1;
    EXPECT_EQ(fasternet_config_layers(&config, 32, 32, layers.data(), count - 1, &reported),
              FASTERNET_INVALID_ARGUMENT);
    EXPECT_EQ(reported, count);
    const std::string error = fasternet_last_error();
    EXPECT_NE(error.find("room for " + std::to_string(count - 1)), std::string::npos) << error;

    int32_t tensors = -1;
    EXPECT_EQ(fasternet_config_tensors(&config, nullptr, 0, &tensors), FASTERNET_INVALID_ARGUMENT);
    EXPECT_EQ(tensors, static_cast<int32_t>(fasternet::Architecture(config).ExpectedTensors().size()));
    std::vector<fasternet_tensor_info> infos(static_cast<size_t>(tensors));
    EXPECT_EQ(fasternet_config_tensors(&config, infos.data(), tensors - 1, &reported), FASTERNET_INVALID_ARGUMENT);
    EXPECT_EQ(fasternet_config_tensors(nullptr, infos.data(), tensors, &reported), FASTERNET_INVALID_ARGUMENT);
    EXPECT_EQ(fasternet_config_layers(&config, 32, 32, layers.data(), count, nullptr), FASTERNET_INVALID_ARGUMENT);
}

TEST(CApi, LayerTableRefusesABadConfigAndATooSmallInput) {
    fasternet_model_config config = TinyConfig();
    std::vector<fasternet_layer_info> layers(64);
    int32_t count = 0;
    EXPECT_EQ(fasternet_config_layers(&config, 8, 8, layers.data(), 64, &count), FASTERNET_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fasternet_last_error()).find("too small"), std::string::npos) << fasternet_last_error();
    config.n_div = 0;
    EXPECT_EQ(fasternet_config_layers(&config, 32, 32, layers.data(), 64, &count), FASTERNET_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fasternet_last_error()).find("n_div"), std::string::npos) << fasternet_last_error();
}

TEST(CApi, LayerTableRowsAreTheProfileRowsAndAddUpToTheCost) {
    const fasternet_model_config config = TinyConfig();
    const std::vector<fasternet_layer_info> layers = LayerTable(config, 40, 56);
    int64_t macs = 0, parameters = 0;
    ASSERT_EQ(fasternet_config_cost(&config, 40, 56, &macs, &parameters), FASTERNET_OK);
    int64_t sum_macs = 0, sum_parameters = 0;
    int32_t next_tensor = 0;
    for (const fasternet_layer_info& l : layers) {
        sum_macs += l.macs;
        sum_parameters += l.parameters;
        EXPECT_EQ(l.weight_bytes, 4 * l.parameters) << l.name;
        EXPECT_EQ(l.first_tensor, next_tensor) << l.name;
        next_tensor += l.tensor_count;
    }
    EXPECT_EQ(sum_macs, macs);
    EXPECT_EQ(sum_parameters, parameters);

    std::vector<fasternet_tensor_info> tensors(static_cast<size_t>(next_tensor));
    int32_t tensor_count = 0;
    ASSERT_EQ(fasternet_config_tensors(&config, tensors.data(), next_tensor, &tensor_count), FASTERNET_OK);
    EXPECT_EQ(tensor_count, next_tensor);
    const auto expected = fasternet::Architecture(config).ExpectedTensors();
    ASSERT_EQ(tensors.size(), expected.size());
    for (size_t i = 0; i < tensors.size(); ++i) {
        EXPECT_EQ(std::string(tensors[i].name), expected[i].name);
        const fasternet_layer_info& owner = layers.at(static_cast<size_t>(tensors[i].layer));
        EXPECT_GE(static_cast<int32_t>(i), owner.first_tensor);
        EXPECT_LT(static_cast<int32_t>(i), owner.first_tensor + owner.tensor_count);
    }

    ModelHandle model = CreateRandom(config, 2);
    std::vector<float> input(3 * 40 * 56, 0.25f);
    std::vector<fasternet_layer_time> times(layers.size());
    int32_t time_count = 0;
    ASSERT_EQ(fasternet_model_profile(model.model, input.data(), static_cast<int64_t>(input.size()), 1, 40, 56,
                                      times.data(), static_cast<int32_t>(times.size()), &time_count),
              FASTERNET_OK)
        << fasternet_last_error();
    ASSERT_EQ(time_count, static_cast<int32_t>(layers.size()));
    for (size_t i = 0; i < layers.size(); ++i) EXPECT_STREQ(times[i].name, layers[i].name) << i;
}

namespace {

std::vector<fasternet_layer_info> LayerTableIn(const fasternet_model_config& config, fasternet_precision precision,
                                               int height, int width) {
    std::vector<fasternet_layer_info> layers(128);
    int32_t count = 0;
    EXPECT_EQ(fasternet_config_layers_in_precision(&config, precision, height, width, layers.data(),
                                                   static_cast<int32_t>(layers.size()), &count),
              FASTERNET_OK)
        << fasternet_last_error();
    layers.resize(static_cast<size_t>(count));
    return layers;
}

// What one layer moves, listed tensor by tensor: channels x pixels of each tensor it reads or
// writes at that tensor's element size, and its conv/linear weights (and the classifier bias)
// at theirs. Derived from the shapes alone, not from the table's byte columns.
struct ExpectedBytes {
    int64_t activations = 0, weights = 0;
};

// partial_channels: the block's cp (its PConv weight's first dimension).
ExpectedBytes BytesFromShapes(const fasternet_layer_info& layer, const std::vector<fasternet_tensor_info>& tensors,
                              bool bf16, int64_t partial_channels) {
    const int64_t f32 = 4, bf = 2;
    const int64_t in_pixels = int64_t{layer.in_height} * layer.in_width;
    const int64_t out_pixels = int64_t{layer.out_height} * layer.out_width;
    const int64_t in_plane = layer.in_channels * in_pixels, out_plane = layer.out_channels * out_pixels;
    // The GEMM layers of a bf16 model: bf16 weights; PConv's output and the hidden tensor are bf16.
    const bool gemm_layer = layer.kind == FASTERNET_LAYER_MERGING || layer.kind == FASTERNET_LAYER_PARTIAL_CONV ||
                            layer.kind == FASTERNET_LAYER_POINTWISE_EXPAND ||
                            layer.kind == FASTERNET_LAYER_POINTWISE_PROJECT;
    const int64_t between = bf16 ? bf : f32;  // the PConv -> PW1 and PW1 -> PW2 tensors
    ExpectedBytes e;
    for (int32_t t = layer.first_tensor; t < layer.first_tensor + layer.tensor_count; ++t) {
        const fasternet_tensor_info& tensor = tensors.at(static_cast<size_t>(t));
        const bool conv_or_linear = tensor.ndim >= 2, classifier_bias = std::string(tensor.name) == "head.bias";
        if (!conv_or_linear && !classifier_bias) continue;  // batch norms fold away
        int64_t count = 1;
        for (int d = 0; d < tensor.ndim; ++d) count *= tensor.shape[d];
        e.weights += count * (bf16 && gemm_layer ? bf : f32);
    }
    const int64_t cp = partial_channels, pixels = out_pixels;
    switch (layer.kind) {
        case FASTERNET_LAYER_PARTIAL_CONV:  // reads cp fp32 channels of the stream, writes its cp channels
            e.activations = pixels * cp * (f32 + between);
            break;
        case FASTERNET_LAYER_POINTWISE_EXPAND:  // reads PConv's output and the untouched channels, writes hidden
            e.activations = pixels * (cp * between + (layer.in_channels - cp) * f32 + layer.out_channels * between);
            break;
        case FASTERNET_LAYER_POINTWISE_PROJECT:  // reads hidden and the fp32 residual, writes the fp32 stream
            e.activations = pixels * (layer.in_channels * between + 2 * layer.out_channels * f32);
            break;
        case FASTERNET_LAYER_HEAD:
            e.activations = in_plane * f32;  // the logits are not counted
            break;
        default:  // input, embedding, merges, backbone norms: fp32 in and out
            e.activations = (in_plane + out_plane) * f32;
    }
    return e;
}

}  // namespace

TEST(CApi, LayerTableBytesCountEachTensorAtItsPrecisionsElementSize) {
    for (int backbone = 0; backbone <= 1; ++backbone) {
        const fasternet_model_config config = TinyConfig(backbone);
        std::vector<fasternet_tensor_info> tensors(256);
        int32_t tensor_count = 0;
        ASSERT_EQ(fasternet_config_tensors(&config, tensors.data(), 256, &tensor_count), FASTERNET_OK);
        tensors.resize(static_cast<size_t>(tensor_count));
        const auto fp32 = LayerTableIn(config, FASTERNET_PRECISION_FLOAT32, 40, 56);
        const auto bf16 = LayerTableIn(config, FASTERNET_PRECISION_BFLOAT16, 40, 56);
        const auto plain = LayerTable(config, 40, 56);  // fasternet_config_layers: the fp32 table
        ASSERT_EQ(bf16.size(), fp32.size());
        ASSERT_EQ(plain.size(), fp32.size());
        int64_t partial_channels = 0;  // the current block's cp, from its PConv's weight
        for (size_t i = 0; i < fp32.size(); ++i) {
            EXPECT_EQ(0, std::memcmp(&plain[i], &fp32[i], sizeof plain[i])) << plain[i].name;
            for (const bool is_bf16 : {false, true}) {
                const fasternet_layer_info& l = is_bf16 ? bf16[i] : fp32[i];
                if (l.kind == FASTERNET_LAYER_PARTIAL_CONV) {
                    partial_channels = tensors.at(static_cast<size_t>(l.first_tensor)).shape[0];
                }
                const ExpectedBytes e = BytesFromShapes(l, tensors, is_bf16, partial_channels);
                SCOPED_TRACE(std::string(l.name) + (is_bf16 ? " bf16" : " fp32"));
                EXPECT_EQ(l.activation_bytes, e.activations);
                EXPECT_EQ(l.weight_bytes, e.weights);
                EXPECT_GT(l.activation_bytes, 0);
            }
            // Everything but the bytes is the same in both precisions.
            EXPECT_EQ(bf16[i].macs, fp32[i].macs) << fp32[i].name;
            EXPECT_EQ(bf16[i].parameters, fp32[i].parameters) << fp32[i].name;
            EXPECT_STREQ(bf16[i].name, fp32[i].name);
        }
        // Without sizes, the bf16 weights are still half-size.
        std::vector<fasternet_layer_info> structure(128);
        int32_t count = 0;
        ASSERT_EQ(fasternet_config_layers_in_precision(&config, FASTERNET_PRECISION_BFLOAT16, 0, 0, structure.data(),
                                                       128, &count),
                  FASTERNET_OK);
        for (int32_t i = 0; i < count; ++i) {
            EXPECT_EQ(structure[i].weight_bytes, bf16[i].weight_bytes) << structure[i].name;
            EXPECT_EQ(structure[i].activation_bytes, 0) << structure[i].name;
        }
    }
}

TEST(CApi, LayerTableRefusesAnUnknownPrecision) {
    const fasternet_model_config config = TinyConfig();
    std::vector<fasternet_layer_info> layers(64);
    int32_t count = 0;
    EXPECT_EQ(fasternet_config_layers_in_precision(&config, 7, 32, 32, layers.data(), 64, &count),
              FASTERNET_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fasternet_last_error()).find("unknown precision 7"), std::string::npos)
        << fasternet_last_error();
}
