using System.Text.Json.Nodes;

namespace FasterNet.Tests.Model;

/// <summary>
/// The native layer table (<see cref="LayerCost"/>) against PyTorch: tests/fixtures/layers/state_dicts.json
/// holds, for the tiny, tiny backbone, odd and T0 configs, the state_dict of the official module
/// tree (names and shapes) and every conv/linear module's MACs at one input size, counted by
/// forward hooks on the torch modules (tools/make_fixtures.py --only layers).
/// </summary>
public class LayerTableTests
{
    private static readonly Lazy<JsonObject> Document =
        new(() => JsonNode.Parse(File.ReadAllText(Fixtures.Path("layers/state_dicts.json")))!.AsObject());

    public static IEnumerable<string> Cases => ["tiny", "tiny_backbone", "odd", "t0"];

    private static (ModelSpec Spec, int Height, int Width, JsonObject Case) Load(string name)
    {
        JsonObject entry = Document.Value[name]!.AsObject();
        ModelSpec spec = ModelSpec.FromJson(entry["config"]!.AsObject());
        return (spec, (int)entry["height"]!, (int)entry["width"]!, entry);
    }

    [TestCaseSource(nameof(Cases))]
    public void TensorsAreThePyTorchStateDictsNamesAndShapes(string name)
    {
        (ModelSpec spec, _, _, JsonObject entry) = Load(name);
        var torch = entry["tensors"]!.AsArray()
            .Select(t => $"{(string)t!["name"]!} {string.Join("x", t["shape"]!.AsArray().Select(d => (int)d!))}")
            .OrderBy(t => t, StringComparer.Ordinal).ToList();
        var native = LayerCost.StateDictTensors(spec).Select(t => $"{t.Name} {string.Join("x", t.Shape)}")
            .OrderBy(t => t, StringComparer.Ordinal).ToList();
        Assert.That(native, Is.EqualTo(torch));
    }

    [TestCaseSource(nameof(Cases))]
    public void EachLayerCostsWhatItsTorchModulesCount(string name)
    {
        (ModelSpec spec, int height, int width, JsonObject entry) = Load(name);
        var moduleMacs = entry["module_macs"]!.AsObject().ToDictionary(m => m.Key, m => (long)m.Value!);
        IReadOnlyList<LayerCost> layers = LayerCost.For(spec, height, width);
        var counted = new HashSet<string>();
        foreach (LayerCost layer in layers)
        {
            // The layer's conv/linear modules are the owners of its weight tensors.
            var modules = layer.Tensors.Where(t => t.Name.EndsWith(".weight", StringComparison.Ordinal))
                .Select(t => t.Name[..^".weight".Length]).Where(moduleMacs.ContainsKey).ToList();
            counted.UnionWith(modules);
            Assert.That(layer.Macs, Is.EqualTo(modules.Sum(m => moduleMacs[m])), layer.Name);
        }
        Assert.That(counted, Is.EquivalentTo(moduleMacs.Keys), "every torch conv/linear belongs to one layer");
        Assert.That(layers.Sum(l => l.Macs), Is.EqualTo(spec.Macs(height, width)));
        Assert.That(layers.Select(l => l.Name), Is.Unique);
        Assert.That(layers.SelectMany(l => l.Tensors).Select(t => t.Name),
            Is.EqualTo(LayerCost.StateDictTensors(spec).Select(t => t.Name)), "the layers own the tensors in the table's order");
    }

    [Test]
    public void T0RowsNameKindAndShapeEveryLayerAsThePlanRunsIt()
    {
        (ModelSpec spec, int height, int width, _) = Load("t0");
        IReadOnlyList<LayerCost> layers = LayerCost.For(spec, height, width);
        // input, embedding, 13 blocks x 3, 3 merges, head
        Assert.That(layers, Has.Count.EqualTo(1 + 1 + 13 * 3 + 3 + 1));
        Assert.That(layers[0].Kind, Is.EqualTo(LayerKind.Input));
        LayerCost pconv = layers.Single(l => l.Name == "stages.4.blocks.7.pconv");
        Assert.That(pconv.Kind, Is.EqualTo(LayerKind.PartialConv));
        Assert.That((pconv.Stage, pconv.InChannels, pconv.Height, pconv.Width, pconv.Kernel), Is.EqualTo((2, 160, 14, 14, 3)));
        Assert.That(pconv.Tensors.Single().Shape, Is.EqualTo(new[] { 40, 40, 3, 3 }));
        LayerCost merge = layers.Single(l => l.Name == "stages.5");
        Assert.That((merge.Kind, merge.InChannels, merge.InHeight, merge.OutChannels, merge.Height, merge.Kernel, merge.Stride),
            Is.EqualTo((LayerKind.Merging, 160, 14, 320, 7, 2, 2)));
        Assert.That(layers[^1].Tensors.Select(t => t.Name),
            Is.EqualTo(new[] { "avgpool_pre_head.1.weight", "head.weight", "head.bias" }));
    }

