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
    public static ModelProto Build(ModelSpec spec, IReadOnlyDictionary<string, Tensor> stateDict)
    {
        ArgumentNullException.ThrowIfNull(spec);
        StateDictLayout.Check(spec, stateDict);
        var graph = new OnnxGraphBuilder(stateDict);
        graph.Graph.Name = $"fasternet_{spec.Name}";
        graph.Graph.Input.Add(FloatValueInfo(InputName, "batch", spec.InChannels, "height", "width"));

        string x = Conv(graph, "patch_embed.proj", InputName, spec.PatchSize, spec.PatchStride, padding: 0);
        x = BatchNorm(graph, "patch_embed.norm", x);
        for (int s = 0; s < spec.Depths.Count; s++)
        {
            if (s > 0)
            {
                string merge = StateDictLayout.MergePrefix(s);
                x = Conv(graph, merge + "reduction", x, spec.PatchSize2, spec.PatchStride2, padding: 0);
                x = BatchNorm(graph, merge + "norm", x);
            }
            for (int b = 0; b < spec.Depths[s]; b++)
                x = Block(graph, spec, s, b, x);
            if (spec.Backbone)
            {
                string output = StageOutputName(s);
                BatchNorm(graph, StateDictLayout.BackboneNormPrefix(s).TrimEnd('.'), x, output);
                graph.Graph.Output.Add(FloatValueInfo(output, "batch", spec.StageDim(s), null, null));
            }
        }
        if (!spec.Backbone)
        {
            x = graph.Node("GlobalAveragePool", "avgpool_pre_head.0", [x]);
            x = Conv(graph, "avgpool_pre_head.1", x, kernel: 1, stride: 1, padding: 0);
            x = Activation(graph, spec.Activation, "avgpool_pre_head.2", x);
            x = graph.Node("Flatten", "flatten", [x], [Int("axis", 1)]);
            graph.Node("Gemm", "head", [x, graph.Weight("head.weight"), graph.Weight("head.bias")],
                [Float("alpha", 1f), Float("beta", 1f), Int("transB", 1)], output: LogitsName);
            graph.Graph.Output.Add(FloatValueInfo(LogitsName, "batch", spec.NumClasses));
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

    /// <summary>x + PW2(act(BN(PW1(PConv(x))))), with PConv as slice, conv, slice, concat.</summary>
    private static string Block(OnnxGraphBuilder graph, ModelSpec spec, int stage, int block, string x)
    {
        string p = StateDictLayout.BlockPrefix(stage, block);
        int dim = spec.StageDim(stage), cp = StateDictLayout.PartialChannels(spec, stage);
        string axes = graph.Int64Constant("channel_axis", 1);
        string zero = graph.Int64Constant("slice_start", 0);
        string split = graph.Int64Constant($"stages.{2 * stage}.partial_channels", cp);
        string end = graph.Int64Constant($"stages.{2 * stage}.channels", dim);

        string convolved = graph.Node("Slice", p + "spatial_mixing.slice_conv", [x, zero, split, axes]);
        convolved = Conv(graph, p + "spatial_mixing.partial_conv3", convolved, kernel: 3, stride: 1, padding: 1);
        string untouched = graph.Node("Slice", p + "spatial_mixing.slice_untouched", [x, split, end, axes]);
        string mixed = graph.Node("Concat", p + "spatial_mixing.concat", [convolved, untouched], [Int("axis", 1)]);

        string y = Conv(graph, p + "mlp.0", mixed, kernel: 1, stride: 1, padding: 0);
        y = BatchNorm(graph, p + "mlp.1", y);
        y = Activation(graph, spec.Activation, p + "mlp.2", y);
        y = Conv(graph, p + "mlp.3", y, kernel: 1, stride: 1, padding: 0);
        return graph.Node("Add", p + "add", [x, y]);
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
