using System.CommandLine;
using FasterNet.Analysis;
using Spectre.Console;

namespace FasterNet.Cli.Commands;

/// <summary>
/// `fasternet bench ops`: the paper's Table 1 on this machine. Conv, GConv, DWConv, PConv and
/// PConv + PWConv, each 10 layers deep at FasterNet's four feature maps: FLOPs, memory access,
/// latency and FLOPS, the per-operator averages and the ratios beside the paper's CPU figures.
/// </summary>
internal static class BenchOpsCommand
{
    public static Command Create()
    {
        var threads = new Option<int>("--threads", "-t")
        {
            Description = "Threads (0 = all cores; the paper's Table 1: 1)",
            DefaultValueFactory = _ => 1,
        };
        var iterations = new Option<int>("--iterations", "-n")
        {
            Description = "Timed runs per operator and feature map (the median is reported)",
            DefaultValueFactory = _ => 20,
        };
        var warmup = new Option<int>("--warmup") { Description = "Untimed runs first", DefaultValueFactory = _ => 3 };
        var layers = new Option<int>("--layers")
        {
            Description = "Stacked layers per timed run (the paper: 10)",
            DefaultValueFactory = _ => 10,
        };
        var batch = new Option<int>("--batch", "-b") { Description = "Images per run", DefaultValueFactory = _ => 1 };
        var groups = new Option<int>("--groups") { Description = "GConv groups (the paper: 16)", DefaultValueFactory = _ => 16 };
        var nDiv = new Option<int>("--n-div") { Description = "PConv convolves channels / n_div", DefaultValueFactory = _ => 4 };
        var isa = CommonOptions.Isa();
        var json = CommonOptions.Json();
        var command = new Command("ops",
            "The paper's Table 1: FLOPS of Conv, GConv, DWConv, PConv and PConv+PWConv at 96x56x56 .. 768x7x7")
        {
            threads, iterations, warmup, layers, batch, groups, nDiv, isa, json,
        };
        command.SetAction(result => CommonOptions.Guard(() =>
        {
            var benchmark = new OperatorBenchmark
            {
                Threads = result.GetValue(threads),
                Iterations = result.GetValue(iterations),
                Warmup = result.GetValue(warmup),
                Layers = result.GetValue(layers),
                Batch = result.GetValue(batch),
                Groups = result.GetValue(groups),
                NDiv = result.GetValue(nDiv),
                KernelSet = Runtime.ParseKernelSet(result.GetValue(isa)!),
            };
            Run(benchmark, result.GetValue(json));
            return 0;
        }));
        return command;
    }

    private static void Run(OperatorBenchmark benchmark, bool json)
    {
        if (json)
        {
            Console.WriteLine(benchmark.RunAll().ToJson());
            return;
        }
        int total = OperatorBenchmark.Operators.Count * FeatureMapSize.Paper.Count;
        OperatorReport report = null!;
        AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                ProgressTask task = context.AddTask("operators", maxValue: total);
                report = benchmark.RunAll(progress: new Callback<OperatorResult>(r =>
                {
                    task.Description = $"{r.Operator.PaperName()} {r.Size}: {r.Gflops:F1} GFLOPS";
                    task.Increment(1);
                }));
            });
        Print(report);
    }

    private static void Print(OperatorReport report)
    {
        ProfileCommand.WidenRedirectedOutput();
        OperatorBenchmark s = report.Settings;
        string set = (s.KernelSet == KernelSet.Auto ? Runtime.ActiveKernelSet : s.KernelSet).ToString().ToLowerInvariant();
        AnsiConsole.MarkupLine($"[bold]Operator FLOPS (the paper's Table 1)[/]: kernel set {set}, {Threads(s.Threads)}, " +
                               $"batch {s.Batch}, {s.Layers} stacked layers per run, median of {s.Iterations} runs");
        AnsiConsole.MarkupLine("FLOPs and GFLOPS count [bold]multiply-adds[/] (the paper's unit); memory access counts " +
                               "fp32 elements (x4 bytes); both per layer and image.");
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("Operator")
            .AddColumn(new TableColumn("Feature map").RightAligned())
            .AddColumn(new TableColumn("FLOPs (M)").RightAligned())
            .AddColumn(new TableColumn("Memory access (M)").RightAligned())
            .AddColumn(new TableColumn($"Latency (ms, x{s.Layers})").RightAligned())
            .AddColumn(new TableColumn("GFLOPS").RightAligned());
        foreach (IGrouping<OperatorKind, OperatorResult> group in report.Results.GroupBy(r => r.Operator))
        {
            foreach (OperatorResult r in group)
            {
                table.AddRow(r.Operator.PaperName(), r.Size.ToString(), $"{r.Cost.Flops / 1e6:F1}",
                    $"{r.Cost.MemoryAccess / 1e6:F2}", $"{r.MedianSeconds * 1e3:F3}", $"{r.Gflops:F2}");
            }
            OperatorAverage average = report.Averages.First(a => a.Operator == group.Key);
            table.AddRow($"[bold]{Markup.Escape(group.Key.PaperName())} average[/]", "", "", "",
                $"[bold]{average.MedianSeconds * 1e3:F3}[/]", $"[bold]{average.Gflops:F2}[/]");
            table.AddEmptyRow();
        }
        AnsiConsole.Write(table);

        var paper = new Table().Border(TableBorder.Rounded)
            .Title("Average GFLOPS beside the paper's CPU column")
            .AddColumn("Operator")
            .AddColumn(new TableColumn("This machine").RightAligned())
            .AddColumn(new TableColumn($"Paper ({PaperFigures.Table1Cpu})").RightAligned());
        foreach (OperatorAverage a in report.Averages)
            paper.AddRow(Markup.Escape(a.Operator.PaperName()), $"{a.Gflops:F2}", a.PaperGflops is double p ? $"{p:F2}" : "-");
        paper.AddRow("[bold]PConv / DWConv[/]", Ratio(report.PartialOverDepthwise), $"{PaperFigures.PartialOverDepthwise:F2}x");
        paper.AddRow("[bold]PConv / Conv[/]", Ratio(report.PartialOverConv), $"{PaperFigures.PartialOverConv:F2}x");
        AnsiConsole.Write(paper);
    }

    private static string Ratio(double? ratio) => ratio is double r ? $"{r:F2}x" : "-";

    private static string Threads(int threads) => threads == 0 ? "all cores" : threads == 1 ? "1 thread" : $"{threads} threads";

    /// <summary>Reports synchronously on the calling thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class Callback<T>(Action<T> action) : IProgress<T>
    {
        public void Report(T value) => action(value);
    }
}
