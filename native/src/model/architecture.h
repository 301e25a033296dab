// A validated FasterNet configuration and everything derived from it:
// per-stage channel counts, the state_dict tensors it expects, output sizes
// for an input size, and its cost.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fasternet.h"
#include "kernels/kernels.h"

namespace fasternet {

constexpr float kBatchNormEpsilon = 1e-5f;

struct StageShape {
    int dim = 0;          // channels
    int partial_dim = 0;  // channels PConv convolves (dim / n_div)
    int hidden_dim = 0;   // PW1's output channels (dim * mlp_ratio)
    int depth = 0;
};

struct ExpectedTensor {
    std::string name;
    std::vector<int64_t> shape;
};

// One row of the layer table (fasternet_layer_info): what the plan runs as one profile
// row, its shapes and cost for one image, and the state_dict tensors it owns.
struct Layer {
    std::string name;
    fasternet_layer_kind kind = FASTERNET_LAYER_INPUT;
    int stage = 0;
    int kernel = 0, stride = 1;
    int in_c = 0, in_h = 0, in_w = 0;
    int out_c = 0, out_h = 0, out_w = 0;
    int64_t macs = 0;
    int64_t parameters = 0;
    int64_t activation_bytes = 0;  // activations read and written, one image, in the table's precision
    int64_t weight_bytes = 0;      // its weights in the table's precision
    std::vector<ExpectedTensor> tensors;
};

// Feature map height and width after each part of the network.
struct MapSizes {
    int embed_h = 0, embed_w = 0;
    std::vector<int> stage_h, stage_w;
};

class Architecture {
public:
    // Validates the configuration; throws Error naming the bad field.
    explicit Architecture(const fasternet_model_config& config);

    const fasternet_model_config& config() const { return config_; }
    const std::vector<StageShape>& stages() const { return stages_; }
    bool backbone() const { return config_.backbone != 0; }
    Activation activation() const { return static_cast<Activation>(config_.activation); }
    int last_dim() const { return stages_.back().dim; }

    // The network's layers at an input of height x width, in execution order: the one
    // derivation of names, shapes, costs and tensors that everything else reads. Bytes
    // count each tensor at the element size it has in `precision` (see fasternet.h).
    std::vector<Layer> Layers(int height, int width,
                              fasternet_precision precision = FASTERNET_PRECISION_FLOAT32) const;
    // The same rows at 1x1 maps everywhere, for what does not depend on the input size:
    // names, kinds, tensors, parameters, weight bytes.
    std::vector<Layer> LayersWithoutSizes(fasternet_precision precision = FASTERNET_PRECISION_FLOAT32) const;

    // Every tensor a state_dict must contain, in model order (no num_batches_tracked).
    std::vector<ExpectedTensor> ExpectedTensors() const;

    // Map sizes for an input; throws Error when the input is too small.
    MapSizes MapSizesFor(int height, int width) const;

    // The smallest square input that leaves every stage a map of at least 1x1.
    int64_t MinimumInputSize() const;

    // Multiply-accumulates of one image; parameters of the convs and linears
    // (batch norms excluded: inference folds them away), as the paper counts.
    int64_t Macs(int height, int width) const;
    int64_t Parameters() const;

private:
    std::vector<Layer> LayersFor(const MapSizes& sizes, int height, int width, fasternet_precision precision) const;

    fasternet_model_config config_;
    std::vector<StageShape> stages_;
};

// Official state_dict names.
std::string BlockPrefix(int stage, int block);  // "stages.<2*stage>.blocks.<block>."
std::string MergePrefix(int stage);             // "stages.<2*stage-1>."
std::string BackboneNormPrefix(int stage);      // "norm<2*stage>."

}  // namespace fasternet
