// The exported C ABI: argument checks, exception-to-status translation and
// the thread-local last-error message. Nothing C++ crosses this boundary.
#include <omp.h>

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

void ResolveOptions(const fasternet_model_options* options, fasternet_kernel_set& set, int& threads,
                    fasternet_precision& precision) {
    int32_t raw_precision = FASTERNET_PRECISION_FLOAT32;
    if (options) std::memcpy(&raw_precision, &options->precision, sizeof raw_precision);
    if (raw_precision != FASTERNET_PRECISION_FLOAT32 && raw_precision != FASTERNET_PRECISION_BFLOAT16) {
        Fail(FASTERNET_INVALID_ARGUMENT, "unknown precision ", raw_precision, " (0 = float32, 1 = bfloat16)");
    }
    precision = static_cast<fasternet_precision>(raw_precision);
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

void CheckInputSize(const fasternet::Model& m, int64_t input_size, int32_t batch, int32_t height, int32_t width) {
    if (batch < 1) Fail(FASTERNET_INVALID_ARGUMENT, "batch must be at least 1, got ", batch);
    if (height < 1 || width < 1) {
        Fail(FASTERNET_INVALID_ARGUMENT, "input height and width must be positive, got ", height, "x", width);
    }
    const int64_t channels = m.architecture().config().in_channels;
    const double expected = double(batch) * channels * height * width;
    if (double(input_size) != expected) {
        Fail(FASTERNET_SHAPE_MISMATCH, "input has ", input_size, " floats, expected ", batch, " x ", channels, " x ",
             height, " x ", width, " = ", static_cast<int64_t>(expected));
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
    return new fasternet::Model(architecture, state_dict, set, threads, precision);
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
        RequireNotNull(outputs, "outputs");
        RequireNotNull(output_sizes, "output_sizes");
        const fasternet::Model& m = *model->model;
        CheckInputSize(m, input_size, batch, height, width);
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
        m.Run(input, batch, height, width, outputs, cancel_flag);
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
