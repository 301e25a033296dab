#include "model/state_dict.h"

#include <cmath>
#include <cstring>
#include <sstream>

#include "common/error.h"

namespace fasternet {

namespace {

std::string ShapeString(const std::vector<int64_t>& shape) {
    std::ostringstream s;
    s << "[";
    for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
    s << "]";
    return s.str();
}

bool EndsWith(const std::string& text, const char* suffix) {
    const size_t n = std::strlen(suffix);
    return text.size() >= n && text.compare(text.size() - n, n, suffix) == 0;
}

void AppendList(std::ostringstream& message, const char* what, const std::vector<std::string>& names) {
    constexpr size_t kShown = 12;
    message << what << " (" << names.size() << "): ";
    for (size_t i = 0; i < names.size() && i < kShown; ++i) message << (i ? ", " : "") << names[i];
    if (names.size() > kShown) message << ", ... and " << names.size() - kShown << " more";
}

// splitmix64: a small, fast, well-mixed seeded generator.
struct Random {
    uint64_t state;
    uint64_t Next() {
        uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    float Uniform(float low, float high) {
        return low + (high - low) * static_cast<float>((Next() >> 40) * (1.0 / 16777216.0));
    }
};

}  // namespace

std::map<std::string, TensorView> CheckStateDict(const Architecture& architecture, const fasternet_tensor* tensors,
                                                 int32_t tensor_count) {
    if (tensor_count < 0) Fail(FASTERNET_INVALID_ARGUMENT, "tensor_count is negative (", tensor_count, ")");
    if (tensor_count > 0 && !tensors) Fail(FASTERNET_INVALID_ARGUMENT, "tensors is null but tensor_count is ", tensor_count);

    std::map<std::string, std::vector<int64_t>> expected;
    for (ExpectedTensor& t : architecture.ExpectedTensors()) expected.emplace(std::move(t.name), std::move(t.shape));

    std::map<std::string, TensorView> found;
    std::vector<std::string> unexpected;
    std::vector<std::string> wrong_shapes;
    for (int32_t i = 0; i < tensor_count; ++i) {
        const fasternet_tensor& t = tensors[i];
        if (!t.name) Fail(FASTERNET_INVALID_ARGUMENT, "tensor ", i, " has no name");
        const std::string name = t.name;
        if (EndsWith(name, "num_batches_tracked")) continue;
        auto it = expected.find(name);
        if (it == expected.end()) {
            unexpected.push_back(name);
            continue;
        }
        if (t.ndim < 0 || t.ndim > FASTERNET_MAX_DIMS) {
            Fail(FASTERNET_INVALID_ARGUMENT, "tensor '", name, "' has ndim ", t.ndim);
        }
        std::vector<int64_t> shape(t.shape, t.shape + t.ndim);
        if (shape != it->second) {
            wrong_shapes.push_back("tensor '" + name + "' has shape " + ShapeString(shape) + ", expected " +
                                   ShapeString(it->second));
        }
        if (!t.data) Fail(FASTERNET_INVALID_ARGUMENT, "tensor '", name, "' has no data");
        if (!found.emplace(name, TensorView{t.data, shape}).second) {
            Fail(FASTERNET_INVALID_ARGUMENT, "tensor '", name, "' is given twice");
        }
    }
    std::vector<std::string> missing;
    for (const auto& [name, shape] : expected) {
        if (!found.count(name)) missing.push_back(name);
    }
    if (!missing.empty() || !unexpected.empty()) {
        std::ostringstream message;
        message << "state_dict does not match the model config: ";
        if (!missing.empty()) AppendList(message, "missing tensors", missing);
        if (!missing.empty() && !unexpected.empty()) message << "; ";
        if (!unexpected.empty()) AppendList(message, "unexpected tensors", unexpected);
        if (!wrong_shapes.empty()) message << "; and " << wrong_shapes.size() << " tensor(s) of the wrong shape";
        throw Error(missing.empty() ? FASTERNET_UNEXPECTED_TENSOR : FASTERNET_MISSING_TENSOR, message.str());
    }
    if (!wrong_shapes.empty()) {
        // Names are all right: the config (widths, n_div, mlp_ratio, patch sizes) differs from the checkpoint's.
        std::ostringstream message;
        for (size_t i = 0; i < wrong_shapes.size() && i < 3; ++i) message << (i ? "; " : "") << wrong_shapes[i];
        if (wrong_shapes.size() > 3) message << "; ... and " << wrong_shapes.size() - 3 << " more";
        throw Error(FASTERNET_SHAPE_MISMATCH, message.str());
    }
    return found;
}

void MakeRandomStateDict(const Architecture& architecture, uint64_t seed, RandomStateDict& out) {
    Random random{seed};
    for (const ExpectedTensor& t : architecture.ExpectedTensors()) {
        int64_t count = 1;
        for (int64_t d : t.shape) count *= d;
        std::vector<float> values(static_cast<size_t>(count));
        const auto fill = [&](float low, float high) {
            for (float& v : values) v = random.Uniform(low, high);
        };
        if (t.shape.size() == 1) {
            // Batch-norm statistics and affine parameters near identity; linear biases small.
            const bool near_one = EndsWith(t.name, "running_var") || EndsWith(t.name, ".weight");
            near_one ? fill(0.5f, 1.5f) : fill(-0.1f, 0.1f);
        } else {
            const int64_t fan_in = count / t.shape[0];
            const float bound = 1.0f / std::sqrt(static_cast<float>(fan_in));
            fill(-bound, bound);
        }
        out.names.push_back(t.name);
        out.values.push_back(std::move(values));
    }
    const std::vector<ExpectedTensor> expected = architecture.ExpectedTensors();
    for (size_t i = 0; i < expected.size(); ++i) {
        fasternet_tensor view{};
        view.name = out.names[i].c_str();
        view.data = out.values[i].data();
        view.ndim = static_cast<int32_t>(expected[i].shape.size());
        for (int d = 0; d < view.ndim; ++d) view.shape[d] = expected[i].shape[d];
        out.tensors.push_back(view);
    }
}

}  // namespace fasternet
