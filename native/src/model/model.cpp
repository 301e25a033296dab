#include "model/model.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>

#include "common/error.h"
#include "common/parallel.h"
#include "kernels/dispatch.h"

namespace fasternet {

namespace {

// A fused block keeps its 2*dim intermediate for at most this many bytes of
// pixels in cache before PW2 consumes it: most of a core's L2 (1 MB here).
// Larger tiles stream each block's weights fewer times, which the late stages
// (megabytes of weights, few pixels) need more than a half-empty L2 (256 KB
// measured 3-6% slower on T2, S and L, the same on T0).
constexpr size_t kBlockTileBytes = 640 * 1024;

// With fewer output pixels than this per thread (the last stages at batch 1),
// threads split a layer's output channels instead of its pixels: each then
// streams its share of the weights once for all pixels, instead of all the
// weights for a handful of pixels.
constexpr int64_t kMinPixelsPerThread = 32;

// Row stride of a hidden tensor: hidden channels plus one cache line when rows
// 2 KB apart or a multiple of that would put the 14 rows of a GEMM tile into
// the same few L1 sets (S and T1 have power-of-two widths).
int HiddenStride(int hidden) { return hidden % 512 == 0 ? hidden + 16 : hidden; }

// Activations above this are refused before allocating (16 GiB of floats).
constexpr double kMaxScratchFloats = 4.0 * 1024 * 1024 * 1024;

// Copies a conv weight [out][in][kh][kw] into [out][(kh * k + kw) * in + ci],
// scaling each output channel (a folded batch norm), then packs it.
void PackConvWeights(const float* weight, int out_c, int in_c, int kernel, const std::vector<double>& scale,
                     AlignedBuffer& packed) {
    const int k_total = kernel * kernel * in_c;
    std::vector<float> reordered(static_cast<size_t>(out_c) * k_total);
    for (int co = 0; co < out_c; ++co) {
        for (int ci = 0; ci < in_c; ++ci) {
            for (int kh = 0; kh < kernel; ++kh) {
                for (int kw = 0; kw < kernel; ++kw) {
                    const double w = weight[((static_cast<size_t>(co) * in_c + ci) * kernel + kh) * kernel + kw];
                    reordered[static_cast<size_t>(co) * k_total + (kh * kernel + kw) * in_c + ci] =
                        static_cast<float>(w * scale[co]);
                }
            }
        }
    }
    packed.Resize(PackedPanelsSize(k_total, out_c));
    PackPanels(reordered.data(), k_total, out_c, packed.data());
}

// Batch norm at inference: y = x * scale + shift.
void BatchNormScaleShift(const std::map<std::string, TensorView>& sd, const std::string& prefix, int channels,
                         std::vector<double>& scale, std::vector<double>& shift) {
    const float* gamma = sd.at(prefix + "weight").data;
    const float* beta = sd.at(prefix + "bias").data;
    const float* mean = sd.at(prefix + "running_mean").data;
    const float* var = sd.at(prefix + "running_var").data;
    scale.resize(channels);
    shift.resize(channels);
    for (int c = 0; c < channels; ++c) {
        scale[c] = gamma[c] / std::sqrt(static_cast<double>(var[c]) + kBatchNormEpsilon);
        shift[c] = beta[c] - mean[c] * scale[c];
    }
}

void CopyToBuffer(const std::vector<double>& values, AlignedBuffer& buffer) {
    buffer.Resize(values.size());
    for (size_t i = 0; i < values.size(); ++i) buffer.data()[i] = static_cast<float>(values[i]);
}

// conv + BN folded: weights scaled per output channel, BN shift becomes the bias.
PackedConv FoldConvBatchNorm(const std::map<std::string, TensorView>& sd, const std::string& weight_name,
                             const std::string& norm_prefix, int in_c, int out_c, int kernel, int stride) {
    PackedConv conv;
    conv.kernel = kernel;
    conv.stride = stride;
    conv.in_c = in_c;
    conv.out_c = out_c;
    std::vector<double> scale, shift;
    BatchNormScaleShift(sd, norm_prefix, out_c, scale, shift);
    PackConvWeights(sd.at(weight_name).data, out_c, in_c, kernel, scale, conv.weights);
    CopyToBuffer(shift, conv.bias);
    return conv;
}

PackedLinear PackLinear(const float* weight, int k, int n, const std::vector<double>* scale) {
    PackedLinear linear;
    linear.k = k;
    linear.n = n;
    std::vector<float> scaled(static_cast<size_t>(n) * k);
    for (int j = 0; j < n; ++j) {
        const double s = scale ? (*scale)[j] : 1.0;
        for (int i = 0; i < k; ++i) {
            scaled[static_cast<size_t>(j) * k + i] = static_cast<float>(weight[static_cast<size_t>(j) * k + i] * s);
        }
    }
    linear.weights.Resize(PackedPanelsSize(k, n));
    PackPanels(scaled.data(), k, n, linear.weights.data());
    return linear;
}

// Multiplies sizes in double so that absurd inputs cannot overflow before they are refused.
double Product(std::initializer_list<double> factors) {
    double p = 1.0;
    for (double f : factors) p *= f;
    return p;
}

// This thread's share [first, first + count) of n output channels, in whole 16-column panels.
void ColumnShare(int n, int thread, int threads, int& first, int& count) {
    int64_t begin, end;
    Share((n + kPanelWidth - 1) / kPanelWidth, thread, threads, begin, end);
    first = static_cast<int>(begin * kPanelWidth);
    count = std::min<int>(n, static_cast<int>(end * kPanelWidth)) - first;
}

// Runs this thread's share of a GEMM's output columns (all rows).
void RunGemmColumnShare(const KernelSet& kernels, const GemmArgs& args, int thread, int threads) {
    int first, count;
    ColumnShare(args.n, thread, threads, first, count);
    if (count <= 0) return;
    GemmArgs part = args;
    part.n = count;
    part.packed_b += static_cast<size_t>(first) * args.k;
    if (part.bias) part.bias += first;
    if (part.residual) part.residual += first;
    part.c += first;
    kernels.gemm(part);
}

// Runs this thread's share of a conv's output channels (the args' rows).
void RunConvColumnShare(const KernelSet& kernels, const ConvArgs& args, int thread, int threads) {
    int first, count;
    ColumnShare(args.out_c, thread, threads, first, count);
    if (count <= 0) return;
    ConvArgs part = args;
    part.out_c = count;
    part.packed_weights += static_cast<size_t>(first) * args.kernel * args.kernel * args.in_c;
    if (part.bias) part.bias += first;
    part.output += first;
    kernels.conv(part);
}

// Splits one GEMM over threads: by rows when there are enough, else by 16-column panels.
void RunGemmShare(const KernelSet& kernels, const GemmArgs& args, int thread, int threads) {
    if (args.m < 8 * threads && args.n > kPanelWidth) return RunGemmColumnShare(kernels, args, thread, threads);
    int64_t begin, end;
    Share(args.m, thread, threads, begin, end);
    if (begin == end) return;
    GemmArgs part = args;
    part.m = end - begin;
    part.a += begin * args.lda;
    if (part.a2) part.a2 += begin * args.lda2;
    if (part.residual) part.residual += begin * args.ldr;
    part.c += begin * args.ldc;
    kernels.gemm(part);
}

std::string WithoutTrailingDot(const std::string& prefix) { return prefix.substr(0, prefix.size() - 1); }

const float* OrNull(const AlignedBuffer& buffer) { return buffer.size() ? buffer.data() : nullptr; }

// The three layers of a FasterNet block over pixels [first, first + m) of one h x w NHWC
// image (or of a batch, which is contiguous). Both the fused tile loop and the
// channel-split path build them here.

// PConv 3x3 on the first cp channels of `image`, output rows [row_begin, row_end) into
// `rows_out`, a cp-wide buffer holding row_begin's first pixel at its start.
ConvArgs PartialConvArgs(const PackedBlock& block, const StageShape& shape, const float* image, int h, int w,
                         float* rows_out, int row_begin, int row_end) {
    ConvArgs a;
    a.input = image;
    a.in_pixel_stride = shape.dim;
    a.in_h = h, a.in_w = w, a.in_c = shape.partial_dim;
    a.kernel = 3, a.stride = 1, a.pad = 1;
    a.packed_weights = block.partial_conv.weights.data();
    a.output = rows_out - int64_t{row_begin} * w * shape.partial_dim;  // the kernel indexes by absolute row
    a.out_pixel_stride = shape.partial_dim;
    a.out_h = h, a.out_w = w, a.out_c = shape.partial_dim;
    a.row_begin = row_begin, a.row_end = row_end;
    return a;
}

// PW1 + BN + act: reads PConv's output (cp wide) and the untouched channels of `x` in place.
GemmArgs ExpandArgs(const PackedBlock& block, const StageShape& shape, Activation activation, int64_t m,
                    const float* partial, const float* x, float* hidden) {
    GemmArgs a;
    a.m = m;
    a.k = shape.dim;
    a.n = shape.hidden_dim;
    a.a = partial;
    a.lda = shape.partial_dim;
    if (shape.partial_dim < shape.dim) {
        a.a2 = x + shape.partial_dim;
        a.lda2 = shape.dim;
        a.k_split = shape.partial_dim;
    }
    a.packed_b = block.expand.weights.data();
    a.bias = OrNull(block.expand.bias);
    a.activation = activation;
    a.c = hidden;
    a.ldc = HiddenStride(shape.hidden_dim);
    return a;
}

// PW2 + residual: y = hidden x W2 + x.
GemmArgs ProjectArgs(const PackedBlock& block, const StageShape& shape, int64_t m, const float* hidden,
                     const float* x, float* y) {
    GemmArgs a;
    a.m = m;
    a.k = shape.hidden_dim;
    a.n = shape.dim;
    a.a = hidden;
    a.lda = HiddenStride(shape.hidden_dim);
    a.packed_b = block.project.weights.data();
    a.residual = x;
    a.ldr = shape.dim;
    a.c = y;
    a.ldc = shape.dim;
    return a;
}

}  // namespace

struct Scratch {
    AlignedBuffer buffer;
};

// Layer times of one profiled run, taken by thread 0 right after each barrier,
// so a layer's time is the wall time until its slowest thread finished.
class Profiler {
public:
    using Clock = std::chrono::steady_clock;

