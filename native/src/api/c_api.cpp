// The exported C ABI: argument checks, exception-to-status translation and
// the thread-local last-error message. Nothing C++ crosses this boundary.
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "analysis/analysis.h"
#include "common/error.h"
#include "fasternet.h"
#include "kernels/dispatch.h"
#include "kernels/tuning.h"
#include "model/model.h"

using fasternet::Error;
using fasternet::Fail;

struct fasternet_model {
    std::unique_ptr<fasternet::Model> model;
};

namespace {

thread_local std::string last_error;

template <typename Fn>
fasternet_status Guard(Fn&& fn) {
    try {
        fn();
        return FASTERNET_OK;
    } catch (const Error& e) {
        last_error = e.what();
        return e.status();
    } catch (const std::bad_alloc&) {
        last_error = "out of memory";
        return FASTERNET_OUT_OF_MEMORY;
    } catch (const std::exception& e) {
        last_error = std::string("internal error: ") + e.what();
        return FASTERNET_INTERNAL_ERROR;
    } catch (...) {
        last_error = "internal error";
        return FASTERNET_INTERNAL_ERROR;
    }
}

void RequireNotNull(const void* pointer, const char* name) {
    if (!pointer) Fail(FASTERNET_INVALID_ARGUMENT, name, " is null");
}

fasternet_precision CheckedPrecision(int32_t raw_precision) {
    if (raw_precision != FASTERNET_PRECISION_FLOAT32 && raw_precision != FASTERNET_PRECISION_BFLOAT16) {
        Fail(FASTERNET_INVALID_ARGUMENT, "unknown precision ", raw_precision, " (0 = float32, 1 = bfloat16)");
    }
    return static_cast<fasternet_precision>(raw_precision);
}

// A precision enum field from a caller, read as an integer: loading an out-of-range enum is undefined behaviour.
fasternet_precision CheckedPrecision(const fasternet_precision* field) {
    int32_t raw_precision = FASTERNET_PRECISION_FLOAT32;
    if (field) std::memcpy(&raw_precision, field, sizeof raw_precision);
    return CheckedPrecision(raw_precision);
}

void ResolveOptions(const fasternet_model_options* options, fasternet_kernel_set& set, int& threads,
                    fasternet_precision& precision) {
    precision = CheckedPrecision(options ? &options->precision : nullptr);
    // Read the enum field as an integer: a caller may pass any value, and loading an
    // out-of-range enum is undefined behaviour.
    int32_t raw_set = FASTERNET_KERNELS_AUTO;
    if (options) std::memcpy(&raw_set, &options->kernel_set, sizeof raw_set);
    threads = options ? options->num_threads : 0;
    if (raw_set < FASTERNET_KERNELS_AUTO || raw_set > FASTERNET_KERNELS_NEON) {
        Fail(FASTERNET_INVALID_ARGUMENT, "unknown kernel set ", raw_set);
    }
    set = static_cast<fasternet_kernel_set>(raw_set);
    if (set == FASTERNET_KERNELS_AUTO) set = fasternet::ActiveKernelSet();
    if (!fasternet::KernelsFor(set)) {
        Fail(FASTERNET_UNSUPPORTED, "kernel set '", fasternet::KernelSetName(set),
             "' is not supported by this CPU or build");
    }
    if (threads < 0 || threads > 1024) Fail(FASTERNET_INVALID_ARGUMENT, "num_threads must be 0..1024, got ", threads);
    if (threads == 0) threads = omp_get_num_procs();
}

int ThreadsOrAll(int32_t threads) {
    if (threads < 0 || threads > 1024) Fail(FASTERNET_INVALID_ARGUMENT, "threads must be 0..1024, got ", threads);
    return threads == 0 ? omp_get_num_procs() : threads;
}

void CheckGeometry(int32_t batch, int32_t height, int32_t width) {
    if (batch < 1) Fail(FASTERNET_INVALID_ARGUMENT, "batch must be at least 1, got ", batch);
    if (height < 1 || width < 1) {
        Fail(FASTERNET_INVALID_ARGUMENT, "input height and width must be positive, got ", height, "x", width);
    }
}

void CheckInputSize(const fasternet::Model& m, int64_t input_size, int32_t batch, int32_t height, int32_t width) {
    CheckGeometry(batch, height, width);
    const int64_t channels = m.architecture().config().in_channels;
    const double expected = double(batch) * channels * height * width;
    if (double(input_size) != expected) {
        Fail(FASTERNET_SHAPE_MISMATCH, "input has ", input_size, " floats, expected ", batch, " x ", channels, " x ",
             height, " x ", width, " = ", static_cast<int64_t>(expected));
    }
}

void CheckOutputs(const fasternet::Model& m, int32_t batch, int32_t height, int32_t width, int32_t output_count,
                  float* const* outputs, const int64_t* output_sizes) {
    RequireNotNull(outputs, "outputs");
    RequireNotNull(output_sizes, "output_sizes");
    if (output_count != m.output_count()) {
        Fail(FASTERNET_INVALID_ARGUMENT, "the model has ", m.output_count(), " output(s), ", output_count,
             " were given");
    }
    for (int i = 0; i < output_count; ++i) {
        const std::vector<int64_t> s = m.OutputShape(batch, height, width, i);
        const int64_t expected = s[0] * s[1] * s[2] * s[3];
        if (!outputs[i]) Fail(FASTERNET_INVALID_ARGUMENT, "output ", i, " is null");
        if (output_sizes[i] != expected) {
            Fail(FASTERNET_SHAPE_MISMATCH, "output ", i, " has room for ", output_sizes[i], " floats, expected ",
                 s[0], " x ", s[1], " x ", s[2], " x ", s[3], " = ", expected);
        }
    }
}

fasternet::Model* CreateModel(const fasternet_model_config* config, const fasternet_tensor* tensors,
                              int32_t count, const fasternet_model_options* options) {
    const fasternet::Architecture architecture(*config);
    const auto state_dict = fasternet::CheckStateDict(architecture, tensors, count);
    fasternet_kernel_set set;
    int threads;
    fasternet_precision precision;
    ResolveOptions(options, set, threads, precision);
    const int64_t max_idle_scratch = options ? options->max_idle_scratch_bytes : 0;
    if (max_idle_scratch < 0) {
        Fail(FASTERNET_INVALID_ARGUMENT, "max_idle_scratch_bytes must be 0 (no limit) or positive, got ",
             max_idle_scratch);
    }
    auto model = std::make_unique<fasternet::Model>(architecture, state_dict, set, threads, precision);
    model->scratch_pool().set_max_idle_bytes(static_cast<size_t>(max_idle_scratch));
    return model.release();
}

}  // namespace

