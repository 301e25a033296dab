// Kernel interface shared by every instruction set.
//
// Activations are NHWC float32 inside the runtime: a pixel's channels are
// contiguous, so pointwise convs are plain GEMMs and PConv's untouched
// channels can be read in place. Every kernel is single-threaded; the plan
// splits work (rows, pixels, output-channel panels) across threads.
//
// Weights are packed once into 16-column panels: for a K x N weight matrix
// (K inputs, N outputs) panel p holds columns [16p, 16p+16) as K rows of 16
// floats, zero-padded past N. AVX-512 reads one register per row, AVX2 two,
// NEON four; a bf16 set would pack the same panels with K pairs interleaved.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fasternet {

constexpr int kPanelWidth = 16;

enum class Activation : int32_t { None = 0, Relu = 1, Gelu = 2 };

// Floats needed for a packed K x N matrix.
inline size_t PackedPanelsSize(int k, int n) {
    return static_cast<size_t>((n + kPanelWidth - 1) / kPanelWidth) * kPanelWidth * static_cast<size_t>(k);
}

// Packs weight[n][k] (PyTorch's out x in order, row stride k) into panels.
void PackPanels(const float* weight, int k, int n, float* packed);

// C[m x n] = act(A[m x k] * B + bias) + residual.
// A's columns [0, k_split) come from `a` and [k_split, k) from `a2` (column
// k_split is a2[0]); that lets a pointwise conv read PConv's output and the
// untouched channels in place. With a2 == nullptr, k_split is ignored.
struct GemmArgs {
    int64_t m = 0;
    int k = 0;
    int n = 0;
    const float* a = nullptr;
    int64_t lda = 0;
    const float* a2 = nullptr;
    int64_t lda2 = 0;
    int k_split = 0;
    const float* packed_b = nullptr;  // PackedPanelsSize(k, n) floats
    const float* bias = nullptr;      // n floats or nullptr
    Activation activation = Activation::None;
    const float* residual = nullptr;  // m x n, row stride ldr, or nullptr; added after the activation
    int64_t ldr = 0;
    float* c = nullptr;
    int64_t ldc = 0;
};

// Dense conv, kernel x kernel, stride, zero padding, one NHWC image, output
// rows [row_begin, row_end). Weights are packed panels with K ordered
// (kh, kw, ci): K = kernel * kernel * in_c, N = out_c. Covers the patch
// embedding (4x4/s4), the merging conv (2x2/s2) and PConv (3x3/s1/p1 with
// in_pixel_stride = dim, in_c = dim / n_div).
struct ConvArgs {
    const float* input = nullptr;
    int64_t in_pixel_stride = 0;  // floats between neighbouring pixels (>= in_c)
    int in_h = 0, in_w = 0, in_c = 0;
    int kernel = 0, stride = 1, pad = 0;
    const float* packed_weights = nullptr;
    const float* bias = nullptr;  // out_c floats or nullptr
    Activation activation = Activation::None;
    float* output = nullptr;
    int64_t out_pixel_stride = 0;  // >= out_c
    int out_h = 0, out_w = 0, out_c = 0;
    int row_begin = 0, row_end = 0;
};

// Calls visit(tap, pixel) for each tap of output pixel (oy, ox)'s window that lies inside
// the image, in K order (tap = ky * kernel + kx; pixel: that input pixel's first channel).
// Taps in the zero padding are skipped: they add nothing. The reference convs and
// the AMX convs' gather share this walk.
template <class Visit>
void ForEachWindowTap(const ConvArgs& args, int oy, int ox, Visit&& visit) {
    for (int ky = 0; ky < args.kernel; ++ky) {
        const int iy = oy * args.stride - args.pad + ky;
        if (iy < 0 || iy >= args.in_h) continue;
        for (int kx = 0; kx < args.kernel; ++kx) {
            const int ix = ox * args.stride - args.pad + kx;
            if (ix < 0 || ix >= args.in_w) continue;
            visit(ky * args.kernel + kx,
                  args.input + (static_cast<int64_t>(iy) * args.in_w + ix) * args.in_pixel_stride);
        }
    }
}

// Mean over `pixels` NHWC pixels of `channels` channels (pixel stride = channels).
struct PoolArgs {
    const float* input = nullptr;
    int64_t pixels = 0;
    int channels = 0;
    float* output = nullptr;  // channels floats
};

// output[p][c] = input[p][c] * scale[c] + shift[c]: an inference batch norm.
struct AffineArgs {
    const float* input = nullptr;
    int64_t pixels = 0;
    int channels = 0;
    const float* scale = nullptr;
    const float* shift = nullptr;
    float* output = nullptr;
};

// Depthwise 3x3 conv, stride 1, pad 1, one NHWC image, output rows
// [row_begin, row_end): out[y][x][c] = bias[c] + sum_ky,kx in[y+ky-1][x+kx-1][c] * w[ky][kx][c].
// Weights are [3][3][channels] (channels contiguous, unpadded). Used by the
// operator benchmarks (the paper's DWConv), not by FasterNet itself.
struct DepthwiseConvArgs {
    const float* input = nullptr;
    int h = 0, w = 0, channels = 0;  // pixel stride = channels for input and output
    const float* weights = nullptr;
    const float* bias = nullptr;  // channels floats or nullptr
    float* output = nullptr;
    int row_begin = 0, row_end = 0;
};

struct KernelSet {
    const char* name;
    void (*gemm)(const GemmArgs&);
    void (*conv)(const ConvArgs&);
    void (*global_average_pool)(const PoolArgs&);
    void (*channel_affine)(const AffineArgs&);
    void (*depthwise_conv)(const DepthwiseConvArgs&);
    // For `fasternet info --cpu` and the K chunk: the register tiles in words, and how many
    // 16-column panels the main GEMM tile spans (0: scalar, no tiles).
    const char* register_tiles = "";
    int gemm_tile_panels = 0;
};

// Every set the build contains; a set whose CPU support is missing returns nullptr.
const KernelSet* ReferenceKernels();
const KernelSet* Avx2Kernels();
const KernelSet* Avx512Kernels();
const KernelSet* NeonKernels();

// Scalar activation helpers, the definition every kernel set must match.
float ApplyActivation(float x, Activation activation);

}  // namespace fasternet
