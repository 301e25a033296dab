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

    [TestCase(1, false)]
    [TestCase(2, false)]
    [TestCase(2, true)]
    public void ImagesInSeparateArraysGiveExactlyTheContiguousBatchsOutputs(int threads, bool backbone)
    {
        ModelSpec spec = ModelSpec.FromJson(Fixtures.Path("tiny/config.json")) with { Backbone = backbone };
        using FasterNetModel model = FasterNetModel.CreateRandom(spec, seed: 7, new ModelOptions { Threads = threads });
        const int batch = 3, height = 37, width = 45;
        int perImage = spec.InChannels * height * width;
        float[] input = Input(batch * perImage, seed: 5);
        float[][] expected = Enumerable.Range(0, model.OutputCount)
            .Select(i => new float[model.OutputShape(batch, height, width, i).Aggregate(1, (a, d) => a * d)]).ToArray();
        model.Run(input, batch, height, width, expected.Select(e => e.AsMemory()).ToArray());

        // Image 0 alone, images 1 and 2 inside one larger array at an offset: as a server batches requests.
        float[] first = input[..perImage];
        float[] shared = [.. new float[11], .. input[perImage..]];
        ReadOnlyMemory<float>[] images =
            [first, shared.AsMemory(11, perImage), shared.AsMemory(11 + perImage, perImage)];
        float[][] actual = expected.Select(e => Enumerable.Repeat(float.NaN, e.Length).ToArray()).ToArray();
        model.Run(images, height, width, actual.Select(a => a.AsMemory()).ToArray());
        for (int i = 0; i < expected.Length; i++)
            Assert.That(actual[i], Is.EqualTo(expected[i]).AsCollection, $"output {i}");
    }

    [Test]
    public void SeparateImagesOfTheWrongSizeOrNoneAtAllAreAClearError()
    {
        ModelSpec spec = ModelSpec.FromJson(Fixtures.Path("tiny/config.json"));
        using FasterNetModel model = FasterNetModel.CreateRandom(spec, seed: 8);
        int perImage = spec.InChannels * 32 * 32;
        var logits = new float[2 * spec.NumClasses];
        ReadOnlyMemory<float>[] wrong = [new float[perImage], new float[perImage - 1]];
        Assert.That(() => model.Run(wrong, 32, 32, [logits.AsMemory()]),
            Throws.InstanceOf<ShapeMismatchException>().With.Message.Contains($"image 1 has {perImage - 1} floats"));
        Assert.That(() => model.Run(ReadOnlySpan<ReadOnlyMemory<float>>.Empty, 32, 32, [logits.AsMemory()]),
            Throws.ArgumentException.With.Message.Contains("at least one image"));
        ReadOnlyMemory<float>[] two = [new float[perImage], new float[perImage]];
        Assert.That(() => model.Run(two, 32, 32, [new float[spec.NumClasses].AsMemory()]),
            Throws.InstanceOf<ShapeMismatchException>().With.Message.Contains("room for"));
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Throws<OperationCanceledException>(() => model.Run(two, 32, 32, [logits.AsMemory()], cancelled.Token));
    }
}