extern "C" {

const char* fasternet_version(void) { return FASTERNET_VERSION; }

const char* fasternet_last_error(void) { return last_error.c_str(); }

uint32_t fasternet_cpu_features(void) { return fasternet::CpuFeatures(); }

const char* fasternet_cpu_report(void) {
    static const std::string report = fasternet::DescribeHostTuning();
    return report.c_str();
}

fasternet_kernel_set fasternet_active_kernel_set(void) { return fasternet::ActiveKernelSet(); }

const char* fasternet_kernel_set_name(fasternet_kernel_set kernel_set) {
    return fasternet::KernelSetName(kernel_set);
}

int32_t fasternet_kernel_set_supported(fasternet_kernel_set kernel_set) {
    return kernel_set == FASTERNET_KERNELS_AUTO || fasternet::KernelsFor(kernel_set) != nullptr;
}

fasternet_status fasternet_force_kernel_set(fasternet_kernel_set kernel_set) {
    return Guard([&] {
        if (!fasternet::ForceKernelSet(kernel_set)) {
            Fail(FASTERNET_UNSUPPORTED, "kernel set '", fasternet::KernelSetName(kernel_set),
                 "' is not supported by this CPU or build");
        }
    });
}

fasternet_status fasternet_config_cost(const fasternet_model_config* config, int32_t height, int32_t width,
                                       int64_t* macs, int64_t* parameters) {
    return Guard([&] {
        RequireNotNull(config, "config");
        const fasternet::Architecture architecture(*config);
        if (macs) *macs = architecture.Macs(height, width);
        if (parameters) *parameters = architecture.Parameters();
    });
}

fasternet_status fasternet_config_layers(const fasternet_model_config* config, int32_t height, int32_t width,
                                         fasternet_layer_info* layers, int32_t capacity, int32_t* layer_count) {
    return fasternet_config_layers_in_precision(config, FASTERNET_PRECISION_FLOAT32, height, width, layers, capacity,
                                                layer_count);
}

fasternet_status fasternet_config_layers_in_precision(const fasternet_model_config* config,
                                                      int32_t precision, int32_t height, int32_t width,
                                                      fasternet_layer_info* layers, int32_t capacity,
                                                      int32_t* layer_count) {
    return Guard([&] {
        RequireNotNull(config, "config");
        RequireNotNull(layer_count, "layer_count");
        *layer_count = 0;
        const fasternet_precision checked_precision = CheckedPrecision(precision);
        const fasternet::Architecture architecture(*config);
        const bool sized = height != 0 || width != 0;
        const std::vector<fasternet::Layer> table = sized ? architecture.Layers(height, width, checked_precision)
                                                          : architecture.LayersWithoutSizes(checked_precision);
        *layer_count = static_cast<int32_t>(table.size());
        if (!layers || capacity < static_cast<int32_t>(table.size())) {
            Fail(FASTERNET_INVALID_ARGUMENT, "layers has room for ", layers ? capacity : 0,
                 " entries, the network has ", table.size());
        }
        int32_t first_tensor = 0;
        for (size_t i = 0; i < table.size(); ++i) {
            const fasternet::Layer& l = table[i];
            fasternet_layer_info& out = layers[i];
            out = fasternet_layer_info{};
            std::snprintf(out.name, FASTERNET_LAYER_NAME_SIZE, "%s", l.name.c_str());
            out.kind = l.kind;
            out.stage = l.stage;
            out.kernel = l.kernel;
            out.stride = l.stride;
            out.in_channels = l.in_c;
            out.out_channels = l.out_c;
            if (sized) {
                out.in_height = l.in_h, out.in_width = l.in_w;
                out.out_height = l.out_h, out.out_width = l.out_w;
                out.macs = l.macs;
                out.activation_bytes = l.activation_bytes;
            }
            out.parameters = l.parameters;
            out.weight_bytes = l.weight_bytes;
            out.first_tensor = first_tensor;
            out.tensor_count = static_cast<int32_t>(l.tensors.size());
            first_tensor += out.tensor_count;
        }
    });
}

fasternet_status fasternet_config_tensors(const fasternet_model_config* config, fasternet_tensor_info* tensors,
                                          int32_t capacity, int32_t* tensor_count) {
    return Guard([&] {
        RequireNotNull(config, "config");
        RequireNotNull(tensor_count, "tensor_count");
        *tensor_count = 0;
        const std::vector<fasternet::Layer> table = fasternet::Architecture(*config).LayersWithoutSizes();
        int32_t count = 0;
        for (const fasternet::Layer& l : table) count += static_cast<int32_t>(l.tensors.size());
        *tensor_count = count;
        if (!tensors || capacity < count) {
            Fail(FASTERNET_INVALID_ARGUMENT, "tensors has room for ", tensors ? capacity : 0,
                 " entries, the network has ", count);
        }
        fasternet_tensor_info* out = tensors;
        for (size_t layer = 0; layer < table.size(); ++layer) {
            for (const fasternet::ExpectedTensor& t : table[layer].tensors) {
                *out = fasternet_tensor_info{};
                std::snprintf(out->name, FASTERNET_TENSOR_NAME_SIZE, "%s", t.name.c_str());
                out->layer = static_cast<int32_t>(layer);
                out->ndim = static_cast<int32_t>(t.shape.size());
                for (size_t d = 0; d < t.shape.size(); ++d) out->shape[d] = t.shape[d];
                ++out;
            }
        }
    });
}

fasternet_status fasternet_model_create(const fasternet_model_config* config, const fasternet_tensor* tensors,
                                        int32_t tensor_count, const fasternet_model_options* options,
                                        fasternet_model** model) {
    return Guard([&] {
        RequireNotNull(config, "config");
        RequireNotNull(model, "model");
        *model = nullptr;
        auto handle = std::make_unique<fasternet_model>();
        handle->model.reset(CreateModel(config, tensors, tensor_count, options));
        *model = handle.release();
    });
}

fasternet_status fasternet_model_create_random(const fasternet_model_config* config, uint64_t seed,
                                               const fasternet_model_options* options, fasternet_model** model) {
    return Guard([&] {
        RequireNotNull(config, "config");
        RequireNotNull(model, "model");
        *model = nullptr;
        const fasternet::Architecture architecture(*config);
        fasternet::RandomStateDict random;
        fasternet::MakeRandomStateDict(architecture, seed, random);
        auto handle = std::make_unique<fasternet_model>();
        handle->model.reset(
            CreateModel(config, random.tensors.data(), static_cast<int32_t>(random.tensors.size()), options));
        *model = handle.release();
    });
}

void fasternet_model_destroy(fasternet_model* model) { delete model; }

fasternet_status fasternet_model_trim_scratch(const fasternet_model* model, double idle_seconds,
                                              int64_t* freed_bytes) {
    return Guard([&] {
        RequireNotNull(model, "model");
        if (!(idle_seconds >= 0.0 && idle_seconds <= 1e9)) {
            Fail(FASTERNET_INVALID_ARGUMENT, "idle_seconds must be 0..1e9, got ", idle_seconds);
        }
        const auto idle = std::chrono::duration_cast<fasternet::ScratchPool::Clock::duration>(
            std::chrono::duration<double>(idle_seconds));
        const size_t freed = model->model->scratch_pool().Trim(idle);
        if (freed_bytes) *freed_bytes = static_cast<int64_t>(freed);
    });
}

fasternet_status fasternet_model_scratch_usage(const fasternet_model* model, int64_t* idle_bytes,
                                               int32_t* idle_buffers) {
    return Guard([&] {
        RequireNotNull(model, "model");
        const fasternet::ScratchPool& pool = model->model->scratch_pool();
        if (idle_bytes) *idle_bytes = static_cast<int64_t>(pool.idle_bytes());
        if (idle_buffers) *idle_buffers = static_cast<int32_t>(pool.idle_buffers());
    });
}

fasternet_kernel_set fasternet_model_kernel_set(const fasternet_model* model) {
    return model ? model->model->kernel_set() : FASTERNET_KERNELS_AUTO;
}

int32_t fasternet_model_num_threads(const fasternet_model* model) { return model ? model->model->num_threads() : 0; }

fasternet_precision fasternet_model_precision(const fasternet_model* model) {
    return model ? model->model->precision() : FASTERNET_PRECISION_FLOAT32;
}

const char* fasternet_model_precision_kernels(const fasternet_model* model) {
    return model ? model->model->precision_kernels_name() : "";
}

int32_t fasternet_model_output_count(const fasternet_model* model) {
    return model ? model->model->output_count() : 0;
}

fasternet_status fasternet_model_output_shape(const fasternet_model* model, int32_t batch, int32_t height,
                                              int32_t width, int32_t index, int64_t shape[4]) {
    return Guard([&] {
        RequireNotNull(model, "model");
        RequireNotNull(shape, "shape");
        const std::vector<int64_t> s = model->model->OutputShape(batch, height, width, index);
        for (int i = 0; i < 4; ++i) shape[i] = s[i];
    });
}

fasternet_status fasternet_model_run(const fasternet_model* model, const float* input, int64_t input_size,
                                     int32_t batch, int32_t height, int32_t width, int32_t output_count,
                                     float* const* outputs, const int64_t* output_sizes) {
    return fasternet_model_run_cancellable(model, input, input_size, batch, height, width, output_count, outputs,
                                           output_sizes, nullptr);
}

fasternet_status fasternet_model_run_cancellable(const fasternet_model* model, const float* input,
                                                 int64_t input_size, int32_t batch, int32_t height, int32_t width,
                                                 int32_t output_count, float* const* outputs,
                                                 const int64_t* output_sizes, const volatile int32_t* cancel_flag) {
    return Guard([&] {
        RequireNotNull(model, "model");
        RequireNotNull(input, "input");
        const fasternet::Model& m = *model->model;
        CheckInputSize(m, input_size, batch, height, width);
        CheckOutputs(m, batch, height, width, output_count, outputs, output_sizes);
        m.Run(input, batch, height, width, outputs, cancel_flag);
    });
}

fasternet_status fasternet_model_run_images(const fasternet_model* model, const float* const* images, int32_t batch,
                                            int32_t height, int32_t width, int32_t output_count, float* const* outputs,
                                            const int64_t* output_sizes, const volatile int32_t* cancel_flag) {
    return Guard([&] {
        RequireNotNull(model, "model");
        RequireNotNull(images, "images");
        const fasternet::Model& m = *model->model;
        CheckGeometry(batch, height, width);
        for (int n = 0; n < batch; ++n) {
            if (!images[n]) Fail(FASTERNET_INVALID_ARGUMENT, "image ", n, " is null");
        }
        CheckOutputs(m, batch, height, width, output_count, outputs, output_sizes);
        m.RunImages(images, batch, height, width, outputs, cancel_flag);
    });
}

fasternet_status fasternet_measure_peak(int32_t threads, double seconds, double* gflops) {
    return Guard([&] {
        RequireNotNull(gflops, "gflops");
        if (!(seconds > 0.0 && seconds <= 60.0)) Fail(FASTERNET_INVALID_ARGUMENT, "seconds must be in (0, 60], got ", seconds);
        *gflops = fasternet::MeasurePeakGflops(ThreadsOrAll(threads), seconds);
    });
}

fasternet_status fasternet_measure_bf16_peak(int32_t threads, double seconds, double* gflops) {
    return Guard([&] {
        RequireNotNull(gflops, "gflops");
        if (!(seconds > 0.0 && seconds <= 60.0)) Fail(FASTERNET_INVALID_ARGUMENT, "seconds must be in (0, 60], got ", seconds);
        *gflops = fasternet::MeasureBf16PeakGflops(ThreadsOrAll(threads), seconds);
    });
}

fasternet_status fasternet_measure_amx_bf16_peak(int32_t threads, double seconds, double* gflops) {
    return Guard([&] {
        RequireNotNull(gflops, "gflops");
        if (!(seconds > 0.0 && seconds <= 60.0)) Fail(FASTERNET_INVALID_ARGUMENT, "seconds must be in (0, 60], got ", seconds);
        *gflops = fasternet::MeasureAmxBf16PeakGflops(ThreadsOrAll(threads), seconds);
    });
}

fasternet_status fasternet_measure_bandwidth(int32_t threads, int64_t bytes, double* gigabytes_per_second) {
    return Guard([&] {
        RequireNotNull(gigabytes_per_second, "gigabytes_per_second");
        if (bytes < (int64_t{1} << 20) || bytes > (int64_t{16} << 30)) {
            Fail(FASTERNET_INVALID_ARGUMENT, "bytes must be between 1 MiB and 16 GiB, got ", bytes);
        }
        *gigabytes_per_second = fasternet::MeasureBandwidth(ThreadsOrAll(threads), bytes);
    });
}

fasternet_status fasternet_model_profile(const fasternet_model* model, const float* input, int64_t input_size,
                                         int32_t batch, int32_t height, int32_t width, fasternet_layer_time* layers,
                                         int32_t capacity, int32_t* layer_count) {
    return Guard([&] {
        RequireNotNull(model, "model");
        RequireNotNull(input, "input");
        RequireNotNull(layer_count, "layer_count");
        const fasternet::Model& m = *model->model;
        CheckInputSize(m, input_size, batch, height, width);
        std::vector<fasternet::LayerTime> times;
        m.Profile(input, batch, height, width, times);
        *layer_count = static_cast<int32_t>(times.size());
        if (capacity < static_cast<int32_t>(times.size()) || !layers) {
            Fail(FASTERNET_INVALID_ARGUMENT, "layers has room for ", capacity, " entries, the model has ", times.size());
        }
        for (size_t i = 0; i < times.size(); ++i) {
            std::snprintf(layers[i].name, FASTERNET_LAYER_NAME_SIZE, "%s", times[i].name.c_str());
            layers[i].seconds = times[i].seconds;
        }
    });
}

fasternet_status fasternet_benchmark_operator(const fasternet_operator_benchmark* benchmark, int32_t iterations,
                                              double* seconds) {
    return Guard([&] {
        RequireNotNull(benchmark, "benchmark");
        RequireNotNull(seconds, "seconds");
        if (iterations < 1 || iterations > 100000) {
            Fail(FASTERNET_INVALID_ARGUMENT, "iterations must be 1..100000, got ", iterations);
        }
        fasternet::BenchmarkOperator(*benchmark, iterations, seconds);
    });
}

}  // extern "C"
