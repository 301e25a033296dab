using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FasterNet.Native;

/// <summary>
/// Finds libfasternet for this process: FASTERNET_NATIVE_LIBRARY if set, else
/// runtimes/&lt;rid&gt;/native/ beside the app (a build's bin folder, the NuGet layout), else beside the app
/// (a `publish -r` folder), else the runtime's own search (a single-file app's native files); when none has it,
/// a DllNotFoundException naming the RID, the file and the places looked in.
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
        // The host's own search: a single-file app's extraction folder, the publish folder's native search paths.
        if (NativeLibrary.TryLoad(FileName, assembly, searchPath, out nint found))
            return found;
        throw new DllNotFoundException(NotFoundMessage());
    }

    /// <summary>The native library's file name on this OS; the same lib prefix everywhere (see the Windows note).</summary>
    internal static string FileName =>
        OperatingSystem.IsWindows() ? "libfasternet.dll"
        : OperatingSystem.IsMacOS() ? "libfasternet.dylib" : "libfasternet.so";

    internal static string NotFoundMessage() =>
        $"FasterNet's native library {FileName} for {RuntimeIdentifier} was not found. Looked in: " +
        string.Join(", ", Candidates()) + " and the runtime's native search paths. " +
        "The FasterNet package carries linux-x64, linux-arm64 and win-x64; on another platform build native/ " +
        "and set FASTERNET_NATIVE_LIBRARY to the library's path.";

    // libgomp reads its settings once, when it is loaded with libfasternet: set them before.
    // A user's own OMP_WAIT_POLICY or GOMP_SPINCOUNT always wins.
    private static void SetOpenMpWaitPolicy()
    {
        if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is not null
            || Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") is not null)
            return;
        if (OperatingSystem.IsLinux())
            SetEnvironmentVariable("GOMP_SPINCOUNT", DefaultSpinCount, overwrite: 0);
        else if (OperatingSystem.IsWindows())
            // The DLL's static libgomp reads the C runtime's copy of the environment (msvcrt's getenv), which
            // Environment.SetEnvironmentVariable does not update: set it there.
            PutEnvironmentVariableMsvcrt("GOMP_SPINCOUNT", DefaultSpinCount);
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnvironmentVariable(string name, string value, int overwrite);

    [LibraryImport("msvcrt", EntryPoint = "_putenv_s", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int PutEnvironmentVariableMsvcrt(string name, string value);

    /// <summary>The C runtime's view of an environment variable (what libgomp sees), for tests.</summary>
    internal static string? CRuntimeEnvironmentVariable(string name)
    {
        nint value = OperatingSystem.IsWindows() ? GetEnvironmentVariableMsvcrt(name) : GetEnvironmentVariableLibc(name);
        return Marshal.PtrToStringUTF8(value);
    }

    [LibraryImport("libc", EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint GetEnvironmentVariableLibc(string name);

    [LibraryImport("msvcrt", EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint GetEnvironmentVariableMsvcrt(string name);

    internal static IEnumerable<string> Candidates()
    {
        string fileName = FileName;
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
