#include "model/model.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>

#include "common/error.h"
#include "common/parallel.h"
#include "kernels/dispatch.h"
#include "kernels/tuning.h"

namespace fasternet {

namespace {

// A fused block keeps its 2*dim intermediate for at most this many bytes of
// pixels in cache before PW2 consumes it: most of a core's L2 (5/8 of it,
// kernels/tuning.h). Larger tiles stream each block's weights fewer times, which
// the late stages (megabytes of weights, few pixels) need more than a half-empty
// L2 (a quarter of L2 measured 3-6% slower on T2, S and L on a Zen 5, the same on T0).
double BlockTileBytes() { return static_cast<double>(HostTuning().block_tile_bytes); }

// With fewer output pixels than this per thread (the last stages at batch 1),
// threads split a layer's output channels instead of its pixels: each then
// streams its share of the weights once for all pixels, instead of all the
// weights for a handful of pixels.
constexpr int64_t kMinPixelsPerThread = 32;

// Row stride of a hidden tensor: hidden channels plus one cache line when the row
// bytes are a multiple of half an L1 way, which would put the 14 rows of a GEMM tile
// into the same few L1 sets (S and T1 have power-of-two widths).
int HiddenStride(int hidden) { return PaddedRowStride(HostTuning(), hidden); }

// Activations above this are refused before allocating (16 GiB of floats).
constexpr double kMaxScratchFloats = 4.0 * 1024 * 1024 * 1024;

// Copies a conv weight [out][in][kh][kw] into [out][(kh * k + kw) * in + ci],
// scaling each output channel (a folded batch norm), then packs it; with `bf16_packed`,
// also rounded to bf16 in the bf16 conv's pair panels.
void PackConvWeights(const float* weight, int out_c, int in_c, int kernel, const std::vector<double>& scale,
                     AlignedBuffer& packed, AlignedBuffer* bf16_packed = nullptr) {
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
    if (bf16_packed) {
        bf16_packed->Resize((PackedBf16PanelsSize(Bf16ConvDepth(kernel, in_c), out_c) + 1) / 2);
        PackBf16ConvPanels(reordered.data(), out_c, in_c, kernel, reinterpret_cast<bf16*>(bf16_packed->data()));
    }
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
                             const std::string& norm_prefix, int in_c, int out_c, int kernel, int stride,
                             bool bf16 = false) {
    PackedConv conv;
    conv.kernel = kernel;
    conv.stride = stride;
    conv.in_c = in_c;
    conv.out_c = out_c;
    std::vector<double> scale, shift;
    BatchNormScaleShift(sd, norm_prefix, out_c, scale, shift);
    PackConvWeights(sd.at(weight_name).data, out_c, in_c, kernel, scale, conv.weights, bf16 ? &conv.bf16_weights : nullptr);
    CopyToBuffer(shift, conv.bias);
    return conv;
}

// `bf16`: also keep the folded weights rounded to bf16 in pair panels.
PackedLinear PackLinear(const float* weight, int k, int n, const std::vector<double>* scale, bool bf16 = false) {
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
    if (bf16) {
        linear.bf16_weights.Resize((PackedBf16PanelsSize(k, n) + 1) / 2);
        PackBf16Panels(scaled.data(), k, n, reinterpret_cast<fasternet::bf16*>(linear.bf16_weights.data()));
    }
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

// Output columns [first, first + count) of a GEMM (all rows): its weights, bias, residual and output.
GemmArgs GemmColumns(const GemmArgs& args, int first, int count) {
    GemmArgs part = args;
    part.n = count;
    part.packed_b += static_cast<size_t>(first) * args.k;
    if (part.bias) part.bias += first;
    if (part.residual) part.residual += first;
    part.c += first;
    return part;
}


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
// so a layer's time is the wall time until its slowest thread finished. One entry
// per row of the plan's layer table.
class Profiler {
public:
    using Clock = std::chrono::steady_clock;

    explicit Profiler(size_t layer_count) : seconds(layer_count, 0.0), last_(Clock::now()) {}

    // The step that ran layer row `layer` has finished.
    void Mark(size_t layer) {
        const Clock::time_point now = Clock::now();
        seconds.at(layer) = std::chrono::duration<double>(now - last_).count();
        last_ = now;
    }

    // A fused block (rows first_layer .. +2: PConv, PW1, PW2): its wall time split in
    // proportion to what thread 0 spent in each part.
    void MarkBlock(size_t first_layer) {
        const Clock::time_point now = Clock::now();
        const double total = std::chrono::duration<double>(now - last_).count();
        const double measured = part_seconds_[0] + part_seconds_[1] + part_seconds_[2];
        for (int i = 0; i < 3; ++i) {
            const double share = measured > 0.0 ? part_seconds_[i] / measured : 1.0 / 3.0;
            seconds.at(first_layer + i) = total * share;
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

    std::vector<double> seconds;

private:
    Clock::time_point last_;
    double part_seconds_[3] = {0.0, 0.0, 0.0};
};

// One call's buffers, handed to every step of a plan.
struct Model::StepContext {
    float* base = nullptr;  // the scratch buffer, laid out by the plan
    const float* const* images = nullptr;  // one NCHW image per batch element
    float* const* outputs = nullptr;
};

// One step of a compiled plan: every thread runs its share, then the team meets at a
// barrier (a step may hold barriers of its own between its layers). It runs the layer
// table's row first_layer (a fused block: that PConv row and the PW1, PW2 rows after it),
// whose name is its row in a profile.
struct Model::PlanStep {
    fasternet_layer_kind kind = FASTERNET_LAYER_INPUT;  // of its first row, checked against the table
    bool fused_block = false;
    size_t first_layer = 0;
    std::function<void(const StepContext&, int thread, int threads, Profiler* timer)> run;
};

// A compiled plan for one input geometry: where each activation lives in the scratch
// buffer, the strategy chosen per stage, and the steps that run the network. Built once
// per (batch, height, width), immutable afterwards, shared by concurrent callers.
struct Model::Plan {
    int batch = 0, height = 0, width = 0;
    MapSizes sizes;
    std::vector<Layer> layers;  // the layer table at this input size; steps point into it
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
    std::vector<PlanStep> steps;

    float* Activation(const StepContext& context, int index) const { return context.base + activations[index]; }
    float* ThreadTile(const StepContext& context, int thread) const {
        return context.base + thread_tiles + thread_tile_size * thread;
    }
};

Model::Model(const Architecture& architecture, const std::map<std::string, TensorView>& sd,
             fasternet_kernel_set kernel_set, int num_threads, fasternet_precision precision,
             const Bf16KernelSet* bf16_kernels)
    : architecture_(architecture), kernel_set_(kernel_set), kernels_(KernelsFor(kernel_set)),
      num_threads_(num_threads), precision_(precision) {
    if (!kernels_) {
        Fail(FASTERNET_UNSUPPORTED, "kernel set '", KernelSetName(kernel_set), "' is not available on this CPU/build");
    }
    if (precision == FASTERNET_PRECISION_BFLOAT16 && bf16_kernels) {
        bf16_kernels_ = bf16_kernels;
    } else if (precision == FASTERNET_PRECISION_BFLOAT16) {
        static const Bf16Capabilities capabilities = DetectBf16Capabilities();
        Bf16Set set;
        const char* reason = "";
        static const char* const requested = std::getenv("FASTERNET_BF16_KERNELS");
        if (!ChooseBf16Set(kernel_set, capabilities, &set, &reason, requested)) Fail(FASTERNET_UNSUPPORTED, reason);
        bf16_kernels_ = Bf16KernelsFor(set);
    }
    const bool bf16 = bf16_kernels_ != nullptr;
    bf16_block_activations_ = bf16;
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
                                            dim / 2, dim, config.patch_size2, config.patch_stride2, bf16);
        }
        for (int b = 0; b < shapes[s].depth; ++b) {
            const std::string p = BlockPrefix(static_cast<int>(s), b);
            PackedBlock block;
            block.partial_conv.kernel = 3;
            block.partial_conv.pad = 1;
            block.partial_conv.in_c = cp;
            block.partial_conv.out_c = cp;
            PackConvWeights(sd.at(p + "spatial_mixing.partial_conv3.weight").data, cp, cp, 3,
                            std::vector<double>(cp, 1.0), block.partial_conv.weights,
                            bf16 ? &block.partial_conv.bf16_weights : nullptr);
            std::vector<double> scale, shift;
            BatchNormScaleShift(sd, p + "mlp.1.", hidden, scale, shift);
            // PConv, PW1 and PW2 (with the merges, all but the embedding's and the head's FLOPs)
            // run in bf16 in a bf16 model.
            block.expand = PackLinear(sd.at(p + "mlp.0.weight").data, dim, hidden, &scale, bf16);
            CopyToBuffer(shift, block.expand.bias);
            block.project = PackLinear(sd.at(p + "mlp.3.weight").data, hidden, dim, nullptr, bf16);
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

void Model::RunGemm(const GemmArgs& args, const bf16* bf16_weights, int first_column, Bf16Activations io) const {
    if (!bf16_weights) return kernels_->gemm(args);
    Bf16GemmArgs bf;
    bf.gemm = args;
    bf.gemm.packed_b = nullptr;
    bf.packed_b = bf16_weights + first_column / kPanelWidth * Bf16PanelStride(args.k);
    bf.a_bf16 = io.a;
    bf.c_bf16 = io.c;
    if (io.a) bf.gemm.a = nullptr;
    if (io.c) bf.gemm.c = nullptr;
    bf16_kernels_->gemm(bf);
}

void Model::RunGemmColumnShare(const GemmArgs& args, const bf16* bf16_weights, int thread, int threads,
                               Bf16Activations io) const {
    int first, count;
    ColumnShare(args.n, thread, threads, first, count);
    if (io.c) io.c += first;
    if (count > 0) RunGemm(GemmColumns(args, first, count), bf16_weights, first, io);
}

// Splits one GEMM over threads: by rows when there are enough, else by 16-column panels.
void Model::RunGemmShare(const GemmArgs& args, const bf16* bf16_weights, int thread, int threads) const {
    if (args.m < 8 * threads && args.n > kPanelWidth) return RunGemmColumnShare(args, bf16_weights, thread, threads);
    int64_t begin, end;
    Share(args.m, thread, threads, begin, end);
    if (begin == end) return;
    GemmArgs part = args;
    part.m = end - begin;
    part.a += begin * args.lda;
    if (part.a2) part.a2 += begin * args.lda2;
    if (part.residual) part.residual += begin * args.ldr;
    part.c += begin * args.ldc;
    RunGemm(part, bf16_weights, 0);
}

void Model::RunLinear(const PackedLinear& layer, const GemmArgs& args, Bf16Activations io) const {
    RunGemm(args, layer.bf16_weights.size() ? layer.Bf16Weights() : nullptr, 0, io);
}

void Model::RunLinearColumnShare(const PackedLinear& layer, const GemmArgs& args, int thread, int threads,
                                 Bf16Activations io) const {
    RunGemmColumnShare(args, layer.bf16_weights.size() ? layer.Bf16Weights() : nullptr, thread, threads, io);
}

void Model::RunConv(const PackedConv& conv, const ConvArgs& args, int first_column, bf16* output_bf16) const {
    if (!conv.bf16_weights.size()) return kernels_->conv(args);
    Bf16ConvArgs bf;
    bf.conv = args;
    bf.conv.packed_weights = nullptr;
    bf.output_bf16 = output_bf16;
    if (output_bf16) bf.conv.output = nullptr;
    bf.packed_weights =
        conv.Bf16Weights() + first_column / kPanelWidth * Bf16PanelStride(Bf16ConvDepth(conv.kernel, conv.in_c));
    bf16_kernels_->conv(bf);
}

// Runs this thread's share of a conv's output channels (the args' rows).
void Model::RunConvColumnShare(const PackedConv& conv, const ConvArgs& args, int thread, int threads,
                               bf16* output_bf16) const {
    int first, count;
    ColumnShare(args.out_c, thread, threads, first, count);
    if (count <= 0) return;
    ConvArgs part = args;
    part.out_c = count;
    part.packed_weights += static_cast<size_t>(first) * args.kernel * args.kernel * args.in_c;
    if (part.bias) part.bias += first;
    part.output += first;
    RunConv(conv, part, first, output_bf16 ? output_bf16 + first : nullptr);
}

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

std::shared_ptr<Model::Plan> Model::MakePlan(int batch, int height, int width) const {
    auto planned = std::make_shared<Plan>();
    Plan& plan = *planned;
    plan.batch = batch;
    plan.height = height;
    plan.width = width;
    plan.sizes = architecture_.MapSizesFor(height, width);
    plan.layers = architecture_.Layers(height, width);
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
            // (bf16: the gathered windows are the bf16 conv's K only with no channel padding.)
            merge_gemm = merge.kernel == merge.stride &&
                         double(merge.weights.size()) > Product({double(in_h), double(in_w), double(merge.in_c)}) &&
                         (!merge.bf16_weights.size() || Bf16TapChannels(merge.in_c) == merge.in_c);
            if (merge_gemm) patch_floats = std::max(patch_floats, pixels * window);
        }
        plan.merge_as_gemm.push_back(merge_gemm);
        if (split) {
            shared_partial = std::max(shared_partial, pixels * st.partial_dim);
            shared_hidden = std::max(shared_hidden, pixels * HiddenStride(st.hidden_dim));
        }
        const double hidden_bytes = bf16_block_activations_ ? sizeof(bf16) : sizeof(float);
        const double row_bytes = Product({double(w), double(HiddenStride(st.hidden_dim)), hidden_bytes});
        // Equal tiles: 14 rows at most 11 per tile run as 7 + 7, not 11 + 3.
        const int max_rows = static_cast<int>(std::clamp(BlockTileBytes() / row_bytes, 1.0, double(h)));
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

    AddInputSteps(plan);
    int h = plan.sizes.embed_h, w = plan.sizes.embed_w, current = 0;
    for (size_t s = 0; s < stages_.size(); ++s) {
        if (s > 0) {
            AddMergeStep(plan, s, h, w, current);
            current = 1 - current;
            h = plan.sizes.stage_h[s];
            w = plan.sizes.stage_w[s];
        }
        for (size_t b = 0; b < stages_[s].blocks.size(); ++b, current = 1 - current) {
            if (plan.split_channels[s]) {
                AddSplitBlockStep(plan, s, b, h, w, current);
            } else {
                AddBlockStep(plan, s, b, h, w, current);
            }
        }
        if (architecture_.backbone()) AddBackboneNormStep(plan, s, h, w, current);
    }
    if (!architecture_.backbone()) AddHeadStep(plan, h, w, current);
    AssignLayers(plan);
    return planned;
}

// Points every step at its rows of the layer table, in order; a step that does not run
// the kind of layer its row says is a planning bug, refused here rather than mislabelled.
void Model::AssignLayers(Plan& plan) const {
    size_t row = 0;
    for (PlanStep& step : plan.steps) {
        const size_t rows = step.fused_block ? 3 : 1;
        if (row + rows > plan.layers.size() || plan.layers[row].kind != step.kind) {
            Fail(FASTERNET_INTERNAL_ERROR, "plan step ", &step - plan.steps.data(), " does not match layer row ", row,
                 row < plan.layers.size() ? " ('" + plan.layers[row].name + "')" : std::string(" (past the table)"));
        }
        step.first_layer = row;
        row += rows;
    }
    if (row != plan.layers.size()) {
        Fail(FASTERNET_INTERNAL_ERROR, "the plan's steps cover ", row, " of ", plan.layers.size(), " layer rows");
    }
}

std::unique_ptr<Scratch> Model::AcquireScratch(size_t floats) const {
    auto scratch = std::make_unique<Scratch>();
    scratch->buffer = scratch_pool_.Acquire(floats);
    return scratch;
}

void Model::ReleaseScratch(std::unique_ptr<Scratch> scratch) const { scratch_pool_.Release(std::move(scratch->buffer)); }

std::shared_ptr<const Model::Plan> Model::PlanFor(int batch, int height, int width) const {
    if (batch < 1) Fail(FASTERNET_INVALID_ARGUMENT, "batch must be at least 1, got ", batch);
    const auto same_shape = [&](const std::shared_ptr<const Plan>& plan) {
        return plan->batch == batch && plan->height == height && plan->width == width;
    };
    {
        std::lock_guard<std::mutex> lock(plan_mutex_);
        const auto found = std::find_if(plans_.begin(), plans_.end(), same_shape);
        if (found != plans_.end()) {
            std::rotate(plans_.begin(), found, found + 1);  // most recently used first
            return plans_.front();
        }
    }
    // Built outside the lock: another caller may build the same shape meanwhile; either copy is right.
    std::shared_ptr<const Plan> plan = MakePlan(batch, height, width);
    std::lock_guard<std::mutex> lock(plan_mutex_);
    const auto found = std::find_if(plans_.begin(), plans_.end(), same_shape);
    if (found != plans_.end()) return *found;
    plans_.insert(plans_.begin(), plan);
    if (plans_.size() > kCachedPlans) plans_.pop_back();
    return plan;
}

void Model::Run(const float* input, int batch, int height, int width, float* const* outputs,
                const volatile int32_t* cancel_flag) const {
    if (batch < 1) Fail(FASTERNET_INVALID_ARGUMENT, "batch must be at least 1, got ", batch);
    RunImages(ImagesOf(input, batch, height, width).data(), batch, height, width, outputs, cancel_flag);
}

std::vector<const float*> Model::ImagesOf(const float* input, int batch, int height, int width) const {
    const int64_t image_floats = int64_t{architecture_.config().in_channels} * height * width;
    std::vector<const float*> images(static_cast<size_t>(batch));
    for (int n = 0; n < batch; ++n) images[n] = input + n * image_floats;
    return images;
}

void Model::RunImages(const float* const* images, int batch, int height, int width, float* const* outputs,
                      const volatile int32_t* cancel_flag) const {
    if (batch < 1) Fail(FASTERNET_INVALID_ARGUMENT, "batch must be at least 1, got ", batch);
    if (cancel_flag && *cancel_flag != 0) Fail(FASTERNET_CANCELLED, "the run was cancelled before it started");
    const std::shared_ptr<const Plan> plan = PlanFor(batch, height, width);
    std::unique_ptr<Scratch> scratch;
    try {
        scratch = AcquireScratch(plan->total);
    } catch (const std::bad_alloc&) {
        Fail(FASTERNET_OUT_OF_MEMORY, "could not allocate ", plan->total * 4 / (1024 * 1024),
             " MiB of activation memory for batch ", batch, " at ", height, "x", width);
    }
    const bool finished = Forward(*plan, *scratch, images, outputs, nullptr, cancel_flag);
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
    const std::shared_ptr<const Plan> plan = PlanFor(batch, height, width);
    std::unique_ptr<Scratch> scratch = AcquireScratch(plan->total);
    Profiler profiler(plan->layers.size());
    Forward(*plan, *scratch, ImagesOf(input, batch, height, width).data(), outputs.data(), &profiler);
    ReleaseScratch(std::move(scratch));
    layers.clear();
    for (size_t i = 0; i < plan->layers.size(); ++i) layers.push_back({plan->layers[i].name, profiler.seconds[i]});
}

// NCHW -> NHWC, then the patch embedding.
void Model::AddInputSteps(Plan& plan) const {
    const int in_c = architecture_.config().in_channels;
    plan.steps.push_back({FASTERNET_LAYER_INPUT, false, 0,
                          [this, &plan, in_c](const StepContext& context, int thread, int threads, Profiler*) {
        const int H = plan.height, W = plan.width;
        float* input_nhwc = context.base + plan.input;
        ForEachRowRange(plan.batch, H, thread, threads, [&](int n, int r0, int r1) {
            const float* image = context.images[n];
            for (int y = r0; y < r1; ++y) {
                float* out_row = input_nhwc + ((static_cast<int64_t>(n) * H + y) * W) * in_c;
                for (int c = 0; c < in_c; ++c) {
                    const float* plane_row = image + (static_cast<int64_t>(c) * H + y) * W;
                    for (int x = 0; x < W; ++x) out_row[static_cast<int64_t>(x) * in_c + c] = plane_row[x];
                }
            }
        });
    }});
    plan.steps.push_back({FASTERNET_LAYER_PATCH_EMBEDDING, false, 0,
                          [this, &plan, in_c](const StepContext& context, int thread, int threads, Profiler*) {
        const int H = plan.height, W = plan.width;
        const int oh = plan.sizes.embed_h, ow = plan.sizes.embed_w, oc = embed_.out_c;
        ForEachRowRange(plan.batch, oh, thread, threads, [&](int n, int r0, int r1) {
            ConvArgs a;
            a.input = context.base + plan.input + static_cast<int64_t>(n) * H * W * in_c;
            a.in_pixel_stride = in_c;
            a.in_h = H, a.in_w = W, a.in_c = in_c;
            a.kernel = embed_.kernel, a.stride = embed_.stride, a.pad = 0;
            a.packed_weights = embed_.weights.data();
            a.bias = OrNull(embed_.bias);
            a.output = plan.Activation(context, 0) + static_cast<int64_t>(n) * oh * ow * oc;
            a.out_pixel_stride = oc;
            a.out_h = oh, a.out_w = ow, a.out_c = oc;
            a.row_begin = r0, a.row_end = r1;
            kernels_->conv(a);
        });
    }});
}

namespace {

// The merging conv of one image, output rows [r0, r1).
ConvArgs MergeArgs(const PackedConv& merge, const float* in, int h, int w, float* out, int oh, int ow, int dim,
                   int r0, int r1) {
    ConvArgs a;
    a.input = in;
    a.in_pixel_stride = merge.in_c;
    a.in_h = h, a.in_w = w, a.in_c = merge.in_c;
    a.kernel = merge.kernel, a.stride = merge.stride, a.pad = 0;
    a.packed_weights = merge.weights.data();
    a.bias = OrNull(merge.bias);
    a.output = out;
    a.out_pixel_stride = dim;
    a.out_h = oh, a.out_w = ow, a.out_c = dim;
    a.row_begin = r0, a.row_end = r1;
    return a;
}

// Copies each output pixel's window (kernel rows of kernel * in_c floats each, in the
// packed K order) of this thread's share of the batch into `patches`.
void GatherMergeWindows(const PackedConv& merge, const float* in, int batch, int h, int w, int oh, int ow,
                        float* patches, int thread, int threads) {
    const int run = merge.kernel * merge.in_c;
    const int64_t patch = int64_t{merge.kernel} * run;
    ForEachRowRange(batch, oh, thread, threads, [&](int n, int r0, int r1) {
        for (int oy = r0; oy < r1; ++oy) {
            for (int ox = 0; ox < ow; ++ox) {
                float* dst = patches + ((int64_t{n} * oh + oy) * ow + ox) * patch;
                for (int ky = 0; ky < merge.kernel; ++ky) {
                    const float* src =
                        in + ((int64_t{n} * h + oy * merge.stride + ky) * w + int64_t{ox} * merge.stride) * merge.in_c;
                    std::memcpy(dst + int64_t{ky} * run, src, sizeof(float) * run);
                }
            }
        }
    });
}

}  // namespace

// The merging conv into stage `stage`: as one GEMM over gathered windows (the late
// stages), split by output channels (few pixels), or by output rows.
void Model::AddMergeStep(Plan& plan, size_t stage, int h, int w, int current) const {
    const PackedConv& merge = stages_[stage].merge;
    const int oh = plan.sizes.stage_h[stage], ow = plan.sizes.stage_w[stage], dim = stages_[stage].shape.dim;
    const bool as_gemm = plan.merge_as_gemm[stage], split = plan.split_channels[stage];
    plan.steps.push_back({FASTERNET_LAYER_MERGING, false, 0,
                          [=, &plan, &merge](const StepContext& context, int thread, int threads, Profiler*) {
        const float* in = plan.Activation(context, current);
        float* out = plan.Activation(context, 1 - current);
        const int batch = plan.batch;
        if (as_gemm) {
            float* patches = context.base + plan.patches;
            GatherMergeWindows(merge, in, batch, h, w, oh, ow, patches, thread, threads);
#pragma omp barrier
            GemmArgs g;
            g.m = int64_t{batch} * oh * ow;
            g.k = merge.kernel * merge.kernel * merge.in_c;
            g.n = dim;
            g.a = patches;
            g.lda = g.k;
            g.packed_b = merge.weights.data();
            g.bias = OrNull(merge.bias);
            g.c = out;
            g.ldc = dim;
            const bf16* bf16_weights = merge.bf16_weights.size() ? merge.Bf16Weights() : nullptr;
            if (split) {
                RunGemmColumnShare(g, bf16_weights, thread, threads);
            } else {
                RunGemmShare(g, bf16_weights, thread, threads);
            }
            return;
        }
        const auto image_args = [&](int n, int r0, int r1) {
            return MergeArgs(merge, in + int64_t{n} * h * w * merge.in_c, h, w, out + int64_t{n} * oh * ow * dim, oh,
                             ow, dim, r0, r1);
        };
        if (split) {
            for (int n = 0; n < batch; ++n) RunConvColumnShare(merge, image_args(n, 0, oh), thread, threads);
        } else {
            ForEachRowRange(batch, oh, thread, threads,
                            [&](int n, int r0, int r1) { RunConv(merge, image_args(n, r0, r1)); });
        }
    }});
}

// The fused block, tile by tile: PConv -> PW1 + BN + act -> PW2 + residual, the hidden
// tile never leaving the thread's cache. Threads split pixels, not rows, so that small
// late-stage maps (7x7) balance.
void Model::AddBlockStep(Plan& plan, size_t stage, size_t block_index, int h, int w, int current) const {
    const PackedBlock& block = stages_[stage].blocks[block_index];
    const StageShape& shape = stages_[stage].shape;
    const int64_t tile_pixels = int64_t{plan.tile_rows[stage]} * w;
    const Activation activation = architecture_.activation();
    const bool bf16_activations = bf16_block_activations_;
    plan.steps.push_back({FASTERNET_LAYER_PARTIAL_CONV, true, 0,
                          [=, &plan, &block, &shape](const StepContext& context, int thread, int threads,
                                                     Profiler* timer) {
        const int dim = shape.dim, cp = shape.partial_dim;
        float* partial_tile = plan.ThreadTile(context, thread);
        float* hidden_tile = partial_tile + plan.partial_tile_size;
        const float* x = plan.Activation(context, current);
        float* y = plan.Activation(context, 1 - current);
        ForEachRowRange(plan.batch, h * w, thread, threads, [&](int n, int p0, int p1) {
            const float* image = x + static_cast<int64_t>(n) * h * w * dim;
            float* out_image = y + static_cast<int64_t>(n) * h * w * dim;
            for (int64_t first = p0; first < p1; first += tile_pixels) {
                const int64_t pixels = std::min<int64_t>(p1 - first, tile_pixels);
                const int row_begin = static_cast<int>(first / w);
                const int row_end = static_cast<int>((first + pixels - 1) / w) + 1;
                const ConvArgs pc = PartialConvArgs(block, shape, image, h, w, partial_tile, row_begin, row_end);
                const int64_t tile_offset = (first - int64_t{row_begin} * w) * cp;
                const GemmArgs expand = ExpandArgs(block, shape, activation, pixels, partial_tile + tile_offset,
                                                   image + first * dim, hidden_tile);
                const GemmArgs project =
                    ProjectArgs(block, shape, pixels, hidden_tile, image + first * dim, out_image + first * dim);
                if (bf16_activations) {
                    // PConv's rows and the hidden tile as bf16, in the first halves of the fp32 tiles.
                    bf16* partial = reinterpret_cast<bf16*>(partial_tile);
                    bf16* hidden = reinterpret_cast<bf16*>(hidden_tile);
                    Profiler::Run(timer, 0, [&] {
                        RunConv(block.partial_conv, pc, 0, partial - int64_t{row_begin} * w * cp);
                    });
                    Profiler::Run(timer, 1, [&] { RunLinear(block.expand, expand, {partial + tile_offset, hidden}); });
                    Profiler::Run(timer, 2, [&] { RunLinear(block.project, project, {hidden, nullptr}); });
                    continue;
                }
                Profiler::Run(timer, 0, [&] { RunConv(block.partial_conv, pc); });
                Profiler::Run(timer, 1, [&] { RunLinear(block.expand, expand); });
                Profiler::Run(timer, 2, [&] { RunLinear(block.project, project); });
            }
        });
    }});
}

// One block layer by layer, every thread on its share of each layer's output
// channels: PConv -> barrier -> PW1 + BN + act -> barrier -> PW2 + residual. The
// hidden tensor of these few pixels is small enough to share through the caches.
void Model::AddSplitBlockStep(Plan& plan, size_t stage, size_t block_index, int h, int w, int current) const {
    const PackedBlock& block = stages_[stage].blocks[block_index];
    const StageShape& shape = stages_[stage].shape;
    const Activation activation = architecture_.activation();
    const bool bf16_activations = bf16_block_activations_;
    plan.steps.push_back({FASTERNET_LAYER_PARTIAL_CONV, true, 0,
                          [=, &plan, &block, &shape](const StepContext& context, int thread, int threads,
                                                     Profiler* timer) {
        const int64_t image_size = int64_t{h} * w;
        const float* x = plan.Activation(context, current);
        float* y = plan.Activation(context, 1 - current);
        float* partial = context.base + plan.shared_partial;
        float* hidden = context.base + plan.shared_hidden;
        // bf16 models: both shared tensors as bf16, in the first halves of their fp32 space.
        bf16* partial_bf16 = bf16_activations ? reinterpret_cast<bf16*>(partial) : nullptr;
        bf16* hidden_bf16 = bf16_activations ? reinterpret_cast<bf16*>(hidden) : nullptr;
        Profiler::Run(timer, 0, [&] {
            for (int n = 0; n < plan.batch; ++n) {
                const int64_t offset = n * image_size * shape.partial_dim;
                RunConvColumnShare(block.partial_conv,
                                   PartialConvArgs(block, shape, x + n * image_size * shape.dim, h, w,
                                                   partial + offset, 0, h),
                                   thread, threads, bf16_activations ? partial_bf16 + offset : nullptr);
            }
        });
#pragma omp barrier
        const int64_t pixels = plan.batch * image_size;
        const GemmArgs expand = ExpandArgs(block, shape, activation, pixels, partial, x, hidden);
        Profiler::Run(timer, 1, [&] {
            RunLinearColumnShare(block.expand, expand, thread, threads, {partial_bf16, hidden_bf16});
        });
#pragma omp barrier
        const GemmArgs project = ProjectArgs(block, shape, pixels, hidden, x, y);
        Profiler::Run(timer, 2, [&] {
            RunLinearColumnShare(block.project, project, thread, threads, {hidden_bf16, nullptr});
        });
    }});
}

// Backbone mode: the stage's output norm, then NHWC -> NCHW into the caller's buffer.
void Model::AddBackboneNormStep(Plan& plan, size_t stage, int h, int w, int current) const {
    plan.steps.push_back({FASTERNET_LAYER_BACKBONE_NORM, false, 0,
                          [=, &plan](const StepContext& context, int thread, int threads, Profiler*) {
        const PackedStage& st = stages_[stage];
        const int dim = st.shape.dim;
        const float* x = plan.Activation(context, current);
        float* row = plan.ThreadTile(context, thread) + plan.partial_tile_size;
        ForEachRowRange(plan.batch, h, thread, threads, [&](int n, int r0, int r1) {
            float* out = context.outputs[stage] + static_cast<int64_t>(n) * dim * h * w;
            for (int yy = r0; yy < r1; ++yy) {
                AffineArgs a;
                a.input = x + ((static_cast<int64_t>(n) * h + yy) * w) * dim;
                a.pixels = w;
                a.channels = dim;
                a.scale = st.norm_scale.data();
                a.shift = st.norm_shift.data();
                a.output = row;
                kernels_->channel_affine(a);
                for (int c = 0; c < dim; ++c) {
                    float* plane_row = out + (static_cast<int64_t>(c) * h + yy) * w;
                    for (int xx = 0; xx < w; ++xx) plane_row[xx] = row[static_cast<int64_t>(xx) * dim + c];
                }
            }
        });
    }});
}

// Head: average pool -> 1x1 conv + act -> linear.
void Model::AddHeadStep(Plan& plan, int h, int w, int current) const {
    plan.steps.push_back({FASTERNET_LAYER_HEAD, false, 0,
                          [=, &plan](const StepContext& context, int thread, int threads, Profiler*) {
        const fasternet_model_config& config = architecture_.config();
        const int last = architecture_.last_dim(), batch = plan.batch;
        float* pooled = context.base + plan.pooled;
        float* features = context.base + plan.features;
        int64_t begin, end;
        Share(batch, thread, threads, begin, end);
        for (int64_t n = begin; n < end; ++n) {
            PoolArgs a;
            a.input = plan.Activation(context, current) + n * h * w * last;
            a.pixels = int64_t{h} * w;
            a.channels = last;
            a.output = pooled + n * last;
            kernels_->global_average_pool(a);
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
        RunGemmShare(pre, nullptr, thread, threads);
#pragma omp barrier
        GemmArgs fc;
        fc.m = batch;
        fc.k = config.feature_dim;
        fc.n = config.num_classes;
        fc.a = features;
        fc.lda = config.feature_dim;
        fc.packed_b = head_.weights.data();
        fc.bias = head_.bias.data();
        fc.c = context.outputs[0];
        fc.ldc = config.num_classes;
        RunGemmShare(fc, nullptr, thread, threads);
    }});
}

// Walks the plan's steps, every thread through every step, a barrier after each.
// Cancellation is one check between steps: thread 0 samples cancel_flag just before
// a step's barrier and records that step's index; after the barrier every thread
// stops if a step at or before its own was recorded. An index, not a bool: thread 0
// running ahead and recording a later step never makes a slower thread leave an
// earlier barrier (a deadlock). Returns false when the run stopped early.
bool Model::Forward(const Plan& plan, Scratch& scratch, const float* const* images, float* const* outputs,
                    Profiler* profiler, const volatile int32_t* cancel_flag) const {
    const StepContext context{scratch.buffer.data(), images, outputs};
    constexpr size_t kNotCancelled = std::numeric_limits<size_t>::max();
    std::atomic<size_t> cancelled_at{kNotCancelled};
    const auto walk = [&](int thread, int threads) {
        Profiler* const timer = thread == 0 ? profiler : nullptr;
        for (size_t i = 0; i < plan.steps.size(); ++i) {
            const PlanStep& step = plan.steps[i];
            step.run(context, thread, threads, timer);
            const bool last = i + 1 == plan.steps.size();
            if (last && !profiler) break;  // the parallel region ends with a barrier of its own
            if (!last && cancel_flag && thread == 0 && *cancel_flag != 0 &&
                cancelled_at.load(std::memory_order_relaxed) == kNotCancelled) {
                cancelled_at.store(i, std::memory_order_relaxed);
            }
#pragma omp barrier
            if (cancelled_at.load(std::memory_order_relaxed) <= i) return;
            if (timer) step.fused_block ? timer->MarkBlock(step.first_layer) : timer->Mark(step.first_layer);
        }
    };
    if (num_threads_ <= 1) {
        walk(0, 1);
    } else {
#pragma omp parallel num_threads(num_threads_)
        walk(omp_get_thread_num(), omp_get_num_threads());
    }
    return cancelled_at.load() == kNotCancelled;
}

}  // namespace fasternet
