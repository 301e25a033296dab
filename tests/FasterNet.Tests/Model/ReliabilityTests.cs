using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace FasterNet.Tests.Model;

/// <summary>
/// Misuse and load through the managed API: Dispose while other threads run the model, output buffers of
/// the wrong size, and the kernel-set list the parity tests iterate over.
/// </summary>
public class ReliabilityTests
{
    private static ModelSpec TinySpec => ModelSpec.FromJson(Fixtures.Path("tiny/config.json"));

    [Test]
    public void DisposeWhileOtherThreadsRunEndsEachRunCleanlyOrWithObjectDisposed()
    {
        const int runners = 4, height = 96, width = 96;
        var model = FasterNetModel.CreateRandom(TinySpec, 3, new ModelOptions { Threads = 1 });
        var input = new float[3 * height * width];
        for (int i = 0; i < input.Length; i++)
            input[i] = MathF.Sin(i * 0.37f);
        float[] expected = model.Run(input, 1, height, width);

        int started = 0;
        var firstRunDone = new CountdownEvent(runners);
        var outcomes = new Exception?[runners];
        var wrongResults = new int[runners];
        var completedRuns = new int[runners];
        var threads = Enumerable.Range(0, runners).Select(t => new Thread(() =>
        {
            Interlocked.Increment(ref started);
            bool signalled = false;
            try
            {
                while (true)
                {
                    float[] logits = model.Run(input, 1, height, width);
                    if (!logits.AsSpan().SequenceEqual(expected))
                        wrongResults[t]++;
                    completedRuns[t]++;
                    if (!signalled)
                    {
                        firstRunDone.Signal();
                        signalled = true;
                    }
                }
            }
            catch (Exception e)
            {
                outcomes[t] = e;
                if (!signalled)
                    firstRunDone.Signal();
            }
        })).ToArray();
        foreach (Thread thread in threads)
            thread.Start();
        firstRunDone.Wait();  // every runner is inside its loop, most of them inside a native call
        model.Dispose();
        foreach (Thread thread in threads)
            thread.Join();

        Assert.That(started, Is.EqualTo(runners));
        for (int t = 0; t < runners; t++)
        {
            Assert.That(outcomes[t], Is.InstanceOf<ObjectDisposedException>(), $"runner {t} ended with {outcomes[t]}");
            Assert.That(completedRuns[t], Is.GreaterThan(0), $"runner {t} completed no run before the Dispose");
            Assert.That(wrongResults[t], Is.Zero, $"runner {t}: runs that overlapped the Dispose gave other logits");
        }
        Assert.Throws<ObjectDisposedException>(() => model.OutputShape(1, height, width));
    }

    [Test]
    public void OutputSpanOfTheWrongSizeIsRefusedByTheNativeCheckAndLeftUntouched()
    {
        using var model = FasterNetModel.CreateRandom(TinySpec);
        int classes = model.OutputShape(2, 32, 32)[1];
        var input = new float[2 * 3 * 32 * 32];
        foreach (int room in new[] { 2 * classes - 1, 2 * classes + 1 })
        {
            var logits = new float[room];
            Array.Fill(logits, -7f);
            var error = Assert.Throws<ShapeMismatchException>(() => model.Run(input, 2, 32, 32, logits));
            Assert.That(error!.Message, Does.Contain($"room for {room} floats, expected 2 x {classes} x 1 x 1 = {2 * classes}"));
            Assert.That(logits, Is.All.EqualTo(-7f), "a refused run wrote to the output");
        }
        // An empty span pins to a null pointer: refused by name before any size is compared.
        var empty = Assert.Throws<InvalidModelInputException>(() => model.Run(input, 2, 32, 32, Span<float>.Empty));
        Assert.That(empty!.Message, Does.Contain("output 0"));
    }

