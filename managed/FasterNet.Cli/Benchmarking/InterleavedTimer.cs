using System.Diagnostics;

namespace FasterNet.Cli.Benchmarking;

/// <summary>
/// Times two runners in alternating blocks (A B, B A, A B, ...) so that clock-speed drift and
/// other tenants' load fall on both alike; ratios of the medians are then fair.
/// Each block starts with one untimed run, so no timed run starts with caches full of the other
/// runtime's weights. Neither runtime may keep spinning after a run returns (see OrtPeer):
/// a spinning pool would steal the second core from the other runtime's runs.
/// </summary>
internal static class InterleavedTimer
{
    /// <summary>Rounds the runs are spread over (fewer when there are fewer runs).</summary>
    public const int Rounds = 10;

    /// <summary>Per-run milliseconds of <paramref name="first"/> and, if given, <paramref name="second"/>.</summary>
    public static (List<double> First, List<double> Second) Time(Action first, Action? second, int iterations)
    {
        var a = new List<double>(iterations);
        var b = new List<double>(iterations);
        int rounds = Math.Min(Rounds, iterations);
        for (int round = 0; round < rounds; round++)
        {
            // Rounds share the iterations as evenly as the count allows.
            int runs = iterations * (round + 1) / rounds - iterations * round / rounds;
            if (second is null || round % 2 == 0)
            {
                TimeBlock(first, runs, a);
                if (second is not null)
                    TimeBlock(second, runs, b);
            }
            else
            {
                TimeBlock(second, runs, b);
                TimeBlock(first, runs, a);
            }
        }
        return (a, b);
    }

    /// <summary>Untimed runs, interleaved the same way, to fill caches and wake thread pools.</summary>
    public static void WarmUp(Action first, Action? second, int runs)
    {
        for (int i = 0; i < runs; i++)
        {
            first();
            second?.Invoke();
        }
    }

    private static void TimeBlock(Action run, int runs, List<double> milliseconds)
    {
        run();
        for (int i = 0; i < runs; i++)
        {
            long start = Stopwatch.GetTimestamp();
            run();
            milliseconds.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
    }
}
