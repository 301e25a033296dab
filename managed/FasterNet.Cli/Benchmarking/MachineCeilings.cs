namespace FasterNet.Cli.Benchmarking;

/// <summary>The roofline's ceilings for one thread count, measured in this process.</summary>
/// <remarks>AmxBf16PeakGflops is null where AMX cannot run; AmxUnavailable then says why.</remarks>
internal sealed record Ceiling(int Threads, double PeakGflops, double? BandwidthGBps, double? Bf16PeakGflops = null,
                               double? AmxBf16PeakGflops = null, string? AmxUnavailable = null);

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
                (double? amx, string? amxUnavailable) = MeasureAmx(threads, seconds);
                ceilings._byThreads[threads] = new Ceiling(threads, peak, bandwidth, bf16, amx, amxUnavailable);
            }
        }
        finally
        {
            if (forced)
                Runtime.ForceKernelSet(previous);
        }
        return ceilings;
    }

    /// <summary>The AMX TDPBF16PS peak, or why it was not measured (the native library's reason).</summary>
    private static (double? Gflops, string? Unavailable) MeasureAmx(int threads, double seconds)
    {
        try
        {
            return (FasterNet.Measurement.MeasureAmxBf16PeakGflops(threads, seconds), null);
        }
        catch (NotSupportedByRuntimeException e)
        {
            return (null, e.Message);
        }
    }

    /// <summary>The peak measured for <paramref name="threads"/>, or null when none was.</summary>
    public double? PeakFor(int threads) => _byThreads.TryGetValue(threads, out Ceiling? c) ? c.PeakGflops : null;

    /// <summary>
    /// The peak of the arithmetic a model runs: for a bf16 model AMX TDPBF16PS when its kernels
    /// (<paramref name="kernels"/>, e.g. "avx512 + amx_bf16") are the AMX set, else VDPBF16PS; fp32 FMA otherwise.
    /// </summary>
    public double? PeakFor(int threads, Precision precision, string? kernels = null)
    {
        if (precision != Precision.BFloat16)
            return PeakFor(threads);
        if (!_byThreads.TryGetValue(threads, out Ceiling? c))
            return null;
        return kernels is not null && kernels.Contains("amx_bf16", StringComparison.Ordinal) ? c.AmxBf16PeakGflops : c.Bf16PeakGflops;
    }
}
