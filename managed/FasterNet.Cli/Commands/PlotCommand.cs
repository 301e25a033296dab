using System.CommandLine;
using FasterNet.Analysis;
using ScottPlot;
using Spectre.Console;

namespace FasterNet.Cli.Commands;

/// <summary>
/// `fasternet plot roofline`: a model's layers on this machine's roofline (measured peak and
/// bandwidth). `fasternet plot variants`: latency of T0 .. L here against the paper's ImageNet
/// top-1, like the paper's Figure 1.
/// </summary>
internal static class PlotCommand
{
    private const int ImageWidth = 1000;
    private const int ImageHeight = 700;

    // The data area of an ImageWidth x ImageHeight plot (without title, labels and ticks), about.
    private const double PlotAreaWidth = ImageWidth - 75;
    private const double PlotAreaHeight = ImageHeight - 100;

    public static Command Create()
    {
        var command = new Command("plot", "Draw the paper's analysis plots as PNG files");
        command.Subcommands.Add(Roofline());
        command.Subcommands.Add(Variants());
        return command;
    }

    // Sans-serif font files tried in order. SkiaSharp's self-contained Linux build finds no
    // system fonts on its own (the PNG would have no text), so one is registered explicitly.
    private static readonly (string Regular, string Bold)[] FontFiles =
    [
        ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
        ("/usr/share/fonts/TTF/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf"),
        ("/usr/share/fonts/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf"),
        (@"C:\Windows\Fonts\arial.ttf", @"C:\Windows\Fonts\arialbd.ttf"),
        ("/Library/Fonts/Arial.ttf", "/Library/Fonts/Arial Bold.ttf"),
    ];

    private const string PlotFontName = "FasterNet Plot Sans";

    private static bool? _fontRegistered;

    /// <summary>A plot whose text uses a registered font file, when the machine has one.</summary>
    private static Plot NewPlot()
    {
        _fontRegistered ??= RegisterFont();
        var plot = new Plot();
        if (_fontRegistered == true)
            plot.Font.Set(PlotFontName);
        return plot;
    }

    private static bool RegisterFont()
    {
        foreach ((string regular, string bold) in FontFiles)
        {
            if (!File.Exists(regular))
                continue;
            Fonts.AddFontFile(PlotFontName, regular);
            if (File.Exists(bold))
                Fonts.AddFontFile(PlotFontName, bold, bold: true, italic: false);
            Fonts.Default = PlotFontName;
            return true;
        }
        Console.Error.WriteLine("warning: no DejaVu Sans or Arial font file found; the plot's text may be missing " +
                                "(Debian: apt-get install fonts-dejavu-core)");
        return false;
    }

    private static Option<FileInfo> Output(string fallback) => new("--output", "-o")
    {
        Description = "PNG file to write",
        DefaultValueFactory = _ => new FileInfo(fallback),
    };

    private static Command Roofline()
    {
        var model = CommonOptions.Model();
        var config = CommonOptions.Config();
        var weights = CommonOptions.Weights();
        var batch = ProfileCommand.BatchOption();
        var threads = ProfileCommand.ThreadsOption();
        var isa = CommonOptions.Isa();
        var size = ProfileCommand.SizeOption();
        var iterations = ProfileCommand.IterationsOption(20);
        var output = Output("roofline.png");
        var command = new Command("roofline",
            "Each layer's achieved GFLOP/s against its arithmetic intensity, under the measured peak and bandwidth")
        {
            model, config, weights, batch, threads, isa, size, iterations, output,
        };
        command.SetAction(result => CommonOptions.Guard(() =>
        {
            ModelSpec spec = CommonOptions.ResolveSpec(result, model, config, weights);
            using FasterNetModel network = CommonOptions.LoadModel(spec, result.GetValue(weights), result.GetValue(threads),
                result.GetValue(isa)!);
            int side = result.GetValue(size);
            double peak = Measurement.MeasurePeakGflops(network.Threads);
            double bandwidth = Measurement.MeasureBandwidth(network.Threads);
            ModelProfile profile = ModelProfiler.Profile(network, result.GetValue(batch), side, side,
                result.GetValue(iterations), peakGflops: peak, bandwidthGigabytesPerSecond: bandwidth);
            FileInfo file = result.GetValue(output)!;
            DrawRoofline(profile, new Analysis.Roofline(peak, bandwidth), file.FullName);
            AnsiConsole.MarkupLine($"peak {peak:F1} GFLOP/s, bandwidth {bandwidth:F1} GB/s, ridge at " +
                                   $"{peak / bandwidth:F1} FLOP/B; model {profile.ModelSeconds * 1e3:F2} ms, " +
                                   $"{profile.Gflops:F1} GFLOP/s");
            AnsiConsole.MarkupLine($"wrote [bold]{Markup.Escape(file.FullName)}[/]");
            return 0;
        }));
        return command;
    }

