using System.Text.Json;
using FasterNet.Analysis;

namespace FasterNet.Tests.Analysis;

/// <summary>
/// Per-layer profiles of the tiny fixture networks: the native profile's rows are the layer
/// table's rows (<see cref="LayerCost"/>, "input" first), costs scale with the batch, and the CSV and JSON
/// carry every column. Times are checked to be positive, never against a speed.
/// </summary>
public class ModelProfilerTests
{
    private const double AnyPeak = 100.0;  // given, so the tests do not spend time measuring it

    private static FasterNetModel TinyClassifier(int threads = 1)
    {
        ModelSpec spec = ModelSpec.FromJson(Fixtures.Path("tiny/config.json"));
        return FasterNetModel.FromCheckpoint(spec, Fixtures.Path("tiny/weights.pth"), new ModelOptions { Threads = threads });
    }

    [TestCase(1)]
    [TestCase(2)]
    public void ProfileHasEveryRowOfTheLayerTableInOrder(int threads)
    {
        using FasterNetModel model = TinyClassifier(threads);
        ModelProfile profile = ModelProfiler.Profile(model, batch: 1, height: 40, width: 56, iterations: 3, warmup: 1,
            peakGflops: AnyPeak);
        var expected = LayerCost.For(model.Spec, 40, 56).Select(c => c.Name).ToList();
        Assert.That(expected[0], Is.EqualTo("input"));
        Assert.That(profile.Layers.Select(l => l.Name), Is.EqualTo(expected));
        Assert.That(profile.Layers, Has.All.Matches<LayerProfile>(l => l.Seconds > 0 && double.IsFinite(l.Seconds)));
        Assert.That(profile.Layers.Sum(l => l.TimeShare), Is.EqualTo(1.0).Within(1e-9));
        Assert.That(profile.ModelSeconds, Is.GreaterThan(0));
        Assert.That(profile.ProfiledRunSeconds, Is.GreaterThan(0));
        Assert.That(profile.Threads, Is.EqualTo(threads));
    }

    [Test]
    public void BackboneProfileIncludesTheStageNorms()
    {
        ModelSpec spec = ModelSpec.FromJson(Fixtures.Path("tiny/backbone_config.json"));
        using FasterNetModel model = FasterNetModel.CreateRandom(spec, seed: 3, new ModelOptions { Threads = 1 });
        ModelProfile profile = ModelProfiler.Profile(model, batch: 2, height: 32, width: 32, iterations: 2, warmup: 0,
            peakGflops: AnyPeak);
        Assert.That(profile.Layers.Select(l => l.Name),
            Is.EqualTo(LayerCost.For(spec, 32, 32).Select(c => c.Name)));
        Assert.That(profile.Layers.Where(l => l.Kind == LayerKind.BackboneNorm).Select(l => l.Name),
            Is.EqualTo(new[] { "norm0", "norm2", "norm4", "norm6" }));
    }

    [Test]
    public void CostsScaleActivationsWithTheBatchButNotTheWeights()
    {
        using FasterNetModel model = TinyClassifier();
        const int batch = 3;
        ModelProfile profile = ModelProfiler.Profile(model, batch, 32, 32, iterations: 1, warmup: 0, peakGflops: AnyPeak);
        LayerProfile input = profile.Layers[0];
        Assert.That(input.Kind, Is.EqualTo(LayerKind.Input));
        Assert.That(input.Macs, Is.EqualTo(0));
        Assert.That(input.Bytes, Is.EqualTo(2L * 4 * batch * 3 * 32 * 32), "read NCHW, write NHWC");
        foreach (LayerCost cost in LayerCost.For(model.Spec, 32, 32))
        {
            LayerProfile layer = profile.Layers.Single(l => l.Name == cost.Name);
            Assert.That(layer.Kind, Is.EqualTo(cost.Kind), cost.Name);
            Assert.That(layer.Macs, Is.EqualTo(batch * cost.Macs), cost.Name);
            Assert.That(cost.WeightBytes, Is.EqualTo(4 * cost.Parameters), cost.Name);
            Assert.That(layer.Bytes, Is.EqualTo(batch * (cost.Bytes - cost.WeightBytes) + cost.WeightBytes), cost.Name);
            Assert.That(layer.Flops, Is.EqualTo(2 * layer.Macs));
            Assert.That(layer.PercentOfPeak, Is.EqualTo(100 * layer.Gflops / AnyPeak).Within(1e-9), cost.Name);
        }
        Assert.That(profile.Macs, Is.EqualTo(batch * model.Spec.Macs(32, 32)));
    }

