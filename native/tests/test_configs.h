// Model configurations and inputs shared by the native tests.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <random>
#include <vector>

#include "fasternet.h"

namespace fasternet::testing {

inline fasternet_model_config VariantConfig(int embed_dim, std::initializer_list<int> depths,
                                            fasternet_activation activation) {
    fasternet_model_config config{};
    config.in_channels = 3;
    config.num_classes = 1000;
    config.embed_dim = embed_dim;
    config.num_stages = static_cast<int32_t>(depths.size());
    int i = 0;
    for (int d : depths) config.depths[i++] = d;
    config.n_div = 4;
    config.mlp_ratio = 2.0f;
    config.patch_size = 4;
    config.patch_stride = 4;
    config.patch_size2 = 2;
    config.patch_stride2 = 2;
    config.feature_dim = 1280;
    config.activation = activation;
    return config;
}

// A four-stage network small enough to run thousands of times in a test: 7 classes, odd widths.
inline fasternet_model_config TinyConfig(int backbone = 0) {
    fasternet_model_config config = VariantConfig(20, {1, 2, 1, 1}, FASTERNET_ACTIVATION_GELU);
    config.num_classes = 7;
    config.feature_dim = 64;
    config.backbone = backbone;
    return config;
}

inline std::vector<float> RandomInput(size_t count, unsigned seed) {
    std::mt19937 generator(seed);
    std::normal_distribution<float> normal;
    std::vector<float> input(count);
    for (float& v : input) v = normal(generator);
    return input;
}

}  // namespace fasternet::testing
