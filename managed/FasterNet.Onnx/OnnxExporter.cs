using Google.Protobuf;
using Onnx;
using static FasterNet.Onnx.OnnxGraphBuilder;

namespace FasterNet.Onnx;

/// <summary>
/// Writes a FasterNet as the ONNX graph PyTorch exports, unfused (IR 8, opset 13): every
/// convolution, batch norm, PConv slice/concat and residual add is its own node, so ONNX Runtime
/// does its own fusing. Batch, height and width are dynamic.
/// </summary>
public static class OnnxExporter
{
    public const long IrVersion = 8;
    public const long Opset = 13;
    public const string InputName = "input";
    public const string LogitsName = "logits";
    public const float BatchNormEpsilon = 1e-5f;

    /// <summary>Name of backbone output <paramref name="stage"/> (0-based): "stage1" .. "stageN".</summary>
    public static string StageOutputName(int stage) => $"stage{stage + 1}";

    /// <summary>Writes the graph for <paramref name="spec"/> with the weights of <paramref name="stateDict"/> to <paramref name="path"/>.</summary>
    /// <exception cref="StateDictMismatchException">A tensor the spec needs is missing.</exception>
    /// <exception cref="ShapeMismatchException">A tensor's shape differs from the spec's.</exception>
    public static void Export(ModelSpec spec, IReadOnlyDictionary<string, Tensor> stateDict, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        File.WriteAllBytes(path, ToBytes(spec, stateDict));
    }

    /// <summary>The serialized model, e.g. for an in-memory ONNX Runtime session.</summary>
    public static byte[] ToBytes(ModelSpec spec, IReadOnlyDictionary<string, Tensor> stateDict) =>
        Build(spec, stateDict).ToByteArray();

    /// <summary>The ONNX model as protobuf objects.</summary>
    public static ModelProto Build(ModelSpec spec, IReadOnlyDictionary<string, Tensor> stateDict) =>
        Build(spec, stateDict, out _);

    /// <summary>
    /// The ONNX model, and for every node the name of the layer-table row it belongs to (e.g.
    /// "stages.6.blocks.0.spatial_mixing.partial_conv3" -> "stages.6.blocks.0.pconv"), so a per-node
    /// profile of ONNX Runtime can be set beside FasterNet's per-layer one.
    /// </summary>
    public static ModelProto Build(ModelSpec spec, IReadOnlyDictionary<string, Tensor> stateDict,
                                   out IReadOnlyDictionary<string, string> nodeLayers)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var layerOfNode = new Dictionary<string, string>(StringComparer.Ordinal);
        nodeLayers = layerOfNode;
        StateDictLayout.Check(spec, stateDict);
        var graph = new OnnxGraphBuilder(stateDict);
        graph.Graph.Name = $"fasternet_{spec.Name}";
        graph.Graph.Input.Add(FloatValueInfo(InputName, "batch", spec.InChannels, "height", "width"));

        // The graph follows the native layer table: one group of nodes per layer, named after
        // the layer's state_dict tensors, so the exporter holds no second copy of the network's shape.
        string x = InputName, blockInput = InputName;
        foreach (LayerCost layer in LayerCost.Structure(spec))
        {
            int firstNode = graph.Graph.Node.Count;
            AddLayer(layer);
            for (int i = firstNode; i < graph.Graph.Node.Count; i++)
                layerOfNode[graph.Graph.Node[i].Name] = layer.Name;
        }

