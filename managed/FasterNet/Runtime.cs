using FasterNet.Interop;
using FasterNet.Native;

namespace FasterNet;

/// <summary>Process-wide facts and switches of the native runtime.</summary>
public static unsafe class Runtime
{
    /// <summary>The native library's version.</summary>
    public static string Version => NativeModel.Utf8(NativeMethods.Version()) ?? "";

    /// <summary>
    /// This CPU as the kernels see it, one fact a line: model, cores, features, cache sizes
    /// and the tile and blocking choices derived from them per kernel set.
    /// </summary>
    public static string CpuReport => NativeModel.Utf8(NativeMethods.CpuReport()) ?? "";

    /// <summary>CPU features the runtime found, e.g. ["avx2", "fma", "avx512f", ...].</summary>
    public static IReadOnlyList<string> CpuFeatures
    {
        get
        {
            uint mask = NativeMethods.CpuFeatures();
            return Enum.GetValues<CpuFeature>()
                .Where(f => (mask & (uint)f) != 0)
                .Select(f => f.ToString().ToLowerInvariant())
                .ToArray();
        }
    }

    /// <summary>The kernel set models get with <see cref="KernelSet.Auto"/>.</summary>
    public static KernelSet ActiveKernelSet => (KernelSet)(int)NativeMethods.ActiveKernelSet();

    /// <summary>True when this CPU and build can run <paramref name="set"/>.</summary>
    public static bool IsSupported(KernelSet set) => NativeMethods.KernelSetSupported((Interop.KernelSet)(int)set) != 0;

    /// <summary>Sets the process-wide kernel set for models created afterwards (Auto restores the best).</summary>
    /// <exception cref="NotSupportedByRuntimeException">The CPU or build cannot run the set.</exception>
    public static void ForceKernelSet(KernelSet set) =>
        NativeModel.ThrowIfFailed(NativeMethods.ForceKernelSet((Interop.KernelSet)(int)set));

    /// <summary>Parses "auto", "reference", "avx2", "avx512" or "neon".</summary>
    public static KernelSet ParseKernelSet(string name) =>
        Enum.TryParse(name, ignoreCase: true, out KernelSet set) && Enum.IsDefined(set)
            ? set
            : throw new ArgumentException($"Unknown kernel set '{name}'; expected auto, reference, avx2, avx512 or neon.");
}
