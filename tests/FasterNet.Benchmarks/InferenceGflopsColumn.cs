using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace FasterNet.Benchmarks;

/// <summary>Adds <see cref="InferenceGflopsColumn"/> to a benchmark class.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class InferenceGflopsColumnAttribute : Attribute, IConfigSource
{
    public IConfig Config { get; } = ManualConfig.CreateEmpty().AddColumn(new InferenceGflopsColumn());
}

/// <summary>
/// Achieved GFLOP/s: 2 x the variant's MACs at 224x224 x batch / median time. FLOPS, not FLOPs,
/// is the paper's point: this column says how well each runtime uses the CPU.
/// </summary>
public sealed class InferenceGflopsColumn : IColumn
{
    public string Id => nameof(InferenceGflopsColumn);
    public string ColumnName => "GFLOP/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "2 x MACs x batch / median time, in 10^9 flops per second";

    public bool IsAvailable(Summary summary) => true;
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
        GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var statistics = summary[benchmarkCase]?.ResultStatistics;
        if (statistics is null || benchmarkCase.Parameters["Variant"] is not string variant ||
            benchmarkCase.Parameters["Batch"] is not int batch)
            return "-";
        double seconds = statistics.Median / 1e9;
        long macs = ModelSpec.FromName(variant).Macs(InferenceBenchmarks.Size, InferenceBenchmarks.Size);
        return (2.0 * macs * batch / seconds / 1e9).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
    }
}