        void AddLayer(LayerCost layer)
        {
            switch (layer.Kind)
            {
                case LayerKind.Input:
                    break;
                case LayerKind.PatchEmbedding or LayerKind.Merging:
                    x = Conv(graph, Module(layer, 0), x, layer.Kernel, layer.Stride, padding: 0);
                    x = BatchNorm(graph, Module(layer, 1), x);
                    break;
                case LayerKind.PartialConv:
                    blockInput = x;
                    x = PartialConv(graph, layer, x);
                    break;
                case LayerKind.PointwiseExpand:
                    x = Conv(graph, Module(layer, 0), x, kernel: 1, stride: 1, padding: 0);
                    x = BatchNorm(graph, Module(layer, 1), x);
                    x = Activation(graph, spec.Activation, layer.Name + ".act", x);
                    break;
                case LayerKind.PointwiseProject:
                    x = Conv(graph, Module(layer, 0), x, kernel: 1, stride: 1, padding: 0);
                    x = graph.Node("Add", layer.Name + ".residual", [blockInput, x]);
                    break;
                case LayerKind.BackboneNorm:
                    string output = StageOutputName(layer.Stage);
                    BatchNorm(graph, Module(layer, 0), x, output);
                    graph.Graph.Output.Add(FloatValueInfo(output, "batch", layer.OutChannels, null, null));
                    break;
                case LayerKind.Head:
                    x = graph.Node("GlobalAveragePool", layer.Name + ".pool", [x]);
                    x = Conv(graph, Module(layer, 0), x, kernel: 1, stride: 1, padding: 0);
                    x = Activation(graph, spec.Activation, layer.Name + ".act", x);
                    x = graph.Node("Flatten", layer.Name + ".flatten", [x], [Int("axis", 1)]);
                    graph.Node("Gemm", Module(layer, 1), [x, graph.Weight(layer.Tensors[1].Name), graph.Weight(layer.Tensors[2].Name)],
                        [Float("alpha", 1f), Float("beta", 1f), Int("transB", 1)], output: LogitsName);
                    graph.Graph.Output.Add(FloatValueInfo(LogitsName, "batch", layer.OutChannels));
                    break;
                default:
                    throw new NotSupportedException($"layer '{layer.Name}' of kind {layer.Kind} has no ONNX form");
            }
        }

        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "FasterNet.NET",
            ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "",
            Graph = graph.Graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        return model;
    }

    /// <summary>PConv as slice, 3x3 conv, slice, concat: the conv on the weight's channels, the rest untouched.</summary>
    private static string PartialConv(OnnxGraphBuilder graph, LayerCost layer, string x)
    {
        string conv = Module(layer, 0), mixing = conv[..conv.LastIndexOf('.')];  // "...spatial_mixing"
        int partial = layer.Tensors[0].Shape[0];
        string axes = graph.Int64Constant("channel_axis", 1);
        string zero = graph.Int64Constant("slice_start", 0);
        string split = graph.Int64Constant($"stage{layer.Stage}.partial_channels", partial);
        string end = graph.Int64Constant($"stage{layer.Stage}.channels", layer.InChannels);

        string convolved = graph.Node("Slice", mixing + ".slice_conv", [x, zero, split, axes]);
        convolved = Conv(graph, conv, convolved, layer.Kernel, layer.Stride, padding: layer.Kernel / 2);
        string untouched = graph.Node("Slice", mixing + ".slice_untouched", [x, split, end, axes]);
        return graph.Node("Concat", mixing + ".concat", [convolved, untouched], [Int("axis", 1)]);
    }

    /// <summary>The module owning a layer's tensor <paramref name="index"/>: its name without the parameter.</summary>
    private static string Module(LayerCost layer, int index)
    {
        string name = layer.Tensors[index].Name;
        return name[..name.LastIndexOf('.')];
    }

    private static string Conv(OnnxGraphBuilder graph, string module, string x, int kernel, int stride, int padding) =>
        graph.Node("Conv", module, [x, graph.Weight(module + ".weight")],
        [
            Ints("dilations", 1, 1), Int("group", 1), Ints("kernel_shape", kernel, kernel),
            Ints("pads", padding, padding, padding, padding), Ints("strides", stride, stride),
        ]);

    private static string BatchNorm(OnnxGraphBuilder graph, string module, string x, string? output = null) =>
        graph.Node("BatchNormalization", module,
        [
            x, graph.Weight(module + ".weight"), graph.Weight(module + ".bias"),
            graph.Weight(module + ".running_mean"), graph.Weight(module + ".running_var"),
        ], [Float("epsilon", BatchNormEpsilon), Float("momentum", 0.9f)], output);

    /// <summary>ReLU, or exact GELU as opset 13 spells it: x * 0.5 * (1 + erf(x / sqrt 2)).</summary>
    private static string Activation(OnnxGraphBuilder graph, Activation activation, string module, string x)
    {
        if (activation == FasterNet.Activation.Relu)
            return graph.Node("Relu", module, [x]);
        string scaled = graph.Node("Div", module + ".div", [x, graph.ScalarConstant("gelu.sqrt2", MathF.Sqrt(2f))]);
        string erf = graph.Node("Erf", module + ".erf", [scaled]);
        string shifted = graph.Node("Add", module + ".add", [erf, graph.ScalarConstant("gelu.one", 1f)]);
        string product = graph.Node("Mul", module + ".mul", [x, shifted]);
        return graph.Node("Mul", module + ".mul_half", [product, graph.ScalarConstant("gelu.half", 0.5f)]);
    }
}
