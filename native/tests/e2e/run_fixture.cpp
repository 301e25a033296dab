// End-to-end check through the C ABI: builds a model from a safetensors file of
// official state_dict tensors and a model config.json (the constructor
// arguments of the official FasterNet), runs one .npy input with 1 and 2
// threads and compares every output with PyTorch's (.npy, tests/fixtures):
// max |diff| / max |expected| must stay below the tolerance (1e-4, the
// design's PyTorch agreement). Exit status 0 when every run passes.
//
//   fasternet_run_fixture --config tests/fixtures/tiny/config.json --weights tiny.safetensors
//       --input tests/fixtures/tiny/input_2x3x32x32.npy --expected tests/fixtures/tiny/logits_2x3x32x32.npy
//       [--expected <output 1>.npy ...] [--threads 1,2] [--kernels auto|reference|avx2|avx512|neon]
//   (one command line)
//
// A backbone config (fork_feat true) has one --expected per stage, in order.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "fasternet.h"
#include "json.h"
#include "tensor_files.h"

namespace fasternet::e2e {
namespace {

struct Options {
    std::string config;
    std::string weights;
    std::string input;
    std::vector<std::string> expected;
    std::vector<int> threads = {1, 2};
    std::string kernels = "auto";
    double tolerance = 1e-4;
};

[[noreturn]] void Usage(const char* message) {
    std::fprintf(stderr,
                 "error: %s\nusage: fasternet_run_fixture --config C.json --weights W.safetensors --input X.npy "
                 "--expected Y.npy [--expected Y2.npy ...] [--threads 1,2] [--kernels auto|reference|avx2|avx512|neon] "
                 "[--tolerance 1e-4]\n",
                 message);
    std::exit(2);
}

Options ParseOptions(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (i + 1 >= argc) Usage(("missing value after " + flag).c_str());
        const std::string value = argv[++i];
        if (flag == "--config") {
            options.config = value;
        } else if (flag == "--weights") {
            options.weights = value;
        } else if (flag == "--input") {
            options.input = value;
        } else if (flag == "--expected") {
            options.expected.push_back(value);
        } else if (flag == "--kernels") {
            options.kernels = value;
        } else if (flag == "--tolerance") {
            options.tolerance = std::stod(value);
        } else if (flag == "--threads") {
            options.threads.clear();
            size_t start = 0;
            while (start <= value.size()) {
                const size_t end = std::min(value.find(',', start), value.size());
                options.threads.push_back(std::stoi(value.substr(start, end - start)));
                start = end + 1;
            }
        } else {
            Usage(("unknown option " + flag).c_str());
        }
    }
    if (options.config.empty() || options.weights.empty() || options.input.empty() || options.expected.empty()) {
        Usage("--config, --weights, --input and --expected are required");
    }
    return options;
}

fasternet_kernel_set KernelSetByName(const std::string& name) {
    for (fasternet_kernel_set set : {FASTERNET_KERNELS_AUTO, FASTERNET_KERNELS_REFERENCE, FASTERNET_KERNELS_AVX2,
                                     FASTERNET_KERNELS_AVX512, FASTERNET_KERNELS_NEON}) {
        if (name == fasternet_kernel_set_name(set)) return set;
    }
    Usage(("unknown kernel set " + name).c_str());
}

// The official constructor arguments (tests/fixtures/*/config.json) as the C ABI's config.
fasternet_model_config ConfigFromJson(const JsonValue& json) {
    fasternet_model_config config{};
    config.in_channels = static_cast<int32_t>(json.At("in_chans").Integer());
    config.num_classes = static_cast<int32_t>(json.At("num_classes").Integer());
    config.embed_dim = static_cast<int32_t>(json.At("embed_dim").Integer());
    const auto& depths = json.At("depths").Array();
    if (depths.empty() || depths.size() > FASTERNET_MAX_STAGES) throw std::runtime_error("config: bad depths");
    config.num_stages = static_cast<int32_t>(depths.size());
    for (size_t i = 0; i < depths.size(); ++i) config.depths[i] = static_cast<int32_t>(depths[i].Integer());
    config.n_div = static_cast<int32_t>(json.At("n_div").Integer());
    config.mlp_ratio = static_cast<float>(json.At("mlp_ratio").Number());
    config.patch_size = static_cast<int32_t>(json.At("patch_size").Integer());
    config.patch_stride = static_cast<int32_t>(json.At("patch_stride").Integer());
    config.patch_size2 = static_cast<int32_t>(json.At("patch_size2").Integer());
    config.patch_stride2 = static_cast<int32_t>(json.At("patch_stride2").Integer());
    config.feature_dim = static_cast<int32_t>(json.At("feature_dim").Integer());
    const std::string& act = json.At("act").String();
    if (act == "gelu" || act == "GELU") {
        config.activation = FASTERNET_ACTIVATION_GELU;
    } else if (act == "relu" || act == "ReLU") {
        config.activation = FASTERNET_ACTIVATION_RELU;
    } else {
        throw std::runtime_error("config: unknown act \"" + act + "\"");
    }
    const JsonValue* fork_feat = json.Find("fork_feat");
    config.backbone = fork_feat && fork_feat->Bool() ? 1 : 0;
    return config;
}

void Check(fasternet_status status, const char* what) {
    if (status != FASTERNET_OK) {
        throw std::runtime_error(std::string(what) + " failed (status " + std::to_string(status) +
                                 "): " + fasternet_last_error());
    }
}

struct Comparison {
    double max_diff = 0.0;
    double max_expected = 0.0;
    double Relative() const { return max_expected > 0.0 ? max_diff / max_expected : max_diff; }
};

// NaN anywhere counts as an infinite difference.
Comparison Compare(const std::vector<float>& actual, const std::vector<float>& expected) {
    Comparison result;
    for (size_t i = 0; i < expected.size(); ++i) {
        const double diff = std::fabs(static_cast<double>(actual[i]) - expected[i]);
        result.max_diff = std::isnan(diff) ? INFINITY : std::max(result.max_diff, diff);
        result.max_expected = std::max(result.max_expected, std::fabs(static_cast<double>(expected[i])));
    }
    return result;
}

int Run(const Options& options) {
    const fasternet_kernel_set requested = KernelSetByName(options.kernels);
    const fasternet_model_config config = ConfigFromJson(ParseJson(ReadFile(options.config)));
    const std::vector<Tensor> tensors = ReadSafetensors(options.weights);
    const Tensor input = ReadNpy(options.input);
    std::vector<Tensor> expected;
    for (const std::string& path : options.expected) expected.push_back(ReadNpy(path));
    if (input.shape.size() != 4) throw std::runtime_error(options.input + ": expected an NCHW input");
    const int batch = static_cast<int>(input.shape[0]);
    const int height = static_cast<int>(input.shape[2]);
    const int width = static_cast<int>(input.shape[3]);

    std::vector<fasternet_tensor> state_dict;
    for (const Tensor& t : tensors) {
        fasternet_tensor entry{};
        entry.name = t.name.c_str();
        entry.data = t.data.data();
        if (t.shape.size() > FASTERNET_MAX_DIMS) throw std::runtime_error(t.name + ": too many dimensions");
        entry.ndim = static_cast<int32_t>(t.shape.size());
        std::copy(t.shape.begin(), t.shape.end(), entry.shape);
        state_dict.push_back(entry);
    }
    std::printf("fasternet %s; cpu features 0x%x; kernel set requested: %s (process default %s)\n",
                fasternet_version(), fasternet_cpu_features(), fasternet_kernel_set_name(requested),
                fasternet_kernel_set_name(fasternet_active_kernel_set()));
    std::printf("config %s; weights %s (%zu tensors); input %s %s\n", options.config.c_str(),
                options.weights.c_str(), tensors.size(), options.input.c_str(), ShapeText(input.shape).c_str());

    bool all_passed = true;
    for (int threads : options.threads) {
        const fasternet_model_options model_options{threads, requested, FASTERNET_PRECISION_FLOAT32};
        fasternet_model* model = nullptr;
        Check(fasternet_model_create(&config, state_dict.data(), static_cast<int32_t>(state_dict.size()),
                                     &model_options, &model),
              "fasternet_model_create");
        try {
            const fasternet_kernel_set used = fasternet_model_kernel_set(model);
            if (requested != FASTERNET_KERNELS_AUTO && used != requested) {
                throw std::runtime_error(std::string("model runs kernel set ") + fasternet_kernel_set_name(used) +
                                         ", not the requested " + fasternet_kernel_set_name(requested));
            }
            const int output_count = fasternet_model_output_count(model);
            if (output_count != static_cast<int>(expected.size())) {
                throw std::runtime_error("the model has " + std::to_string(output_count) + " outputs but " +
                                         std::to_string(expected.size()) + " --expected files were given");
            }
            std::vector<std::vector<float>> outputs(output_count);
            std::vector<float*> pointers;
            std::vector<int64_t> sizes;
            for (int i = 0; i < output_count; ++i) {
                int64_t shape[4];
                Check(fasternet_model_output_shape(model, batch, height, width, i, shape),
                      "fasternet_model_output_shape");
                const int64_t count = shape[0] * shape[1] * shape[2] * shape[3];
                if (count != static_cast<int64_t>(expected[i].data.size())) {
                    throw std::runtime_error("output " + std::to_string(i) + " has " + std::to_string(count) +
                                             " elements, " + options.expected[i] + " has " +
                                             std::to_string(expected[i].data.size()));
                }
                outputs[i].assign(static_cast<size_t>(count), NAN);
                pointers.push_back(outputs[i].data());
                sizes.push_back(count);
            }
            Check(fasternet_model_run(model, input.data.data(), static_cast<int64_t>(input.data.size()), batch, height,
                                      width, output_count, pointers.data(), sizes.data()),
                  "fasternet_model_run");
            for (int i = 0; i < output_count; ++i) {
                const Comparison c = Compare(outputs[i], expected[i].data);
                const bool passed = c.Relative() < options.tolerance;
                all_passed = all_passed && passed;
                std::printf("  %s, %d thread%s, output %d %s: max |diff| %.3g, max |expected| %.3g, ratio %.3g %s\n",
                            fasternet_kernel_set_name(used), fasternet_model_num_threads(model),
                            fasternet_model_num_threads(model) == 1 ? "" : "s", i,
                            ShapeText(expected[i].shape).c_str(), c.max_diff, c.max_expected, c.Relative(),
                            passed ? "ok" : "FAILED");
            }
        } catch (...) {
            fasternet_model_destroy(model);
            throw;
        }
        fasternet_model_destroy(model);
    }
    std::printf("%s (tolerance %.1e of the largest |expected|)\n", all_passed ? "PASS" : "FAIL", options.tolerance);
    return all_passed ? 0 : 1;
}

}  // namespace
}  // namespace fasternet::e2e

int main(int argc, char** argv) {
    try {
        return fasternet::e2e::Run(fasternet::e2e::ParseOptions(argc, argv));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\nFAIL\n", e.what());
        return 1;
    }
}