    Profiler() : last_(Clock::now()) {}

    void Mark(const std::string& name) {
        const Clock::time_point now = Clock::now();
        layers.push_back({name, std::chrono::duration<double>(now - last_).count()});
        last_ = now;
    }

    // A fused block: its wall time split in proportion to what thread 0 spent in each part.
    void MarkBlock(const std::string& prefix) {
        const Clock::time_point now = Clock::now();
        const double total = std::chrono::duration<double>(now - last_).count();
        const double measured = part_seconds_[0] + part_seconds_[1] + part_seconds_[2];
        static const char* const kParts[] = {".pconv", ".pw1", ".pw2"};
        for (int i = 0; i < 3; ++i) {
            const double share = measured > 0.0 ? part_seconds_[i] / measured : 1.0 / 3.0;
            layers.push_back({prefix + kParts[i], total * share});
            part_seconds_[i] = 0.0;
        }
        last_ = now;
    }

    // Runs fn, timed as part `part` of a fused block when there is a profiler (thread 0).
    template <typename Fn>
    static void Run(Profiler* profiler, int part, Fn&& fn) {
        if (profiler) {
            profiler->TimePart(part, fn);
        } else {
            fn();
        }
    }

    // Times one part of a fused block on thread 0.
    template <typename Fn>
    void TimePart(int part, Fn&& fn) {
        const Clock::time_point start = Clock::now();
        fn();
        part_seconds_[part] += std::chrono::duration<double>(Clock::now() - start).count();
    }

