// The operators of the paper's Table 1 (Conv, GConv, DWConv, PConv, PConv +
// PWConv), each a 3x3 stride-1 pad-1 layer stacked `layers` deep on NHWC
// activations with random data and weights, run by the kernel set's own
// kernels and timed run by run.
//
// Every operator goes through a vectorised kernel: Conv, GConv (one conv call
// per group on its channel slice) and PConv through `conv`, DWConv through
// `depthwise_conv`, the pointwise half of PConv + PWConv through `gemm`.
// PConv keeps its untouched channels where they are: the convolved cp
// channels ping-pong between two cp-wide buffers while the other channels
// stay in the input tensor, never copied, which is the paper's point. In
// PConv + PWConv the 1x1 conv reads the cp fresh channels and the untouched
// ones in place (GemmArgs' a / a2 split), as the FasterNet block does.
// Work is split over output rows (and GEMM rows) across one OpenMP team, with
// a barrier between layers; run i's wall time goes to seconds[i].
// The buffers and weights of the last request are kept (up to kMaxCachedBytes)
// and reused by the next identical one, so a caller that asks for one run at
// a time (BenchmarkDotNet) times the runs, not the setup.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "analysis/analysis.h"
#include "common/aligned_buffer.h"
#include "common/error.h"
#include "common/parallel.h"
#include "kernels/dispatch.h"
#include "kernels/kernels.h"

namespace fasternet {
namespace {

// Memory a benchmark may allocate (activations and every layer's weights).
constexpr double kMaxBenchmarkBytes = 8.0 * 1024 * 1024 * 1024;
constexpr int kMaxDimension = 1 << 16;
constexpr int kMaxLayers = 1000;
constexpr int kMaxWarmup = 100000;
constexpr int kMaxThreads = 1024;
constexpr double kMaxCachedBytes = 1.0 * 1024 * 1024 * 1024;

const char* OperatorName(fasternet_operator op) {
    switch (op) {
        case FASTERNET_OPERATOR_CONV: return "Conv";
        case FASTERNET_OPERATOR_GROUP_CONV: return "GConv";
        case FASTERNET_OPERATOR_DEPTHWISE_CONV: return "DWConv";
        case FASTERNET_OPERATOR_PARTIAL_CONV: return "PConv";
        case FASTERNET_OPERATOR_PARTIAL_CONV_POINTWISE: return "PConv+PWConv";
    }
    return "unknown";
}

// A checked benchmark request.
struct Problem {
    fasternet_operator op = FASTERNET_OPERATOR_CONV;
    int channels = 0, height = 0, width = 0, batch = 0, layers = 0;
    int groups = 1;          // GConv
    int partial = 0;         // PConv: channels / n_div
    int threads = 1;
    int warmup = 0;
    const KernelSet* kernels = nullptr;

    int64_t Pixels() const { return int64_t{height} * width; }

