// Named tensors given at model creation, checked against the architecture.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fasternet.h"
#include "model/architecture.h"

namespace fasternet {

struct TensorView {
    const float* data = nullptr;
    std::vector<int64_t> shape;
};

// Expected name -> tensor. Throws Error listing every missing and unexpected
// tensor, or naming the first tensor whose shape differs.
std::map<std::string, TensorView> CheckStateDict(const Architecture& architecture, const fasternet_tensor* tensors,
                                                 int32_t tensor_count);

// Seeded random tensors of the right shapes (conv weights uniform in
// +-1/sqrt(fan_in), batch norms near identity). Storage for the views.
struct RandomStateDict {
    std::vector<std::string> names;
    std::vector<std::vector<float>> values;
    std::vector<fasternet_tensor> tensors;
};
void MakeRandomStateDict(const Architecture& architecture, uint64_t seed, RandomStateDict& out);

}  // namespace fasternet