    [Test]
    public void IdleActivationMemoryIsReportedTrimmedAndBoundedByTheOption()
    {
        var input = new float[2 * 3 * 64 * 64];
        using var model = FasterNetModel.CreateRandom(TinySpec, 1, new ModelOptions { Threads = 1 });
        Assert.That(model.IdleScratchBytes, Is.Zero);
        float[] expected = model.Run(input, 2, 64, 64);
        long idle = model.IdleScratchBytes;
        Assert.That(idle, Is.GreaterThan(0), "the run's activations are kept for the next run");
        Assert.That(model.TrimScratch(TimeSpan.FromHours(1)), Is.Zero, "used less than an hour ago");
        Assert.That(model.TrimScratch(), Is.EqualTo(idle));
        Assert.That(model.IdleScratchBytes, Is.Zero);
        Assert.That(model.Run(input, 2, 64, 64), Is.EqualTo(expected), "a trimmed model allocates again");

        using var bounded = FasterNetModel.CreateRandom(TinySpec, 1, new ModelOptions { Threads = 1, MaxIdleScratchBytes = 4096 });
        Assert.That(bounded.Run(input, 2, 64, 64), Is.EqualTo(expected));
        Assert.That(bounded.IdleScratchBytes, Is.Zero, "one run's activations exceed the 4 KB limit");

        Assert.Throws<InvalidModelInputException>(() =>
            FasterNetModel.CreateRandom(TinySpec, 1, new ModelOptions { MaxIdleScratchBytes = -1 }));
    }

    [Test]
    public void ActivationMemoryIsFreedAfterTheIdleTime()
    {
        using var model = FasterNetModel.CreateRandom(TinySpec, 1,
            new ModelOptions { Threads = 1, TrimScratchAfterIdle = TimeSpan.FromMilliseconds(50) });
        model.Run(new float[3 * 64 * 64], 1, 64, 64);
        // Polled with a generous deadline: what is checked is that the memory goes, not how fast.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (model.IdleScratchBytes != 0 && DateTime.UtcNow < deadline)
            Thread.Sleep(20);
        Assert.That(model.IdleScratchBytes, Is.Zero);
    }

    [Test]
    public void EveryNativeFailureStatusBecomesAFasterNetExceptionSubtype()
    {
        // Cancelled is .NET's OperationCanceledException, as callers of a CancellationToken expect.
        foreach (Interop.Status status in Enum.GetValues<Interop.Status>()
                     .Where(s => s is not Interop.Status.Ok and not Interop.Status.Cancelled))
        {
            var error = Assert.Catch(() => Native.NativeModel.ThrowIfFailed(status, "context"));
            Assert.That(error, Is.InstanceOf<FasterNetException>(), $"{status} became {error!.GetType().Name}");
            Assert.That(error!.Message, Does.Contain("context"), status.ToString());
        }
        Assert.That(Assert.Catch(() => Native.NativeModel.ThrowIfFailed(Interop.Status.OutOfMemory)),
            Is.InstanceOf<RuntimeOutOfMemoryException>());
    }

    /// <summary>
    /// The parity tests iterate over <see cref="Fixtures.SupportedKernelSets"/>, which asks the native
    /// runtime. .NET's own CPUID must agree, so a kernel set the CPU runs cannot silently drop out.
    /// </summary>
    [Test]
    public void EveryKernelSetTheCpuReportsIsInTheParityCases()
    {
        var sets = Fixtures.SupportedKernelSets().ToList();
        Assert.That(sets, Does.Contain(KernelSet.Reference));
        if (Avx2.IsSupported && Fma.IsSupported)
            Assert.That(sets, Does.Contain(KernelSet.Avx2), "the CPU has AVX2 + FMA");
        if (Avx512F.IsSupported && Avx512BW.IsSupported && Avx512DQ.IsSupported && Avx512F.VL.IsSupported)
            Assert.That(sets, Does.Contain(KernelSet.Avx512), "the CPU has AVX-512 F/BW/DQ/VL");
        if (AdvSimd.IsSupported)
            Assert.That(sets, Does.Contain(KernelSet.Neon), "the CPU has NEON");
    }
}
