// bfloat16 inference: rounding, weight packing and the bf16 GEMM kernel sets.
//
// Numerics (every bf16 set): weights and GEMM inputs rounded to bf16 (round to
// nearest even, NaN kept as a quiet NaN), products summed in fp32, bias,
// activation and residual in fp32, output fp32 (or, where the only reader is
// the next bf16 GEMM, rounded to bf16 there: the same values that reader would
// have rounded, in half the bytes). A K pair (2q, 2q+1) is added
// as VDPBF16PS does it: acc += a[2q+1] * b[2q+1], then acc += a[2q] * b[2q]
// (each product exact in fp32, each add rounded). The scalar reference set
// follows exactly that order, so the fast sets can be tested tightly.
//
// Packed layout (the VNNI pair layout VDPBF16PS and AMX tiles read): 16-column
// panels as for fp32; within a panel, K pairs: pair q is 32 bf16 values,
// column j's (k = 2q, 2q + 1) at [2j, 2j + 1]. K is padded to even with zeros,
// N to a panel multiple with zeros.
//
// Convs (PConv, the merges) are implicit GEMMs on the same panels: K runs over
// the taps (kh, kw) and, within a tap, over the input channels padded to even
// (Bf16TapChannels), so a K pair never straddles two taps; the padded channel
// is zero in both the weights and the activations. An out-of-image tap reads
// zeros: it is summed like any other (its products are zero).
#pragma once

#include <cstdint>
#include <cstring>

#include "fasternet.h"
#include "kernels/kernels.h"

namespace fasternet {

using bf16 = uint16_t;

// Round to nearest even; NaN stays NaN (quiet, sign kept); infinities stay.
inline bf16 FloatToBf16(float value) {
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<bf16>((bits >> 16) | 0x0040u);
    bits += 0x7FFFu + ((bits >> 16) & 1u);
    return static_cast<bf16>(bits >> 16);
}

inline float Bf16ToFloat(bf16 value) {
    const uint32_t bits = static_cast<uint32_t>(value) << 16;
    float result;
    std::memcpy(&result, &bits, sizeof result);
    return result;
}

inline float RoundToBf16(float value) { return Bf16ToFloat(FloatToBf16(value)); }

inline int Bf16PairCount(int k) { return (k + 1) / 2; }

// bf16 values in a packed K x N matrix.
inline size_t PackedBf16PanelsSize(int k, int n) {
    return static_cast<size_t>((n + kPanelWidth - 1) / kPanelWidth) * kPanelWidth * 2 *
           static_cast<size_t>(Bf16PairCount(k));
}

// bf16 values between a panel's first column and the next panel's.
inline int64_t Bf16PanelStride(int k) { return int64_t{Bf16PairCount(k)} * 2 * kPanelWidth; }

// Packs weight[n][k] (PyTorch's out x in order, fp32) into bf16 pair panels.
void PackBf16Panels(const float* weight, int k, int n, bf16* packed);

// A bf16 GEMM: GemmArgs with packed_b unused and the weights in packed_b.
//
// Activations may stay bf16 between two layers (half the bytes of fp32): a_bf16
// replaces gemm.a (columns [0, k_split), or all of K without a2), already rounded,
// row stride gemm.lda; c_bf16 replaces gemm.c: the fp32 result (bias, activation,
// residual) rounded to bf16 as FloatToBf16 does, row stride gemm.ldc. Rounding a
// layer's output where the next layer would round its input gives the same values.
struct Bf16GemmArgs {
    GemmArgs gemm;
    const bf16* packed_b = nullptr;  // PackedBf16PanelsSize(k, n) values
    const bf16* a_bf16 = nullptr;
    bf16* c_bf16 = nullptr;
};

// Input channels per tap in a bf16 conv's K: in_c rounded up to even.
inline int Bf16TapChannels(int in_c) { return (in_c + 1) / 2 * 2; }

// K of a bf16 conv: kernel * kernel taps of Bf16TapChannels(in_c).
inline int Bf16ConvDepth(int kernel, int in_c) { return kernel * kernel * Bf16TapChannels(in_c); }

// Packs a conv weight in the fp32 conv's order, [out][(kh * kernel + kw) * in_c + ci]
// (fp32), into bf16 pair panels of K = Bf16ConvDepth(kernel, in_c).
void PackBf16ConvPanels(const float* weight, int out_c, int in_c, int kernel, bf16* packed);

// A bf16 conv: ConvArgs with packed_weights unused and the weights in packed_weights.
// output_bf16, when given, replaces conv.output: the result rounded to bf16 (as c_bf16 above).
struct Bf16ConvArgs {
    ConvArgs conv;
    const bf16* packed_weights = nullptr;  // PackedBf16PanelsSize(Bf16ConvDepth(kernel, in_c), out_c) values
    bf16* output_bf16 = nullptr;
};

struct Bf16KernelSet {
    const char* name;
    void (*gemm)(const Bf16GemmArgs&);
    void (*conv)(const Bf16ConvArgs&);
};

// The bf16 sets. Which one runs: Bf16KernelsFor.
enum class Bf16Set { Reference, Avx512Bf16, Amx };

const Bf16KernelSet* ReferenceBf16Kernels();
const Bf16KernelSet* Avx512Bf16Kernels();  // nullptr where the build lacks it
const Bf16KernelSet* AmxBf16Kernels();     // nullptr where the build lacks it (x86_amx_bf16/)

// One round of register-only TDPBF16PS on the calling thread's tiles (the peak loop of
// `fasternet bench peak`); returns the flops done. Call only where ChooseBf16Set would pick
// AMX. nullptr where the build lacks the AMX set.
using AmxPeakRound = double (*)();
AmxPeakRound AmxBf16PeakRound();

// What decides the bf16 set: the CPU's features and whether the OS let this
// process use AMX tile data (arch_prctl on Linux).
struct Bf16Capabilities {
    bool avx512_bf16 = false;
    bool amx_bf16 = false;      // CPUID reports AMX-TILE and AMX-BF16
    bool amx_permitted = false;  // the OS granted XTILEDATA to this process
};

Bf16Capabilities DetectBf16Capabilities();

// The bf16 set for a model whose fp32 set is `fp32_set`: the reference set
// with the reference kernels, else the fastest fast set the capabilities allow
// (AMX only when both CPUID and the OS say yes). `requested` (the environment's
// FASTERNET_BF16_KERNELS: a Bf16SetName, or "auto"/empty/nullptr for the choice
// above) forces one set, still only where the capabilities allow it. False when
// there is none (`reason` says why).
bool ChooseBf16Set(fasternet_kernel_set fp32_set, const Bf16Capabilities& caps, Bf16Set* set, const char** reason,
                   const char* requested = nullptr);
bool ParseBf16SetName(const char* name, Bf16Set* set);

const Bf16KernelSet* Bf16KernelsFor(Bf16Set set);
const char* Bf16SetName(Bf16Set set);

}  // namespace fasternet
