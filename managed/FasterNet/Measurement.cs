using FasterNet.Interop;
using FasterNet.Native;

namespace FasterNet;

/// <summary>
/// The machine's ceilings, measured by the native runtime: the roofline's compute peak and
/// memory bandwidth, against which achieved GFLOP/s are judged.
/// </summary>
public static unsafe class Measurement
{
    /// <summary>Default array footprint of the bandwidth test: far larger than any last-level cache.</summary>
    public const long DefaultBandwidthBytes = 768L << 20;

    /// <summary>
    /// fp32 FMA throughput in GFLOP/s (2 flops per FMA lane) with <paramref name="threads"/> threads
    /// (0 = all cores), measured for about <paramref name="seconds"/> with the widest FMA of the
    /// active kernel set.
    /// </summary>
    /// <exception cref="InvalidModelInputException">threads or seconds out of range.</exception>
    public static double MeasurePeakGflops(int threads, double seconds = 0.5)
    {
        double gflops;
        NativeModel.ThrowIfFailed(NativeMethods.MeasurePeak(threads, seconds, &gflops), "peak measurement");
        return gflops;
    }

    /// <summary>
    /// bf16 throughput in GFLOP/s: VDPBF16PS (AVX512-BF16), 4 flops per fp32 lane, with
    /// <paramref name="threads"/> threads (0 = all cores). AMX tiles: <see cref="MeasureAmxBf16PeakGflops"/>.
    /// </summary>
    /// <exception cref="NotSupportedByRuntimeException">The CPU has no AVX512-BF16.</exception>
    public static double MeasureBf16PeakGflops(int threads, double seconds = 0.5)
    {
        double gflops;
        NativeModel.ThrowIfFailed(NativeMethods.MeasureBf16Peak(threads, seconds, &gflops), "bf16 peak measurement");
        return gflops;
    }

    /// <summary>
    /// AMX bf16 throughput in GFLOP/s: register-only TDPBF16PS on four C tiles, 2 flops per bf16
    /// product (as <see cref="MeasureBf16PeakGflops"/> counts), with <paramref name="threads"/> threads
    /// (0 = all cores).
    /// </summary>
    /// <exception cref="NotSupportedByRuntimeException">
    /// The CPU has no AMX-TILE + AMX-BF16, the OS refused tile data, or the build has no AMX set; the
    /// message says which.
    /// </exception>
    public static double MeasureAmxBf16PeakGflops(int threads, double seconds = 0.5)
    {
        double gflops;
        NativeModel.ThrowIfFailed(NativeMethods.MeasureAmxBf16Peak(threads, seconds, &gflops), "AMX bf16 peak measurement");
        return gflops;
    }

    /// <summary>
    /// Triad bandwidth (a = b + s * c) in GB/s over three arrays of <paramref name="bytes"/> / 3
    /// bytes each with <paramref name="threads"/> threads (0 = all cores).
    /// </summary>
    /// <exception cref="InvalidModelInputException">threads or bytes out of range (1 MiB .. 16 GiB).</exception>
    public static double MeasureBandwidth(int threads, long bytes = DefaultBandwidthBytes)
    {
        double gigabytesPerSecond;
        NativeModel.ThrowIfFailed(NativeMethods.MeasureBandwidth(threads, bytes, &gigabytesPerSecond),
            "bandwidth measurement");
        return gigabytesPerSecond;
    }
}
