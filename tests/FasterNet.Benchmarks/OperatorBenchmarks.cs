using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using FasterNet.Analysis;

namespace FasterNet.Benchmarks;

/// <summary>
/// The paper's Table 1 under BenchmarkDotNet: each operator 10 layers deep on each of
/// FasterNet's four feature maps, batch 1, one thread, the best kernel set. One invocation is
/// one native run of the stacked layers; the native side keeps the request's buffers and
/// weights between identical calls, so the setup is paid in <see cref="Setup"/> only.
/// The GFLOPS column counts multiply-adds over the median time, like the paper.
/// </summary>
[Config(typeof(Config))]
public class OperatorBenchmarks
{
    private const int Layers = 10;

    private OperatorBenchmark _benchmark = null!;

    [ParamsAllValues]
    public OperatorKind Operator { get; set; }

    [ParamsSource(nameof(Sizes))]
    public FeatureMapSize Size { get; set; }

    public static IEnumerable<FeatureMapSize> Sizes => FeatureMapSize.Paper;

    [GlobalSetup]
    public void Setup()
    {
        _benchmark = new OperatorBenchmark { Threads = 1, Iterations = 1, Warmup = 0, Layers = Layers };
        _benchmark.Run(Operator, Size);  // builds the buffers and weights the timed calls reuse
    }

    [Benchmark(Description = "10 stacked layers")]
    public double StackedLayers() => _benchmark.Run(Operator, Size).MedianSeconds;

    private sealed class Config : ManualConfig
    {
        public Config() => AddColumn(new GflopsColumn());
    }

    /// <summary>Multiply-adds of the 10 layers over the median time, in G per second.</summary>
    private sealed class GflopsColumn : IColumn
    {
        public string Id => nameof(GflopsColumn);
        public string ColumnName => "GFLOPS (MAC/s)";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => "Multiply-adds of the stacked layers per second (the paper's FLOPS), from the median";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
            GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            double? medianNanoseconds = summary[benchmarkCase]?.ResultStatistics?.Median;
            if (medianNanoseconds is not > 0)
                return "-";
            var kind = (OperatorKind)benchmarkCase.Parameters[nameof(Operator)];
            var size = (FeatureMapSize)benchmarkCase.Parameters[nameof(Size)];
            double flops = (double)OperatorCost.For(kind, size).Flops * Layers;
            return (flops / medianNanoseconds.Value).ToString("F2", CultureInfo.InvariantCulture);
        }

        public bool IsAvailable(Summary summary) => true;
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    }
}
