using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FasterNet.Native;

/// <summary>
/// Finds libfasternet for this process: FASTERNET_NATIVE_LIBRARY if set, else
/// runtimes/&lt;rid&gt;/native/ beside the assembly (the NuGet layout), else the default search.
/// </summary>
internal static partial class NativeLibraryLoader
{
    /// <summary>
    /// OpenMP workers spin this many rounds waiting for work before they sleep: long enough to
    /// bridge the barriers inside one inference, short enough (well under a millisecond) that no
    /// core keeps burning after a call returns. libgomp's default spins for many milliseconds.
    /// </summary>
    internal const string DefaultSpinCount = "10000";

    internal const string LibraryName = "fasternet";

    // A library module initializer on purpose: the resolver must be in place before the first
    // P/Invoke, whichever public type the application touches first.
#pragma warning disable CA2255
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register() =>
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraryLoader).Assembly, Resolve);

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != LibraryName)
            return 0;
        SetOpenMpWaitPolicy();
        string? overridePath = Environment.GetEnvironmentVariable("FASTERNET_NATIVE_LIBRARY");
        if (!string.IsNullOrEmpty(overridePath))
            return NativeLibrary.Load(overridePath);
        foreach (string candidate in Candidates())
        {
            if (File.Exists(candidate) && NativeLibrary.TryLoad(candidate, out nint handle))
                return handle;
        }
        return 0;
    }

    // libgomp reads its settings once, when it is loaded with libfasternet: set them before.
    // A user's own OMP_WAIT_POLICY or GOMP_SPINCOUNT always wins.
    private static void SetOpenMpWaitPolicy()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is not null)
            return;
        SetEnvironmentVariable("GOMP_SPINCOUNT", DefaultSpinCount, overwrite: 0);
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnvironmentVariable(string name, string value, int overwrite);

    private static IEnumerable<string> Candidates()
    {
        string fileName = OperatingSystem.IsWindows() ? "fasternet.dll"
            : OperatingSystem.IsMacOS() ? "libfasternet.dylib" : "libfasternet.so";
        string baseDirectory = AppContext.BaseDirectory;
        yield return Path.Combine(baseDirectory, "runtimes", RuntimeIdentifier, "native", fileName);
        yield return Path.Combine(baseDirectory, fileName);
    }

    /// <summary>The runtime identifier of the native folder, e.g. linux-x64 or linux-arm64.</summary>
    internal static string RuntimeIdentifier
    {
        get
        {
            string os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
            string arch = RuntimeInformation.ProcessArchitecture switch
            {
                Architecture.X64 => "x64",
                Architecture.Arm64 => "arm64",
                Architecture.X86 => "x86",
                var other => other.ToString().ToLowerInvariant(),
            };
            return $"{os}-{arch}";
        }
    }
}