    [Test]
    public void Bf16ProfileCountsTheBf16ModelsBytesAndSaysItsPrecision()
    {
        ModelSpec spec = ModelSpec.FromJson(Fixtures.Path("tiny/config.json"));
        // The reference bf16 kernels run on every CPU.
        using FasterNetModel model = FasterNetModel.FromCheckpoint(spec, Fixtures.Path("tiny/weights.pth"),
            new ModelOptions { Threads = 1, KernelSet = KernelSet.Reference, Precision = Precision.BFloat16 });
        const int batch = 2;
        ModelProfile profile = ModelProfiler.Profile(model, batch, 32, 32, iterations: 1, warmup: 0, peakGflops: AnyPeak);
        Assert.That(profile.Precision, Is.EqualTo(Precision.BFloat16));
        var fp32 = LayerCost.For(spec, 32, 32).ToDictionary(c => c.Name);
        foreach (LayerCost cost in LayerCost.For(spec, 32, 32, Precision.BFloat16))
        {
            LayerProfile layer = profile.Layers.Single(l => l.Name == cost.Name);
            Assert.That(layer.Bytes, Is.EqualTo(batch * cost.ActivationBytes + cost.WeightBytes), cost.Name);
            // A bf16 model's block layers move fewer bytes than the fp32 model's; the embedding and head the same.
            long fp32Bytes = batch * fp32[cost.Name].ActivationBytes + fp32[cost.Name].WeightBytes;
            if (cost.Kind is LayerKind.PartialConv or LayerKind.PointwiseExpand or LayerKind.PointwiseProject
                or LayerKind.Merging)
                Assert.That(layer.Bytes, Is.LessThan(fp32Bytes), cost.Name);
            else
                Assert.That(layer.Bytes, Is.EqualTo(fp32Bytes), cost.Name);
        }
        using JsonDocument json = JsonDocument.Parse(profile.ToJson());
        Assert.That(json.RootElement.GetProperty("precision").GetString(), Is.EqualTo("bf16"));
        Assert.That(json.RootElement.GetProperty("unit").GetString(), Does.Contain("bf16"));
    }

    [Test]
    public void CsvHasTheDocumentedColumnsAndOneRowPerLayer()
    {
        using FasterNetModel model = TinyClassifier();
        ModelProfile profile = ModelProfiler.Profile(model, 1, 32, 32, iterations: 2, warmup: 0, peakGflops: AnyPeak);
        string[] lines = profile.ToCsv().TrimEnd().Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        Assert.That(lines[0], Is.EqualTo("layer,kind,seconds,time_share,macs,flops,bytes,intensity_flop_per_byte,gflops,percent_of_peak"));
        Assert.That(lines, Has.Length.EqualTo(profile.Layers.Count + 1));
        for (int i = 1; i < lines.Length; i++)
        {
            string[] fields = lines[i].Split(',');
            Assert.That(fields, Has.Length.EqualTo(ModelProfile.CsvColumns.Length), lines[i]);
            Assert.That(fields[0], Is.EqualTo(profile.Layers[i - 1].Name));
            Assert.That(double.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture), Is.GreaterThan(0));
            Assert.That(long.Parse(fields[4]), Is.EqualTo(profile.Layers[i - 1].Macs));
        }
        Assert.That(lines[1], Does.StartWith("input,input,"));
        Assert.That(lines.Skip(1).Select(l => l.Split(',')[1]), Does.Contain("partial_conv").And.Contain("pointwise_expand"));
    }

    [Test]
    public void JsonHasTheTotalsAndEveryLayersColumns()
    {
        using FasterNetModel model = TinyClassifier();
        ModelProfile profile = ModelProfiler.Profile(model, 1, 32, 32, iterations: 2, warmup: 0, peakGflops: AnyPeak);
        using JsonDocument json = JsonDocument.Parse(profile.ToJson());
        JsonElement root = json.RootElement;
        foreach (string key in new[] { "model", "kernel_set", "threads", "batch", "peak_gflops", "model_seconds", "layer_seconds", "sum_over_model", "macs" })
            Assert.That(root.TryGetProperty(key, out _), Is.True, key);
        Assert.That(root.GetProperty("peak_gflops").GetDouble(), Is.EqualTo(AnyPeak));
        JsonElement layers = root.GetProperty("layers");
        Assert.That(layers.GetArrayLength(), Is.EqualTo(profile.Layers.Count));
        foreach (JsonElement layer in layers.EnumerateArray())
        {
            foreach (string column in ModelProfile.CsvColumns)
                Assert.That(layer.TryGetProperty(column, out _), Is.True, column);
        }
        Assert.That(layers[0].GetProperty("layer").GetString(), Is.EqualTo("input"));
        Assert.That(root.GetProperty("layer_seconds").GetDouble(), Is.EqualTo(profile.LayerSeconds).Within(1e-15));
    }

    [Test]
    public void ProfilingADisposedModelThrows()
    {
        FasterNetModel model = TinyClassifier();
        model.Dispose();
        Assert.Throws<ObjectDisposedException>(() => ModelProfiler.Profile(model, 1, 32, 32, 1, 0, AnyPeak));
    }
}
