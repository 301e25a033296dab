using FasterNet.Onnx;
using FasterNet.Serialization;

namespace FasterNet.Tests.Onnx;

/// <summary>
/// ONNX Runtime as an independent oracle: the exported graph, run by ORT, agrees with PyTorch's
/// fixtures and with FasterNetModel on the same weights, within 1e-4 of the largest magnitude.
/// </summary>
public class OnnxRuntimeParityTests
{
    private const double Tolerance = 1e-4;

    [Test]
    public void TinyExportRunsLikePyTorchInOnnxRuntime()
    {
        ModelSpec spec = ModelSpec.FromJson(Fixtures.Path("tiny/config.json"));
        using var peer = OrtPeer.Create(spec, TorchCheckpoint.Load(Fixtures.Path("tiny/weights.pth")), threads: 1);
        foreach (string shape in new[] { "2x3x32x32", "1x3x40x56" })
        {
            Tensor input = Npy.Read(Fixtures.Path($"tiny/input_{shape}.npy"));
            Tensor expected = Npy.Read(Fixtures.Path($"tiny/logits_{shape}.npy"));
            float[] logits = peer.Run(input.Data, input.Dimension(0), input.Dimension(2), input.Dimension(3));
            Assert.That(Fixtures.MaxRelativeError(logits, expected.Data), Is.LessThan(Tolerance), shape);
        }
    }

    [Test]
    public void TinyClassifierAgreesWithOnnxRuntime()
    {
        ModelSpec spec = ModelSpec.FromJson(Fixtures.Path("tiny/config.json"));
        StateDict weights = TorchCheckpoint.Load(Fixtures.Path("tiny/weights.pth"));
        ExpectSameLogits(spec, weights, batch: 2, height: 32, width: 32, threads: 1);
    }

    [Test]
    public void OddCustomConfigAgreesWithOnnxRuntime()
    {
        // in_chans 1, n_div 3, mlp_ratio 1.5, ReLU, overlapping 3x3/s2 embedding and merging.
        ModelSpec spec = ModelSpec.FromJson(Fixtures.Path("tiny/odd_config.json"));
        StateDict weights = TorchCheckpoint.Load(Fixtures.Path("tiny/odd_weights.pth"));
        ExpectSameLogits(spec, weights, batch: 2, height: 45, width: 53, threads: 2);
    }

    [Test]
    public void T0CheckpointExportRunsLikePyTorchInOnnxRuntime()
    {
        using var peer = OrtPeer.Create(ModelSpec.T0, TorchCheckpoint.Load(Fixtures.Path("t0/weights.pth")), threads: 2);
        Tensor input = Npy.Read(Fixtures.Path("t0/input_1x3x192x256.npy"));
        Tensor expected = Npy.Read(Fixtures.Path("t0/logits_1x3x192x256.npy"));
        float[] logits = peer.Run(input.Data, 1, 192, 256);
        Assert.That(Fixtures.MaxRelativeError(logits, expected.Data), Is.LessThan(Tolerance));
    }

    [TestCase(2, 224, 224, 1)]
    [TestCase(1, 192, 256, 2)]
    public void T0WithRandomWeightsAgreesWithOnnxRuntime(int batch, int height, int width, int threads)
    {
        ExpectSameLogits(ModelSpec.T0, RandomStateDict.Create(ModelSpec.T0, seed: 7), batch, height, width, threads);
    }

    [Test]
    public void T2WithReluAgreesWithOnnxRuntime()
    {
        ExpectSameLogits(ModelSpec.T2, RandomStateDict.Create(ModelSpec.T2, seed: 3), batch: 1, height: 224, width: 224,
            threads: 2);
    }

    // Hidden widths 512..4096 (multiples of 512 get a padded row stride), late merges with more
    // weights than an image has input (gathered into one GEMM) and, at 2 threads, 4x4 and 2x2
    // maps whose layers are split by output channels.
    [TestCase(1, 1)]
    [TestCase(2, 2)]
    public void PowerOfTwoHiddenWidthsAgreeWithOnnxRuntime(int batch, int threads)
    {
        var spec = new ModelSpec
        {
            EmbedDim = 64, Depths = [1, 1, 1, 1], MlpRatio = 8.0f, NumClasses = 10, FeatureDim = 64,
            Activation = Activation.Gelu,
        };
        ExpectSameLogits(spec, RandomStateDict.Create(spec, seed: 5), batch, height: 64, width: 64, threads);
    }