    // Same buffers and weights (threads and warm-up runs do not change them).
    bool SameData(const Problem& o) const {
        return op == o.op && channels == o.channels && height == o.height && width == o.width && batch == o.batch &&
               layers == o.layers && groups == o.groups && partial == o.partial && kernels == o.kernels;
    }
};

// An enum field as the caller wrote it: C callers may pass any int, and loading
// an out-of-range value as the C++ enum type would be undefined.
template <typename Enum>
int32_t RawValue(const Enum& field) {
    static_assert(sizeof(Enum) == sizeof(int32_t), "C ABI enums are 32-bit");
    int32_t value;
    std::memcpy(&value, &field, sizeof value);
    return value;
}

void RequireRange(const char* field, int value, int low, int high) {
    if (value < low || value > high) {
        Fail(FASTERNET_INVALID_ARGUMENT, "operator benchmark: ", field, " must be ", low, "..", high, ", got ", value);
    }
}

// Floats of activations and weights the benchmark allocates.
double FloatsNeeded(const Problem& p) {
    const double image = double(p.batch) * p.Pixels();
    const double c = p.channels, cp = p.partial;
    const double panels_c = double(PackedPanelsSize(1, p.channels));  // channels rounded up to panels
    switch (p.op) {
        case FASTERNET_OPERATOR_CONV:
            return 3 * image * c + p.layers * 9 * c * panels_c;
        case FASTERNET_OPERATOR_GROUP_CONV: {
            const int group_c = p.channels / p.groups;
            return 3 * image * c + p.layers * double(p.groups) * 9 * group_c * double(PackedPanelsSize(1, group_c));
        }
        case FASTERNET_OPERATOR_DEPTHWISE_CONV:
            return 3 * image * c + p.layers * 9 * c;
        case FASTERNET_OPERATOR_PARTIAL_CONV:
            return image * c + 2 * image * cp + p.layers * 9 * cp * double(PackedPanelsSize(1, p.partial));
        case FASTERNET_OPERATOR_PARTIAL_CONV_POINTWISE:
            return 3 * image * c + image * cp +
                   p.layers * (9 * cp * double(PackedPanelsSize(1, p.partial)) + c * panels_c);
    }
    return 0;
}

Problem Validate(const fasternet_operator_benchmark& b, int iterations) {
    Problem p;
    const int32_t op = RawValue(b.op);
    if (op < FASTERNET_OPERATOR_CONV || op > FASTERNET_OPERATOR_PARTIAL_CONV_POINTWISE) {
        Fail(FASTERNET_INVALID_ARGUMENT, "operator benchmark: unknown operator ", op,
             " (expected 0..4: conv, group conv, depthwise conv, partial conv, partial conv + pointwise)");
    }
    p.op = b.op;
    RequireRange("channels", b.channels, 1, kMaxDimension);
    RequireRange("height", b.height, 1, kMaxDimension);
    RequireRange("width", b.width, 1, kMaxDimension);
    RequireRange("batch", b.batch, 1, kMaxDimension);
    RequireRange("layers", b.layers, 1, kMaxLayers);
    RequireRange("warmup", b.warmup, 0, kMaxWarmup);
    RequireRange("threads", b.threads, 0, kMaxThreads);
    RequireRange("iterations", iterations, 1, 100000);
    p.channels = b.channels;
    p.height = b.height;
    p.width = b.width;
    p.batch = b.batch;
    p.layers = b.layers;
    p.warmup = b.warmup;
    p.threads = b.threads == 0 ? omp_get_num_procs() : b.threads;
    if (b.op == FASTERNET_OPERATOR_GROUP_CONV) {
        RequireRange("groups", b.groups, 1, b.channels);
        if (b.channels % b.groups != 0) {
            Fail(FASTERNET_INVALID_ARGUMENT, "operator benchmark: groups (", b.groups, ") must divide channels (",
                 b.channels, ")");
        }
        p.groups = b.groups;
    }
    if (b.op == FASTERNET_OPERATOR_PARTIAL_CONV || b.op == FASTERNET_OPERATOR_PARTIAL_CONV_POINTWISE) {
        RequireRange("n_div", b.n_div, 1, b.channels);
        p.partial = b.channels / b.n_div;
    }
    const int32_t kernel_set = RawValue(b.kernel_set);
    if (kernel_set < FASTERNET_KERNELS_AUTO || kernel_set > FASTERNET_KERNELS_NEON) {
        Fail(FASTERNET_INVALID_ARGUMENT, "operator benchmark: unknown kernel set ", kernel_set);
    }
    const fasternet_kernel_set set = b.kernel_set == FASTERNET_KERNELS_AUTO ? ActiveKernelSet() : b.kernel_set;
    p.kernels = KernelsFor(set);
    if (!p.kernels) {
        Fail(FASTERNET_UNSUPPORTED, "operator benchmark: kernel set '", KernelSetName(set),
             "' is not supported by this CPU or build");
    }
    if (p.op == FASTERNET_OPERATOR_DEPTHWISE_CONV && !p.kernels->depthwise_conv) {
        Fail(FASTERNET_UNSUPPORTED, "operator benchmark: kernel set '", KernelSetName(set),
             "' has no depthwise conv kernel");
    }
    const double bytes = FloatsNeeded(p) * sizeof(float);
    if (bytes > kMaxBenchmarkBytes) {
        Fail(FASTERNET_INVALID_ARGUMENT, "operator benchmark: ", OperatorName(p.op), " ", p.batch, "x", p.channels,
             "x", p.height, "x", p.width, " x ", p.layers, " layers needs ", bytes / (1024.0 * 1024 * 1024),
             " GiB, more than the ", kMaxBenchmarkBytes / (1024.0 * 1024 * 1024), " GiB limit");
    }
    return p;
}

// Seeded uniform floats in [-scale, scale) (splitmix64).
class Random {
public:
    explicit Random(uint64_t seed) : state_(seed) {}
    float Uniform(float scale) {
        state_ += 0x9e3779b97f4a7c15ull;
        uint64_t z = state_;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        const float unit = static_cast<float>(z >> 40) * (1.0f / 16777216.0f);  // [0, 1)
        return (2.0f * unit - 1.0f) * scale;
    }
    void Fill(float* data, size_t count, float scale) {
        for (size_t i = 0; i < count; ++i) data[i] = Uniform(scale);
    }

private:
    uint64_t state_;
};

// Uniform(-a, a) with a = sqrt(3 / fan_in) keeps the activations' variance
// through the stack, so values neither blow up nor turn subnormal.
float WeightScale(int fan_in) { return std::sqrt(3.0f / static_cast<float>(fan_in)); }

// A random out x k weight matrix packed into panels (K = k inputs, N = out); the
// unpacked matrix goes to `unpacked` when it is given (for OperatorBenchmarkOnce).
AlignedBuffer RandomPanels(int k, int out, Random& random, std::vector<std::vector<float>>* unpacked) {
    std::vector<float> weight(static_cast<size_t>(out) * k);
    random.Fill(weight.data(), weight.size(), WeightScale(k));
    AlignedBuffer packed(PackedPanelsSize(k, out));
    PackPanels(weight.data(), k, out, packed.data());
    if (unpacked) unpacked->push_back(std::move(weight));
    return packed;
}

// The stacked layers of one benchmark with their buffers and weights.
class OperatorStack {
public:
    // unpacked: when given, receives every weight matrix in creation order, as PackPanels reads it.
    explicit OperatorStack(const Problem& p, std::vector<std::vector<float>>* unpacked = nullptr)
        : p_(p), kernels_(*p.kernels) {
        Random random(0x5eed0000u + static_cast<uint64_t>(p.op) * 7919u + static_cast<uint64_t>(p.channels));
        const size_t full = static_cast<size_t>(p.batch) * p.Pixels() * p.channels;
        const size_t partial = static_cast<size_t>(p.batch) * p.Pixels() * p.partial;
        input_.Resize(full);
        random.Fill(input_.data(), full, 1.0f);
        const int c = p.channels, cp = p.partial;
        for (int l = 0; l < p.layers; ++l) {
            switch (p.op) {
                case FASTERNET_OPERATOR_CONV:
                    weights_.push_back(RandomPanels(9 * c, c, random, unpacked));
                    break;
                case FASTERNET_OPERATOR_GROUP_CONV:
                    for (int g = 0; g < p.groups; ++g) {
                        weights_.push_back(RandomPanels(9 * (c / p.groups), c / p.groups, random, unpacked));
                    }
                    break;
                case FASTERNET_OPERATOR_DEPTHWISE_CONV:
                    weights_.emplace_back(static_cast<size_t>(9) * c);
                    random.Fill(weights_.back().data(), weights_.back().size(), WeightScale(9));
                    if (unpacked) unpacked->emplace_back(weights_.back().data(), weights_.back().data() + 9 * c);
                    break;
                case FASTERNET_OPERATOR_PARTIAL_CONV:
                    weights_.push_back(RandomPanels(9 * cp, cp, random, unpacked));
                    break;
                case FASTERNET_OPERATOR_PARTIAL_CONV_POINTWISE:
                    weights_.push_back(RandomPanels(9 * cp, cp, random, unpacked));
                    weights_.push_back(RandomPanels(c, c, random, unpacked));
                    break;
            }
        }
        if (p.op == FASTERNET_OPERATOR_PARTIAL_CONV) {
            ping_pong_[0].Resize(partial);
            ping_pong_[1].Resize(partial);
        } else {
            ping_pong_[0].Resize(full);
            ping_pong_[1].Resize(full);
        }
        if (p.op == FASTERNET_OPERATOR_PARTIAL_CONV_POINTWISE) partial_out_.Resize(partial);
    }

