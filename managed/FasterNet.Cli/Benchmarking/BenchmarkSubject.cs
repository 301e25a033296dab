using System.Diagnostics;
using FasterNet.Onnx;

namespace FasterNet.Cli.Benchmarking;

/// <summary>How each case is timed.</summary>
/// <param name="MaxCaseSeconds">Caps a case's timed runs (at least <see cref="MinIterations"/>); 0 = no cap.</param>
internal sealed record BenchmarkSettings(int Iterations, int Warmup, int Size, double MaxCaseSeconds = 0)
{
    public const int MinIterations = 5;
}

/// <summary>One measured case: FasterNet, and ONNX Runtime beside it when asked.</summary>
internal sealed record CaseResult(
    string Model, string Weights, int Batch, int Threads, int Size, string KernelSet, long MacsPerImage,
    int Iterations, RunnerResult Ours, RunnerResult? Peer, double? MaxRelativeDifference, string Precision = "fp32",
    RunnerResult? Int8Peer = null, double? Int8MaxRelativeDifference = null)
{
    /// <summary>fp32 outputs further apart than this (relative to the largest ORT output) are a bug, not rounding.</summary>
    public const double Float32AgreementTolerance = 1e-4;

    /// <summary>
    /// bf16 against ORT's fp32: rounding inputs and weights to 8 significant bits moves logits by about 1e-2 of
    /// the largest (docs/performance.md); further apart than this is a bug.
    /// </summary>
    public const double BFloat16AgreementTolerance = 5e-2;

    public double AgreementTolerance => Precision == "bf16" ? BFloat16AgreementTolerance : Float32AgreementTolerance;

    /// <summary>ORT median / FasterNet median: above 1 means FasterNet is faster.</summary>
    public double? Ratio => Peer is null ? null : Peer.Latency.MedianMs / Ours.Latency.MedianMs;

    public bool Disagrees => MaxRelativeDifference is double d && (d > AgreementTolerance || double.IsNaN(d));

    /// <summary>ORT int8 median / FasterNet median.</summary>
    public double? Int8Ratio => Int8Peer is null ? null : Int8Peer.Latency.MedianMs / Ours.Latency.MedianMs;
}

/// <summary>
/// A FasterNet model and, optionally, ONNX Runtime running the same weights with the same number
/// of threads, ready to be timed on any batch size.
/// </summary>
internal sealed class BenchmarkSubject : IDisposable
{
    private readonly string _weightsLabel;

    private BenchmarkSubject(ModelSpec spec, FasterNetModel model, OrtPeer? peer, OrtPeer? int8Peer, string weightsLabel)
    {
        Spec = spec;
        Model = model;
        Peer = peer;
        Int8Peer = int8Peer;
        _weightsLabel = weightsLabel;
    }

    /// <summary>Random images (uniform in [-1, 1], as the timed input, other seeds) the int8 graph is calibrated on.</summary>
    public const int CalibrationBatches = 4;

    public ModelSpec Spec { get; }
    public FasterNetModel Model { get; }
    public OrtPeer? Peer { get; }
    /// <summary>ONNX Runtime on the int8 QDQ graph of the same weights (Int8QdqExporter), when asked.</summary>
    public OrtPeer? Int8Peer { get; }

