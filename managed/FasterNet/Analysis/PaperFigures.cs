namespace FasterNet.Analysis;

/// <summary>
/// Published figures of the FasterNet paper ("Run, Don't Walk: Chasing Higher FLOPS for Faster
/// Neural Networks", CVPR 2023) that the analysis tools print beside this machine's.
/// </summary>
public static class PaperFigures
{
    /// <summary>The processor of Table 1's CPU columns (one thread).</summary>
    public const string Table1Cpu = "Intel i9-9900X, 1 thread";

    /// <summary>
    /// Table 1, CPU, average over the four feature maps, in GFLOPS counting multiply-adds.
    /// The paper has no PConv + PWConv row.
    /// </summary>
    public static IReadOnlyDictionary<OperatorKind, double> Table1CpuGflops { get; } = new Dictionary<OperatorKind, double>
    {
        [OperatorKind.Conv] = 71.89,
        [OperatorKind.GroupConv] = 25.93,
        [OperatorKind.DepthwiseConv] = 6.42,
        [OperatorKind.PartialConv] = 39.91,
    };

    /// <summary>ImageNet-1k top-1 accuracy (%) of the six variants (Table 3 / Figure 1).</summary>
    public static IReadOnlyDictionary<string, double> ImageNetTop1 { get; } = new Dictionary<string, double>
    {
        ["t0"] = 71.9,
        ["t1"] = 76.2,
        ["t2"] = 78.9,
        ["s"] = 81.3,
        ["m"] = 83.0,
        ["l"] = 83.5,
    };

    /// <summary>Table 1's PConv / DWConv FLOPS ratio on the CPU.</summary>
    public static double PartialOverDepthwise => Table1CpuGflops[OperatorKind.PartialConv] / Table1CpuGflops[OperatorKind.DepthwiseConv];

    /// <summary>Table 1's PConv / Conv FLOPS ratio on the CPU.</summary>
    public static double PartialOverConv => Table1CpuGflops[OperatorKind.PartialConv] / Table1CpuGflops[OperatorKind.Conv];
}