    // Runs every layer; called by each thread of a team (or once, single-threaded).
    void Run(int thread, int threads) {
        for (int l = 0; l < p_.layers; ++l) {
            // Layer l reads the input tensor (l == 0) or layer l-1's output, never its own.
            const float* in = l == 0 ? input_.data() : ping_pong_[(l - 1) % 2].data();
            float* out = ping_pong_[l % 2].data();
            switch (p_.op) {
                case FASTERNET_OPERATOR_CONV:
                    DenseConv(in, out, weights_[l].data(), 0, p_.channels, thread, threads);
                    break;
                case FASTERNET_OPERATOR_GROUP_CONV:
                    GroupConv(in, out, l, thread, threads);
                    break;
                case FASTERNET_OPERATOR_DEPTHWISE_CONV:
                    DepthwiseConv(in, out, weights_[l].data(), thread, threads);
                    break;
                case FASTERNET_OPERATOR_PARTIAL_CONV:
                    // Layer 0 reads the first cp channels of the full input; later layers
                    // the previous cp-wide output. The other channels stay in input_.
                    PartialConv(in, l == 0 ? p_.channels : p_.partial, out, weights_[l].data(), thread, threads);
                    break;
                case FASTERNET_OPERATOR_PARTIAL_CONV_POINTWISE:
                    PartialConv(in, p_.channels, partial_out_.data(), weights_[2 * l].data(), thread, threads);
#pragma omp barrier
                    Pointwise(partial_out_.data(), in, out, weights_[2 * l + 1].data(), thread, threads);
                    break;
            }
#pragma omp barrier
        }
    }

private:
    ConvArgs Conv3x3(int in_c, int out_c) const {
        ConvArgs a;
        a.in_h = p_.height, a.in_w = p_.width, a.in_c = in_c;
        a.kernel = 3, a.stride = 1, a.pad = 1;
        a.out_h = p_.height, a.out_w = p_.width, a.out_c = out_c;
        return a;
    }