    private static Command Variants()
    {
        var threads = ProfileCommand.ThreadsOption();
        var batch = ProfileCommand.BatchOption();
        var isa = CommonOptions.Isa();
        var size = ProfileCommand.SizeOption();
        var iterations = ProfileCommand.IterationsOption(10);
        var models = new Option<string>("--models")
        {
            Description = "Comma-separated variants to measure",
            DefaultValueFactory = _ => "t0,t1,t2,s,m,l",
        };
        var output = Output("latency.png");
        var command = new Command("variants",
            "Latency of the FasterNet variants on this machine against the paper's ImageNet top-1 (its Figure 1)")
        {
            threads, batch, isa, size, iterations, models, output,
        };
        command.SetAction(result => CommonOptions.Guard(() =>
        {
            ProfileCommand.WidenRedirectedOutput();
            var specs = result.GetValue(models)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(ModelSpec.FromName).ToList();
            int side = result.GetValue(size), n = result.GetValue(batch);
            var options = new ModelOptions
            {
                Threads = result.GetValue(threads),
                KernelSet = Runtime.ParseKernelSet(result.GetValue(isa)!),
            };
            var points = new List<(ModelSpec Spec, double Milliseconds, double Top1)>();
            string setName = "";
            int threadCount = 0;
            AnsiConsole.Status().Start("measuring", context =>
            {
                foreach (ModelSpec spec in specs)
                {
                    context.Status($"FasterNet-{spec.Name.ToUpperInvariant()}");
                    using FasterNetModel network = FasterNetModel.CreateRandom(spec, seed: 0, options);
                    setName = network.KernelSet.ToString().ToLowerInvariant();
                    threadCount = network.Threads;
                    double seconds = ModelLatency.Median(network, n, side, side, result.GetValue(iterations), warmup: 2);
                    points.Add((spec, seconds * 1e3, PaperFigures.ImageNetTop1[spec.Name]));
                }
            });
            var table = new Table().Border(TableBorder.Rounded)
                .AddColumn("Variant")
                .AddColumn(new TableColumn("GMACs").RightAligned())
                .AddColumn(new TableColumn("Latency (ms)").RightAligned())
                .AddColumn(new TableColumn("GFLOP/s").RightAligned())
                .AddColumn(new TableColumn("Top-1 (paper)").RightAligned());
            foreach (var p in points)
            {
                double macs = p.Spec.Macs(side, side) * (double)n;
                table.AddRow(p.Spec.Name.ToUpperInvariant(), $"{macs / 1e9:F2}", $"{p.Milliseconds:F2}",
                    $"{2 * macs / (p.Milliseconds / 1e3) / 1e9:F1}", $"{p.Top1:F1}");
            }
            AnsiConsole.Write(table);
            FileInfo file = result.GetValue(output)!;
            DrawVariants(points.Select(p => (p.Spec.Name.ToUpperInvariant(), p.Milliseconds, p.Top1)).ToList(),
                $"batch {n}, {side}x{side}, {setName}, {threadCount} thread(s)", file.FullName);
            AnsiConsole.MarkupLine($"wrote [bold]{Markup.Escape(file.FullName)}[/]");
            return 0;
        }));
        return command;
    }

