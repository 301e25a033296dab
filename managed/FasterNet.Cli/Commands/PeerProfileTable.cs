using FasterNet.Analysis;
using FasterNet.Onnx;
using Spectre.Console;

namespace FasterNet.Cli.Commands;

/// <summary>
/// `fasternet profile --peer onnxruntime`: FasterNet's per-layer medians beside ONNX Runtime's
/// per-node ones summed per layer, and both summed per stage and kind, with ratio = ORT / FasterNet
/// (above 1: FasterNet is faster on that layer).
/// </summary>
internal static class PeerProfileTable
{
    /// <summary>
    /// Rounds of <paramref name="iterations"/> profiled FasterNet runs, then as many ONNX Runtime runs,
    /// so that the host's load falls on both alike; FasterNet's layers are the median of the rounds' medians.
    /// </summary>
    public static void Run(FasterNetModel network, IReadOnlyDictionary<string, Tensor> stateDict, int batch, int side,
                           int iterations, int warmup, int rounds)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rounds, 1);
        using var peer = new OrtNodeProfile.Session(network.Spec, stateDict, network.Threads, batch, side, side);
        peer.Run(warmup);
        var profiles = new List<ModelProfile>();
        double? peak = null;
        for (int r = 0; r < rounds; r++)
        {
            ModelProfile round = ModelProfiler.Profile(network, batch, side, side, iterations, r == 0 ? warmup : 1, peak);
            peak ??= round.PeakGflops;
            profiles.Add(round);
            peer.Run(iterations);
        }
        ModelProfile first = profiles[0];
        var layers = first.Layers.Select((l, i) => l with { Seconds = Median(profiles.Select(p => p.Layers[i].Seconds)) }).ToList();
        var ours = new ModelProfile
        {
            Model = first.Model, KernelSet = first.KernelSet, Threads = first.Threads, Batch = first.Batch,
            Height = first.Height, Width = first.Width, Iterations = iterations * rounds, Layers = layers,
            ModelSeconds = Median(profiles.Select(p => p.ModelSeconds)), PeakGflops = first.PeakGflops,
        };
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(ours.Model)}[/]: batch {batch}, {side}x{side}, {ours.Threads} thread(s), " +
                               $"{rounds} rounds of {iterations} runs each, alternating; measured peak {ours.PeakGflops:F1} GFLOP/s");
        Print(ours, peer.Finish());
    }

    private static double Median(IEnumerable<double> values)
    {
        double[] sorted = values.Order().ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    }

    public static void Print(ModelProfile ours, OrtNodeProfile.Result peer)
    {
        ProfileCommand.WidenRedirectedOutput();
        var peerSeconds = peer.Layers.ToDictionary(l => l.Layer, l => l.Seconds, StringComparer.Ordinal);
        var table = new Table().Border(TableBorder.Simple).Title("FasterNet and ONNX Runtime per layer (ORT's own node profiler)")
            .AddColumn("Layer")
            .AddColumn(new TableColumn("FasterNet ms").RightAligned())
            .AddColumn(new TableColumn("ORT ms").RightAligned())
            .AddColumn(new TableColumn("ratio").RightAligned())
            .AddColumn(new TableColumn("FasterNet % peak").RightAligned())
            .AddColumn(new TableColumn("ORT % peak").RightAligned());
        foreach (LayerProfile l in ours.Layers)
        {
            double theirs = peerSeconds.GetValueOrDefault(l.Name);
            table.AddRow(Markup.Escape(l.Name), $"{l.Seconds * 1e3:F3}", $"{theirs * 1e3:F3}", Ratio(theirs, l.Seconds),
                PercentOfPeak(l.Flops, l.Seconds, ours.PeakGflops), PercentOfPeak(l.Flops, theirs, ours.PeakGflops));
        }
        AnsiConsole.Write(table);

        var groups = new Table().Border(TableBorder.Simple).Title("Per stage and kind")
            .AddColumn("Stage / kind")
            .AddColumn(new TableColumn("layers").RightAligned())
            .AddColumn(new TableColumn("FasterNet ms").RightAligned())
            .AddColumn(new TableColumn("ORT ms").RightAligned())
            .AddColumn(new TableColumn("ORT - FasterNet ms").RightAligned())
            .AddColumn(new TableColumn("ratio").RightAligned())
            .AddColumn(new TableColumn("FasterNet % peak").RightAligned())
            .AddColumn(new TableColumn("ORT % peak").RightAligned());
        foreach (IGrouping<string, LayerProfile> g in ours.Layers.GroupBy(l => $"{Stage(l.Name)} {l.KindName}"))
        {
            double mine = g.Sum(l => l.Seconds), theirs = g.Sum(l => peerSeconds.GetValueOrDefault(l.Name));
            long flops = g.Sum(l => l.Flops);
            groups.AddRow(g.Key, $"{g.Count()}", $"{mine * 1e3:F3}", $"{theirs * 1e3:F3}", $"{(theirs - mine) * 1e3:+0.000;-0.000}",
                Ratio(theirs, mine), PercentOfPeak(flops, mine, ours.PeakGflops), PercentOfPeak(flops, theirs, ours.PeakGflops));
        }
        AnsiConsole.Write(groups);
        double peerSum = peer.Layers.Sum(l => l.Seconds);
        AnsiConsole.MarkupLine($"ORT: sum of the layers' medians {peerSum * 1e3:F3} ms, median run {peer.RunSeconds * 1e3:F3} ms; " +
                               $"FasterNet: {ours.LayerSeconds * 1e3:F3} ms, whole model {ours.ModelSeconds * 1e3:F3} ms; " +
                               $"ratio of the sums {Ratio(peerSum, ours.LayerSeconds)}");
        if (peer.UnmatchedNodes.Count > 0)
            AnsiConsole.MarkupLine(Markup.Escape($"ORT nodes counted with the layer before them: {string.Join(", ", peer.UnmatchedNodes.Take(12))}" +
                                                 (peer.UnmatchedNodes.Count > 12 ? $" (+{peer.UnmatchedNodes.Count - 12})" : "")));
    }

    private static string Ratio(double theirs, double mine) => mine > 0 && theirs > 0 ? $"{theirs / mine:F2}" : "-";

    private static string PercentOfPeak(long flops, double seconds, double peak) =>
        flops > 0 && seconds > 0 ? $"{100 * flops / seconds / 1e9 / peak:F1}" : "-";

    // "stages.<i>..." -> the paper's stage (blocks at even i, the merge into the next stage at odd i).
    private static string Stage(string layer)
    {
        string[] parts = layer.Split('.');
        return parts.Length > 1 && parts[0] == "stages" && int.TryParse(parts[1], out int index)
            ? $"stage {(index + 1) / 2 + 1}"
            : "-";
    }
}