    // A dense 3x3 conv on the channel slice [first, first + width) of C-wide pixels.
    void DenseConv(const float* in, float* out, const float* weights, int first, int width, int thread,
                   int threads) const {
        const int64_t image = p_.Pixels() * p_.channels;
        ForEachRowRange(p_.batch, p_.height, thread, threads, [&](int n, int r0, int r1) {
            ConvArgs a = Conv3x3(width, width);
            a.input = in + n * image + first;
            a.in_pixel_stride = p_.channels;
            a.packed_weights = weights;
            a.output = out + n * image + first;
            a.out_pixel_stride = p_.channels;
            a.row_begin = r0, a.row_end = r1;
            kernels_.conv(a);
        });
    }

    // One conv call per group on its channel slice, groups inside each row range.
    void GroupConv(const float* in, float* out, int layer, int thread, int threads) const {
        const int group_c = p_.channels / p_.groups;
        const int64_t image = p_.Pixels() * p_.channels;
        ForEachRowRange(p_.batch, p_.height, thread, threads, [&](int n, int r0, int r1) {
            for (int g = 0; g < p_.groups; ++g) {
                ConvArgs a = Conv3x3(group_c, group_c);
                a.input = in + n * image + g * group_c;
                a.in_pixel_stride = p_.channels;
                a.packed_weights = weights_[static_cast<size_t>(layer) * p_.groups + g].data();
                a.output = out + n * image + g * group_c;
                a.out_pixel_stride = p_.channels;
                a.row_begin = r0, a.row_end = r1;
                kernels_.conv(a);
            }
        });
    }

    void DepthwiseConv(const float* in, float* out, const float* weights, int thread, int threads) const {
        const int64_t image = p_.Pixels() * p_.channels;
        ForEachRowRange(p_.batch, p_.height, thread, threads, [&](int n, int r0, int r1) {
            DepthwiseConvArgs a;
            a.input = in + n * image;
            a.h = p_.height, a.w = p_.width, a.channels = p_.channels;
            a.weights = weights;
            a.output = out + n * image;
            a.row_begin = r0, a.row_end = r1;
            kernels_.depthwise_conv(a);
        });
    }

    // 3x3 conv of the first cp channels of in (pixel stride in_stride) into a cp-wide out.
    void PartialConv(const float* in, int in_stride, float* out, const float* weights, int thread,
                     int threads) const {
        const int cp = p_.partial;
        ForEachRowRange(p_.batch, p_.height, thread, threads, [&](int n, int r0, int r1) {
            ConvArgs a = Conv3x3(cp, cp);
            a.input = in + n * p_.Pixels() * in_stride;
            a.in_pixel_stride = in_stride;
            a.packed_weights = weights;
            a.output = out + n * p_.Pixels() * cp;
            a.out_pixel_stride = cp;
            a.row_begin = r0, a.row_end = r1;
            kernels_.conv(a);
        });
    }

