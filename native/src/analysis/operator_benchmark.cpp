#include "analysis/analysis.h"
#include "common/error.h"

namespace fasternet {

void BenchmarkOperator(const fasternet_operator_benchmark&, int, double*) {
    Fail(FASTERNET_UNSUPPORTED, "operator benchmarks are not built yet");
}

}  // namespace fasternet
