// Scalar activations: the definition every kernel set is tested against.
#include <cmath>

#include "kernels/kernels.h"

namespace fasternet {

float ApplyActivation(float x, Activation activation) {
    switch (activation) {
        case Activation::Relu:
            return x > 0.0f ? x : 0.0f;
        case Activation::Gelu:
            // Exact GELU (erf form), PyTorch's default.
            return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
        case Activation::None:
        default:
            return x;
    }
}

}  // namespace fasternet
