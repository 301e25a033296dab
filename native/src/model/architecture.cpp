#include "model/architecture.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "common/error.h"

namespace fasternet {

namespace {

constexpr int kMaxChannels = 1 << 16;

int ConvOutputSize(int input, int kernel, int stride) { return input < kernel ? 0 : (input - kernel) / stride + 1; }

// value is printed as given: a float field stays a float (converting NaN or 1e30 to an integer is undefined).
template <typename Value>
void Require(bool condition, const char* field, Value value, const char* rule) {
    if (!condition) Fail(FASTERNET_INVALID_ARGUMENT, "invalid model config: ", field, " = ", value, " (", rule, ")");
}

void AddBatchNorm(std::vector<ExpectedTensor>& out, const std::string& prefix, int channels) {
    for (const char* part : {"weight", "bias", "running_mean", "running_var"}) {
        out.push_back({prefix + part, {channels}});
    }
}

}  // namespace

std::string BlockPrefix(int stage, int block) {
    return "stages." + std::to_string(2 * stage) + ".blocks." + std::to_string(block) + ".";
}
std::string MergePrefix(int stage) { return "stages." + std::to_string(2 * stage - 1) + "."; }
std::string BackboneNormPrefix(int stage) { return "norm" + std::to_string(2 * stage) + "."; }

Architecture::Architecture(const fasternet_model_config& config) : config_(config) {
    Require(config.in_channels >= 1 && config.in_channels <= 4096, "in_channels", config.in_channels, "1..4096");
    Require(config.embed_dim >= 1 && config.embed_dim <= kMaxChannels, "embed_dim", config.embed_dim,
            "1..65536");
    Require(config.num_stages >= 1 && config.num_stages <= FASTERNET_MAX_STAGES, "num_stages", config.num_stages,
            "1..8");
    Require(config.n_div >= 1, "n_div", config.n_div, ">= 1");
    Require(std::isfinite(config.mlp_ratio) && config.mlp_ratio > 0.0f && config.mlp_ratio <= 64.0f, "mlp_ratio",
            config.mlp_ratio, "a finite number in (0, 64]");
    Require(config.patch_size >= 1 && config.patch_size <= 64, "patch_size", config.patch_size, "1..64");
    Require(config.patch_stride >= 1 && config.patch_stride <= 64, "patch_stride", config.patch_stride, "1..64");
    if (config.num_stages > 1) {
        Require(config.patch_size2 >= 1 && config.patch_size2 <= 64, "patch_size2", config.patch_size2, "1..64");
        Require(config.patch_stride2 >= 1 && config.patch_stride2 <= 64, "patch_stride2", config.patch_stride2,
                "1..64");
    }
    // Read as the caller wrote it: C may pass any int, and loading an out-of-range value as the
    // C++ enum type is undefined (found by the model-create fuzzer under UBSan).
    int32_t raw_activation;
    std::memcpy(&raw_activation, &config.activation, sizeof raw_activation);
    Require(raw_activation == FASTERNET_ACTIVATION_RELU || raw_activation == FASTERNET_ACTIVATION_GELU, "activation",
            raw_activation, "relu (1) or gelu (2)");
    if (!config.backbone) {
        Require(config.num_classes >= 1 && config.num_classes <= (1 << 20), "num_classes", config.num_classes,
                "1..1048576");
        Require(config.feature_dim >= 1 && config.feature_dim <= kMaxChannels, "feature_dim", config.feature_dim,
                "1..65536");
    }
    int64_t dim = config.embed_dim;
    for (int s = 0; s < config.num_stages; ++s) {
        if (s > 0) dim *= 2;
        const std::string field = "depths[" + std::to_string(s) + "]";
        Require(config.depths[s] >= 1 && config.depths[s] <= 1024, field.c_str(), config.depths[s], "1..1024");
        Require(dim <= kMaxChannels, "embed_dim * 2^(num_stages-1)", dim, "<= 65536 channels");
        StageShape stage;
        stage.dim = static_cast<int>(dim);
        stage.partial_dim = stage.dim / config.n_div;
        stage.hidden_dim = static_cast<int>(static_cast<double>(stage.dim) * static_cast<double>(config.mlp_ratio));
        stage.depth = config.depths[s];
        if (stage.partial_dim < 1) {
            Fail(FASTERNET_INVALID_ARGUMENT, "invalid model config: stage ", s, " has ", stage.dim,
                 " channels, fewer than n_div = ", config.n_div, " (PConv would convolve no channel)");
        }
        Require(stage.hidden_dim >= 1, "dim * mlp_ratio", stage.hidden_dim, ">= 1");
        stages_.push_back(stage);
    }
}

std::vector<Layer> Architecture::Layers(int height, int width, fasternet_precision precision) const {
    return LayersFor(MapSizesFor(height, width), height, width, precision);
}

// Names, tensors and parameters do not depend on the input size: 1x1 maps everywhere.
std::vector<Layer> Architecture::LayersWithoutSizes(fasternet_precision precision) const {
    MapSizes ones;
    ones.embed_h = ones.embed_w = 1;
    ones.stage_h.assign(stages_.size(), 1);
    ones.stage_w.assign(stages_.size(), 1);
    return LayersFor(ones, 1, 1, precision);
}

std::vector<Layer> Architecture::LayersFor(const MapSizes& sizes, int height, int width,
                                           fasternet_precision precision) const {
    const fasternet_model_config& c = config_;
    // Element sizes as the plan stores them (model.cpp). The residual stream, the input, the
    // embedding and the head are fp32 in every precision; a bf16 model keeps the merges', PConvs'
    // and pointwise convs' weights as bf16 and writes PConv's output and the hidden tensor as bf16.
    const bool bf16 = precision == FASTERNET_PRECISION_BFLOAT16;
    constexpr int64_t kFloat = 4;
    const int64_t block_element = bf16 ? 2 : kFloat;  // PConv's output, the hidden tensor
    const int64_t gemm_weight_element = bf16 ? 2 : kFloat;  // merges, PConv, PW1, PW2
    std::vector<Layer> layers;
    // A layer reading in_c x in_h x in_w and writing out_c x out_h x out_w (one image).
    const auto add = [&](std::string name, fasternet_layer_kind kind, int stage, int in_c, int in_h, int in_w,
                         int out_c, int out_h, int out_w) -> Layer& {
        Layer layer;
        layer.name = std::move(name);
        layer.kind = kind;
        layer.stage = stage;
        layer.in_c = in_c, layer.in_h = in_h, layer.in_w = in_w;
        layer.out_c = out_c, layer.out_h = out_h, layer.out_w = out_w;
        layers.push_back(std::move(layer));
        return layers.back();
    };
    // A conv's weight: its parameters, and its multiply-accumulates over the output map.
    const auto add_weight = [](Layer& layer, std::string name, std::vector<int64_t> shape) {
        int64_t count = 1;
        for (int64_t d : shape) count *= d;
        layer.parameters += count;
        layer.macs += count * layer.out_h * layer.out_w;
        layer.tensors.push_back({std::move(name), std::move(shape)});
    };
    const auto add_batch_norm = [](Layer& layer, const std::string& prefix, int channels) {
        AddBatchNorm(layer.tensors, prefix, channels);
    };
    const auto plane = [](int c, int h, int w) { return int64_t{c} * h * w; };

    Layer& input = add("input", FASTERNET_LAYER_INPUT, 0, c.in_channels, height, width, c.in_channels, height, width);
    input.activation_bytes = 4 * 2 * plane(c.in_channels, height, width);

    Layer& embed = add("patch_embed", FASTERNET_LAYER_PATCH_EMBEDDING, 0, c.in_channels, height, width, c.embed_dim,
                       sizes.embed_h, sizes.embed_w);
    embed.kernel = c.patch_size;
    embed.stride = c.patch_stride;
    add_weight(embed, "patch_embed.proj.weight", {c.embed_dim, c.in_channels, c.patch_size, c.patch_size});
    add_batch_norm(embed, "patch_embed.norm.", c.embed_dim);
    embed.activation_bytes = 4 * (plane(c.in_channels, height, width) + plane(c.embed_dim, embed.out_h, embed.out_w));

    int h = sizes.embed_h, w = sizes.embed_w;
    for (int s = 0; s < static_cast<int>(stages_.size()); ++s) {
        const StageShape& st = stages_[s];
        if (s > 0) {
            const std::string prefix = MergePrefix(s);
            Layer& merge = add(prefix.substr(0, prefix.size() - 1), FASTERNET_LAYER_MERGING, s, st.dim / 2, h, w,
                               st.dim, sizes.stage_h[s], sizes.stage_w[s]);
            merge.kernel = c.patch_size2;
            merge.stride = c.patch_stride2;
            add_weight(merge, prefix + "reduction.weight", {st.dim, st.dim / 2, c.patch_size2, c.patch_size2});
            add_batch_norm(merge, prefix + "norm.", st.dim);
            merge.activation_bytes = 4 * (plane(st.dim / 2, h, w) + plane(st.dim, merge.out_h, merge.out_w));
            h = sizes.stage_h[s];
            w = sizes.stage_w[s];
        }
        const int64_t pixels = int64_t{h} * w;
        for (int b = 0; b < st.depth; ++b) {
            const std::string prefix = BlockPrefix(s, b);
            Layer& pconv = add(prefix + "pconv", FASTERNET_LAYER_PARTIAL_CONV, s, st.dim, h, w, st.dim, h, w);
            pconv.kernel = 3;
            add_weight(pconv, prefix + "spatial_mixing.partial_conv3.weight", {st.partial_dim, st.partial_dim, 3, 3});
            // PConv touches only its cp channels: the paper's h*w*2*cp memory accesses.
            pconv.activation_bytes = pixels * st.partial_dim * (kFloat + block_element);

            Layer& expand = add(prefix + "pw1", FASTERNET_LAYER_POINTWISE_EXPAND, s, st.dim, h, w, st.hidden_dim, h, w);
            expand.kernel = 1;
            add_weight(expand, prefix + "mlp.0.weight", {st.hidden_dim, st.dim, 1, 1});
            add_batch_norm(expand, prefix + "mlp.1.", st.hidden_dim);
            // PConv's cp channels, the untouched dim - cp in place, the hidden tensor out.
            expand.activation_bytes = pixels * (block_element * st.partial_dim +
                                                kFloat * (st.dim - st.partial_dim) + block_element * st.hidden_dim);

            Layer& project =
                add(prefix + "pw2", FASTERNET_LAYER_POINTWISE_PROJECT, s, st.hidden_dim, h, w, st.dim, h, w);
            project.kernel = 1;
            add_weight(project, prefix + "mlp.3.weight", {st.dim, st.hidden_dim, 1, 1});
            // The hidden tensor in; the residual read and the sum written in fp32.
            project.activation_bytes = pixels * (block_element * st.hidden_dim + kFloat * 2 * st.dim);
        }
        if (backbone()) {
            const std::string prefix = BackboneNormPrefix(s);
            Layer& norm = add(prefix.substr(0, prefix.size() - 1), FASTERNET_LAYER_BACKBONE_NORM, s, st.dim, h, w,
                              st.dim, h, w);
            add_batch_norm(norm, prefix, st.dim);
            norm.activation_bytes = 4 * pixels * 2 * st.dim;
        }
    }
    if (!backbone()) {
        const int last_stage = static_cast<int>(stages_.size()) - 1;
        Layer& head = add("head", FASTERNET_LAYER_HEAD, last_stage, last_dim(), h, w, c.num_classes, 1, 1);
        head.kernel = 1;
        add_weight(head, "avgpool_pre_head.1.weight", {c.feature_dim, last_dim(), 1, 1});
        add_weight(head, "head.weight", {c.num_classes, c.feature_dim});
        head.tensors.push_back({"head.bias", {c.num_classes}});
        head.parameters += c.num_classes;
        head.activation_bytes = 4 * plane(last_dim(), h, w);
    }
    for (Layer& layer : layers) {
        const bool bf16_weights = layer.kind == FASTERNET_LAYER_MERGING || layer.kind == FASTERNET_LAYER_PARTIAL_CONV ||
                                  layer.kind == FASTERNET_LAYER_POINTWISE_EXPAND ||
                                  layer.kind == FASTERNET_LAYER_POINTWISE_PROJECT;
        layer.weight_bytes = (bf16_weights ? gemm_weight_element : kFloat) * layer.parameters;
    }
    return layers;
}

std::vector<ExpectedTensor> Architecture::ExpectedTensors() const {
    std::vector<ExpectedTensor> out;
    for (Layer& layer : LayersWithoutSizes()) {
        for (ExpectedTensor& t : layer.tensors) out.push_back(std::move(t));
    }
    return out;
}

int64_t Architecture::MinimumInputSize() const {
    int64_t minimum = 1;
    for (size_t s = stages_.size() - 1; s >= 1; --s) minimum = config_.patch_size2 + (minimum - 1) * config_.patch_stride2;
    return config_.patch_size + (minimum - 1) * config_.patch_stride;
}

MapSizes Architecture::MapSizesFor(int height, int width) const {
    if (height < 1 || width < 1) {
        Fail(FASTERNET_INVALID_ARGUMENT, "input height and width must be positive, got ", height, "x", width);
    }
    const int64_t minimum = MinimumInputSize();
    MapSizes sizes;
    sizes.embed_h = ConvOutputSize(height, config_.patch_size, config_.patch_stride);
    sizes.embed_w = ConvOutputSize(width, config_.patch_size, config_.patch_stride);
    int h = sizes.embed_h, w = sizes.embed_w;
    for (size_t s = 0; s < stages_.size(); ++s) {
        if (s > 0) {
            h = ConvOutputSize(h, config_.patch_size2, config_.patch_stride2);
            w = ConvOutputSize(w, config_.patch_size2, config_.patch_stride2);
        }
        if (h < 1 || w < 1) {
            Fail(FASTERNET_INVALID_ARGUMENT, "input ", height, "x", width, " is too small for this network: stage ",
                 s + 1, " would get an empty feature map; the smallest input is ", minimum, "x", minimum);
        }
        sizes.stage_h.push_back(h);
        sizes.stage_w.push_back(w);
    }
    return sizes;
}

int64_t Architecture::Macs(int height, int width) const {
    int64_t macs = 0;
    for (const Layer& layer : Layers(height, width)) macs += layer.macs;
    return macs;
}

int64_t Architecture::Parameters() const {
    // Conv and linear weights and the classifier bias: what the paper's table
    // counts. Batch norms are left out; inference folds them into the convs.
    int64_t params = 0;
    for (const Layer& layer : LayersWithoutSizes()) params += layer.parameters;
    return params;
}

}  // namespace fasternet