    // 1x1 conv C -> C over [PConv's cp channels | the untouched channels of in], split by pixel rows.
    void Pointwise(const float* partial, const float* in, float* out, const float* weights, int thread,
                   int threads) const {
        const int c = p_.channels, cp = p_.partial;
        int64_t begin, end;
        Share(p_.batch * p_.Pixels(), thread, threads, begin, end);
        if (begin == end) return;
        GemmArgs g;
        g.m = end - begin;
        g.k = c;
        g.n = c;
        g.a = partial + begin * cp;
        g.lda = cp;
        if (cp < c) {
            g.a2 = in + begin * c + cp;
            g.lda2 = c;
            g.k_split = cp;
        }
        g.packed_b = weights;
        g.c = out + begin * c;
        g.ldc = c;
        kernels_.gemm(g);
    }

public:
    const Problem& problem() const { return p_; }
    const AlignedBuffer& input() const { return input_; }

    // The last layer's output as the whole C-channel tensor (NHWC). PConv's last layer wrote
    // only the cp convolved channels; the other channels are the untouched input's.
    std::vector<float> Output() const {
        const AlignedBuffer& last = ping_pong_[(p_.layers - 1) % 2];
        if (p_.op != FASTERNET_OPERATOR_PARTIAL_CONV) return std::vector<float>(last.data(), last.data() + input_.size());
        std::vector<float> out(input_.data(), input_.data() + input_.size());
        const int64_t pixels = int64_t{p_.batch} * p_.Pixels();
        for (int64_t i = 0; i < pixels; ++i) {
            std::copy_n(last.data() + i * p_.partial, p_.partial, out.data() + i * p_.channels);
        }
        return out;
    }

private:
    const Problem p_;
    const KernelSet& kernels_;
    AlignedBuffer input_;
    AlignedBuffer ping_pong_[2];
    AlignedBuffer partial_out_;
    std::vector<AlignedBuffer> weights_;
};

// The last request's stack, free for the next identical request.
std::mutex cache_mutex;
std::unique_ptr<OperatorStack> cached_stack;

// The cached stack when it fits the problem, else a new one (the old one is freed first).
std::unique_ptr<OperatorStack> AcquireStack(const Problem& problem) {
    {
        std::lock_guard<std::mutex> lock(cache_mutex);
        if (cached_stack && cached_stack->problem().SameData(problem)) return std::move(cached_stack);
        cached_stack.reset();
    }
    return std::make_unique<OperatorStack>(problem);
}

void ReleaseStack(std::unique_ptr<OperatorStack> stack) {
    if (FloatsNeeded(stack->problem()) * sizeof(float) > kMaxCachedBytes) return;
    std::lock_guard<std::mutex> lock(cache_mutex);
    cached_stack = std::move(stack);
}

// One run of every layer with the problem's thread count.
void RunStack(OperatorStack& stack, int threads) {
    if (threads <= 1) {
        stack.Run(0, 1);
    } else {
#pragma omp parallel num_threads(threads)
        stack.Run(omp_get_thread_num(), omp_get_num_threads());
    }
}

}  // namespace

void BenchmarkOperator(const fasternet_operator_benchmark& benchmark, int iterations, double* seconds) {
    const Problem problem = Validate(benchmark, iterations);
    std::unique_ptr<OperatorStack> stack = AcquireStack(problem);
    for (int i = 0; i < problem.warmup; ++i) RunStack(*stack, problem.threads);
    using Clock = std::chrono::steady_clock;
    for (int i = 0; i < iterations; ++i) {
        const Clock::time_point start = Clock::now();
        RunStack(*stack, problem.threads);
        seconds[i] = std::chrono::duration<double>(Clock::now() - start).count();
    }
    ReleaseStack(std::move(stack));
}

OperatorBenchmarkRun OperatorBenchmarkOnce(const fasternet_operator_benchmark& benchmark) {
    const Problem problem = Validate(benchmark, 1);
    OperatorBenchmarkRun result;
    OperatorStack stack(problem, &result.weights);
    RunStack(stack, problem.threads);
    result.input.assign(stack.input().data(), stack.input().data() + stack.input().size());
    result.output = stack.Output();
    return result;
}

}  // namespace fasternet
