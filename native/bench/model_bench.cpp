// Whole-network latency of the paper's variants (random weights, 224x224), per
// kernel set, batch and thread count. GFLOP/s counts 2 flops per multiply-add.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "fasternet.h"

namespace {

struct Variant {
    const char* name;
    int embed_dim;
    int depths[4];
    fasternet_activation activation;
};

const Variant kVariants[] = {{"T0", 40, {1, 2, 8, 2}, FASTERNET_ACTIVATION_GELU},
                             {"T1", 64, {1, 2, 8, 2}, FASTERNET_ACTIVATION_GELU},
                             {"T2", 96, {1, 2, 8, 2}, FASTERNET_ACTIVATION_RELU},
                             {"S", 128, {1, 2, 13, 2}, FASTERNET_ACTIVATION_RELU},
                             {"M", 144, {3, 4, 18, 3}, FASTERNET_ACTIVATION_RELU},
                             {"L", 192, {3, 4, 18, 3}, FASTERNET_ACTIVATION_RELU}};

fasternet_model_config ConfigOf(const Variant& v) {
    fasternet_model_config c{};
    c.in_channels = 3;
    c.num_classes = 1000;
    c.embed_dim = v.embed_dim;
    c.num_stages = 4;
    for (int i = 0; i < 4; ++i) c.depths[i] = v.depths[i];
    c.n_div = 4;
    c.mlp_ratio = 2.0f;
    c.patch_size = c.patch_stride = 4;
    c.patch_size2 = c.patch_stride2 = 2;
    c.feature_dim = 1280;
    c.activation = v.activation;
    return c;
}

// Args: variant index, batch, threads.
void BM_Model(benchmark::State& state) {
    const Variant& v = kVariants[state.range(0)];
    const int batch = static_cast<int>(state.range(1));
    const fasternet_model_config config = ConfigOf(v);
    fasternet_model_options options{static_cast<int32_t>(state.range(2)), FASTERNET_KERNELS_AUTO, FASTERNET_PRECISION_FLOAT32};
    fasternet_model* model = nullptr;
    if (fasternet_model_create_random(&config, 1, &options, &model) != FASTERNET_OK) {
        state.SkipWithError(fasternet_last_error());
        return;
    }
    std::vector<float> input(static_cast<size_t>(batch) * 3 * 224 * 224);
    std::mt19937 generator(7);
    std::normal_distribution<float> normal;
    for (float& x : input) x = normal(generator);
    std::vector<float> logits(static_cast<size_t>(batch) * 1000);
    float* outputs[] = {logits.data()};
    const int64_t sizes[] = {static_cast<int64_t>(logits.size())};
    for (auto _ : state) {
        fasternet_model_run(model, input.data(), static_cast<int64_t>(input.size()), batch, 224, 224, 1, outputs,
                            sizes);
        benchmark::DoNotOptimize(logits.data());
    }
    int64_t macs = 0;
    fasternet_config_cost(&config, 224, 224, &macs, nullptr);
    state.counters["GFLOPS"] =
        benchmark::Counter(2.0 * macs * batch, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
    state.SetLabel(std::string(v.name) + " " + fasternet_kernel_set_name(fasternet_model_kernel_set(model)));
    fasternet_model_destroy(model);
}

BENCHMARK(BM_Model)
    ->ArgsProduct({{0, 1, 2, 3, 4, 5}, {1}, {1, 2}})
    ->Args({0, 16, 2})
    ->Args({2, 16, 2})
    ->Args({3, 16, 2})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(1.0)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
