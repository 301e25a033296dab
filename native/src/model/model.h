// A ready-to-run FasterNet: batch norms folded, weights packed for one kernel
// set, and the executor that runs the whole network in one call.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/aligned_buffer.h"
#include "fasternet.h"
#include "kernels/bf16.h"
#include "kernels/kernels.h"
#include "model/architecture.h"
#include "model/scratch_pool.h"
#include "model/state_dict.h"

namespace fasternet {

// A convolution with batch norm folded in, weights in 16-wide panels.
struct PackedConv {
    int kernel = 0, stride = 1, pad = 0, in_c = 0, out_c = 0;
    AlignedBuffer weights;
    AlignedBuffer bias;  // empty when the conv has none
    AlignedBuffer bf16_weights;  // bf16 models: the same weights in the bf16 conv's pair panels (bf16.h), else empty

    const bf16* Bf16Weights() const { return reinterpret_cast<const bf16*>(bf16_weights.data()); }
};

// A pointwise conv / linear layer as a packed K x N GEMM operand.
struct PackedLinear {
    int k = 0, n = 0;
    AlignedBuffer weights;
    AlignedBuffer bias;  // empty when the layer has none
    AlignedBuffer bf16_weights;  // bf16 models: the same weights in bf16 pair panels (bf16.h), else empty

    const bf16* Bf16Weights() const { return reinterpret_cast<const bf16*>(bf16_weights.data()); }
};

struct PackedBlock {
    PackedConv partial_conv;  // 3x3 on the first partial_dim channels
    PackedLinear expand;      // PW1 + folded BN, activation in the epilogue
    PackedLinear project;     // PW2, residual in the epilogue
};

struct PackedStage {
    StageShape shape;
    PackedConv merge;  // stages after the first: 2x2/s2 conv + folded BN
    std::vector<PackedBlock> blocks;
    AlignedBuffer norm_scale, norm_shift;  // backbone mode: the stage's output norm
};

// bf16 models: a layer's A input and/or output kept in bf16 between two layers
// (Bf16GemmArgs::a_bf16 / c_bf16), already offset to the part a call runs.
struct Bf16Activations {
    const bf16* a = nullptr;
    bf16* c = nullptr;
};

struct Scratch;
class Profiler;

struct LayerTime {
    std::string name;
    double seconds = 0.0;
};

class Model {
public:
    // bf16_kernels: for a bf16 model, these kernels instead of the ones ChooseBf16Set picks (the native
    // tests run whole networks on the emulated AMX set this way); nullptr: dispatch chooses.
    Model(const Architecture& architecture, const std::map<std::string, TensorView>& state_dict,
          fasternet_kernel_set kernel_set, int num_threads,
          fasternet_precision precision = FASTERNET_PRECISION_FLOAT32, const Bf16KernelSet* bf16_kernels = nullptr);
    ~Model();

    const Architecture& architecture() const { return architecture_; }
    fasternet_kernel_set kernel_set() const { return kernel_set_; }
    int num_threads() const { return num_threads_; }
    fasternet_precision precision() const { return precision_; }
    const char* precision_kernels_name() const { return bf16_kernels_ ? bf16_kernels_->name : ""; }
    // Activation memory kept between runs (bounded, trimmable; see scratch_pool.h).
    ScratchPool& scratch_pool() const { return scratch_pool_; }
    int output_count() const { return architecture_.backbone() ? static_cast<int>(stages_.size()) : 1; }

    // NCHW shape of output `index` for an input of batch x height x width.
    std::vector<int64_t> OutputShape(int batch, int height, int width, int index) const;

    // Runs the network; outputs[i] must hold OutputShape(..., i) floats. A non-null cancel_flag is read
    // between blocks and stages; once non-zero the run stops there and fails with FASTERNET_CANCELLED.
    void Run(const float* input, int batch, int height, int width, float* const* outputs,
             const volatile int32_t* cancel_flag = nullptr) const;

