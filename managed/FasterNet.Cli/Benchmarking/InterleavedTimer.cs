using System.Diagnostics;

namespace FasterNet.Cli.Benchmarking;

/// <summary>
/// Times runners in rotating blocks (A B C, B C A, C A B, ...; two: A B, B A) so that clock-speed drift and
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
        List<double>[] times = Time(second is null ? [first] : [first, second], iterations);
        return (times[0], second is null ? [] : times[1]);
    }

    /// <summary>Per-run milliseconds of each runner; each round starts one runner later than the last.</summary>
    public static List<double>[] Time(IReadOnlyList<Action> runners, int iterations)
    {
        List<double>[] times = runners.Select(_ => new List<double>(iterations)).ToArray();
        int rounds = Math.Min(Rounds, iterations);
        for (int round = 0; round < rounds; round++)
        {
            // Rounds share the iterations as evenly as the count allows.
            int runs = iterations * (round + 1) / rounds - iterations * round / rounds;
            for (int i = 0; i < runners.Count; i++)
            {
                int runner = (round + i) % runners.Count;
                TimeBlock(runners[runner], runs, times[runner]);
            }
        }
        return times;
    }

    /// <summary>Untimed runs, interleaved the same way, to fill caches and wake thread pools.</summary>
    public static void WarmUp(Action first, Action? second, int runs) => WarmUp(second is null ? [first] : [first, second], runs);

    /// <summary>Untimed runs of every runner in turn.</summary>
    public static void WarmUp(IReadOnlyList<Action> runners, int runs)
    {
        for (int i = 0; i < runs; i++)
        {
            foreach (Action run in runners)
                run();
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
