using FasterNet.Onnx;
using Onnx;

namespace FasterNet.Tests.Onnx;

/// <summary>The exported graph's structure: the nodes PyTorch would emit for an unfused FasterNet.</summary>
public class OnnxExporterTests
{
    [Test]
    public void T0GraphHasOneNodeOfEachKindPerLayer()
    {
        ModelProto model = OnnxExporter.Build(ModelSpec.T0, RandomStateDict.Create(ModelSpec.T0));
        Dictionary<string, int> ops = CountOps(model);

        // 13 blocks (1+2+8+2): PConv, PW1, PW2 each; embedding, 3 mergings and the head's 1x1 conv.
        Assert.That(ops["Conv"], Is.EqualTo(1 + 13 * 3 + 3 + 1));
        Assert.That(ops["BatchNormalization"], Is.EqualTo(1 + 13 + 3));
        Assert.That(ops["Slice"], Is.EqualTo(2 * 13));
        Assert.That(ops["Concat"], Is.EqualTo(13));
        Assert.That(ops["Erf"], Is.EqualTo(13 + 1), "GELU after every PW1 and in the head");
        Assert.That(ops["Add"], Is.EqualTo(13 + 14), "13 residual adds, one per GELU");
        Assert.That(ops["GlobalAveragePool"], Is.EqualTo(1));
        Assert.That(ops["Flatten"], Is.EqualTo(1));
        Assert.That(ops["Gemm"], Is.EqualTo(1));
        Assert.That(ops.ContainsKey("Relu"), Is.False);
    }

    [Test]
    public void ReluVariantsUseReluAndNoErf()
    {
        ModelProto model = OnnxExporter.Build(ModelSpec.T2, RandomStateDict.Create(ModelSpec.T2));
        Dictionary<string, int> ops = CountOps(model);
        Assert.That(ops["Relu"], Is.EqualTo(13 + 1));
        Assert.That(ops.ContainsKey("Erf"), Is.False);
        Assert.That(ops["Add"], Is.EqualTo(13));
    }

    [Test]
    public void ModelDeclaresIr8Opset13AndDynamicShapes()
    {
        ModelProto model = OnnxExporter.Build(ModelSpec.T0, RandomStateDict.Create(ModelSpec.T0));
        Assert.That(model.IrVersion, Is.EqualTo(8));
        Assert.That(model.OpsetImport.Single().Version, Is.EqualTo(13));
        ValueInfoProto input = model.Graph.Input.Single();
        Assert.That(input.Name, Is.EqualTo("input"));
        var dims = input.Type.TensorType.Shape.Dim;
        Assert.That(dims[0].DimParam, Is.EqualTo("batch"));
        Assert.That(dims[1].DimValue, Is.EqualTo(3));
        Assert.That(dims[2].DimParam, Is.EqualTo("height"));
        Assert.That(dims[3].DimParam, Is.EqualTo("width"));
        ValueInfoProto output = model.Graph.Output.Single();
        Assert.That(output.Name, Is.EqualTo("logits"));
        Assert.That(output.Type.TensorType.Shape.Dim[1].DimValue, Is.EqualTo(1000));
    }

    [Test]
    public void PartialConvSlicesTheFirstQuarterOfTheChannels()
    {
        ModelProto model = OnnxExporter.Build(ModelSpec.T0, RandomStateDict.Create(ModelSpec.T0));
        NodeProto slice = model.Graph.Node.First(n => n.Name == "stages.4.blocks.0.spatial_mixing.slice_conv");
        Assert.That(Int64Initializer(model, slice.Input[1]), Is.EqualTo(new long[] { 0 }));
        Assert.That(Int64Initializer(model, slice.Input[2]), Is.EqualTo(new long[] { 160 / 4 }));
        Assert.That(Int64Initializer(model, slice.Input[3]), Is.EqualTo(new long[] { 1 }), "channel axis");
        NodeProto rest = model.Graph.Node.First(n => n.Name == "stages.4.blocks.0.spatial_mixing.slice_untouched");
        Assert.That(Int64Initializer(model, rest.Input[1]), Is.EqualTo(new long[] { 40 }));
        Assert.That(Int64Initializer(model, rest.Input[2]), Is.EqualTo(new long[] { 160 }));
        NodeProto conv = model.Graph.Node.First(n => n.Name == "stages.4.blocks.0.spatial_mixing.partial_conv3");
        Assert.That(conv.Input[0], Is.EqualTo(slice.Output[0]));
        Assert.That(conv.Attribute.First(a => a.Name == "pads").Ints, Is.EqualTo(new long[] { 1, 1, 1, 1 }));
    }