    /// <summary>Log-log roofline: the ceilings, and one point per layer coloured by its kind.</summary>
    internal static void DrawRoofline(ModelProfile profile, Analysis.Roofline roofline, string path)
    {
        IReadOnlyList<RooflinePoint> points = roofline.Points(profile);
        if (points.Count == 0)
            throw new InvalidOperationException("the profile has no layer with FLOPs to plot");
        double xMin = Math.Floor(Math.Log10(Math.Min(points.Min(p => p.Intensity), roofline.RidgeIntensity)) - 0.3);
        double xMax = Math.Ceiling(Math.Log10(Math.Max(points.Max(p => p.Intensity), roofline.RidgeIntensity)) + 0.3);
        double yMin = Math.Floor(Math.Log10(Math.Min(points.Min(p => p.Gflops), roofline.Attainable(Math.Pow(10, xMin)))));
        double yMax = Math.Log10(Math.Max(roofline.PeakGflops, points.Max(p => p.Gflops))) + 0.4;

        Plot plot = NewPlot();
        double ridge = Math.Log10(roofline.RidgeIntensity), top = Math.Log10(roofline.PeakGflops);
        var roof = plot.Add.Scatter(new[] { xMin, ridge, xMax },
            new[] { Math.Log10(roofline.Attainable(Math.Pow(10, xMin))), top, top });
        roof.Color = Colors.Black;
        roof.LineWidth = 2.5f;
        roof.MarkerSize = 0;
        roof.LegendText = "roofline: min(peak, bandwidth x intensity)";
        // The peak continues dashed over the memory-bound side, where its label has room.
        var peakLine = plot.Add.Line(xMin, top, ridge, top);
        peakLine.Color = Colors.Gray;
        peakLine.LineWidth = 1;
        peakLine.LinePattern = LinePattern.Dashed;
        var peakLabel = plot.Add.Text($"measured FMA peak {roofline.PeakGflops:F0} GFLOP/s", xMin + 0.05, top + 0.03);
        peakLabel.LabelAlignment = Alignment.LowerLeft;
        peakLabel.LabelFontSize = 14;
        double slopeX = xMin + 0.15 * (ridge - xMin);
        var bandwidthLabel = plot.Add.Text($"triad bandwidth {roofline.BandwidthGigabytesPerSecond:F0} GB/s",
            slopeX, Math.Log10(roofline.Attainable(Math.Pow(10, slopeX))) - 0.06);
        bandwidthLabel.LabelAlignment = Alignment.UpperLeft;
        // The slope's angle on screen: one decade across equals one decade up, scaled by the axes' pixels.
        bandwidthLabel.LabelRotation = -(float)(Math.Atan2(PlotAreaHeight / (yMax - yMin), PlotAreaWidth / (xMax - xMin)) * 180 / Math.PI);
        bandwidthLabel.LabelFontSize = 14;

        var palette = new ScottPlot.Palettes.Category10();
        int index = 0;
        foreach (IGrouping<string, RooflinePoint> kind in points.GroupBy(p => p.Kind))
        {
            var scatter = plot.Add.ScatterPoints(kind.Select(p => Math.Log10(p.Intensity)).ToArray(),
                kind.Select(p => Math.Log10(p.Gflops)).ToArray());
            scatter.Color = palette.GetColor(index++);
            scatter.MarkerSize = 9;
            scatter.LegendText = $"{kind.Key} ({kind.Count()})";
        }

        plot.Axes.Bottom.TickGenerator = LogTicks();
        plot.Axes.Left.TickGenerator = LogTicks();
        plot.Axes.SetLimits(xMin, xMax, yMin, yMax);
        plot.Grid.MinorLineColor = Colors.Black.WithOpacity(0.05);
        plot.Grid.MinorLineWidth = 1;
        plot.Title($"FasterNet-{profile.Model.ToUpperInvariant()} roofline: batch {profile.Batch}, {profile.Height}x{profile.Width}, " +
                   $"{profile.KernelSet.ToString().ToLowerInvariant()}, {profile.Threads} thread(s)");
        plot.XLabel("Arithmetic intensity (FLOP per byte; 2 FLOPs per multiply-add)");
        plot.YLabel("Achieved GFLOP/s");
        plot.ShowLegend(Alignment.LowerRight);
        plot.SavePng(path, ImageWidth, ImageHeight);
    }

    /// <summary>Latency here (x) against the paper's top-1 (y), one labelled point per variant.</summary>
    internal static void DrawVariants(IReadOnlyList<(string Name, double Milliseconds, double Top1)> points, string setting,
                                      string path)
    {
        Plot plot = NewPlot();
        var line = plot.Add.Scatter(points.Select(p => p.Milliseconds).ToArray(), points.Select(p => p.Top1).ToArray());
        line.LineWidth = 2;
        line.MarkerSize = 10;
        line.Color = new ScottPlot.Palettes.Category10().GetColor(3);
        line.LegendText = "FasterNet (this runtime)";
        foreach (var p in points)
        {
            var label = plot.Add.Text(p.Name, p.Milliseconds, p.Top1);
            label.LabelAlignment = Alignment.UpperLeft;
            label.LabelFontSize = 16;
            label.LabelBold = true;
            label.OffsetX = 8;
            label.OffsetY = 4;
        }
        double xMax = points.Max(p => p.Milliseconds);
        plot.Axes.SetLimits(0, xMax * 1.1, Math.Floor(points.Min(p => p.Top1)) - 1, Math.Ceiling(points.Max(p => p.Top1)) + 1);
        plot.Title($"FasterNet latency on this CPU vs ImageNet-1k top-1 ({setting})");
        plot.XLabel("Latency (ms, median)");
        plot.YLabel("ImageNet-1k top-1 (%) from the paper");
        plot.ShowLegend(Alignment.LowerRight);
        plot.SavePng(path, ImageWidth, ImageHeight);
    }

    // Ticks at powers of ten on a log10 axis, labelled with the values themselves.
    private static ScottPlot.TickGenerators.NumericAutomatic LogTicks() => new()
    {
        MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
        IntegerTicksOnly = true,
        LabelFormatter = value => Math.Pow(10, value).ToString(Math.Abs(value) < 1e-9 || value > 0 ? "G4" : "G2",
            System.Globalization.CultureInfo.InvariantCulture),
    };
}