    std::vector<LayerTime> layers;

private:
    Clock::time_point last_;
    double part_seconds_[3] = {0.0, 0.0, 0.0};
};

// Where each activation lives in the scratch buffer for one input geometry.
struct Model::Plan {
    int batch = 0, height = 0, width = 0;
    MapSizes sizes;
    std::vector<int> tile_rows;  // per stage: one fused-block tile holds at most tile_rows * width pixels
    std::vector<bool> split_channels;  // per stage: threads split channels, layer by layer (kMinPixelsPerThread)
    size_t shared_partial = 0, shared_hidden = 0;  // PConv output and hidden tensor of a channel-split stage
    std::vector<bool> merge_as_gemm;  // per stage: its merging conv runs as one GEMM over gathered windows
    size_t patches = 0;               // those windows
    size_t input = 0;            // NHWC copy of the input
    size_t activations[2] = {0, 0};
    size_t thread_tiles = 0;  // per thread: PConv tile, hidden tile, one output row
    size_t thread_tile_size = 0;
    size_t partial_tile_size = 0;
    size_t pooled = 0, features = 0;
    size_t total = 0;
};

Model::Model(const Architecture& architecture, const std::map<std::string, TensorView>& sd,
             fasternet_kernel_set kernel_set, int num_threads)
    : architecture_(architecture), kernel_set_(kernel_set), kernels_(KernelsFor(kernel_set)),
      num_threads_(num_threads) {
    if (!kernels_) {
        Fail(FASTERNET_UNSUPPORTED, "kernel set '", KernelSetName(kernel_set), "' is not available on this CPU/build");
    }
    const fasternet_model_config& config = architecture.config();
    embed_ = FoldConvBatchNorm(sd, "patch_embed.proj.weight", "patch_embed.norm.", config.in_channels,
                               config.embed_dim, config.patch_size, config.patch_stride);
    const std::vector<StageShape>& shapes = architecture.stages();
    for (size_t s = 0; s < shapes.size(); ++s) {
        PackedStage stage;
        stage.shape = shapes[s];
        const int dim = shapes[s].dim, cp = shapes[s].partial_dim, hidden = shapes[s].hidden_dim;
        if (s > 0) {
            stage.merge = FoldConvBatchNorm(sd, MergePrefix(s) + "reduction.weight", MergePrefix(s) + "norm.",
                                            dim / 2, dim, config.patch_size2, config.patch_stride2);
        }
        for (int b = 0; b < shapes[s].depth; ++b) {
            const std::string p = BlockPrefix(static_cast<int>(s), b);
            PackedBlock block;
            block.partial_conv.kernel = 3;
            block.partial_conv.pad = 1;
            block.partial_conv.in_c = cp;
            block.partial_conv.out_c = cp;
            PackConvWeights(sd.at(p + "spatial_mixing.partial_conv3.weight").data, cp, cp, 3,
                            std::vector<double>(cp, 1.0), block.partial_conv.weights);
            std::vector<double> scale, shift;
            BatchNormScaleShift(sd, p + "mlp.1.", hidden, scale, shift);
            block.expand = PackLinear(sd.at(p + "mlp.0.weight").data, dim, hidden, &scale);
            CopyToBuffer(shift, block.expand.bias);
            block.project = PackLinear(sd.at(p + "mlp.3.weight").data, hidden, dim, nullptr);
            stage.blocks.push_back(std::move(block));
        }
        if (architecture.backbone()) {
            std::vector<double> scale, shift;
            BatchNormScaleShift(sd, BackboneNormPrefix(static_cast<int>(s)), dim, scale, shift);
            CopyToBuffer(scale, stage.norm_scale);
            CopyToBuffer(shift, stage.norm_shift);
        }
        stages_.push_back(std::move(stage));
    }
    if (!architecture.backbone()) {
        pre_head_ = PackLinear(sd.at("avgpool_pre_head.1.weight").data, architecture.last_dim(), config.feature_dim,
                               nullptr);
        head_ = PackLinear(sd.at("head.weight").data, config.feature_dim, config.num_classes, nullptr);
        const float* bias = sd.at("head.bias").data;
        head_.bias.Resize(config.num_classes);
        std::memcpy(head_.bias.data(), bias, sizeof(float) * config.num_classes);
    }
}

Model::~Model() = default;

std::vector<int64_t> Model::OutputShape(int batch, int height, int width, int index) const {
    if (batch < 1) Fail(FASTERNET_INVALID_ARGUMENT, "batch must be at least 1, got ", batch);
    if (index < 0 || index >= output_count()) {
        Fail(FASTERNET_INVALID_ARGUMENT, "output index ", index, " is out of range: the model has ", output_count(),
             " output(s)");
    }
    const MapSizes sizes = architecture_.MapSizesFor(height, width);
    if (!architecture_.backbone()) return {batch, architecture_.config().num_classes, 1, 1};
    return {batch, stages_[index].shape.dim, sizes.stage_h[index], sizes.stage_w[index]};
}

Model::Plan Model::MakePlan(int batch, int height, int width) const {
    Plan plan;
    plan.batch = batch;
    plan.height = height;
    plan.width = width;
    plan.sizes = architecture_.MapSizesFor(height, width);
    const fasternet_model_config& config = architecture_.config();

    double largest_map = Product({double(batch), double(plan.sizes.embed_h), double(plan.sizes.embed_w),
                                  double(config.embed_dim)});
    double tile_floats = 0, partial_floats = 0, shared_partial = 0, shared_hidden = 0, patch_floats = 0;
    for (size_t s = 0; s < stages_.size(); ++s) {
        const StageShape& st = stages_[s].shape;
        const int h = plan.sizes.stage_h[s], w = plan.sizes.stage_w[s];
        largest_map = std::max(largest_map, Product({double(batch), double(h), double(w), double(st.dim)}));
        const double pixels = Product({double(batch), double(h), double(w)});
        const bool split = num_threads_ > 1 && pixels < double(num_threads_) * kMinPixelsPerThread;
        plan.split_channels.push_back(split);
        // A merging conv with more weights than an image has input (the late stages): one
        // GEMM over the whole batch streams the weights per block of rows, not per image,
        // in K chunks with the next weights prefetched, in tiles of up to 14 pixels.
        bool merge_gemm = false;
        if (s > 0) {
            const PackedConv& merge = stages_[s].merge;
            const int in_h = plan.sizes.stage_h[s - 1], in_w = plan.sizes.stage_w[s - 1];
            const double window = double(merge.kernel) * merge.kernel * merge.in_c;
            merge_gemm = merge.kernel == merge.stride &&
                         double(merge.weights.size()) > Product({double(in_h), double(in_w), double(merge.in_c)});
            if (merge_gemm) patch_floats = std::max(patch_floats, pixels * window);
        }
        plan.merge_as_gemm.push_back(merge_gemm);
        if (split) {
            shared_partial = std::max(shared_partial, pixels * st.partial_dim);
            shared_hidden = std::max(shared_hidden, pixels * HiddenStride(st.hidden_dim));
        }
        const double row_bytes = Product({double(w), double(HiddenStride(st.hidden_dim)), 4.0});
        // Equal tiles: 14 rows at most 11 per tile run as 7 + 7, not 11 + 3.
        const int max_rows = static_cast<int>(std::clamp(kBlockTileBytes / row_bytes, 1.0, double(h)));
        const int tiles = (h + max_rows - 1) / max_rows;
        const int rows = (h + tiles - 1) / tiles;
        plan.tile_rows.push_back(rows);
        // A tile of rows * w pixels may start mid-row, so PConv may need one row more.
        const double partial = Product({double(std::min(rows + 1, h)), double(w), double(st.partial_dim)});
        partial_floats = std::max(partial_floats, partial);
        tile_floats = std::max(tile_floats, Product({double(rows), double(w), double(HiddenStride(st.hidden_dim))}) +
                                                Product({double(w), double(st.dim)}));
    }
    const double input_floats = Product({double(batch), double(config.in_channels), double(height), double(width)});
    const auto round_up = [](double floats) { return static_cast<size_t>(std::ceil(floats / 16.0) * 16.0); };
    const double total = input_floats + 2 * largest_map + num_threads_ * (partial_floats + tile_floats + 32) +
                         shared_partial + shared_hidden + patch_floats + 48 +
                         Product({double(batch), double(architecture_.last_dim() + config.feature_dim + 32)});
    if (total > kMaxScratchFloats) {
        Fail(FASTERNET_INVALID_ARGUMENT, "input batch ", batch, " x ", config.in_channels, " x ", height, " x ", width,
             " needs ", static_cast<int64_t>(total * 4 / (1024.0 * 1024.0)),
             " MiB of activation memory, more than the 16 GiB limit");
    }
    size_t offset = 0;
    plan.input = offset;
    offset += round_up(input_floats);
    plan.activations[0] = offset;
    offset += round_up(largest_map);
    plan.activations[1] = offset;
    offset += round_up(largest_map);
    plan.partial_tile_size = round_up(partial_floats);
    plan.thread_tile_size = plan.partial_tile_size + round_up(tile_floats);
    plan.thread_tiles = offset;
    offset += plan.thread_tile_size * num_threads_;
    plan.shared_partial = offset;
    offset += round_up(shared_partial);
    plan.shared_hidden = offset;
    offset += round_up(shared_hidden);
    plan.patches = offset;
    offset += round_up(patch_floats);
    plan.pooled = offset;
    offset += round_up(double(batch) * architecture_.last_dim());
    plan.features = offset;
    offset += round_up(double(batch) * (architecture_.backbone() ? 0 : config.feature_dim));
    plan.total = offset;
    return plan;
}

std::unique_ptr<Scratch> Model::AcquireScratch(size_t floats) const {
    auto scratch = std::make_unique<Scratch>();
    scratch->buffer = scratch_pool_.Acquire(floats);
    return scratch;
}

void Model::ReleaseScratch(std::unique_ptr<Scratch> scratch) const { scratch_pool_.Release(std::move(scratch->buffer)); }

void Model::Run(const float* input, int batch, int height, int width, float* const* outputs,
                const volatile int32_t* cancel_flag) const {
    if (batch < 1) Fail(FASTERNET_INVALID_ARGUMENT, "batch must be at least 1, got ", batch);
    if (cancel_flag && *cancel_flag != 0) Fail(FASTERNET_CANCELLED, "the run was cancelled before it started");
    const Plan plan = MakePlan(batch, height, width);
    std::unique_ptr<Scratch> scratch;
    try {
        scratch = AcquireScratch(plan.total);
    } catch (const std::bad_alloc&) {
        Fail(FASTERNET_OUT_OF_MEMORY, "could not allocate ", plan.total * 4 / (1024 * 1024),
             " MiB of activation memory for batch ", batch, " at ", height, "x", width);
    }
    const bool finished = Forward(plan, *scratch, input, outputs, nullptr, cancel_flag);
    ReleaseScratch(std::move(scratch));
    if (!finished) Fail(FASTERNET_CANCELLED, "the run was cancelled between layers");
}

void Model::Profile(const float* input, int batch, int height, int width, std::vector<LayerTime>& layers) const {
    std::vector<std::vector<float>> storage(output_count());
    std::vector<float*> outputs;
    for (int i = 0; i < output_count(); ++i) {
        const std::vector<int64_t> s = OutputShape(batch, height, width, i);
        storage[i].resize(static_cast<size_t>(s[0] * s[1] * s[2] * s[3]));
        outputs.push_back(storage[i].data());
    }
    const Plan plan = MakePlan(batch, height, width);
    std::unique_ptr<Scratch> scratch = AcquireScratch(plan.total);
    Profiler profiler;
    Forward(plan, *scratch, input, outputs.data(), &profiler);
    ReleaseScratch(std::move(scratch));
    layers = std::move(profiler.layers);
}

// One block layer by layer, every thread on its share of each layer's output
// channels: PConv -> barrier -> PW1 + BN + act -> barrier -> PW2 + residual
// (the caller's barrier ends it). The hidden tensor of these few pixels is
// small enough to share through the caches.
void Model::RunBlockSplitChannels(const Plan& plan, const PackedBlock& block, const StageShape& shape, int h, int w,
                                  float* base, const float* x, float* y, int thread, int threads,
                                  Profiler* timer) const {
    const KernelSet& k = *kernels_;
    const int64_t image_size = int64_t{h} * w;
    float* partial = base + plan.shared_partial;
    float* hidden = base + plan.shared_hidden;
    Profiler::Run(timer, 0, [&] {
        for (int n = 0; n < plan.batch; ++n) {
            RunConvColumnShare(k,
                               PartialConvArgs(block, shape, x + n * image_size * shape.dim, h, w,
                                               partial + n * image_size * shape.partial_dim, 0, h),
                               thread, threads);
        }
    });
#pragma omp barrier
    const int64_t pixels = plan.batch * image_size;
    const GemmArgs expand = ExpandArgs(block, shape, architecture_.activation(), pixels, partial, x, hidden);
    Profiler::Run(timer, 1, [&] { RunGemmColumnShare(k, expand, thread, threads); });
#pragma omp barrier
    const GemmArgs project = ProjectArgs(block, shape, pixels, hidden, x, y);
    Profiler::Run(timer, 2, [&] { RunGemmColumnShare(k, project, thread, threads); });
}

bool Model::Forward(const Plan& plan, Scratch& scratch, const float* input, float* const* outputs,
                    Profiler* profiler, const volatile int32_t* cancel_flag) const {
    const fasternet_model_config& config = architecture_.config();
    const KernelSet& k = *kernels_;
    float* base = scratch.buffer.data();
    float* input_nhwc = base + plan.input;
    float* activations[2] = {base + plan.activations[0], base + plan.activations[1]};
    const int batch = plan.batch;

    // Cancellation, checked at the barriers between merges and blocks. Thread 0 samples cancel_flag just
    // before a barrier and records that checkpoint's number; after the barrier every thread stops if a
    // checkpoint at or before its own was recorded. A number, not a bool: thread 0 running ahead and
    // recording a later checkpoint never makes a slower thread leave one barrier early (a deadlock).
    // (When the executor becomes a list of steps, this is one check between steps.)
    constexpr int kNotCancelled = std::numeric_limits<int>::max();
    std::atomic<int> cancelled_at{kNotCancelled};
    const auto sample_cancel = [&](int thread, int checkpoint) {
        if (cancel_flag && thread == 0 && *cancel_flag != 0 &&
            cancelled_at.load(std::memory_order_relaxed) == kNotCancelled) {
            cancelled_at.store(checkpoint, std::memory_order_relaxed);
        }
    };
    const auto cancelled = [&](int checkpoint) {
        return cancelled_at.load(std::memory_order_relaxed) <= checkpoint;
    };

    const auto body = [&](int thread, int threads) {
        Profiler* const timer = thread == 0 ? profiler : nullptr;
        int checkpoint = 0;
        // NCHW -> NHWC.
        const int in_c = config.in_channels, H = plan.height, W = plan.width;
        ForEachRowRange(batch, H, thread, threads, [&](int n, int r0, int r1) {
            const float* image = input + static_cast<int64_t>(n) * in_c * H * W;
            for (int y = r0; y < r1; ++y) {
                float* out_row = input_nhwc + ((static_cast<int64_t>(n) * H + y) * W) * in_c;
                for (int c = 0; c < in_c; ++c) {
                    const float* plane_row = image + (static_cast<int64_t>(c) * H + y) * W;
                    for (int x = 0; x < W; ++x) out_row[static_cast<int64_t>(x) * in_c + c] = plane_row[x];
                }
            }
        });
#pragma omp barrier
        if (timer) timer->Mark("input");
        // Patch embedding.
        int current = 0;
        {
            const int oh = plan.sizes.embed_h, ow = plan.sizes.embed_w, oc = embed_.out_c;
            ForEachRowRange(batch, oh, thread, threads, [&](int n, int r0, int r1) {
                ConvArgs a;
                a.input = input_nhwc + static_cast<int64_t>(n) * H * W * in_c;
                a.in_pixel_stride = in_c;
                a.in_h = H, a.in_w = W, a.in_c = in_c;
                a.kernel = embed_.kernel, a.stride = embed_.stride, a.pad = 0;
                a.packed_weights = embed_.weights.data();
                a.bias = OrNull(embed_.bias);
                a.output = activations[current] + static_cast<int64_t>(n) * oh * ow * oc;
                a.out_pixel_stride = oc;
                a.out_h = oh, a.out_w = ow, a.out_c = oc;
                a.row_begin = r0, a.row_end = r1;
                k.conv(a);
            });
        }
#pragma omp barrier
        if (timer) timer->Mark("patch_embed");
        int h = plan.sizes.embed_h, w = plan.sizes.embed_w;
        float* tile = base + plan.thread_tiles + plan.thread_tile_size * thread;
        for (size_t s = 0; s < stages_.size(); ++s) {
            const PackedStage& stage = stages_[s];
            const int dim = stage.shape.dim, cp = stage.shape.partial_dim;
            if (s > 0) {
                const PackedConv& merge = stage.merge;
                const int oh = plan.sizes.stage_h[s], ow = plan.sizes.stage_w[s];
                const float* in = activations[current];
                float* out = activations[1 - current];
                const auto merge_rows = [&](int n, int r0, int r1, bool column_share) {
                    ConvArgs a;
                    a.input = in + static_cast<int64_t>(n) * h * w * merge.in_c;
                    a.in_pixel_stride = merge.in_c;
                    a.in_h = h, a.in_w = w, a.in_c = merge.in_c;
                    a.kernel = merge.kernel, a.stride = merge.stride, a.pad = 0;
                    a.packed_weights = merge.weights.data();
                    a.bias = OrNull(merge.bias);
                    a.output = out + static_cast<int64_t>(n) * oh * ow * dim;
                    a.out_pixel_stride = dim;
                    a.out_h = oh, a.out_w = ow, a.out_c = dim;
                    a.row_begin = r0, a.row_end = r1;
                    if (column_share) {
                        RunConvColumnShare(k, a, thread, threads);
                    } else {
                        k.conv(a);
                    }
                };
                if (plan.merge_as_gemm[s]) {
                    // Gather each output pixel's window (kernel rows of kernel * in_c floats
                    // each, in the packed K order), then one GEMM over the whole batch.
                    float* patches = base + plan.patches;
                    const int run = merge.kernel * merge.in_c;
                    const int64_t patch = int64_t{merge.kernel} * run;
                    ForEachRowRange(batch, oh, thread, threads, [&](int n, int r0, int r1) {
                        for (int oy = r0; oy < r1; ++oy) {
                            for (int ox = 0; ox < ow; ++ox) {
                                float* dst = patches + ((int64_t{n} * oh + oy) * ow + ox) * patch;
                                for (int ky = 0; ky < merge.kernel; ++ky) {
                                    const float* src = in + ((int64_t{n} * h + oy * merge.stride + ky) * w +
                                                             int64_t{ox} * merge.stride) * merge.in_c;
                                    std::memcpy(dst + int64_t{ky} * run, src, sizeof(float) * run);
                                }
                            }
                        }
                    });
#pragma omp barrier
                    GemmArgs g;
                    g.m = int64_t{batch} * oh * ow;
                    g.k = static_cast<int>(patch);
                    g.n = dim;
                    g.a = patches;
                    g.lda = patch;
                    g.packed_b = merge.weights.data();
                    g.bias = OrNull(merge.bias);
                    g.c = out;
                    g.ldc = dim;
                    if (plan.split_channels[s]) {
                        RunGemmColumnShare(k, g, thread, threads);
                    } else {
                        RunGemmShare(k, g, thread, threads);
                    }
                } else if (plan.split_channels[s]) {
                    for (int n = 0; n < batch; ++n) merge_rows(n, 0, oh, true);
                } else {
                    ForEachRowRange(batch, oh, thread, threads,
                                    [&](int n, int r0, int r1) { merge_rows(n, r0, r1, false); });
                }
                current = 1 - current;
                h = oh;
                w = ow;
                sample_cancel(thread, ++checkpoint);
#pragma omp barrier
                if (cancelled(checkpoint)) return;
                if (timer) timer->Mark(WithoutTrailingDot(MergePrefix(static_cast<int>(s))));
            }
            const int tile_rows = plan.tile_rows[s];
            float* partial_tile = tile;
            float* hidden_tile = tile + plan.partial_tile_size;
            for (size_t b = 0; b < stage.blocks.size(); ++b) {
                const PackedBlock& block = stage.blocks[b];
                const float* x = activations[current];
                float* y = activations[1 - current];
                if (plan.split_channels[s]) {
                    RunBlockSplitChannels(plan, block, stage.shape, h, w, base, x, y, thread, threads, timer);
                    current = 1 - current;
                    sample_cancel(thread, ++checkpoint);
#pragma omp barrier
                    if (cancelled(checkpoint)) return;
                    if (timer) timer->MarkBlock(WithoutTrailingDot(BlockPrefix(static_cast<int>(s), static_cast<int>(b))));
                    continue;
                }
                // The fused block, tile by tile: PConv -> PW1 + BN + act -> PW2 + residual.
                // Threads split pixels, not rows, so that small late-stage maps (7x7) balance.
                const int64_t tile_pixels = int64_t{tile_rows} * w;
                ForEachRowRange(batch, h * w, thread, threads, [&](int n, int p0, int p1) {
                    const float* image = x + static_cast<int64_t>(n) * h * w * dim;
                    float* out_image = y + static_cast<int64_t>(n) * h * w * dim;
                    for (int64_t first = p0; first < p1; first += tile_pixels) {
                        const int64_t pixels = std::min<int64_t>(p1 - first, tile_pixels);
                        const int row_begin = static_cast<int>(first / w);
                        const int row_end = static_cast<int>((first + pixels - 1) / w) + 1;
                        const ConvArgs pc =
                            PartialConvArgs(block, stage.shape, image, h, w, partial_tile, row_begin, row_end);
                        Profiler::Run(timer, 0, [&] { k.conv(pc); });
                        const GemmArgs expand =
                            ExpandArgs(block, stage.shape, architecture_.activation(), pixels,
                                       partial_tile + (first - int64_t{row_begin} * w) * cp, image + first * dim,
                                       hidden_tile);
                        Profiler::Run(timer, 1, [&] { k.gemm(expand); });
                        const GemmArgs project = ProjectArgs(block, stage.shape, pixels, hidden_tile,
                                                             image + first * dim, out_image + first * dim);
                        Profiler::Run(timer, 2, [&] { k.gemm(project); });
                    }
                });
                current = 1 - current;
                sample_cancel(thread, ++checkpoint);
#pragma omp barrier
                if (cancelled(checkpoint)) return;
                if (timer) timer->MarkBlock(WithoutTrailingDot(BlockPrefix(static_cast<int>(s), static_cast<int>(b))));
            }
            if (architecture_.backbone()) {
                // The stage's output norm, then NHWC -> NCHW into the caller's buffer.
                const float* x = activations[current];
                float* row = tile + plan.partial_tile_size;
                ForEachRowRange(batch, h, thread, threads, [&](int n, int r0, int r1) {
                    float* out = outputs[s] + static_cast<int64_t>(n) * dim * h * w;
                    for (int yy = r0; yy < r1; ++yy) {
                        AffineArgs a;
                        a.input = x + ((static_cast<int64_t>(n) * h + yy) * w) * dim;
                        a.pixels = w;
                        a.channels = dim;
                        a.scale = stage.norm_scale.data();
                        a.shift = stage.norm_shift.data();
                        a.output = row;
                        k.channel_affine(a);
                        for (int c = 0; c < dim; ++c) {
                            float* plane_row = out + (static_cast<int64_t>(c) * h + yy) * w;
                            for (int xx = 0; xx < w; ++xx) plane_row[xx] = row[static_cast<int64_t>(xx) * dim + c];
                        }
                    }
                });
#pragma omp barrier
                if (timer) timer->Mark(WithoutTrailingDot(BackboneNormPrefix(static_cast<int>(s))));
            }
        }
        if (architecture_.backbone()) return;
        // Head: average pool -> 1x1 conv + act -> linear.
        const int last = architecture_.last_dim();
        float* pooled = base + plan.pooled;
        float* features = base + plan.features;
        {
            int64_t begin, end;
            Share(batch, thread, threads, begin, end);
            for (int64_t n = begin; n < end; ++n) {
                PoolArgs a;
                a.input = activations[current] + n * h * w * last;
                a.pixels = int64_t{h} * w;
                a.channels = last;
                a.output = pooled + n * last;
                k.global_average_pool(a);
            }
        }
#pragma omp barrier
        GemmArgs pre;
        pre.m = batch;
        pre.k = last;
        pre.n = config.feature_dim;
        pre.a = pooled;
        pre.lda = last;
        pre.packed_b = pre_head_.weights.data();
        pre.activation = architecture_.activation();
        pre.c = features;
        pre.ldc = config.feature_dim;
        RunGemmShare(k, pre, thread, threads);
#pragma omp barrier
        GemmArgs fc;
        fc.m = batch;
        fc.k = config.feature_dim;
        fc.n = config.num_classes;
        fc.a = features;
        fc.lda = config.feature_dim;
        fc.packed_b = head_.weights.data();
        fc.bias = head_.bias.data();
        fc.c = outputs[0];
        fc.ldc = config.num_classes;
        RunGemmShare(k, fc, thread, threads);
        if (profiler) {
#pragma omp barrier
            if (timer) timer->Mark("head");
        }
    };

    if (num_threads_ <= 1) {
        body(0, 1);
    } else {
#pragma omp parallel num_threads(num_threads_)
        body(omp_get_thread_num(), omp_get_num_threads());
    }
    return cancelled_at.load() == kNotCancelled;
}

}  // namespace fasternet
