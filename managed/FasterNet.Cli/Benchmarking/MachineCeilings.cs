namespace FasterNet.Cli.Benchmarking;

/// <summary>The roofline's ceilings for one thread count, measured in this process.</summary>
internal sealed record Ceiling(int Threads, double PeakGflops, double? BandwidthGBps, double? Bf16PeakGflops = null);

/// <summary>Peak FMA throughput (and triad bandwidth) per thread count, measured once per run.</summary>
internal sealed class MachineCeilings
{
    private readonly Dictionary<int, Ceiling> _byThreads = [];

    public IReadOnlyCollection<Ceiling> All => _byThreads.Values.OrderBy(c => c.Threads).ToList();

    /// <summary>Measures every distinct thread count; bandwidth only when <paramref name="withBandwidth"/>.</summary>
    /// <param name="kernelSet">Measures that set's FMA width (the one the models run with).</param>
    public static MachineCeilings Measure(IEnumerable<int> threadCounts, double seconds, bool withBandwidth, KernelSet kernelSet)
    {
        var ceilings = new MachineCeilings();
        KernelSet previous = Runtime.ActiveKernelSet;
        bool forced = kernelSet != KernelSet.Auto && kernelSet != previous;
        if (forced)
            Runtime.ForceKernelSet(kernelSet);
        try
        {
            foreach (int threads in threadCounts.Distinct().Order())
            {
                double peak = FasterNet.Measurement.MeasurePeakGflops(threads, seconds);
                double? bandwidth = withBandwidth ? FasterNet.Measurement.MeasureBandwidth(threads) : null;
                double? bf16 = Runtime.CpuFeatures.Contains("avx512bf16")
                    ? FasterNet.Measurement.MeasureBf16PeakGflops(threads, seconds)
                    : null;
                ceilings._byThreads[threads] = new Ceiling(threads, peak, bandwidth, bf16);
            }
        }
        finally
        {
            if (forced)
                Runtime.ForceKernelSet(previous);
        }
        return ceilings;
    }

    /// <summary>The peak measured for <paramref name="threads"/>, or null when none was.</summary>
    public double? PeakFor(int threads) => _byThreads.TryGetValue(threads, out Ceiling? c) ? c.PeakGflops : null;

    /// <summary>The peak of the arithmetic a model runs: bf16 (VDPBF16PS) for a bf16 model, else fp32 FMA.</summary>
    public double? PeakFor(int threads, Precision precision) =>
        precision == Precision.BFloat16
            ? (_byThreads.TryGetValue(threads, out Ceiling? c) ? c.Bf16PeakGflops : null)
            : PeakFor(threads);
}
