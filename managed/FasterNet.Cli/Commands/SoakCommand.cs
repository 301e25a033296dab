using System.CommandLine;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace FasterNet.Cli.Commands;

/// <summary>
/// `fasternet soak`: many callers run one model for a long time over mixed batch sizes and image sizes;
/// prints resident memory (RSS) and the managed heap at regular points, so a leak or an ever-growing
/// activation pool shows as a rising curve after warm-up. A benchmark-style check, not a unit test.
/// </summary>
internal static class SoakCommand
{
    private static readonly int[] Batches = [1, 2, 3, 4];
    private static readonly int[] Sizes = [32, 48, 56, 64, 80, 96];

    public static Command Create()
    {
        var model = CommonOptions.Model();
        var config = CommonOptions.Config();
        var callers = new Option<int>("--callers") { Description = "Threads calling the model at once", DefaultValueFactory = _ => 8 };
        var runs = new Option<int>("--runs") { Description = "Runs per caller", DefaultValueFactory = _ => 20_000 };
        var threads = new Option<int>("--threads", "-t") { Description = "Threads per run (0 = all cores)", DefaultValueFactory = _ => 1 };
        var points = new Option<int>("--points") { Description = "Memory samples along the run", DefaultValueFactory = _ => 20 };
        var maxIdle = new Option<int>("--max-idle-scratch-mib") { Description = "Bound on activation memory kept between runs (0 = no limit)" };
        var json = CommonOptions.Json();
        var command = new Command("soak", "Long mixed-shape load from many threads on one model; reports the resident-memory curve")
        {
            model, config, callers, runs, threads, points, maxIdle, json,
        };
        command.SetAction(result => CommonOptions.Guard(() =>
        {
            int callerCount = Positive(result.GetValue(callers), "--callers");
            int runsEach = Positive(result.GetValue(runs), "--runs");
            int samples = Positive(result.GetValue(points), "--points");
            ModelSpec spec = CommonOptions.ResolveSpec(result.GetValue(model)!, result.GetValue(config));
            if (spec.Backbone)
                throw new ArgumentException($"model {spec.Name} is a backbone; soak runs classifiers");
            using FasterNetModel net = FasterNetModel.CreateRandom(spec, 1, new ModelOptions
            {
                Threads = result.GetValue(threads),
                MaxIdleScratchBytes = (long)result.GetValue(maxIdle) * 1048576,
            });
            Report report = Soak(net, callerCount, runsEach, samples, quiet: result.GetValue(json));
            if (result.GetValue(json))
                Console.WriteLine(JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
            else
                PrintSummary(report);
            return report.Failures == 0 ? 0 : 1;
        }));
        return command;
    }

    /// <summary>
    /// One point of the curve. Besides RSS: the managed heap (live objects), the garbage collections so far and
    /// what the GC had committed at the last one (0 before the first), the activations idle in the model's pool,
    /// and the C heap as glibc sees it (in use, and freed but still held by its arenas), so a rising RSS can be
    /// traced to the part that grows. NativeHeap* are -1 off glibc.
    /// </summary>
    private sealed record Sample(long Runs, double Seconds, double RssMiB, double ManagedHeapMiB, int GarbageCollections,
                                 double ManagedCommittedMiB, double IdleScratchMiB, double NativeHeapInUseMiB,
                                 double NativeHeapFreeHeldMiB);

    private sealed record Report(string Model, int Callers, int RunsPerCaller, int ThreadsPerRun, string Shapes,
                                 long Runs, int Failures, double Seconds, double RunsPerSecond,
                                 double RssAfterWarmupMiB, double RssAtEndMiB, double RssPeakMiB, IReadOnlyList<Sample> Curve);

    private static Report Soak(FasterNetModel net, int callers, int runsEach, int samples, bool quiet)
    {
        long total = (long)callers * runsEach, completed = 0;
        int failures = 0;
        long step = Math.Max(1, total / samples);
        var curve = new List<Sample>();
        var clock = Stopwatch.StartNew();
        var sampleLock = new object();
        long nextSample = step;
        void Record(long done)
        {
            (double inUse, double freeHeld) = NativeHeap.UsageMiB();
            var sample = new Sample(done, clock.Elapsed.TotalSeconds, ResidentMiB(), GC.GetTotalMemory(false) / 1048576.0,
                                    GC.CollectionCount(0), GC.GetGCMemoryInfo().TotalCommittedBytes / 1048576.0,
                                    net.IdleScratchBytes / 1048576.0, inUse, freeHeld);
            curve.Add(sample);
            if (!quiet)
            {
                string native = inUse < 0 ? "" : $"  C heap in use {sample.NativeHeapInUseMiB,6:F1} MiB, free held {sample.NativeHeapFreeHeldMiB,6:F1} MiB";
                Console.WriteLine($"  {sample.Runs,9:N0} runs  {sample.Seconds,7:F1} s  RSS {sample.RssMiB,7:F1} MiB  " +
                                  $"managed heap {sample.ManagedHeapMiB,6:F1} MiB ({sample.GarbageCollections} GCs)  " +
                                  $"idle activations {sample.IdleScratchMiB,6:F1} MiB{native}");
            }
        }
        Record(0);

        var workers = Enumerable.Range(0, callers).Select(caller => new Thread(() =>
        {
            var random = new Random(caller + 1);
            int largest = Batches.Max() * net.Spec.InChannels * Sizes.Max() * Sizes.Max();
            var input = new float[largest];
            for (int i = 0; i < input.Length; i++)
                input[i] = random.NextSingle() - 0.5f;
            var logits = new float[Batches.Max() * net.Spec.NumClasses];
            for (int r = 0; r < runsEach; r++)
            {
                int batch = Batches[random.Next(Batches.Length)];
                int height = Sizes[random.Next(Sizes.Length)], width = Sizes[random.Next(Sizes.Length)];
                try
                {
                    net.Run(input.AsSpan(0, batch * net.Spec.InChannels * height * width), batch, height, width,
                        logits.AsSpan(0, batch * net.Spec.NumClasses));
                }
                catch (FasterNetException e)
                {
                    if (Interlocked.Increment(ref failures) <= 3)
                        Console.Error.WriteLine($"error: run {r} of caller {caller} ({batch}x{height}x{width}): {e.Message}");
                }
                long done = Interlocked.Increment(ref completed);
                if (done >= Volatile.Read(ref nextSample))
                {
                    lock (sampleLock)
                    {
                        if (done >= nextSample)
                        {
                            Record(done);
                            nextSample += step;
                        }
                    }
                }
            }
        })).ToList();
        foreach (Thread worker in workers)
            worker.Start();
        foreach (Thread worker in workers)
            worker.Join();
        double seconds = clock.Elapsed.TotalSeconds;
        if (curve[^1].Runs != total)
            Record(total);

        // Warm-up: the first tenth of the runs (every shape has been seen many times by then).
        Sample warm = curve.First(s => s.Runs >= total / 10);
        return new Report(net.Spec.Name, callers, runsEach, net.Threads,
            $"batch {string.Join('/', Batches)} x {string.Join('/', Sizes)} x {string.Join('/', Sizes)}",
            total, failures, seconds, total / seconds, warm.RssMiB, curve[^1].RssMiB, curve.Max(s => s.RssMiB), curve);
    }

    private static void PrintSummary(Report r)
    {
        Console.WriteLine();
        Console.WriteLine($"{r.Model}: {r.Callers} callers x {r.RunsPerCaller:N0} runs ({r.Shapes}), {r.ThreadsPerRun} thread(s) per run");
        Console.WriteLine($"  {r.Runs:N0} runs in {r.Seconds:F1} s ({r.RunsPerSecond:F0} runs/s), {r.Failures} failed");
        Console.WriteLine($"  RSS after warm-up {r.RssAfterWarmupMiB:F1} MiB, at the end {r.RssAtEndMiB:F1} MiB, peak {r.RssPeakMiB:F1} MiB " +
                          $"({r.RssAtEndMiB - r.RssAfterWarmupMiB:+0.0;-0.0} MiB after warm-up)");
    }

    /// <summary>Resident set size from /proc (what the OS charges the process), else the working set.</summary>
    private static double ResidentMiB()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
            }
        }
        catch (IOException)
        {
        }
        return Environment.WorkingSet / 1048576.0;
    }

    /// <summary>glibc's own account of the C heap (mallinfo2, glibc 2.33+; summed over every arena).</summary>
    private static class NativeHeap
    {
        [StructLayout(LayoutKind.Sequential)]
        private struct MallInfo2
        {
            public nuint Arena, OrdBlks, SmBlks, HBlks, HBlkHd, UsmBlks, FsmBlks, UordBlks, FordBlks, KeepCost;
        }

        [DllImport("libc", EntryPoint = "mallinfo2")]
        private static extern MallInfo2 MallInfo();

        private static bool unavailable = !OperatingSystem.IsLinux();

        /// <summary>(in use: allocated chunks + mmapped blocks, free but held by the arenas), in MiB; (-1, -1) off glibc.</summary>
        public static (double InUse, double FreeHeld) UsageMiB()
        {
            if (unavailable)
                return (-1, -1);
            try
            {
                MallInfo2 info = MallInfo();
                return ((info.UordBlks + info.HBlkHd) / 1048576.0, info.FordBlks / 1048576.0);
            }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
            {
                unavailable = true;  // musl, or a glibc older than 2.33
                return (-1, -1);
            }
        }
    }

    private static int Positive(int value, string name) =>
        value > 0 ? value : throw new ArgumentException($"{name} {value} must be positive");
}
