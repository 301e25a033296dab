namespace FasterNet.Cli.Benchmarking;

/// <summary>Order statistics of per-run wall times, in milliseconds.</summary>
internal sealed record LatencySummary(double MedianMs, double P90Ms, double MinMs, double MeanMs, int Runs)
{
    public static LatencySummary From(IReadOnlyCollection<double> milliseconds)
    {
        if (milliseconds.Count == 0)
            throw new ArgumentException("no timed runs", nameof(milliseconds));
        double[] sorted = milliseconds.Order().ToArray();
        return new(Percentile(sorted, 0.5), Percentile(sorted, 0.9), sorted[0], sorted.Average(), sorted.Length);
    }

    /// <summary>Linear interpolation between closest ranks (numpy's default).</summary>
    private static double Percentile(double[] sorted, double fraction)
    {
        double rank = fraction * (sorted.Length - 1);
        int below = (int)Math.Floor(rank), above = (int)Math.Ceiling(rank);
        return sorted[below] + (sorted[above] - sorted[below]) * (rank - below);
    }
}

/// <summary>What one runtime achieved on one case: latency and the throughput it implies.</summary>
internal sealed record RunnerResult(string Name, LatencySummary Latency, double ImagesPerSecond, double Gflops,
                                    double? PercentOfPeak)
{
    /// <param name="macsPerImage">Multiply-accumulates of one image (ModelSpec.Macs).</param>
    /// <param name="peakGflops">Measured peak for the same thread count, if any.</param>
    public static RunnerResult From(string name, LatencySummary latency, int batch, long macsPerImage, double? peakGflops)
    {
        double seconds = latency.MedianMs / 1e3;
        double gflops = 2.0 * macsPerImage * batch / seconds / 1e9;
        return new(name, latency, batch / seconds, gflops, peakGflops is > 0 ? 100.0 * gflops / peakGflops : null);
    }
}
