// Model configurations shared by the native tests.
#pragma once

#include <initializer_list>

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

}  // namespace fasternet::testing
