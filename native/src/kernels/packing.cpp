// Weight packing into 16-column panels (the layout every kernel set reads).
#include "kernels/kernels.h"

namespace fasternet {

void PackPanels(const float* weight, int k, int n, float* packed) {
    const int panels = (n + kPanelWidth - 1) / kPanelWidth;
    for (int p = 0; p < panels; ++p) {
        float* panel = packed + static_cast<size_t>(p) * k * kPanelWidth;
        for (int kk = 0; kk < k; ++kk) {
            for (int j = 0; j < kPanelWidth; ++j) {
                const int col = p * kPanelWidth + j;
                panel[static_cast<size_t>(kk) * kPanelWidth + j] =
                    col < n ? weight[static_cast<size_t>(col) * k + kk] : 0.0f;
            }
        }
    }
}

}  // namespace fasternet
