// The architecture: config validation, map sizes, cost against the paper's table.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <utility>

#include "common/error.h"
#include "model/architecture.h"
#include "test_configs.h"

namespace fasternet {
namespace {

TEST(ModelConfig, VariantCostsMatchThePapersTable) {
    struct Row {
        fasternet_model_config config;
        double params_millions, gmacs;
    };
    const Row rows[] = {{testing::VariantConfig(40, {1, 2, 8, 2}, FASTERNET_ACTIVATION_GELU), 3.9, 0.34},
                        {testing::VariantConfig(64, {1, 2, 8, 2}, FASTERNET_ACTIVATION_GELU), 7.6, 0.85},
                        {testing::VariantConfig(96, {1, 2, 8, 2}, FASTERNET_ACTIVATION_RELU), 15.0, 1.90},
                        {testing::VariantConfig(128, {1, 2, 13, 2}, FASTERNET_ACTIVATION_RELU), 31.1, 4.55},
                        {testing::VariantConfig(144, {3, 4, 18, 3}, FASTERNET_ACTIVATION_RELU), 53.5, 8.72},
                        {testing::VariantConfig(192, {3, 4, 18, 3}, FASTERNET_ACTIVATION_RELU), 93.4, 15.49}};
    for (const Row& row : rows) {
        const Architecture architecture(row.config);
        EXPECT_NEAR(architecture.Parameters() / 1e6, row.params_millions, 0.05) << "embed_dim " << row.config.embed_dim;
        EXPECT_NEAR(architecture.Macs(224, 224) / 1e9, row.gmacs, 0.005) << "embed_dim " << row.config.embed_dim;
    }
}

TEST(ModelConfig, MapSizesFollowPyTorchsFloorRule) {
    const Architecture architecture(testing::VariantConfig(40, {1, 2, 8, 2}, FASTERNET_ACTIVATION_GELU));
    const MapSizes sizes = architecture.MapSizesFor(193, 250);
    EXPECT_EQ(sizes.embed_h, 48);  // floor((193 - 4) / 4) + 1
    EXPECT_EQ(sizes.embed_w, 62);
    EXPECT_EQ(sizes.stage_h, (std::vector<int>{48, 24, 12, 6}));
    EXPECT_EQ(sizes.stage_w, (std::vector<int>{62, 31, 15, 7}));
}

TEST(ModelConfig, TooSmallInputNamesTheSmallestSize) {
    const Architecture architecture(testing::VariantConfig(40, {1, 2, 8, 2}, FASTERNET_ACTIVATION_GELU));
    try {
        architecture.MapSizesFor(16, 64);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), FASTERNET_INVALID_ARGUMENT);
        EXPECT_NE(std::string(e.what()).find("too small"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("32x32"), std::string::npos) << e.what();
    }
    EXPECT_NO_THROW(architecture.MapSizesFor(32, 32));
}

TEST(ModelConfig, InvalidFieldsAreNamed) {
    fasternet_model_config config = testing::VariantConfig(40, {1, 2, 8, 2}, FASTERNET_ACTIVATION_GELU);
    config.depths[2] = 0;
    try {
        Architecture{config};
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("depths[2]"), std::string::npos) << e.what();
    }
    config = testing::VariantConfig(40, {1, 2, 8, 2}, FASTERNET_ACTIVATION_GELU);
    config.n_div = 64;
    EXPECT_THROW(Architecture{config}, Error);
    config = testing::VariantConfig(40, {1, 2, 8, 2}, FASTERNET_ACTIVATION_GELU);
    config.num_stages = 0;
    EXPECT_THROW(Architecture{config}, Error);
    config = testing::VariantConfig(40, {1, 2, 8, 2}, FASTERNET_ACTIVATION_GELU);
    config.mlp_ratio = NAN;
    EXPECT_THROW(Architecture{config}, Error);
}

// Found by the model-create fuzzer under UBSan: an activation outside the enum was loaded as the C++
// enum type (undefined) and printed as 4294967295 for -1. C callers may pass any int.
TEST(ModelConfig, ActivationOutsideTheEnumIsRefusedNamingTheValue) {
    for (const int32_t raw : {-1, 0, 3, 1 << 30}) {
        fasternet_model_config config = testing::VariantConfig(40, {1, 2, 8, 2}, FASTERNET_ACTIVATION_GELU);
        std::memcpy(&config.activation, &raw, sizeof raw);
        try {
            Architecture{config};
            ADD_FAILURE() << "activation " << raw << " was accepted";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("activation = " + std::to_string(raw) + " "), std::string::npos)
                << e.what();
        }
    }
}

// Found by UBSan: the refusal converted mlp_ratio to an integer for its message, undefined for NaN,
// infinities and values past int64 (and it printed 0.5 as 0). The message now shows the value given.
TEST(ModelConfig, NonFiniteOrHugeMlpRatioIsRefusedWithTheValueInTheMessage) {
    const std::pair<float, const char*> cases[] = {{NAN, "mlp_ratio = nan"},
                                                   {INFINITY, "mlp_ratio = inf"},
                                                   {-INFINITY, "mlp_ratio = -inf"},
                                                   {1e30f, "mlp_ratio = 1e+30"},
                                                   {-0.5f, "mlp_ratio = -0.5"},
                                                   {0.0f, "mlp_ratio = 0"}};
    for (const auto& [ratio, expected] : cases) {
        fasternet_model_config config = testing::VariantConfig(40, {1, 2, 8, 2}, FASTERNET_ACTIVATION_GELU);
        config.mlp_ratio = ratio;
        try {
            Architecture{config};
            ADD_FAILURE() << "mlp_ratio " << ratio << " was accepted";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
        }
    }
}

TEST(ModelConfig, ExpectedTensorsUseOfficialNames) {
    fasternet_model_config config = testing::VariantConfig(40, {1, 2, 8, 2}, FASTERNET_ACTIVATION_GELU);
    const auto tensors = Architecture(config).ExpectedTensors();
    const auto has = [&](const std::string& name, std::vector<int64_t> shape) {
        for (const auto& t : tensors)
            if (t.name == name) return t.shape == shape;
        return false;
    };
    EXPECT_TRUE(has("patch_embed.proj.weight", {40, 3, 4, 4}));
    EXPECT_TRUE(has("stages.0.blocks.0.spatial_mixing.partial_conv3.weight", {10, 10, 3, 3}));
    EXPECT_TRUE(has("stages.0.blocks.0.mlp.0.weight", {80, 40, 1, 1}));
    EXPECT_TRUE(has("stages.0.blocks.0.mlp.1.running_var", {80}));
    EXPECT_TRUE(has("stages.0.blocks.0.mlp.3.weight", {40, 80, 1, 1}));
    EXPECT_TRUE(has("stages.1.reduction.weight", {80, 40, 2, 2}));
    EXPECT_TRUE(has("stages.6.blocks.1.mlp.3.weight", {320, 640, 1, 1}));
    EXPECT_TRUE(has("avgpool_pre_head.1.weight", {1280, 320, 1, 1}));
    EXPECT_TRUE(has("head.bias", {1000}));
    config.backbone = 1;
    const auto backbone = Architecture(config).ExpectedTensors();
    bool has_norm6 = false, has_head = false;
    for (const auto& t : backbone) {
        has_norm6 |= t.name == "norm6.running_mean";
        has_head |= t.name.rfind("head", 0) == 0;
    }
    EXPECT_TRUE(has_norm6);
    EXPECT_FALSE(has_head);
}

}  // namespace
}  // namespace fasternet
