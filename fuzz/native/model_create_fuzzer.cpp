// libFuzzer target: model creation from arbitrary configs and tensor sets through the C ABI,
// then one run on an input of arbitrary size. The C ABI promises a status and a message for every
// bad config, tensor set or input: a crash, sanitizer report, leak or hang here is a finding.
//
// The input bytes choose, in order: every config field (ranges a little wider than valid), the
// options, then either seeded random weights or the expected tensor set with a few mutations
// (dropped, renamed, reshaped, re-ranked, duplicated, extra, null name/data), then the run's shape.
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "fasternet.h"
#include "model/architecture.h"

namespace {

// Keeps one execution short: configs beyond this many weights are still validated and costed,
// but not built.
constexpr int64_t kMaxParameters = 600000;
constexpr int64_t kMaxMacs = int64_t{60} * 1000 * 1000;

float PickRatio(FuzzedDataProvider& in) {
    const float ratios[] = {2.0f, 1.0f, 1.5f, 0.5f, 3.0f, 0.0f, -1.0f, 1e9f,
                            std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()};
    return ratios[in.ConsumeIntegralInRange<size_t>(0, sizeof(ratios) / sizeof(ratios[0]) - 1)];
}

fasternet_model_config ReadConfig(FuzzedDataProvider& in) {
    fasternet_model_config c{};
    c.in_channels = in.ConsumeIntegralInRange<int32_t>(-1, 4);
    c.num_classes = in.ConsumeIntegralInRange<int32_t>(-1, 12);
    c.embed_dim = in.ConsumeIntegralInRange<int32_t>(-1, 24);
    c.num_stages = in.ConsumeIntegralInRange<int32_t>(-1, FASTERNET_MAX_STAGES + 1);
    for (int32_t& d : c.depths) d = in.ConsumeIntegralInRange<int32_t>(-1, 2);
    c.n_div = in.ConsumeIntegralInRange<int32_t>(-1, 9);
    c.mlp_ratio = PickRatio(in);
    c.patch_size = in.ConsumeIntegralInRange<int32_t>(-1, 7);
    c.patch_stride = in.ConsumeIntegralInRange<int32_t>(-1, 7);
    c.patch_size2 = in.ConsumeIntegralInRange<int32_t>(-1, 4);
    c.patch_stride2 = in.ConsumeIntegralInRange<int32_t>(-1, 4);
    c.feature_dim = in.ConsumeIntegralInRange<int32_t>(-1, 40);
    c.activation = static_cast<fasternet_activation>(in.ConsumeIntegralInRange<int32_t>(-1, 3));
    c.backbone = in.ConsumeIntegralInRange<int32_t>(-1, 2);
    return c;
}

struct TensorSet {
    std::vector<std::string> names;
    std::vector<std::vector<float>> data;
    std::vector<fasternet_tensor> views;
};

// The expected tensors of a valid config, then up to four mutations chosen by the input.
void BuildTensors(FuzzedDataProvider& in, const fasternet_model_config& config, TensorSet& set) {
    const fasternet::Architecture architecture(config);  // throws for an invalid config
    for (const fasternet::ExpectedTensor& e : architecture.ExpectedTensors()) {
        int64_t count = 1;
        for (int64_t d : e.shape) count *= d;
        set.names.push_back(e.name);
        set.data.emplace_back(static_cast<size_t>(count), 0.5f);
        fasternet_tensor view{};
        view.ndim = static_cast<int32_t>(e.shape.size());
        for (size_t i = 0; i < e.shape.size(); ++i) view.shape[i] = e.shape[i];
        set.views.push_back(view);
    }
    const int mutations = in.ConsumeIntegralInRange<int>(0, 4);
    for (int m = 0; m < mutations && !set.views.empty(); ++m) {
        const size_t k = in.ConsumeIntegralInRange<size_t>(0, set.views.size() - 1);
        switch (in.ConsumeIntegralInRange<int>(0, 8)) {
            case 0:  // dropped
                set.names.erase(set.names.begin() + k);
                set.data.erase(set.data.begin() + k);
                set.views.erase(set.views.begin() + k);
                break;
            case 1:  // renamed
                set.names[k] = in.ConsumeRandomLengthString(48);
                break;
            case 2: {  // one dimension changed (data sized for the new shape only if it shrinks)
                const int32_t dim = in.ConsumeIntegralInRange<int32_t>(0, FASTERNET_MAX_DIMS - 1);
                set.views[k].shape[dim] = in.ConsumeIntegralInRange<int64_t>(-2, 9);
                break;
            }
            case 3:  // rank changed
                set.views[k].ndim = in.ConsumeIntegralInRange<int32_t>(-1, FASTERNET_MAX_DIMS + 1);
                break;
            case 4:  // duplicated
                set.names.push_back(set.names[k]);
                set.data.push_back(set.data[k]);
                set.views.push_back(set.views[k]);
                break;
            case 5:  // an extra tensor
                set.names.push_back(in.ConsumeRandomLengthString(48));
                set.data.emplace_back(4, 1.0f);
                set.views.push_back(fasternet_tensor{nullptr, nullptr, 1, {4}});
                break;
            case 6:  // non-finite weights (batch-norm variances included)
                for (float& v : set.data[k]) v = std::numeric_limits<float>::quiet_NaN();
                break;
            case 7:  // negative values everywhere (negative variances)
                for (float& v : set.data[k]) v = -1.0f;
                break;
            default:  // a null name or null data
                set.names[k] = in.ConsumeBool() ? std::string("\x01null") : set.names[k];
                set.data[k].clear();
                break;
        }
    }
    for (size_t i = 0; i < set.views.size(); ++i) {
        set.views[i].name = set.names[i] == "\x01null" ? nullptr : set.names[i].c_str();
        set.views[i].data = set.data[i].empty() ? nullptr : set.data[i].data();
        // A shape claiming more elements than the data holds would make the caller, not the
        // library, read out of bounds: keep the buffer at least as large as any shape claims.
        int64_t claimed = 1;
        bool sane = set.views[i].ndim >= 0 && set.views[i].ndim <= FASTERNET_MAX_DIMS;
        for (int32_t d = 0; sane && d < set.views[i].ndim; ++d) {
            const int64_t extent = set.views[i].shape[d];
            if (extent < 0 || extent > 100000 || (extent > 0 && claimed > kMaxParameters / extent)) sane = false;
            else claimed *= extent;
        }
        if (sane && set.views[i].data != nullptr && claimed > static_cast<int64_t>(set.data[i].size())) {
            set.data[i].resize(static_cast<size_t>(claimed), 0.25f);
            set.views[i].data = set.data[i].data();
        }
    }
}

void RunOnce(FuzzedDataProvider& in, const fasternet_model* model, int32_t in_channels) {
    const int32_t batch = in.ConsumeIntegralInRange<int32_t>(-1, 2);
    const int32_t height = in.ConsumeIntegralInRange<int32_t>(-1, 72);
    const int32_t width = in.ConsumeIntegralInRange<int32_t>(-1, 72);
    const int32_t count = fasternet_model_output_count(model);
    std::vector<std::vector<float>> outputs(static_cast<size_t>(count));
    std::vector<float*> pointers(static_cast<size_t>(count), nullptr);
    std::vector<int64_t> sizes(static_cast<size_t>(count), 0);
    for (int32_t i = 0; i < count; ++i) {
        int64_t shape[4];
        if (fasternet_model_output_shape(model, batch, height, width, i, shape) == FASTERNET_OK) {
            outputs[i].resize(static_cast<size_t>(shape[0] * shape[1] * shape[2] * shape[3]));
        } else {
            outputs[i].resize(1);
        }
        pointers[i] = outputs[i].data();
        sizes[i] = static_cast<int64_t>(outputs[i].size()) - (in.ConsumeBool() && in.ConsumeBool() ? 1 : 0);
    }
    const int64_t claimed = static_cast<int64_t>(batch) * 3 * height * width;
    std::vector<float> input(static_cast<size_t>(claimed > 0 ? claimed : 1) + 8, 0.1f);
    const int64_t input_size = claimed + in.ConsumeIntegralInRange<int64_t>(-1, 1);
    fasternet_model_run(model, input.data(), input_size, batch, height, width, count, pointers.data(), sizes.data());

    // The same geometry with one buffer per image (each really holding in_channels x height x width floats),
    // sometimes with an image missing.
    if (batch < 1 || height < 1 || width < 1) {
        fasternet_model_run_images(model, nullptr, batch, height, width, count, pointers.data(), sizes.data(), nullptr);
        return;
    }
    const size_t per_image = static_cast<size_t>(in_channels) * height * width;
    std::vector<std::vector<float>> images(static_cast<size_t>(batch), std::vector<float>(per_image + 1, 0.2f));
    std::vector<const float*> image_pointers;
    for (const auto& image : images) image_pointers.push_back(image.data());
    if (in.ConsumeBool() && in.ConsumeBool()) image_pointers[static_cast<size_t>(batch) - 1] = nullptr;
    fasternet_model_run_images(model, image_pointers.data(), batch, height, width, count, pointers.data(), sizes.data(),
                               nullptr);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const fasternet_model_config config = ReadConfig(in);
    int64_t macs = 0, parameters = 0;
    const bool valid = fasternet_config_cost(&config, 64, 64, &macs, &parameters) == FASTERNET_OK;
    fasternet_model_options options{in.ConsumeIntegralInRange<int32_t>(-1, 3),
                                    static_cast<fasternet_kernel_set>(in.ConsumeIntegralInRange<int32_t>(-1, 5)),
                                    static_cast<fasternet_precision>(in.ConsumeIntegralInRange<int32_t>(-1, 2)),
                                    in.ConsumeIntegralInRange<int64_t>(-1, 1 << 20)};
    if (valid && (parameters > kMaxParameters || macs > kMaxMacs)) return 0;

    fasternet_model* model = nullptr;
    if (in.ConsumeBool()) {
        fasternet_model_create_random(&config, in.ConsumeIntegral<uint64_t>(), &options, &model);
    } else {
        TensorSet set;
        if (valid) {
            try {
                BuildTensors(in, config, set);
            } catch (...) {
                set = TensorSet{};
            }
        }
        fasternet_model_create(&config, set.views.data(), static_cast<int32_t>(set.views.size()), &options, &model);
    }
    if (model != nullptr) {
        RunOnce(in, model, config.in_channels);
        fasternet_model_trim_scratch(model, in.ConsumeBool() ? 0.0 : -1.0, nullptr);
    }
    fasternet_model_destroy(model);
    return 0;
}
