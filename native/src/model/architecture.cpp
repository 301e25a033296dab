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

std::vector<ExpectedTensor> Architecture::ExpectedTensors() const {
    std::vector<ExpectedTensor> out;
    const int ps = config_.patch_size;
    out.push_back({"patch_embed.proj.weight", {config_.embed_dim, config_.in_channels, ps, ps}});
    AddBatchNorm(out, "patch_embed.norm.", config_.embed_dim);
    for (int s = 0; s < static_cast<int>(stages_.size()); ++s) {
        const StageShape& st = stages_[s];
        if (s > 0) {
            const int ps2 = config_.patch_size2;
            out.push_back({MergePrefix(s) + "reduction.weight", {st.dim, st.dim / 2, ps2, ps2}});
            AddBatchNorm(out, MergePrefix(s) + "norm.", st.dim);
        }
        for (int b = 0; b < st.depth; ++b) {
            const std::string p = BlockPrefix(s, b);
            out.push_back({p + "spatial_mixing.partial_conv3.weight", {st.partial_dim, st.partial_dim, 3, 3}});
            out.push_back({p + "mlp.0.weight", {st.hidden_dim, st.dim, 1, 1}});
            AddBatchNorm(out, p + "mlp.1.", st.hidden_dim);
            out.push_back({p + "mlp.3.weight", {st.dim, st.hidden_dim, 1, 1}});
        }
        if (backbone()) AddBatchNorm(out, BackboneNormPrefix(s), st.dim);
    }
    if (!backbone()) {
        out.push_back({"avgpool_pre_head.1.weight", {config_.feature_dim, last_dim(), 1, 1}});
        out.push_back({"head.weight", {config_.num_classes, config_.feature_dim}});
        out.push_back({"head.bias", {config_.num_classes}});
    }
    return out;
}

MapSizes Architecture::MapSizesFor(int height, int width) const {
    if (height < 1 || width < 1) {
        Fail(FASTERNET_INVALID_ARGUMENT, "input height and width must be positive, got ", height, "x", width);
    }
    // The smallest input that leaves every stage a map of at least 1x1.
    int64_t minimum = 1;
    for (size_t s = stages_.size() - 1; s >= 1; --s) minimum = config_.patch_size2 + (minimum - 1) * config_.patch_stride2;
    minimum = config_.patch_size + (minimum - 1) * config_.patch_stride;

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
    const MapSizes sizes = MapSizesFor(height, width);
    const int64_t ps = config_.patch_size, ps2 = config_.patch_size2;
    int64_t macs = int64_t{sizes.embed_h} * sizes.embed_w * config_.embed_dim * config_.in_channels * ps * ps;
    for (size_t s = 0; s < stages_.size(); ++s) {
        const StageShape& st = stages_[s];
        const int64_t pixels = int64_t{sizes.stage_h[s]} * sizes.stage_w[s];
        if (s > 0) macs += pixels * st.dim * (st.dim / 2) * ps2 * ps2;
        const int64_t block = pixels * (9LL * st.partial_dim * st.partial_dim + 2LL * st.dim * st.hidden_dim);
        macs += block * st.depth;
    }
    if (!backbone()) macs += int64_t{last_dim()} * config_.feature_dim + int64_t{config_.feature_dim} * config_.num_classes;
    return macs;
}

int64_t Architecture::Parameters() const {
    // Conv and linear weights and the classifier bias: what the paper's table
    // counts. Batch norms are left out; inference folds them into the convs.
    int64_t params = 0;
    for (const ExpectedTensor& t : ExpectedTensors()) {
        if (t.shape.size() == 1 && t.name != "head.bias") continue;
        int64_t count = 1;
        for (int64_t d : t.shape) count *= d;
        params += count;
    }
    return params;
}

}  // namespace fasternet
