using FasterNet.Onnx;
using FasterNet.Serialization;
using Onnx;

namespace FasterNet.Tests.Onnx;

/// <summary>
/// The int8 QDQ export: its structure (int8 per-channel weights behind per-axis DequantizeLinear, every conv
/// input quantized), that ONNX Runtime loads and runs it, and that it keeps PyTorch fp32's top-1 on the fixtures
/// with logits within a stated share of the largest; bad arguments are clear errors.
/// </summary>
public class Int8QdqExporterTests
{
    /// <summary>
    /// int8 weights and uint8 activations against fp32 PyTorch, as a share of the largest logit: each
    /// quantization adds noise of about scale / sqrt(12) per value. T0 (40..320 channels): measured 2.8e-2.
    /// </summary>
    private const double T0Int8Tolerance = 0.06;

    /// <summary>The tiny network (12..96 channels, random weights, a 1x1 last map) averages far less of it out: measured 0.21.</summary>
    private const double TinyInt8Tolerance = 0.35;

    [Test]
    public void TinyInt8GraphRunsInOnnxRuntimeAndKeepsPyTorchTop1()
    {
        ModelSpec spec = ModelSpec.FromJson(Fixtures.Path("tiny/config.json"));
        StateDict weights = TorchCheckpoint.Load(Fixtures.Path("tiny/weights.pth"));
        byte[] model = Int8QdqExporter.ToBytes(spec, weights, RandomBatches(spec.InChannels, 32, 32, count: 4));
        using var peer = new OrtPeer(model, threads: 1);
        foreach (string shape in new[] { "2x3x32x32", "1x3x40x56" })
            ExpectCloseToPyTorch(peer, "tiny", shape, spec.NumClasses, TinyInt8Tolerance);
    }

    [Test]
    public void T0Int8GraphKeepsPyTorchTop1()
    {
        StateDict weights = TorchCheckpoint.Load(Fixtures.Path("t0/weights.pth"));
        byte[] model = Int8QdqExporter.ToBytes(ModelSpec.T0, weights, RandomBatches(3, 224, 224, count: 2));
        using var peer = new OrtPeer(model, threads: 2);
        ExpectCloseToPyTorch(peer, "t0", "2x3x224x224", ModelSpec.T0.NumClasses, T0Int8Tolerance);
    }

    [Test]
    public void EveryConvReadsInt8PerChannelWeightsAndQuantizedInputs()
    {
        ModelSpec spec = ModelSpec.FromJson(Fixtures.Path("tiny/config.json"));
        StateDict weights = TorchCheckpoint.Load(Fixtures.Path("tiny/weights.pth"));
        var ranges = Int8QdqExporter.Calibrate(spec, weights, RandomBatches(3, 32, 32, count: 1));
        ModelProto model = Int8QdqExporter.Build(spec, weights, ranges);
        GraphProto graph = model.Graph;
        var producers = graph.Node.SelectMany(n => n.Output.Select(o => (o, n))).ToDictionary(p => p.o, p => p.n);
        var initializers = graph.Initializer.ToDictionary(t => t.Name);
        NodeProto[] convs = graph.Node.Where(n => n.OpType == "Conv").ToArray();
        // 5 blocks x (PConv, PW1, PW2), embedding, 3 merges, the head's 1x1 conv.
        Assert.That(convs, Has.Length.EqualTo(5 * 3 + 1 + 3 + 1));
        foreach (NodeProto conv in convs)
        {
            NodeProto input = producers[conv.Input[0]], weight = producers[conv.Input[1]];
            Assert.That(input.OpType, Is.EqualTo("DequantizeLinear"), $"{conv.Name}: input");
            Assert.That(initializers[input.Input[2]].DataType, Is.EqualTo((int)TensorProto.Types.DataType.Uint8), conv.Name);
            Assert.That(weight.OpType, Is.EqualTo("DequantizeLinear"), $"{conv.Name}: weight");
            TensorProto int8 = initializers[weight.Input[0]];
            Assert.That(int8.DataType, Is.EqualTo((int)TensorProto.Types.DataType.Int8), conv.Name);
            Assert.That(weight.Attribute.Single(a => a.Name == "axis").I, Is.EqualTo(0), conv.Name);
            Assert.That(initializers[weight.Input[1]].Dims.Single(), Is.EqualTo(int8.Dims[0]), $"{conv.Name}: one scale per output channel");
            // Symmetric: every channel reaches +-127 at its largest weight.
            sbyte[] values = int8.RawData.Select(b => unchecked((sbyte)b)).ToArray();
            int perChannel = values.Length / (int)int8.Dims[0];
            for (int c = 0; c < int8.Dims[0]; c++)
                Assert.That(values.Skip(c * perChannel).Take(perChannel).Max(v => Math.Abs((int)v)), Is.EqualTo(127), $"{conv.Name} channel {c}");
        }
        Assert.That(graph.Node.Any(n => n.OpType == "BatchNormalization"), Is.False, "batch norms are folded");
        Assert.That(graph.Initializer.Any(t => t.Name.EndsWith(".weight", StringComparison.Ordinal) && t.Name != "head.weight"), Is.False,
            "no float conv weights remain");
    }

