#include "analysis/analysis.h"
#include "common/error.h"

namespace fasternet {

double MeasurePeakGflops(int, double) { Fail(FASTERNET_UNSUPPORTED, "peak measurement is not built yet"); }
double MeasureBandwidth(int, int64_t) { Fail(FASTERNET_UNSUPPORTED, "bandwidth measurement is not built yet"); }

}  // namespace fasternet