    [Test]
    public void StructureHasTheSameRowsWithoutSizes()
    {
        (ModelSpec spec, int height, int width, _) = Load("odd");
        var sized = LayerCost.For(spec, height, width);
        var structure = LayerCost.Structure(spec);
        Assert.That(structure.Select(l => (l.Name, l.Kind, l.InChannels, l.OutChannels, l.Parameters)),
            Is.EqualTo(sized.Select(l => (l.Name, l.Kind, l.InChannels, l.OutChannels, l.Parameters))));
        Assert.That(structure, Has.All.Matches<LayerCost>(l => l.Macs == 0 && l.Height == 0 && l.ActivationBytes == 0));
    }

    /// <summary>
    /// The bytes one layer moves for one image, derived from its shapes alone: each tensor it reads or writes
    /// (channels x pixels) and its conv/linear weights (and the classifier bias) at their element sizes. In a bf16
    /// model the merges', PConvs' and pointwise convs' weights, PConv's output and the hidden tensor are bf16;
    /// the input, the residual stream, the embedding and the head are fp32.
    /// </summary>
    private static (long Activations, long Weights) BytesFromShapes(LayerCost layer, bool bf16, long partialChannels)
    {
        const long f32 = 4, bf = 2;
        long between = bf16 ? bf : f32;
        bool gemmLayer = layer.Kind is LayerKind.Merging or LayerKind.PartialConv or LayerKind.PointwiseExpand
            or LayerKind.PointwiseProject;
        long weights = layer.Tensors.Where(t => t.Shape.Length >= 2 || t.Name == "head.bias")
            .Sum(t => t.Shape.Aggregate(1L, (n, d) => n * d)) * (bf16 && gemmLayer ? bf : f32);
        long inPlane = (long)layer.InChannels * layer.InHeight * layer.InWidth;
        long outPlane = (long)layer.OutChannels * layer.Height * layer.Width;
        long pixels = (long)layer.Height * layer.Width;
        long activations = layer.Kind switch
        {
            LayerKind.PartialConv => pixels * partialChannels * (f32 + between),
            LayerKind.PointwiseExpand => pixels * (partialChannels * between + (layer.InChannels - partialChannels) * f32
                                                   + layer.OutChannels * between),
            LayerKind.PointwiseProject => pixels * (layer.InChannels * between + 2 * layer.OutChannels * f32),
            LayerKind.Head => inPlane * f32,
            _ => (inPlane + outPlane) * f32,
        };
        return (activations, weights);
    }

    [TestCaseSource(nameof(Cases))]
    public void BytesCountEachTensorAtItsElementSizeInEachPrecision(string name)
    {
        (ModelSpec spec, int height, int width, _) = Load(name);
        foreach (Precision precision in new[] { Precision.Float32, Precision.BFloat16 })
        {
            long partialChannels = 0;
            foreach (LayerCost layer in LayerCost.For(spec, height, width, precision))
            {
                if (layer.Kind == LayerKind.PartialConv)
                    partialChannels = layer.Tensors.Single().Shape[0];
                (long activations, long weights) = BytesFromShapes(layer, precision == Precision.BFloat16, partialChannels);
                Assert.That((layer.ActivationBytes, layer.WeightBytes), Is.EqualTo((activations, weights)),
                    $"{layer.Name} in {precision}");
            }
        }
        // The default is the fp32 table.
        Assert.That(LayerCost.For(spec, height, width).Select(l => l.Bytes),
            Is.EqualTo(LayerCost.For(spec, height, width, Precision.Float32).Select(l => l.Bytes)));
    }

    [Test]
    public void AnUnknownPrecisionIsRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => LayerCost.For(ModelSpec.T0, 224, 224, (Precision)7));
    }

    [Test]
    public void AnInputTooSmallIsAClearError()
    {
        var error = Assert.Throws<InvalidModelInputException>(() => LayerCost.For(ModelSpec.T0, 16, 16));
        Assert.That(error!.Message, Does.Contain("too small"));
    }
}
