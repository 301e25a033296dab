using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using FasterNet.Cli.Benchmarking;
using Microsoft.ML.OnnxRuntime;

namespace FasterNet.Cli.Commands;

/// <summary>
/// `fasternet bench`: the paper's latency protocol (224x224, BN fused, warm-up, median and p90),
/// optionally side by side with ONNX Runtime on the same weights; `bench peak` measures the
/// machine's ceilings; `bench all` sweeps every variant for docs/performance.md.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var config = CommonOptions.Config();
        var weights = CommonOptions.Weights();
        var seed = Seed();
        var batch = new Option<int>("--batch", "-b") { Description = "Images per run", DefaultValueFactory = _ => 1 };
        var threads = new Option<int>("--threads", "-t") { Description = "Threads per run, FasterNet and ONNX Runtime alike (0 = all cores)", DefaultValueFactory = _ => 1 };
        var iterations = Iterations(50);
        var warmup = Warmup(10);
        var size = Size();
        var isa = CommonOptions.Isa();
        var precision = CommonOptions.Precision();
        var peer = Peer("none");
        var peak = new Option<bool>("--peak") { Description = "Measure the FMA peak first and report % of peak" };
        var json = CommonOptions.Json();
        var command = new Command("bench", "Time a model (median and p90 latency, throughput, GFLOP/s), optionally against ONNX Runtime")
        {
            model, config, weights, seed, batch, threads, iterations, warmup, size, isa, precision, peer, peak, json,
        };
        command.Subcommands.Add(CreatePeak());
        command.Subcommands.Add(CreateAll());
        command.SetAction(result => GuardOnnxRuntime(() =>
        {
            ModelSpec spec = CommonOptions.ResolveSpec(result, model, config, weights);
            var settings = Settings(result.GetValue(iterations), result.GetValue(warmup), result.GetValue(size), maxCaseSeconds: 0);
            int batchSize = Positive(result.GetValue(batch), "--batch");
            KernelSet kernelSet = Runtime.ParseKernelSet(result.GetValue(isa)!);
            (IReadOnlyDictionary<string, Tensor> stateDict, string label) =
                WeightsSource.Load(spec, result.GetValue(weights), result.GetValue(seed));

            (bool fp32Peer, bool int8Peer) = ParsePeers(result.GetValue(peer)!);
            using var subject = BenchmarkSubject.Create(spec, stateDict, label, result.GetValue(threads), kernelSet,
                withPeer: fp32Peer, CommonOptions.ParsePrecision(result.GetValue(precision)!), int8Peer,
                calibrationSize: settings.Size);
            double? peakGflops = result.GetValue(peak)
                ? MachineCeilings.Measure([subject.Model.Threads], seconds: 1.0, withBandwidth: false, kernelSet)
                    .PeakFor(subject.Model.Threads, subject.Model.Precision, subject.Model.PrecisionKernels)
                : null;
            CaseResult outcome = subject.Measure(batchSize, settings, peakGflops);
            WarnIfDisagreeing(outcome);
            Console.WriteLine(result.GetValue(json)
                ? BenchmarkReport.Serialize(BenchmarkReport.ToJson(outcome, settings, peakGflops))
                : BenchmarkReport.ToText(outcome, peakGflops));
            return 0;
        }));
        return command;
    }

    private static Command CreatePeak()
    {
        var threads = new Option<int>("--threads", "-t") { Description = "Thread count besides 1", DefaultValueFactory = _ => Environment.ProcessorCount };
        var seconds = new Option<double>("--seconds") { Description = "Seconds per peak measurement", DefaultValueFactory = _ => 1.0 };
        var isa = CommonOptions.Isa();
        var json = CommonOptions.Json();
        var command = new Command("peak", "Measure fp32 FMA peak GFLOP/s and triad bandwidth with 1 and N threads") { threads, seconds, isa, json };
        command.SetAction(result => CommonOptions.Guard(() =>
        {
            int n = Positive(result.GetValue(threads), "--threads");
            KernelSet kernelSet = Runtime.ParseKernelSet(result.GetValue(isa)!);
            MachineCeilings ceilings = MachineCeilings.Measure([1, n], result.GetValue(seconds), withBandwidth: true, kernelSet);
            MachineInfo machine = MachineInfo.Current();
            if (result.GetValue(json))
            {
                var document = new JsonObject
                {
                    ["machine"] = machine.ToJson(),
                    ["ceilings"] = CeilingsJson(ceilings),
                };
                Console.WriteLine(BenchmarkReport.Serialize(document));
                return 0;
            }
            Console.WriteLine(machine);
            foreach (Ceiling c in ceilings.All)
                Console.WriteLine(FormattableString.Invariant(
                    $"  {c.Threads} thread{(c.Threads == 1 ? " " : "s")}: fp32 FMA peak {c.PeakGflops,7:F1} GFLOP/s   triad bandwidth {c.BandwidthGBps,6:F1} GB/s") +
                    (c.Bf16PeakGflops is { } bf16 ? FormattableString.Invariant($"   bf16 VDPBF16PS peak {bf16,7:F1} GFLOP/s") : "   bf16: no AVX512-BF16") +
                    (c.AmxBf16PeakGflops is { } amx
                        ? FormattableString.Invariant($"   AMX TDPBF16PS peak {amx,7:F1} GFLOP/s")
                        : $"   AMX not measured: {c.AmxUnavailable}"));
            return 0;
        }));
        return command;
    }

    private static Command CreateAll()
    {
        var models = new Option<string>("--models") { Description = "Comma-separated variants", DefaultValueFactory = _ => "t0,t1,t2,s,m,l" };
        var threads = new Option<string>("--threads", "-t") { Description = "Comma-separated thread counts", DefaultValueFactory = _ => "1,2" };
        var batches = new Option<string>("--batch", "-b") { Description = "Comma-separated batch sizes", DefaultValueFactory = _ => "1,16" };
        var iterations = Iterations(20);
        var warmup = Warmup(3);
        var size = Size();
        var maxCaseSeconds = new Option<double>("--max-case-seconds")
        {
            Description = "Fewer timed runs (at least 5) when a case would take longer than this; 0 = never",
            DefaultValueFactory = _ => 60,
        };
        var seed = Seed();
        var isa = CommonOptions.Isa();
        var precision = CommonOptions.Precision();
        var json = CommonOptions.Json();
        var markdown = new Option<bool>("--markdown") { Description = "Print a Markdown table (for docs/performance.md)" };
        var saveJson = new Option<FileInfo?>("--save-json") { Description = "Also write the JSON document to this file" };
        var peer = Peer("onnxruntime");
        var command = new Command("all", "Every variant x batch x threads against ONNX Runtime on the same weights, with % of peak")
        {
            models, threads, batches, iterations, warmup, size, maxCaseSeconds, seed, isa, precision, peer, json, markdown, saveJson,
        };
        command.SetAction(result => GuardOnnxRuntime(() =>
        {
            ModelSpec[] specs = ParseList(result.GetValue(models)!, "--models", ModelSpec.FromName).ToArray();
            int[] threadCounts = ParseList(result.GetValue(threads)!, "--threads", ParsePositive).ToArray();
            int[] batchSizes = ParseList(result.GetValue(batches)!, "--batch", ParsePositive).ToArray();
            var settings = Settings(result.GetValue(iterations), result.GetValue(warmup), result.GetValue(size),
                result.GetValue(maxCaseSeconds));
            KernelSet kernelSet = Runtime.ParseKernelSet(result.GetValue(isa)!);
            ulong randomSeed = result.GetValue(seed);
            Precision arithmetic = CommonOptions.ParsePrecision(result.GetValue(precision)!);
            (bool fp32Peer, bool int8Peer) = ParsePeers(result.GetValue(peer)!);
            if (!fp32Peer)
                throw new ArgumentException("bench all compares with ONNX Runtime fp32: --peer must include onnxruntime");

            Console.Error.WriteLine("measuring peak FMA throughput and bandwidth ...");
            MachineCeilings ceilings = MachineCeilings.Measure(threadCounts, seconds: 1.0, withBandwidth: true, kernelSet);
            var results = new List<CaseResult>();
            foreach (ModelSpec spec in specs)
            {
                (IReadOnlyDictionary<string, Tensor> stateDict, string label) = WeightsSource.Load(spec, null, randomSeed);
                foreach (int threadCount in threadCounts)
                {
                    using var subject = BenchmarkSubject.Create(spec, stateDict, label, threadCount, kernelSet, withPeer: true, arithmetic,
                        int8Peer, calibrationSize: settings.Size);
                    foreach (int batchSize in batchSizes)
                    {
                        CaseResult outcome = subject.Measure(batchSize, settings,
                            ceilings.PeakFor(threadCount, arithmetic, subject.Model.PrecisionKernels));
                        WarnIfDisagreeing(outcome);
                        Console.Error.WriteLine(FormattableString.Invariant(
                            $"  {spec.Name,-3} batch {batchSize,3} threads {threadCount}: FasterNet {outcome.Ours.Latency.MedianMs:F2} ms, ORT {outcome.Peer!.Latency.MedianMs:F2} ms, ratio {outcome.Ratio:F2}x") +
                            (outcome.Int8Peer is { } int8 ? FormattableString.Invariant($", ORT int8 {int8.Latency.MedianMs:F2} ms, ratio {outcome.Int8Ratio:F2}x") : ""));
                        results.Add(outcome);
                    }
                }
            }
            PrintAll(results, ceilings, arithmetic, settings, result.GetValue(json), result.GetValue(markdown), result.GetValue(saveJson));
            return 0;
        }));
        return command;
    }

    private static void PrintAll(IReadOnlyList<CaseResult> results, MachineCeilings ceilings, Precision precision, BenchmarkSettings settings,
                                 bool json, bool markdown, FileInfo? saveJson)
    {
        MachineInfo machine = MachineInfo.Current();
        string date = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
        var document = new JsonObject
        {
            ["date"] = date,
            ["machine"] = machine.ToJson(),
            ["ceilings"] = CeilingsJson(ceilings),
            ["results"] = new JsonArray(results
                .Select(r => (JsonNode?)BenchmarkReport.ToJson(r, settings, ceilings.PeakFor(r.Threads, precision, r.KernelSet))).ToArray()),
        };
        if (saveJson is not null)
            File.WriteAllText(saveJson.FullName, BenchmarkReport.Serialize(document) + Environment.NewLine);
        if (json)
        {
            Console.WriteLine(BenchmarkReport.Serialize(document));
            return;
        }
        Console.WriteLine($"{date}: {machine}");
        Console.WriteLine(FormattableString.Invariant(
            $"{settings.Size}x{settings.Size}, up to {settings.Iterations} timed runs after {settings.Warmup} warm-up runs, interleaved; ratio = ORT median / FasterNet median"));
        foreach (Ceiling c in ceilings.All)
            Console.WriteLine(FormattableString.Invariant($"peak {c.Threads} thread(s): {c.PeakGflops:F1} GFLOP/s, triad {c.BandwidthGBps:F1} GB/s") +
                              (c.Bf16PeakGflops is { } bf16 ? FormattableString.Invariant($", bf16 VDPBF16PS {bf16:F1} GFLOP/s") : "") +
                              (c.AmxBf16PeakGflops is { } amx ? FormattableString.Invariant($", AMX TDPBF16PS {amx:F1} GFLOP/s") : ""));
        Console.WriteLine();
        Console.WriteLine(markdown ? BenchmarkReport.ToMarkdown(results) : BenchmarkReport.ToTable(results));
    }

    private static JsonArray CeilingsJson(MachineCeilings ceilings) => new(ceilings.All.Select(c => (JsonNode?)new JsonObject
    {
        ["threads"] = c.Threads,
        ["peak_gflops"] = Math.Round(c.PeakGflops, 1),
        ["bandwidth_gb_s"] = c.BandwidthGBps is { } b ? Math.Round(b, 1) : null,
        ["bf16_peak_gflops"] = c.Bf16PeakGflops is { } p ? Math.Round(p, 1) : null,
        ["amx_bf16_peak_gflops"] = c.AmxBf16PeakGflops is { } amx ? Math.Round(amx, 1) : null,
        ["amx_unavailable"] = c.AmxUnavailable,
    }).ToArray());

    private static void WarnIfDisagreeing(CaseResult outcome)
    {
        if (!outcome.Disagrees)
            return;
        Console.Error.WriteLine(
            FormattableString.Invariant($"WARNING: FasterNet and ONNX Runtime DISAGREE on {outcome.Model} batch {outcome.Batch}: ") +
            FormattableString.Invariant($"max rel diff {outcome.MaxRelativeDifference:E2} > {outcome.AgreementTolerance:E0}. ") +
            "The timings compare different computations.");
    }

    /// <summary>ONNX Runtime's own errors become the same one-line message as ours.</summary>
    private static int GuardOnnxRuntime(Func<int> body) => CommonOptions.Guard(() =>
    {
        try
        {
            return body();
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidOperationException($"ONNX Runtime: {e.Message}", e);
        }
    });

    private static BenchmarkSettings Settings(int iterations, int warmup, int size, double maxCaseSeconds)
    {
        Positive(iterations, "--iterations");
        if (warmup < 0)
            throw new ArgumentException($"--warmup must be 0 or more, got {warmup}");
        Positive(size, "--size");
        return new BenchmarkSettings(iterations, warmup, size, maxCaseSeconds);
    }

    private const string PeerNames = "none, onnxruntime, onnxruntime-int8, or onnxruntime,onnxruntime-int8";

    private static Option<string> Peer(string fallback) => new("--peer")
    {
        Description = "Runtimes to compare with on the same weights: onnxruntime (fp32), onnxruntime-int8 (its int8 QDQ " +
                      $"graph, calibrated on {BenchmarkSubject.CalibrationBatches} random images), both comma-separated, or none",
        DefaultValueFactory = _ => fallback,
    };

    /// <summary>Which peers a --peer value names; anything else is an error naming the accepted values.</summary>
    internal static (bool Fp32, bool Int8) ParsePeers(string text)
    {
        string[] names = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (names.Length == 0)
            throw new ArgumentException($"--peer is empty; expected {PeerNames}");
        bool fp32 = false, int8 = false;
        foreach (string name in names)
        {
            switch (name.ToLowerInvariant())
            {
                case "onnxruntime": fp32 = true; break;
                case "onnxruntime-int8": int8 = true; break;
                case "none" when names.Length == 1: break;
                default: throw new ArgumentException($"--peer '{text}' is not one of {PeerNames}");
            }
        }
        return (fp32, int8);
    }

    private static Option<ulong> Seed() =>
        new("--seed") { Description = "Seed of the random weights (without --weights)", DefaultValueFactory = _ => 0 };

    private static Option<int> Iterations(int fallback) =>
        new("--iterations", "-n") { Description = "Timed runs (per runtime)", DefaultValueFactory = _ => fallback };

    private static Option<int> Warmup(int fallback) =>
        new("--warmup") { Description = "Untimed runs first (per runtime)", DefaultValueFactory = _ => fallback };

    private static Option<int> Size() =>
        new("--size") { Description = "Input height and width", DefaultValueFactory = _ => 224 };

    private static int Positive(int value, string option) =>
        value >= 1 ? value : throw new ArgumentException($"{option} must be at least 1, got {value}");

    private static int ParsePositive(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value >= 1
            ? value
            : throw new ArgumentException($"'{text}' is not a positive whole number");

    private static IEnumerable<T> ParseList<T>(string text, string option, Func<string, T> parse)
    {
        string[] items = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (items.Length == 0)
            throw new ArgumentException($"{option} is empty");
        return items.Select(parse).ToList();
    }
}
