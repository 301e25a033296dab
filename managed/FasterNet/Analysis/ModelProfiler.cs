using System.Diagnostics;
using FasterNet.Interop;
using FasterNet.Native;

namespace FasterNet.Analysis;

/// <summary>
/// Per-layer profiles through fasternet_model_profile: the native plan times every row of its
/// layer table in a normal run (a fused block's time is split between its PConv, PW1 and PW2),
/// the profiler repeats that and takes each row's median; the costs are the same table's rows
/// (<see cref="LayerCost.For"/>), matched by position.
/// </summary>
public static unsafe class ModelProfiler
{
    /// <summary>
    /// Profiles <paramref name="model"/> on a seeded random input: <paramref name="warmup"/>
    /// untimed runs, then <paramref name="iterations"/> profiled runs (per-layer medians), each
    /// followed by one plain run (the whole-model latency's median), so both see the same machine
    /// load. <paramref name="peakGflops"/> (GFLOP/s, 2 per FMA) is measured with the model's
    /// threads when not given.
    /// </summary>
    public static ModelProfile Profile(FasterNetModel model, int batch = 1, int height = 224, int width = 224,
                                       int iterations = 20, int warmup = 3, double? peakGflops = null,
                                       double? bandwidthGigabytesPerSecond = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (iterations < 1)
            throw new ArgumentOutOfRangeException(nameof(iterations), iterations, "at least one profiled run");
        if (warmup < 0)
            throw new ArgumentOutOfRangeException(nameof(warmup), warmup, "warm-up runs cannot be negative");
        float[] input = ModelLatency.RandomInput(model.Spec, batch, height, width);
        // Bytes as this model stores its tensors (bf16 weights and block tensors in a bf16 model).
        IReadOnlyList<LayerCost> costs = LayerCost.For(model.Spec, height, width, model.Precision);

        Action plainRun = ModelLatency.RunOnce(model, input, batch, height, width);
        for (int i = 0; i < warmup; i++)
        {
            ProfileOnce(model, input, batch, height, width);
            plainRun();
        }
        var runs = new List<(string Name, double Seconds)>[iterations];
        var plainSeconds = new double[iterations];
        for (int i = 0; i < iterations; i++)
        {
            runs[i] = ProfileOnce(model, input, batch, height, width);
            long start = Stopwatch.GetTimestamp();
            plainRun();
            plainSeconds[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        double modelSeconds = Statistics.Median(plainSeconds);
        double peak = peakGflops ?? (model.Precision != Precision.BFloat16
            ? Measurement.MeasurePeakGflops(model.Threads)
            : model.PrecisionKernels == "amx_bf16"
                ? Measurement.MeasureAmxBf16PeakGflops(model.Threads)
                : Measurement.MeasureBf16PeakGflops(model.Threads));

        var names = runs[0].Select(r => r.Name).ToList();
        if (runs.Any(run => !run.Select(r => r.Name).SequenceEqual(names)))
            throw new FasterNetException($"profiling {model.Spec.Name}: the layers differ between runs");
        var medians = names.Select((name, index) =>
            Statistics.Median(runs.Select(run => run[index].Seconds))).ToList();
        double total = medians.Sum();
        if (!names.SequenceEqual(costs.Select(c => c.Name)))
            throw new FasterNetException(
                $"profiling {model.Spec.Name}: the profile's rows ({string.Join(", ", names.Take(4))}, ...) are not " +
                "the layer table's rows");
        var layers = new List<LayerProfile>(names.Count);
        for (int i = 0; i < names.Count; i++)
        {
            LayerCost cost = costs[i];
            // Activations scale with the batch, weights do not.
            var layer = new LayerProfile(cost.Name, cost.Kind, medians[i], total > 0 ? medians[i] / total : 0,
                cost.Macs * batch, cost.ActivationBytes * batch + cost.WeightBytes);
            layers.Add(layer with { PercentOfPeak = peak > 0 ? 100 * layer.Gflops / peak : 0 });
        }
        return new ModelProfile
        {
            Model = model.Spec.Name,
            KernelSet = model.KernelSet,
            Precision = model.Precision,
            Threads = model.Threads,
            Batch = batch,
            Height = height,
            Width = width,
            Iterations = iterations,
            Layers = layers,
            ModelSeconds = modelSeconds,
            ProfiledRunSeconds = Statistics.Median(runs.Select(run => run.Sum(r => r.Seconds))),
            PeakGflops = peak,
            BandwidthGigabytesPerSecond = bandwidthGigabytesPerSecond ?? 0,
        };
    }

    /// <summary>One native profiled run: layer names and seconds in execution order.</summary>
    internal static List<(string Name, double Seconds)> ProfileOnce(FasterNetModel model, float[] input, int batch,
                                                                    int height, int width)
    {
        int count = 0;
        var layers = new LayerTime[256];
        Status status;
        fixed (float* data = input)
        fixed (LayerTime* times = layers)
        {
            status = NativeMethods.ModelProfile(model.NativeHandle, data, input.Length, batch, height, width, times,
                layers.Length, &count);
        }
        if (status == Status.InvalidArgument && count > layers.Length)
        {
            layers = new LayerTime[count];
            fixed (float* data = input)
            fixed (LayerTime* times = layers)
            {
                status = NativeMethods.ModelProfile(model.NativeHandle, data, input.Length, batch, height, width,
                    times, layers.Length, &count);
            }
        }
        NativeModel.ThrowIfFailed(status, $"profiling {model.Spec.Name}");
        GC.KeepAlive(model);
        var result = new List<(string, double)>(count);
        for (int i = 0; i < count; i++)
        {
            LayerTime time = layers[i];
            result.Add((NativeModel.FixedString(time.Name, Constants.LayerNameSize), time.Seconds));
        }
        return result;
    }
}
