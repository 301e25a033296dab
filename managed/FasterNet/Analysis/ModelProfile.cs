using System.Globalization;
using System.Text;
using System.Text.Json;

namespace FasterNet.Analysis;

/// <summary>
/// One layer of a profiled run (a row of the native layer table; "input" is the NCHW -> NHWC copy).
/// FLOPs count 2 per multiply-add, like the measured peak, so <see cref="PercentOfPeak"/> and the
/// roofline compare like with like.
/// </summary>
public sealed record LayerProfile(
    string Name, LayerKind Kind, double Seconds, double TimeShare, long Macs, long Bytes)
{
    public long Flops => 2 * Macs;

    /// <summary>FLOPs per byte moved (0 for a pure copy).</summary>
    public double Intensity => Bytes == 0 ? 0 : (double)Flops / Bytes;

    public double Gflops => Seconds > 0 ? Flops / Seconds / 1e9 : 0;

    public double GigabytesPerSecond => Seconds > 0 ? Bytes / Seconds / 1e9 : 0;

    /// <summary>Achieved GFLOP/s as a percentage of the profile's measured peak.</summary>
    public double PercentOfPeak { get; init; }

    /// <summary>"input", or the kind's name in snake_case ("partial_conv", ...).</summary>
    public string KindName => Kind switch
    {
        LayerKind.Input => "input",
        LayerKind.PatchEmbedding => "patch_embedding",
        LayerKind.PartialConv => "partial_conv",
        LayerKind.PointwiseExpand => "pointwise_expand",
        LayerKind.PointwiseProject => "pointwise_project",
        LayerKind.Merging => "merging",
        LayerKind.BackboneNorm => "backbone_norm",
        LayerKind.Head => "head",
        _ => Kind.ToString(),
    };
}

/// <summary>
/// A model's per-layer profile: each layer's median time over the profiled runs with its cost
/// (the native layer table's row, <see cref="LayerCost"/>), and the whole-model latency measured separately, so the sum
/// of the layers can be checked against it.
/// </summary>
public sealed class ModelProfile
{
    public static readonly string[] CsvColumns =
    [
        "layer", "kind", "seconds", "time_share", "macs", "flops", "bytes", "intensity_flop_per_byte", "gflops",
        "percent_of_peak",
    ];

    public required string Model { get; init; }
    public required KernelSet KernelSet { get; init; }

    /// <summary>The model's precision: the bytes count each tensor at its element size in it (see <see cref="LayerCost"/>).</summary>
    public Precision Precision { get; init; } = Precision.Float32;
    public required int Threads { get; init; }
    public required int Batch { get; init; }
    public required int Height { get; init; }
    public required int Width { get; init; }
    public required int Iterations { get; init; }
    public required IReadOnlyList<LayerProfile> Layers { get; init; }

    /// <summary>Median whole-model latency (fasternet_model_run, no profiling).</summary>
    public required double ModelSeconds { get; init; }

    /// <summary>
    /// Median total of the profiled runs. On a busy machine a preempted run puts its delay into
    /// one layer, which that layer's median drops, so <see cref="LayerSeconds"/> can fall below
    /// this; on a quiet one the three agree.
    /// </summary>
    public double ProfiledRunSeconds { get; init; }

    /// <summary>Measured peak of the model's precision (fp32 FMA or bf16 dot products) in GFLOP/s (2 flops per multiply-add) with the model's threads.</summary>
    public required double PeakGflops { get; init; }

    /// <summary>Measured triad bandwidth in GB/s with the model's threads (0 when not measured).</summary>
    public double BandwidthGigabytesPerSecond { get; init; }

    /// <summary>"fp32" or "bf16", as the CLI's --precision spells it.</summary>
    public string PrecisionName => Precision == Precision.BFloat16 ? "bf16" : "fp32";

    /// <summary>What the bytes count, in this profile's precision.</summary>
    public string BytesUnit => Precision == Precision.BFloat16
        ? "activations in and out plus weights as a bf16 model stores them (bf16: the merges', PConvs' and " +
          "pointwise convs' weights, PConv's output, the hidden tensor; fp32: the rest)"
        : "fp32 activations in and out plus weights";

    /// <summary>Sum of the layers' median times.</summary>
    public double LayerSeconds => Layers.Sum(l => l.Seconds);

    /// <summary>Sum of the layers over the whole-model latency (1 when they agree).</summary>
    public double SumOverModel => ModelSeconds > 0 ? LayerSeconds / ModelSeconds : 0;

    public long Macs => Layers.Sum(l => l.Macs);

    public long Bytes => Layers.Sum(l => l.Bytes);

    /// <summary>The model's GFLOP/s at its whole-model latency.</summary>
    public double Gflops => ModelSeconds > 0 ? 2.0 * Macs / ModelSeconds / 1e9 : 0;

    /// <summary>One row per layer, <see cref="CsvColumns"/> first; invariant culture.</summary>
    public string ToCsv()
    {
        var text = new StringBuilder();
        text.AppendLine(string.Join(",", CsvColumns));
        foreach (LayerProfile l in Layers)
        {
            text.AppendLine(string.Join(",",
                l.Name, l.KindName, F(l.Seconds), F(l.TimeShare), l.Macs.ToString(CultureInfo.InvariantCulture),
                l.Flops.ToString(CultureInfo.InvariantCulture), l.Bytes.ToString(CultureInfo.InvariantCulture),
                F(l.Intensity), F(l.Gflops), F(l.PercentOfPeak)));
        }
        return text.ToString();
    }

    public string ToJson()
    {
        var document = new
        {
            model = Model,
            kernel_set = KernelSet.ToString().ToLowerInvariant(),
            precision = PrecisionName,
            threads = Threads,
            batch = Batch,
            height = Height,
            width = Width,
            iterations = Iterations,
            unit = $"flops = 2 per multiply-add (as the peak); bytes = {BytesUnit}",
            peak_gflops = PeakGflops,
            bandwidth_gb_per_s = BandwidthGigabytesPerSecond,
            model_seconds = ModelSeconds,
            layer_seconds = LayerSeconds,
            profiled_run_seconds = ProfiledRunSeconds,
            sum_over_model = SumOverModel,
            macs = Macs,
            gflops = Gflops,
            layers = Layers.Select(l => new
            {
                layer = l.Name,
                kind = l.KindName,
                seconds = l.Seconds,
                time_share = l.TimeShare,
                macs = l.Macs,
                flops = l.Flops,
                bytes = l.Bytes,
                intensity_flop_per_byte = l.Intensity,
                gflops = l.Gflops,
                percent_of_peak = l.PercentOfPeak,
            }),
        };
        return JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true });
    }

    private static string F(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
