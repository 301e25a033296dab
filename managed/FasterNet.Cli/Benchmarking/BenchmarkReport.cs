using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FasterNet.Onnx;

namespace FasterNet.Cli.Benchmarking;

/// <summary>Benchmark results as JSON, a few readable lines, or a Markdown table.</summary>
internal static class BenchmarkReport
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static string Serialize(JsonNode node) => node.ToJsonString(Indented);

    /// <summary>One case: FasterNet's figures at the top level, ONNX Runtime's under "peer" with the ratio.</summary>
    public static JsonObject ToJson(CaseResult result, BenchmarkSettings settings, double? peakGflops)
    {
        JsonObject json = new()
        {
            ["model"] = result.Model,
            ["weights"] = result.Weights,
            ["batch"] = result.Batch,
            ["threads"] = result.Threads,
            ["size"] = result.Size,
            ["kernel_set"] = result.KernelSet,
            ["macs_per_image"] = result.MacsPerImage,
            ["iterations"] = result.Iterations,
            ["warmup"] = settings.Warmup,
            ["peak_gflops"] = peakGflops is { } peak ? Round(peak, 1) : null,
        };
        AddFigures(json, result.Ours);
        if (result.Peer is { } peer)
        {
            JsonObject peerJson = new() { ["name"] = "onnxruntime", ["version"] = OrtPeer.Version };
            AddFigures(peerJson, peer);
            peerJson["ratio"] = Round(result.Ratio!.Value, 3);
            // JSON has no infinity: a NaN-poisoned output is reported as a string.
            peerJson["max_rel_diff"] = result.MaxRelativeDifference is { } d && !double.IsFinite(d)
                ? JsonValue.Create(d.ToString(CultureInfo.InvariantCulture))
                : JsonValue.Create(result.MaxRelativeDifference);
            peerJson["outputs_agree"] = !result.Disagrees;
            json["peer"] = peerJson;
        }
        if (result.Int8Peer is { } int8)
        {
            JsonObject int8Json = new() { ["name"] = "onnxruntime-int8", ["version"] = OrtPeer.Version };
            AddFigures(int8Json, int8);
            int8Json["ratio"] = Round(result.Int8Ratio!.Value, 3);
            int8Json["max_rel_diff_from_fp32"] = result.Int8MaxRelativeDifference is { } d && double.IsFinite(d)
                ? JsonValue.Create(d)
                : JsonValue.Create(result.Int8MaxRelativeDifference?.ToString(CultureInfo.InvariantCulture));
            json["int8_peer"] = int8Json;
        }
        return json;
    }

    /// <summary>A few lines for one case.</summary>
    public static string ToText(CaseResult result, double? peakGflops)
    {
        var text = new StringBuilder();
        text.AppendLine(
            Invariant($"FasterNet-{result.Model.ToUpperInvariant()}  {result.Size}x{result.Size}  batch {result.Batch}  ") +
            Invariant($"{result.Threads} thread{(result.Threads == 1 ? "" : "s")}  kernels {result.KernelSet}  ") +
            Invariant($"{result.MacsPerImage / 1e9:G4} GMACs/image  weights: {result.Weights}  ({result.Iterations} timed runs)"));
        text.AppendLine(Line(result.Ours, peakGflops));
        if (result.Peer is { } peer)
        {
            text.AppendLine(Line(peer, peakGflops));
            text.AppendLine(
                Invariant($"  speed ratio (ONNX Runtime median / FasterNet median): {result.Ratio:F2}x") +
                Invariant($"   outputs: max rel diff {result.MaxRelativeDifference:E1}"));
        }
        if (result.Int8Peer is { } int8)
        {
            text.AppendLine(Line(int8, peakGflops));
            text.AppendLine(
                Invariant($"  speed ratio (ORT int8 median / FasterNet median): {result.Int8Ratio:F2}x") +
                Invariant($"   int8 outputs: max rel diff from fp32 {result.Int8MaxRelativeDifference:E1}"));
        }
        return text.ToString().TrimEnd();
    }

    /// <summary>Every case as a Markdown table (the form docs/performance.md records).</summary>
    public static string ToMarkdown(IReadOnlyList<CaseResult> results)
    {
        bool int8 = results.Any(r => r.Int8Peer is not null);
        var table = new StringBuilder();
        table.AppendLine("| model | batch | threads | FasterNet median ms (p90) | ORT median ms (p90) | ratio ORT/FasterNet " +
                         (int8 ? "| ORT int8 median ms (p90) | ratio ORT int8/FasterNet " : "") +
                         "| FasterNet GFLOP/s (% peak) | ORT GFLOP/s (% peak) | FasterNet img/s | max rel diff |");
        table.AppendLine("|---|---:|---:|---:|---:|---:|" + (int8 ? "---:|---:|" : "") + "---:|---:|---:|---:|");
        foreach (CaseResult r in results)
        {
            string peer = r.Peer is { } p ? MsCell(p) : "-";
            string peerFlops = r.Peer is { } q ? FlopsCell(q) : "-";
            string ratio = r.Ratio is { } x ? Invariant($"**{x:F2}x**") : "-";
            string difference = r.MaxRelativeDifference is { } d ? d.ToString("E1", CultureInfo.InvariantCulture) : "-";
            string int8Cells = !int8 ? "" : r.Int8Peer is { } i
                ? Invariant($"{MsCell(i)} | **{r.Int8Ratio:F2}x** | ")
                : "- | - | ";
            table.AppendLine(
                Invariant($"| {r.Model.ToUpperInvariant()} | {r.Batch} | {r.Threads} | {MsCell(r.Ours)} | {peer} | {ratio} | ") + int8Cells +
                Invariant($"{FlopsCell(r.Ours)} | {peerFlops} | {r.Ours.ImagesPerSecond:F1} | {difference} |"));
        }
        return table.ToString().TrimEnd();
    }

    /// <summary>The same table in aligned plain text.</summary>
    public static string ToTable(IReadOnlyList<CaseResult> results)
    {
        bool int8 = results.Any(r => r.Int8Peer is not null);
        var table = new StringBuilder();
        table.AppendLine("model  batch thr | FasterNet ms    p90  GFLOP/s  %peak | ORT ms      p90  GFLOP/s  %peak |  ratio | max rel diff" +
                         (int8 ? " | ORT int8 ms  ratio" : ""));
        foreach (CaseResult r in results)
        {
            string ours = Invariant($"{r.Ours.Latency.MedianMs,12:F2} {r.Ours.Latency.P90Ms,6:F2} {r.Ours.Gflops,8:F1} {Percent(r.Ours),6}");
            string peer = r.Peer is { } p
                ? Invariant($"{p.Latency.MedianMs,6:F2} {p.Latency.P90Ms,8:F2} {p.Gflops,8:F1} {Percent(p),6}")
                : new string(' ', 31);
            string ratio = r.Ratio is { } x ? Invariant($"{x,5:F2}x") : "     -";
            string diff = r.MaxRelativeDifference is { } d ? d.ToString("E1", CultureInfo.InvariantCulture) : "-";
            string int8Cells = !int8 ? "" : r.Int8Peer is { } i
                ? Invariant($" | {i.Latency.MedianMs,11:F2} {r.Int8Ratio,5:F2}x")
                : " |           -      -";
            table.AppendLine(Invariant($"{r.Model.ToUpperInvariant(),-5} {r.Batch,6} {r.Threads,3} | {ours} | {peer} | {ratio} | {diff}") + int8Cells);
        }
        return table.ToString().TrimEnd();
    }

    private static void AddFigures(JsonObject json, RunnerResult result)
    {
        json["median_ms"] = Round(result.Latency.MedianMs, 4);
        json["p90_ms"] = Round(result.Latency.P90Ms, 4);
        json["min_ms"] = Round(result.Latency.MinMs, 4);
        json["mean_ms"] = Round(result.Latency.MeanMs, 4);
        json["images_per_s"] = Round(result.ImagesPerSecond, 2);
        json["gflops"] = Round(result.Gflops, 2);
        json["percent_of_peak"] = result.PercentOfPeak is { } p ? Round(p, 1) : null;
    }

    private static string Line(RunnerResult r, double? peak) =>
        Invariant($"  {r.Name,-13} median {r.Latency.MedianMs,8:F3} ms   p90 {r.Latency.P90Ms,8:F3} ms   ") +
        Invariant($"{r.ImagesPerSecond,8:F1} img/s   {r.Gflops,6:F1} GFLOP/s") +
        (r.PercentOfPeak is { } p ? Invariant($"   {p:F1}% of {peak:F0} GFLOP/s peak") : "");

    private static string MsCell(RunnerResult r) => Invariant($"{r.Latency.MedianMs:F2} ({r.Latency.P90Ms:F2})");

    private static string FlopsCell(RunnerResult r) =>
        Invariant($"{r.Gflops:F1}") + (r.PercentOfPeak is { } p ? Invariant($" ({p:F0}%)") : "");

    private static string Percent(RunnerResult r) => r.PercentOfPeak is { } p ? Invariant($"{p:F1}") : "-";

    private static double Round(double value, int digits) => Math.Round(value, digits);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