    [Test]
    public void ActivationQuantizationCoversTheRangeAndZero()
    {
        (float scale, byte zero) = Int8QdqExporter.ActivationQuantization(-1f, 3f);
        Assert.That(scale, Is.EqualTo(4f / 255f).Within(1e-7));
        Assert.That(zero, Is.EqualTo(64));  // round(1 / (4 / 255)) = round(63.75)
        (scale, zero) = Int8QdqExporter.ActivationQuantization(0.5f, 2f);  // widened to hold 0
        Assert.That(scale, Is.EqualTo(2f / 255f).Within(1e-7));
        Assert.That(zero, Is.EqualTo(0));
        Assert.That(Int8QdqExporter.ActivationQuantization(0f, 0f), Is.EqualTo((1f, (byte)0)));
    }

    [Test]
    public void BadArgumentsAreClearErrors()
    {
        ModelSpec spec = ModelSpec.FromJson(Fixtures.Path("tiny/config.json"));
        StateDict weights = TorchCheckpoint.Load(Fixtures.Path("tiny/weights.pth"));
        var none = Assert.Throws<ArgumentException>(() => Int8QdqExporter.ToBytes(spec, weights, []));
        Assert.That(none!.Message, Does.Contain("at least one batch"));
        var channels = Assert.Throws<ArgumentException>(() => Int8QdqExporter.ToBytes(spec, weights, RandomBatches(1, 32, 32, 1)));
        Assert.That(channels!.Message, Does.Contain("[1, 1, 32, 32]").And.Contain("expected [N, 3, H, W]"));
        ModelSpec backbone = ModelSpec.FromJson(Fixtures.Path("tiny/backbone_config.json"));
        var head = Assert.Throws<ArgumentException>(() => Int8QdqExporter.ToBytes(backbone,
            TorchCheckpoint.Load(Fixtures.Path("tiny/backbone_weights.pth")), RandomBatches(3, 32, 32, 1)));
        Assert.That(head!.Message, Does.Contain("backbone"));
    }

    private static void ExpectCloseToPyTorch(OrtPeer peer, string dir, string shape, int classes, double tolerance)
    {
        Tensor input = Npy.Read(Fixtures.Path($"{dir}/input_{shape}.npy"));
        Tensor expected = Npy.Read(Fixtures.Path($"{dir}/logits_{shape}.npy"));
        float[] logits = peer.Run(input.Data, input.Dimension(0), input.Dimension(2), input.Dimension(3));
        double error = Fixtures.MaxRelativeError(logits, expected.Data);
        TestContext.Out.WriteLine($"{dir} {shape}: int8 vs PyTorch fp32 {error:E2} of the largest logit");
        Assert.That(Classification.ArgMax(logits, classes), Is.EqualTo(Classification.ArgMax(expected.Data, classes)), $"{shape}: top-1");
        Assert.That(error, Is.LessThan(tolerance), shape);
        Assert.That(error, Is.GreaterThan(1e-4), $"{shape}: int8 really ran (fp32 agrees within 1e-4)");
    }

    /// <summary>Standard normal images (as the fixtures' inputs are drawn), seeded, one image per batch.</summary>
    private static IEnumerable<Tensor> RandomBatches(int channels, int height, int width, int count)
    {
        var random = new Random(17);
        for (int b = 0; b < count; b++)
        {
            var data = new float[channels * height * width];
            for (int i = 0; i < data.Length; i++)
                data[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
            yield return new Tensor([1, channels, height, width], data);
        }
    }
}