    [Test]
    public void BackboneExportsFourNormalisedStageMapsAndNoHead()
    {
        ModelSpec spec = ModelSpec.T0 with { Backbone = true };
        ModelProto model = OnnxExporter.Build(spec, RandomStateDict.Create(spec));
        Dictionary<string, int> ops = CountOps(model);
        Assert.That(model.Graph.Output.Select(o => o.Name), Is.EqualTo(new[] { "stage1", "stage2", "stage3", "stage4" }));
        Assert.That(ops["BatchNormalization"], Is.EqualTo(1 + 13 + 3 + 4));
        Assert.That(ops.ContainsKey("Gemm"), Is.False);
        Assert.That(ops.ContainsKey("GlobalAveragePool"), Is.False);
        Assert.That(model.Graph.Output[3].Type.TensorType.Shape.Dim[1].DimValue, Is.EqualTo(320));
    }

    [Test]
    public void EveryInitializerIsUsedAndEveryWeightBecomesOne()
    {
        var stateDict = RandomStateDict.Create(ModelSpec.T0);
        ModelProto model = OnnxExporter.Build(ModelSpec.T0, stateDict);
        var used = model.Graph.Node.SelectMany(n => n.Input).ToHashSet();
        Assert.That(model.Graph.Initializer.Where(i => !used.Contains(i.Name)).Select(i => i.Name), Is.Empty);
        var initializers = model.Graph.Initializer.ToDictionary(i => i.Name);
        foreach (var (name, tensor) in stateDict)
        {
            Assert.That(initializers.ContainsKey(name), name);
            Assert.That(initializers[name].Dims, Is.EqualTo(tensor.Shape.Select(d => (long)d)), name);
            Assert.That(initializers[name].RawData.Length, Is.EqualTo(tensor.ElementCount * 4), name);
        }
    }

    [Test]
    public void MissingTensorIsNamed()
    {
        var stateDict = RandomStateDict.Create(ModelSpec.T0).ToDictionary();
        stateDict.Remove("stages.2.blocks.0.mlp.0.weight");
        var error = Assert.Throws<StateDictMismatchException>(() => OnnxExporter.Build(ModelSpec.T0, stateDict));
        Assert.That(error!.Message, Does.Contain("stages.2.blocks.0.mlp.0.weight"));
    }

    [Test]
    public void WrongShapeIsNamedWithBothShapes()
    {
        var stateDict = RandomStateDict.Create(ModelSpec.T0).ToDictionary();
        stateDict["head.bias"] = Tensor.Zeros(999);
        var error = Assert.Throws<ShapeMismatchException>(() => OnnxExporter.Build(ModelSpec.T0, stateDict));
        Assert.That(error!.Message, Does.Contain("head.bias").And.Contain("[999]").And.Contain("[1000]"));
    }

    [Test]
    public void ExportWritesAFileThatParsesBack()
    {
        string path = Path.Combine(Path.GetTempPath(), $"fasternet-export-{Guid.NewGuid():N}.onnx");
        try
        {
            ModelSpec spec = ModelSpec.FromJson(Fixtures.Path("tiny/config.json"));
            OnnxExporter.Export(spec, RandomStateDict.Create(spec), path);
            ModelProto model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
            Assert.That(model.Graph.Node.Count(n => n.OpType == "Conv"), Is.EqualTo(1 + 5 * 3 + 3 + 1));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static Dictionary<string, int> CountOps(ModelProto model) =>
        model.Graph.Node.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count());

    private static long[] Int64Initializer(ModelProto model, string name)
    {
        TensorProto tensor = model.Graph.Initializer.Single(i => i.Name == name);
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(tensor.RawData.Span).ToArray();
    }
}
