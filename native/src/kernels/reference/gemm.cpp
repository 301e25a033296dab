// Reference GEMM over packed panels, one output at a time, fp32 sum in K order:
// the oracle for every fast GEMM.
#include "kernels/reference/reference.h"

namespace fasternet::reference {

void Gemm(const GemmArgs& args) {
    for (int64_t i = 0; i < args.m; ++i) {
        const float* a_row = args.a + i * args.lda;
        const float* a2_row = args.a2 ? args.a2 + i * args.lda2 : nullptr;
        for (int j = 0; j < args.n; ++j) {
            const float* panel = args.packed_b + static_cast<size_t>(j / kPanelWidth) * args.k * kPanelWidth;
            const int lane = j % kPanelWidth;
            float sum = args.bias ? args.bias[j] : 0.0f;
            for (int kk = 0; kk < args.k; ++kk) {
                const float a = (a2_row && kk >= args.k_split) ? a2_row[kk - args.k_split] : a_row[kk];
                sum += a * panel[static_cast<size_t>(kk) * kPanelWidth + lane];
            }
            float value = ApplyActivation(sum, args.activation);
            if (args.residual) value += args.residual[i * args.ldr + j];
            args.c[i * args.ldc + j] = value;
        }
    }
}

}  // namespace fasternet::reference
