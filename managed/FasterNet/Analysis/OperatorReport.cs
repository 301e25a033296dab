using System.Text.Json;

namespace FasterNet.Analysis;

/// <summary>One operator's average over the feature maps, beside the paper's CPU figure.</summary>
public sealed record OperatorAverage(OperatorKind Operator, double MedianSeconds, double Gflops, double? PaperGflops);

/// <summary>
/// The results of <see cref="OperatorBenchmark.RunAll"/>: per-operator averages (mean
/// latency and mean GFLOPS over the feature maps, as the paper's "Average" rows) and the
/// PConv / DWConv and PConv / Conv FLOPS ratios beside the paper's.
/// </summary>
public sealed class OperatorReport
{
    public OperatorReport(OperatorBenchmark settings, IReadOnlyList<OperatorResult> results)
    {
        Settings = settings;
        Results = results;
        Averages = results.GroupBy(r => r.Operator)
            .Select(g => new OperatorAverage(g.Key, g.Average(r => r.MedianSeconds), g.Average(r => r.Gflops),
                PaperFigures.Table1CpuGflops.TryGetValue(g.Key, out double paper) ? paper : null))
            .ToList();
    }

    public OperatorBenchmark Settings { get; }
    public IReadOnlyList<OperatorResult> Results { get; }
    public IReadOnlyList<OperatorAverage> Averages { get; }

    /// <summary>Average GFLOPS of an operator, or null when it was not run.</summary>
    public double? AverageGflops(OperatorKind kind) => Averages.FirstOrDefault(a => a.Operator == kind)?.Gflops;

    /// <summary>PConv's average FLOPS over DWConv's (the paper's CPU: 39.91 / 6.42 = 6.2x).</summary>
    public double? PartialOverDepthwise => Ratio(OperatorKind.PartialConv, OperatorKind.DepthwiseConv);

    /// <summary>PConv's average FLOPS over Conv's (the paper's CPU: 39.91 / 71.89 = 0.56).</summary>
    public double? PartialOverConv => Ratio(OperatorKind.PartialConv, OperatorKind.Conv);

    private double? Ratio(OperatorKind numerator, OperatorKind denominator) =>
        AverageGflops(numerator) is double n && AverageGflops(denominator) is double d && d > 0 ? n / d : null;

    /// <summary>The report as JSON (snake_case keys; FLOPs and GFLOPS count multiply-adds).</summary>
    public string ToJson()
    {
        var document = new
        {
            unit = "FLOPs and GFLOPS count multiply-adds (as Table 1 of the paper); memory access counts fp32 elements",
            kernel_set = (Settings.KernelSet == KernelSet.Auto ? Runtime.ActiveKernelSet : Settings.KernelSet)
                .ToString().ToLowerInvariant(),
            threads = Settings.Threads,
            batch = Settings.Batch,
            layers = Settings.Layers,
            iterations = Settings.Iterations,
            warmup = Settings.Warmup,
            groups = Settings.Groups,
            n_div = Settings.NDiv,
            results = Results.Select(r => new
            {
                @operator = r.Operator.PaperName(),
                channels = r.Size.Channels,
                height = r.Size.Height,
                width = r.Size.Width,
                flops_per_layer = r.Cost.Flops,
                memory_access_per_layer = r.Cost.MemoryAccess,
                median_seconds = r.MedianSeconds,
                gflops = r.Gflops,
            }),
            averages = Averages.Select(a => new
            {
                @operator = a.Operator.PaperName(),
                median_seconds = a.MedianSeconds,
                gflops = a.Gflops,
                paper_cpu_gflops = a.PaperGflops,
            }),
            ratios = new
            {
                pconv_over_dwconv = PartialOverDepthwise,
                pconv_over_dwconv_paper = PaperFigures.PartialOverDepthwise,
                pconv_over_conv = PartialOverConv,
                pconv_over_conv_paper = PaperFigures.PartialOverConv,
            },
            paper_cpu = PaperFigures.Table1Cpu,
        };
        return JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true });
    }
}
