using System.Runtime.InteropServices;

namespace FasterNet.Tests.Model;

/// <summary>Process-wide runtime facts and switches.</summary>
public partial class RuntimeTests
{
    [Test]
    public void ReferenceKernelsAreAlwaysAvailable()
    {
        Assert.That(Runtime.IsSupported(KernelSet.Reference), Is.True);
        Assert.That(Runtime.IsSupported(Runtime.ActiveKernelSet), Is.True);
        Assert.That(Runtime.ActiveKernelSet, Is.Not.EqualTo(KernelSet.Auto));
    }

    [Test]
    public void KernelSetNamesParseAndUnknownNamesAreRefused()
    {
        Assert.That(Runtime.ParseKernelSet("AVX512"), Is.EqualTo(KernelSet.Avx512));
        Assert.That(Runtime.ParseKernelSet("reference"), Is.EqualTo(KernelSet.Reference));
        var error = Assert.Throws<ArgumentException>(() => Runtime.ParseKernelSet("sse9"));
        Assert.That(error!.Message, Does.Contain("sse9"));
    }

    [Test]
    public void AnUnsupportedKernelSetIsAClearError()
    {
        KernelSet? missing = new[] { KernelSet.Neon, KernelSet.Avx512, KernelSet.Avx2 }
            .Cast<KernelSet?>().FirstOrDefault(s => !Runtime.IsSupported(s!.Value));
        if (missing is null)
            Assert.Ignore("this CPU supports every kernel set");
        var spec = ModelSpec.FromJson(Fixtures.Path("tiny/config.json"));
        var error = Assert.Throws<NotSupportedByRuntimeException>(() =>
            FasterNetModel.CreateRandom(spec, 0, new ModelOptions { KernelSet = missing!.Value }));
        Assert.That(error!.Message, Does.Contain(missing.Value.ToString().ToLowerInvariant()));
    }

    [Test]
    public void ModelReportsTheThreadsAndKernelsItRunsWith()
    {
        var spec = ModelSpec.FromJson(Fixtures.Path("tiny/config.json"));
        using var model = FasterNetModel.CreateRandom(spec, 0, new ModelOptions { Threads = 2, KernelSet = KernelSet.Reference });
        Assert.That(model.Threads, Is.EqualTo(2));
        Assert.That(model.KernelSet, Is.EqualTo(KernelSet.Reference));
        using var defaults = FasterNetModel.CreateRandom(spec);
        Assert.That(defaults.Threads, Is.EqualTo(Environment.ProcessorCount));
        Assert.That(defaults.KernelSet, Is.EqualTo(Runtime.ActiveKernelSet));
    }

    [Test]
    public void OpenMpWorkersGetAShortSpinBeforeSleeping()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is not null)
            Assert.Ignore("the policy is only set on Linux when the user has not chosen one");
        _ = Runtime.Version;  // loads the native library
        string? spin = Marshal.PtrToStringUTF8(GetEnvironmentVariable("GOMP_SPINCOUNT"));
        string expected = Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") ?? "10000";
        Assert.That(spin, Is.EqualTo(expected));
    }

    [LibraryImport("libc", EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint GetEnvironmentVariable(string name);
}
