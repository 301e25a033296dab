using System.CommandLine;
using FasterNet.Analysis;
using Spectre.Console;

namespace FasterNet.Cli.Commands;

/// <summary>
/// `fasternet profile`: where a model's time goes. Per layer: time share, FLOPs, bytes,
/// arithmetic intensity, GFLOP/s and % of the measured peak; the sum of the layers beside the
/// whole-model latency.
/// </summary>
internal static class ProfileCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var config = CommonOptions.Config();
        var weights = CommonOptions.Weights();
        var batch = BatchOption();
        var threads = ThreadsOption();
        var isa = CommonOptions.Isa();
        var precision = CommonOptions.Precision();
        var size = SizeOption();
        var iterations = IterationsOption(20);
        var warmup = new Option<int>("--warmup") { Description = "Untimed runs first", DefaultValueFactory = _ => 3 };
        var csv = new Option<FileInfo?>("--csv") { Description = "Also write the per-layer table to this CSV file" };
        var json = CommonOptions.Json();
        var peer = new Option<string>("--peer")
        {
            Description = "none, or onnxruntime: also profile ONNX Runtime per node (its own profiler) and print both per layer",
            DefaultValueFactory = _ => "none",
        };
        var rounds = new Option<int>("--rounds")
        {
            Description = "With --peer: alternate FasterNet's and ONNX Runtime's profiled runs in this many rounds of -n runs each",
            DefaultValueFactory = _ => 4,
        };
        var command = new Command("profile",
            "Per-layer profile: time share, FLOPs, bytes, intensity, GFLOP/s and % of the measured peak")
        {
            model, config, weights, batch, threads, isa, precision, size, iterations, warmup, csv, json, peer, rounds,
        };
        command.SetAction(result => CommonOptions.Guard(() =>
        {
            ModelSpec spec = CommonOptions.ResolveSpec(result, model, config, weights);
            string peerName = result.GetValue(peer)!;
            if (peerName is not ("none" or "onnxruntime"))
                throw new ArgumentException($"--peer must be none or onnxruntime, not '{peerName}'");
            using FasterNetModel network = CommonOptions.LoadModel(spec, result.GetValue(weights), result.GetValue(threads),
                result.GetValue(isa)!, result.GetValue(precision)!);
            int side = result.GetValue(size);
            if (peerName == "onnxruntime")
            {
                var (stateDict, _) = Benchmarking.WeightsSource.Load(spec, result.GetValue(weights), seed: 0);
                PeerProfileTable.Run(network, stateDict, result.GetValue(batch), side, result.GetValue(iterations),
                    result.GetValue(warmup), result.GetValue(rounds));
                return 0;
            }
            ModelProfile profile = ModelProfiler.Profile(network, result.GetValue(batch), side, side,
                result.GetValue(iterations), result.GetValue(warmup));
            if (result.GetValue(csv) is FileInfo file)
            {
                File.WriteAllText(file.FullName, profile.ToCsv());
                Console.Error.WriteLine($"wrote {file.FullName}");
            }
            if (result.GetValue(json))
                Console.WriteLine(profile.ToJson());
            else
                Print(profile);
            return 0;
        }));
        return command;
    }

    internal static Option<int> BatchOption() =>
        new("--batch", "-b") { Description = "Images per run", DefaultValueFactory = _ => 1 };

    /// <summary>Threads, default 1: the paper's latency protocol.</summary>
    internal static Option<int> ThreadsOption() =>
        new("--threads", "-t") { Description = "Threads per inference (0 = all cores)", DefaultValueFactory = _ => 1 };

    internal static Option<int> SizeOption() =>
        new("--size") { Description = "Input height and width", DefaultValueFactory = _ => 224 };

    internal static Option<int> IterationsOption(int runs) =>
        new("--iterations", "-n") { Description = "Timed runs (medians are reported)", DefaultValueFactory = _ => runs };

    /// <summary>Spectre.Console assumes 80 columns when the output is redirected; the tables need more.</summary>
    internal static void WidenRedirectedOutput()
    {
        if (Console.IsOutputRedirected && AnsiConsole.Profile.Width < 120)
            AnsiConsole.Profile.Width = 120;
    }

    private static void Print(ModelProfile p)
    {
        WidenRedirectedOutput();
        AnsiConsole.MarkupLine($"[bold]Profile of {Markup.Escape(p.Model)}[/]: precision [bold]{p.PrecisionName}[/], " +
                               $"batch {p.Batch}, {p.Height}x{p.Width}, " +
                               $"kernel set {p.KernelSet.ToString().ToLowerInvariant()}, {p.Threads} thread(s), " +
                               $"median of {p.Iterations} runs per layer");
        AnsiConsole.MarkupLine($"FLOPs count 2 per multiply-add, like the measured {p.PrecisionName} peak of " +
                               $"[bold]{p.PeakGflops:F1} GFLOP/s[/]; bytes = {Markup.Escape(p.BytesUnit)} " +
                               "(the minimum a layer must move).");
        var table = new Table().Border(TableBorder.Simple)
            .AddColumn("Layer")
            .AddColumn(new TableColumn("ms").RightAligned())
            .AddColumn(new TableColumn("share").RightAligned())
            .AddColumn(new TableColumn("MFLOPs").RightAligned())
            .AddColumn(new TableColumn("MB").RightAligned())
            .AddColumn(new TableColumn("FLOP/B").RightAligned())
            .AddColumn(new TableColumn("GFLOP/s").RightAligned())
            .AddColumn(new TableColumn("% peak").RightAligned());
        foreach (LayerProfile l in p.Layers)
        {
            table.AddRow(Markup.Escape(l.Name), $"{l.Seconds * 1e3:F3}", $"{100 * l.TimeShare:F1}%", $"{l.Flops / 1e6:F1}",
                $"{l.Bytes / 1e6:F2}", l.Flops == 0 ? "-" : $"{l.Intensity:F1}", l.Flops == 0 ? "-" : $"{l.Gflops:F1}",
                l.Flops == 0 ? "-" : $"{l.PercentOfPeak:F1}");
        }
        AnsiConsole.Write(table);

        var kinds = new Table().Border(TableBorder.Simple).Title("By kind")
            .AddColumn("Kind")
            .AddColumn(new TableColumn("layers").RightAligned())
            .AddColumn(new TableColumn("ms").RightAligned())
            .AddColumn(new TableColumn("time share").RightAligned())
            .AddColumn(new TableColumn("FLOPs share").RightAligned())
            .AddColumn(new TableColumn("GFLOP/s").RightAligned())
            .AddColumn(new TableColumn("% peak").RightAligned());
        long flops = p.Layers.Sum(l => l.Flops);
        foreach (IGrouping<string, LayerProfile> g in p.Layers.GroupBy(l => l.KindName))
        {
            double seconds = g.Sum(l => l.Seconds);
            long kindFlops = g.Sum(l => l.Flops);
            double gflops = seconds > 0 ? kindFlops / seconds / 1e9 : 0;
            kinds.AddRow(g.Key, $"{g.Count()}", $"{seconds * 1e3:F3}", $"{100 * seconds / p.LayerSeconds:F1}%",
                $"{(flops > 0 ? 100.0 * kindFlops / flops : 0):F1}%", kindFlops == 0 ? "-" : $"{gflops:F1}",
                kindFlops == 0 ? "-" : $"{100 * gflops / p.PeakGflops:F1}");
        }
        AnsiConsole.Write(kinds);

        AnsiConsole.MarkupLine($"sum of the layers' medians : [bold]{p.LayerSeconds * 1e3:F3} ms[/] " +
                               $"(median profiled run {p.ProfiledRunSeconds * 1e3:F3} ms)");
        AnsiConsole.MarkupLine($"whole-model latency        : [bold]{p.ModelSeconds * 1e3:F3} ms[/] " +
                               $"(median of {p.Iterations} plain runs, interleaved with the profiled ones)");
        string verdict = Math.Abs(p.SumOverModel - 1) <= 0.10 ? "[green]within 10%[/]" : "[yellow]more than 10% apart: a busy machine?[/]";
        AnsiConsole.MarkupLine($"sum / whole model          : {p.SumOverModel:F3} ({verdict})");
        AnsiConsole.MarkupLine($"model: {p.Macs / 1e9:F3} GMACs, {p.Gflops:F1} GFLOP/s = {100 * p.Gflops / p.PeakGflops:F1}% of the peak");
    }
}
