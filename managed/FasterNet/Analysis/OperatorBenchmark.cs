using FasterNet.Interop;
using FasterNet.Native;

namespace FasterNet.Analysis;

/// <summary>One operator timed on one feature map: <see cref="Layers"/> stacked layers per run.</summary>
public sealed record OperatorResult(
    OperatorKind Operator, FeatureMapSize Size, int Batch, int Layers, OperatorCost Cost,
    IReadOnlyList<double> Seconds)
{
    /// <summary>Median wall time of one run of the stacked layers.</summary>
    public double MedianSeconds { get; } = Statistics.Median(Seconds);

    /// <summary>Multiply-adds of one run: per-layer FLOPs x layers x batch.</summary>
    public long RunFlops => Cost.Flops * Layers * Batch;

    /// <summary>Achieved throughput in GFLOPS counting multiply-adds (the paper's Table 1 unit).</summary>
    public double Gflops => RunFlops / MedianSeconds / 1e9;
}

/// <summary>
/// The paper's Table 1 on this machine: each operator stacked <see cref="Layers"/> deep on
/// random data, timed by the native runtime with the chosen kernel set, median over
/// <see cref="Iterations"/> runs after <see cref="Warmup"/> untimed ones. Defaults follow the
/// paper: 10 layers, batch 1, one thread, 16 groups, n_div 4.
/// </summary>
public sealed unsafe class OperatorBenchmark
{
    public int Threads { get; init; } = 1;
    public int Iterations { get; init; } = 20;
    public int Warmup { get; init; } = 3;
    public int Layers { get; init; } = 10;
    public int Batch { get; init; } = 1;
    public int Groups { get; init; } = 16;
    public int NDiv { get; init; } = 4;
    public KernelSet KernelSet { get; init; } = KernelSet.Auto;

    /// <summary>The operators of Table 1 plus PConv + PWConv, in the paper's order.</summary>
    public static IReadOnlyList<OperatorKind> Operators { get; } = Enum.GetValues<OperatorKind>();

    /// <summary>Times one operator on one feature map.</summary>
    /// <exception cref="InvalidModelInputException">A field is out of range (the message names it).</exception>
    /// <exception cref="NotSupportedByRuntimeException">The kernel set cannot run here.</exception>
    public OperatorResult Run(OperatorKind kind, FeatureMapSize size)
    {
        OperatorCost cost = Check(kind, size);
        var request = new Interop.OperatorBenchmark
        {
            Op = (Operator)(int)kind,
            Channels = size.Channels,
            Height = size.Height,
            Width = size.Width,
            Batch = Batch,
            Layers = Layers,
            Groups = Groups,
            NDiv = NDiv,
            Threads = Threads,
            Warmup = Warmup,
            KernelSet = (Interop.KernelSet)(int)KernelSet,
        };
        var seconds = new double[Iterations];
        fixed (double* times = seconds)
        {
            NativeModel.ThrowIfFailed(NativeMethods.BenchmarkOperator(&request, Iterations, times),
                $"{kind.PaperName()} {size}");
        }
        return new OperatorResult(kind, size, Batch, Layers, cost, seconds);
    }

    // The settings' checks that need no native call, and the case's cost.
    private OperatorCost Check(OperatorKind kind, FeatureMapSize size)
    {
        if (Iterations < 1)
            throw new InvalidModelInputException($"operator benchmark: iterations must be at least 1, got {Iterations}");
        if (KernelSet != KernelSet.Auto && !Runtime.IsSupported(KernelSet))
        {
            throw new NotSupportedByRuntimeException(
                $"operator benchmark: kernel set '{KernelSet.ToString().ToLowerInvariant()}' is not supported by this CPU or build");
        }
        try
        {
            return OperatorCost.For(kind, size, Groups, NDiv);
        }
        catch (ArgumentException e)
        {
            throw new InvalidModelInputException($"operator benchmark: {kind.PaperName()} {size}: {e.Message}");
        }
    }

    /// <summary>
    /// Every operator on every size (default: the paper's four maps), operator by operator;
    /// <paramref name="progress"/> hears of each result as it is done.
    /// </summary>
    public OperatorReport RunAll(IEnumerable<FeatureMapSize>? sizes = null, IProgress<OperatorResult>? progress = null)
    {
        var list = (sizes ?? FeatureMapSize.Paper).ToList();
        foreach (OperatorKind kind in Operators)
        {
            foreach (FeatureMapSize size in list)
                Check(kind, size);  // every case is valid before the first one runs
        }
        var results = new List<OperatorResult>();
        foreach (OperatorKind kind in Operators)
        {
            foreach (FeatureMapSize size in list)
            {
                OperatorResult result = Run(kind, size);
                results.Add(result);
                progress?.Report(result);
            }
        }
        return new OperatorReport(this, results);
    }
}