    /// <summary>Builds both runtimes from one state_dict, so they compute the same function.</summary>
    public static BenchmarkSubject Create(ModelSpec spec, IReadOnlyDictionary<string, Tensor> weights, string weightsLabel,
                                          int threads, KernelSet kernelSet, bool withPeer,
                                          Precision precision = Precision.Float32, bool withInt8Peer = false,
                                          int calibrationSize = 224)
    {
        if (spec.Backbone)
            throw new ArgumentException($"bench times classifiers; model {spec.Name} is a backbone (fork_feat)");
        var model = FasterNetModel.FromStateDict(spec, weights, new ModelOptions
        {
            Threads = threads, KernelSet = kernelSet, Precision = precision,
        });
        try
        {
            // Same thread count as FasterNet resolved (threads 0 means all cores for both).
            OrtPeer? peer = withPeer ? OrtPeer.Create(spec, weights, model.Threads) : null;
            OrtPeer? int8Peer = null;
            try
            {
                if (withInt8Peer)
                {
                    Tensor[] calibration = Enumerable.Range(0, CalibrationBatches)
                        .Select(i => new Tensor([1, spec.InChannels, calibrationSize, calibrationSize],
                            RandomInput((long)spec.InChannels * calibrationSize * calibrationSize, seed: 100 + i)))
                        .ToArray();
                    int8Peer = new OrtPeer(Int8QdqExporter.ToBytes(spec, weights, calibration), model.Threads);
                }
            }
            catch
            {
                peer?.Dispose();
                throw;
            }
            return new BenchmarkSubject(spec, model, peer, int8Peer, weightsLabel);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Warm-up, agreement check, then interleaved timed runs at batch x size x size.</summary>
    public CaseResult Measure(int batch, BenchmarkSettings settings, double? peakGflops)
    {
        int size = settings.Size;
        float[] input = RandomInput((long)batch * Spec.InChannels * size * size, seed: 1234);
        float[] ours = new float[(long)batch * Spec.NumClasses];
        float[] theirs = new float[ours.Length];
        float[] int8 = new float[ours.Length];
        Action runOurs = () => Model.Run(input, batch, size, size, ours);
        Action? runPeer = Peer is null ? null : () => Peer.Run(input, batch, size, size, theirs);
        Action? runInt8 = Int8Peer is null ? null : () => Int8Peer.Run(input, batch, size, size, int8);
        var runners = new List<Action> { runOurs };
        if (runPeer is not null)
            runners.Add(runPeer);
        if (runInt8 is not null)
            runners.Add(runInt8);

        double? difference = null, int8Difference = null;
        runOurs();
        if (runPeer is not null)
        {
            runPeer();
            difference = MaxRelativeDifference(ours, theirs);
        }
        if (runInt8 is not null)
        {
            // Against ORT fp32 when it runs too, else against ours.
            runInt8();
            int8Difference = MaxRelativeDifference(int8, runPeer is not null ? theirs : ours);
        }

        int iterations = settings.Iterations;
        long warmupStart = Stopwatch.GetTimestamp();
        InterleavedTimer.WarmUp(runners, settings.Warmup);
        if (settings.MaxCaseSeconds > 0 && settings.Warmup > 0)
        {
            double perIteration = Stopwatch.GetElapsedTime(warmupStart).TotalSeconds / settings.Warmup;
            int affordable = (int)(settings.MaxCaseSeconds / Math.Max(perIteration, 1e-9));
            iterations = Math.Clamp(affordable, Math.Min(BenchmarkSettings.MinIterations, iterations), iterations);
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        List<double>[] times = InterleavedTimer.Time(runners, iterations);
        List<double> oursMs = times[0];
        long macs = Spec.Macs(size, size);
        return new CaseResult(
            Spec.Name, _weightsLabel, batch, Model.Threads, size,
            Model.KernelSet.ToString().ToLowerInvariant() + (Model.Precision == Precision.BFloat16 ? $" + {Model.PrecisionKernels}" : ""),
            macs,
            iterations,
            RunnerResult.From("FasterNet", LatencySummary.From(oursMs), batch, macs, peakGflops),
            runPeer is null ? null : RunnerResult.From("ONNX Runtime", LatencySummary.From(times[1]), batch, macs, peakGflops),
            difference, Model.Precision == Precision.BFloat16 ? "bf16" : "fp32",
            runInt8 is null ? null : RunnerResult.From("ORT int8", LatencySummary.From(times[^1]), batch, macs, peakGflops),
            int8Difference);
    }

    public void Dispose()
    {
        Int8Peer?.Dispose();
        Peer?.Dispose();
        Model.Dispose();
    }

    /// <summary>max |ours - theirs| / max |theirs|; NaN anywhere makes it infinite.</summary>
    public static double MaxRelativeDifference(ReadOnlySpan<float> ours, ReadOnlySpan<float> theirs)
    {
        double scale = 0, worst = 0;
        for (int i = 0; i < theirs.Length; i++)
        {
            double difference = Math.Abs((double)ours[i] - theirs[i]);
            if (double.IsNaN(difference))
                return double.PositiveInfinity;
            worst = Math.Max(worst, difference);
            scale = Math.Max(scale, Math.Abs(theirs[i]));
        }
        return worst / Math.Max(scale, 1e-30);
    }

    private static float[] RandomInput(long count, int seed)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (long i = 0; i < count; i++)
            values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }
}
