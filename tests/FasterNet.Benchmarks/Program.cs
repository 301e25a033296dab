using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;

namespace FasterNet.Benchmarks;

/// <summary>
/// Runs the suite; BenchmarkDotNet's own arguments apply, e.g.
///   dotnet run -c Release --project tests/FasterNet.Benchmarks -- --filter '*T0*' [--quick]
/// --quick uses a short job (3 warm-up, 5 measured iterations) so one variant takes a couple of minutes.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        bool quick = args.Contains("--quick");
        Job job = quick
            ? Job.Default.WithId("Quick").WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(5)
            : Job.Default.WithId("Standard").WithLaunchCount(1).WithWarmupCount(5).WithIterationCount(15);
        IConfig config = DefaultConfig.Instance.AddJob(job.AsDefault());
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly)
            .Run(args.Where(a => a != "--quick").ToArray(), config);
        return 0;
    }
}