    // Run with the batch's images in separate buffers: images[n] holds image n's in_channels x height x width
    // floats. A server batching requests passes each request's own buffer instead of copying them together.
    void RunImages(const float* const* images, int batch, int height, int width, float* const* outputs,
                   const volatile int32_t* cancel_flag = nullptr) const;

    // Runs once (outputs discarded) and reports each layer's wall time in execution order.
    void Profile(const float* input, int batch, int height, int width, std::vector<LayerTime>& layers) const;

private:
    struct Plan;
    struct StepContext;
    struct PlanStep;
    // The plan for one input geometry: built once, then shared by every caller of that shape.
    std::shared_ptr<const Plan> PlanFor(int batch, int height, int width) const;
    // The image pointers of a contiguous NCHW batch (batch >= 1).
    std::vector<const float*> ImagesOf(const float* input, int batch, int height, int width) const;
    std::shared_ptr<Plan> MakePlan(int batch, int height, int width) const;
    void AddInputSteps(Plan& plan) const;
    void AddMergeStep(Plan& plan, size_t stage, int h, int w, int current) const;
    void AddBlockStep(Plan& plan, size_t stage, size_t block, int h, int w, int current) const;
    void AddSplitBlockStep(Plan& plan, size_t stage, size_t block, int h, int w, int current) const;
    void AddBackboneNormStep(Plan& plan, size_t stage, int h, int w, int current) const;
    void AddHeadStep(Plan& plan, int h, int w, int current) const;
    void AssignLayers(Plan& plan) const;
    // Returns false when cancel_flag stopped the run early.
    bool Forward(const Plan& plan, Scratch& scratch, const float* const* images, float* const* outputs,
                 Profiler* profiler, const volatile int32_t* cancel_flag = nullptr) const;
    // A GEMM on fp32 panels (args.packed_b), or on the bf16 kernels when bf16_weights is given;
    // args cover columns [first_column, first_column + args.n) of the weights.
    void RunGemm(const GemmArgs& args, const bf16* bf16_weights, int first_column, Bf16Activations io = {}) const;
    void RunGemmColumnShare(const GemmArgs& args, const bf16* bf16_weights, int thread, int threads,
                            Bf16Activations io = {}) const;
    void RunGemmShare(const GemmArgs& args, const bf16* bf16_weights, int thread, int threads) const;
    // A layer on the bf16 kernels when it has bf16 weights.
    void RunLinear(const PackedLinear& layer, const GemmArgs& args, Bf16Activations io = {}) const;
    void RunLinearColumnShare(const PackedLinear& layer, const GemmArgs& args, int thread, int threads,
                              Bf16Activations io = {}) const;
    // Output channels [first_column, first_column + args.out_c) of `conv`, the same way
    // (into output_bf16 as bf16 when given).
    void RunConv(const PackedConv& conv, const ConvArgs& args, int first_column = 0, bf16* output_bf16 = nullptr) const;
    void RunConvColumnShare(const PackedConv& conv, const ConvArgs& args, int thread, int threads,
                            bf16* output_bf16 = nullptr) const;
    std::unique_ptr<Scratch> AcquireScratch(size_t floats) const;
    void ReleaseScratch(std::unique_ptr<Scratch> scratch) const;

    Architecture architecture_;
    fasternet_kernel_set kernel_set_;
    const KernelSet* kernels_;
    int num_threads_;
    fasternet_precision precision_;
    const Bf16KernelSet* bf16_kernels_ = nullptr;  // bf16 models: runs every layer that has bf16 weights
    // bf16 models: PConv's output and the hidden tensor (each read only by the next GEMM)
    // are stored as bf16, half the bytes; the residual stream stays fp32.
    bool bf16_block_activations_ = false;
    PackedConv embed_;
    std::vector<PackedStage> stages_;
    PackedLinear pre_head_;  // 1x1 conv to feature_dim, activation
    PackedLinear head_;      // linear to classes, bias

    // The last few input geometries' plans, most recently used first.
    static constexpr size_t kCachedPlans = 4;
    mutable std::mutex plan_mutex_;
    mutable std::vector<std::shared_ptr<const Plan>> plans_;

    mutable ScratchPool scratch_pool_;
};

}  // namespace fasternet
