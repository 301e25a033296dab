namespace FasterNet.Tests.Model;

/// <summary>Run into caller-provided output buffers, with a cancellation token (the serving API).</summary>
public class RunIntoBuffersTests
{
    private static float[] Input(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
    }

    [TestCase(1)]
    [TestCase(2)]
    public void ClassifierOutputBufferGetsExactlyWhatRunReturns(int threads)
    {
        ModelSpec spec = ModelSpec.FromJson(Fixtures.Path("tiny/config.json"));
        using FasterNetModel model = FasterNetModel.CreateRandom(spec, seed: 3, new ModelOptions { Threads = threads });
        float[] input = Input(3 * spec.InChannels * 32 * 32, seed: 1);
        float[] expected = model.Run(input, 3, 32, 32);
        var logits = new float[expected.Length];
        using var live = new CancellationTokenSource();
        model.Run(input, 3, 32, 32, [logits.AsMemory()], live.Token);
        Assert.That(logits, Is.EqualTo(expected).AsCollection);
    }

    [Test]
    public void BackboneBuffersGetEveryStageMap()
    {
        ModelSpec spec = ModelSpec.FromJson(Fixtures.Path("tiny/config.json")) with { Backbone = true };
        using FasterNetModel model = FasterNetModel.CreateRandom(spec, seed: 4);
        float[] input = Input(spec.InChannels * 64 * 64, seed: 2);
        Tensor[] expected = model.RunBackbone(input, 1, 64, 64);
        var buffers = expected.Select(t => new float[t.ElementCount]).ToArray();
        model.Run(input, 1, 64, 64, buffers.Select(b => b.AsMemory()).ToArray());
        for (int i = 0; i < expected.Length; i++)
            Assert.That(buffers[i], Is.EqualTo(expected[i].Data).AsCollection, $"stage {i + 1}");
    }

    [Test]
    public void ACancelledTokenStopsTheRunWithOperationCanceled()
    {
        ModelSpec spec = ModelSpec.FromJson(Fixtures.Path("tiny/config.json"));
        using FasterNetModel model = FasterNetModel.CreateRandom(spec, seed: 5);
        float[] input = Input(spec.InChannels * 32 * 32, seed: 3);
        var logits = new float[spec.NumClasses];
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var error = Assert.Throws<OperationCanceledException>(() => model.Run(input, 1, 32, 32, [logits.AsMemory()], cancelled.Token));
        Assert.That(error!.CancellationToken, Is.EqualTo(cancelled.Token));
        // The model still runs normally afterwards.
        model.Run(input, 1, 32, 32, [logits.AsMemory()], CancellationToken.None);
        Assert.That(logits, Is.EqualTo(model.Run(input, 1, 32, 32)).AsCollection);
    }

    [Test]
    public void WrongNumberOrSizeOfBuffersIsAClearError()
    {
        ModelSpec spec = ModelSpec.FromJson(Fixtures.Path("tiny/config.json"));
        using FasterNetModel model = FasterNetModel.CreateRandom(spec, seed: 6);
        float[] input = Input(spec.InChannels * 32 * 32, seed: 4);
        Assert.That(() => model.Run(input, 1, 32, 32, ReadOnlySpan<Memory<float>>.Empty),
            Throws.ArgumentException.With.Message.Contains("1 output(s), 0 buffer(s)"));
        Assert.That(() => model.Run(input, 1, 32, 32, [new float[spec.NumClasses + 1].AsMemory()]),
            Throws.InstanceOf<ShapeMismatchException>().With.Message.Contains("room for"));
    }
}
