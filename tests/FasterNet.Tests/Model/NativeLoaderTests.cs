using System.Runtime.InteropServices;
using FasterNet.Native;

namespace FasterNet.Tests.Model;

/// <summary>
/// How the native library is found: both layouts (runtimes/&lt;rid&gt;/native in a build's bin, flat in a
/// `publish -r` folder), one file name per OS, a clear error naming RID and file when it is missing, and the
/// OpenMP spin setting placed where the library's libgomp reads it (the C runtime's environment).
/// </summary>
public class NativeLoaderTests
{
    [Test]
    public void TheLoadedLibraryIsOneOfTheLayoutsTheLoaderSearches()
    {
        Assert.That(Runtime.Version, Is.Not.Empty, "a call into the native library");
        string[] found = NativeLibraryLoader.Candidates().Where(File.Exists).ToArray();
        Assert.That(found, Is.Not.Empty,
            "libfasternet should sit in runtimes/<rid>/native/ or beside the app: " + string.Join(", ", NativeLibraryLoader.Candidates()));
    }

    [Test]
    public void FileNameKeepsTheLibPrefixOnEveryOs()
    {
        string expected = OperatingSystem.IsWindows() ? "libfasternet.dll" : "libfasternet.so";
        Assert.That(NativeLibraryLoader.FileName, Is.EqualTo(expected));
        string arch = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "arm64" : "x64";
        string os = OperatingSystem.IsWindows() ? "win" : "linux";
        Assert.That(NativeLibraryLoader.RuntimeIdentifier, Is.EqualTo($"{os}-{arch}"));
    }

    [Test]
    public void TheNotFoundMessageNamesTheRidTheFileAndWhereItLooked()
    {
        string message = NativeLibraryLoader.NotFoundMessage();
        Assert.That(message, Does.Contain(NativeLibraryLoader.RuntimeIdentifier));
        Assert.That(message, Does.Contain(NativeLibraryLoader.FileName));
        Assert.That(message, Does.Contain(Path.Combine("runtimes", NativeLibraryLoader.RuntimeIdentifier, "native")));
        Assert.That(message, Does.Contain("FASTERNET_NATIVE_LIBRARY"));
    }

    [Test]
    public void OpenMpSpinCountIsInTheCRuntimeEnvironment()
    {
        Assert.That(Runtime.Version, Is.Not.Empty, "load the library (the loader sets the variable first)");
        if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is not null)
            Assert.Ignore("OMP_WAIT_POLICY is set by the caller: the loader leaves OpenMP's settings alone");
        string expected = Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") ?? NativeLibraryLoader.DefaultSpinCount;
        // msvcrt's getenv on Windows (what the DLL's static libgomp reads), libc's on Linux.
        Assert.That(NativeLibraryLoader.CRuntimeEnvironmentVariable("GOMP_SPINCOUNT"), Is.EqualTo(expected));
    }
}