    [Test]
    public void TinyBackboneExportMatchesRunBackbone()
    {
        ModelSpec spec = ModelSpec.FromJson(Fixtures.Path("tiny/backbone_config.json"));
        StateDict weights = TorchCheckpoint.Load(Fixtures.Path("tiny/backbone_weights.pth"));
        Tensor input = Npy.Read(Fixtures.Path("tiny/input_2x3x32x32.npy"));
        using var model = FasterNetModel.FromStateDict(spec, weights, new ModelOptions { Threads = 1 });
        using var peer = OrtPeer.Create(spec, weights, threads: 1);

        Tensor[] ours = model.RunBackbone(input);
        IReadOnlyDictionary<string, Tensor> theirs = peer.RunAll(input.Data, 2, 32, 32);

        Assert.That(theirs.Keys, Is.EquivalentTo(new[] { "stage1", "stage2", "stage3", "stage4" }));
        for (int s = 0; s < ours.Length; s++)
        {
            Tensor map = theirs[OnnxExporter.StageOutputName(s)];
            Assert.That(map.Shape, Is.EqualTo(ours[s].Shape), $"stage {s + 1} shape");
            Assert.That(Fixtures.MaxRelativeError(ours[s].Data, map.Data), Is.LessThan(Tolerance), $"stage {s + 1}");
            Tensor pytorch = Npy.Read(Fixtures.Path($"tiny/features_{s}_2x3x32x32.npy"));
            Assert.That(Fixtures.MaxRelativeError(map.Data, pytorch.Data), Is.LessThan(Tolerance), $"stage {s + 1} vs PyTorch");
        }
    }

    [Test]
    public void BoundBuffersFollowNewInputValues()
    {
        // The peer binds the caller's arrays once: a second run must see the array's new contents.
        ModelSpec spec = ModelSpec.FromJson(Fixtures.Path("tiny/config.json"));
        StateDict weights = TorchCheckpoint.Load(Fixtures.Path("tiny/weights.pth"));
        using var peer = OrtPeer.Create(spec, weights, threads: 1);
        using var model = FasterNetModel.FromStateDict(spec, weights, new ModelOptions { Threads = 1 });
        float[] input = RandomInput(1 * 3 * 32 * 32, seed: 1);
        var logits = new float[7];

        peer.Run(input, 1, 32, 32, logits);
        float[] first = (float[])logits.Clone();
        RandomInput(input.Length, seed: 2).CopyTo(input, 0);
        peer.Run(input, 1, 32, 32, logits);

        Assert.That(logits, Is.Not.EqualTo(first));
        Assert.That(Fixtures.MaxRelativeError(logits, model.Run(input, 1, 32, 32)), Is.LessThan(Tolerance));
    }

    private static void ExpectSameLogits(ModelSpec spec, IReadOnlyDictionary<string, Tensor> weights, int batch,
                                         int height, int width, int threads)
    {
        float[] input = RandomInput(batch * spec.InChannels * height * width, seed: 11);
        using var model = FasterNetModel.FromStateDict(spec, weights, new ModelOptions { Threads = threads });
        using var peer = OrtPeer.Create(spec, weights, threads);
        float[] ours = model.Run(input, batch, height, width);
        float[] theirs = peer.Run(input, batch, height, width);
        Assert.That(theirs, Has.Length.EqualTo(batch * spec.NumClasses));
        Assert.That(Fixtures.MaxRelativeError(ours, theirs), Is.LessThan(Tolerance),
            $"{spec.Name} {batch}x{height}x{width}: max |FasterNet - ORT| / max |ORT|");
    }

    internal static float[] RandomInput(int count, int seed)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (int i = 0; i < count; i++)
            values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }
}
