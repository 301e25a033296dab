using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using static FasterNet.Onnx.OnnxGraphBuilder;

namespace FasterNet.Onnx;

/// <summary>
/// Writes a FasterNet classifier as the QDQ int8 graph ONNX Runtime's quantization tool would
/// (IR 8, opset 13): batch norms folded into the convs; weights int8 per output channel,
/// symmetric (scale = max |w| / 127); every activation that feeds a conv, an add, a concat or
/// the pooling uint8 per tensor, asymmetric, its range the min and max seen when the float graph
/// runs on the calibration batches; conv biases int32 at input scale x weight scale. ONNX
/// Runtime fuses each DequantizeLinear -> op -> QuantizeLinear into its int8 kernels
/// (QLinearConv, QLinearAdd, QLinearConcat, QLinearGlobalAveragePool). A ReLU after a conv is
/// dropped: the conv's output is quantized over [0, max], so uint8 saturation clamps as ReLU
/// does. GELU (T0, T1) and the final Linear stay float. Batch, height and width are dynamic.
/// </summary>
public static class Int8QdqExporter
{
    /// <summary>The serialized QDQ model, calibrated on <paramref name="calibration"/> (NCHW batches).</summary>
    /// <exception cref="ArgumentException">A backbone spec, no calibration batch, or a batch of the wrong shape.</exception>
    public static byte[] ToBytes(ModelSpec spec, IReadOnlyDictionary<string, Tensor> stateDict, IEnumerable<Tensor> calibration) =>
        Build(spec, stateDict, Calibrate(spec, stateDict, calibration)).ToByteArray();

    /// <summary>Writes the QDQ model to <paramref name="path"/>.</summary>
    public static void Export(ModelSpec spec, IReadOnlyDictionary<string, Tensor> stateDict, IEnumerable<Tensor> calibration, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        File.WriteAllBytes(path, ToBytes(spec, stateDict, calibration));
    }

    /// <summary>Min and max of every quantized activation over the calibration batches (the float graph in ONNX Runtime).</summary>
    public static IReadOnlyDictionary<string, (float Min, float Max)> Calibrate(
        ModelSpec spec, IReadOnlyDictionary<string, Tensor> stateDict, IEnumerable<Tensor> calibration)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(calibration);
        if (spec.Backbone)
            throw new ArgumentException($"int8 export covers classifiers; model {spec.Name} is a backbone (fork_feat)");
        StateDictLayout.Check(spec, stateDict);
        var writer = new Writer(spec, stateDict, ranges: null);
        byte[] floatGraph = writer.Write().ToByteArray();
        var ranges = new Dictionary<string, (float Min, float Max)>(StringComparer.Ordinal);
        using var session = new OrtPeer(floatGraph, threads: 1);
        int batches = 0;
        foreach (Tensor batch in calibration)
        {
            if (batch.Shape.Length != 4 || batch.Shape[1] != spec.InChannels)
                throw new ArgumentException(
                    $"calibration batch has shape [{string.Join(", ", batch.Shape)}], expected [N, {spec.InChannels}, H, W]");
            IReadOnlyDictionary<string, Tensor> outputs = session.RunAll(batch.Data, batch.Shape[0], batch.Shape[2], batch.Shape[3]);
            foreach ((string key, string tensor) in writer.Observed)
            {
                float[] data = tensor == OnnxExporter.InputName ? batch.Data : outputs[tensor].Data;
                float min = data.Min(), max = data.Max();
                ranges[key] = ranges.TryGetValue(key, out var seen) ? (Math.Min(seen.Min, min), Math.Max(seen.Max, max)) : (min, max);
            }
            batches++;
        }
        if (batches == 0)
            throw new ArgumentException("int8 calibration needs at least one batch of images");
        return ranges;
    }

    /// <summary>The QDQ model for activation ranges from <see cref="Calibrate"/>.</summary>
    public static ModelProto Build(ModelSpec spec, IReadOnlyDictionary<string, Tensor> stateDict,
                                   IReadOnlyDictionary<string, (float Min, float Max)> ranges)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(ranges);
        if (spec.Backbone)
            throw new ArgumentException($"int8 export covers classifiers; model {spec.Name} is a backbone (fork_feat)");
        StateDictLayout.Check(spec, stateDict);
        return new Writer(spec, stateDict, ranges).Write();
    }

    /// <summary>uint8 scale and zero point of a range widened to hold 0 (as ONNX Runtime's MinMax calibration does).</summary>
    public static (float Scale, byte ZeroPoint) ActivationQuantization(float min, float max)
    {
        min = Math.Min(min, 0f);
        max = Math.Max(max, 0f);
        float scale = (max - min) / 255f;
        if (!(scale > 0f) || !float.IsFinite(scale))
            return (1f, 0);
        return (scale, (byte)Math.Clamp(MathF.Round(-min / scale), 0f, 255f));
    }

    /// <summary>
    /// Writes the folded graph once for both uses: without ranges, float, with every tensor that
    /// will be quantized also a graph output (calibration); with ranges, QDQ.
    /// </summary>
    private sealed class Writer(ModelSpec spec, IReadOnlyDictionary<string, Tensor> stateDict,
                                IReadOnlyDictionary<string, (float Min, float Max)>? ranges)
    {
        private readonly OnnxGraphBuilder _graph = new(stateDict);
        private readonly Dictionary<string, float> _scaleOf = new(StringComparer.Ordinal);  // dequantized tensor -> its scale
        private readonly HashSet<string> _added = new(StringComparer.Ordinal);

        /// <summary>Calibration: range key -> graph output holding the tensor.</summary>
        public List<(string Key, string Tensor)> Observed { get; } = [];

        private bool Quantized => ranges is not null;

        public ModelProto Write()
        {
            GraphProto g = _graph.Graph;
            g.Name = $"fasternet_{spec.Name}{(Quantized ? "_int8" : "_calibration")}";
            g.Input.Add(FloatValueInfo(OnnxExporter.InputName, "batch", spec.InChannels, "height", "width"));
            bool relu = spec.Activation == Activation.Relu;

            // One group of nodes per layer of the native layer table, as OnnxExporter does.
            string x = Observe("input", OnnxExporter.InputName), blockInput = x;
            foreach (LayerCost layer in LayerCost.Structure(spec))
            {
                switch (layer.Kind)
                {
                    case LayerKind.Input:
                        break;
                    case LayerKind.PatchEmbedding or LayerKind.Merging:
                        x = Observe(layer.Name, Conv(Module(layer, 0), x, layer.Kernel, layer.Stride, 0, Module(layer, 1)));
                        break;
                    case LayerKind.PartialConv:
                        blockInput = x;
                        x = PartialConv(layer, x);
                        break;
                    case LayerKind.PointwiseExpand:
                        x = Activated(layer.Name + ".act", Conv(Module(layer, 0), x, 1, 1, 0, Module(layer, 1)), relu);
                        break;
                    case LayerKind.PointwiseProject:
                        string projected = Observe(layer.Name, Conv(Module(layer, 0), x, 1, 1, 0, norm: null));
                        x = Observe(layer.Name + ".residual", _graph.Node("Add", layer.Name + ".residual", [blockInput, projected]));
                        break;
                    case LayerKind.Head:
                        x = Observe(layer.Name + ".pool", _graph.Node("GlobalAveragePool", layer.Name + ".pool", [x]));
                        x = Activated(layer.Name + ".act", Conv(Module(layer, 0), x, 1, 1, 0, norm: null), relu);
                        x = _graph.Node("Flatten", layer.Name + ".flatten", [x], [Int("axis", 1)]);
                        _graph.Node("Gemm", Module(layer, 1),
                            [x, _graph.Weight(layer.Tensors[1].Name), _graph.Weight(layer.Tensors[2].Name)],
                            [Float("alpha", 1f), Float("beta", 1f), Int("transB", 1)], output: OnnxExporter.LogitsName);
                        g.Output.Add(FloatValueInfo(OnnxExporter.LogitsName, "batch", layer.OutChannels));
                        break;
                    default:
                        throw new NotSupportedException($"layer '{layer.Name}' of kind {layer.Kind} has no int8 ONNX form");
                }
            }

            var model = new ModelProto
            {
                IrVersion = OnnxExporter.IrVersion,
                ProducerName = "FasterNet.NET",
                ProducerVersion = typeof(Int8QdqExporter).Assembly.GetName().Version?.ToString() ?? "",
                Graph = g,
            };
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OnnxExporter.Opset });
            return model;
        }

        /// <summary>PConv as slice, 3x3 conv, slice, concat; the slices keep their input's quantization.</summary>
        private string PartialConv(LayerCost layer, string x)
        {
            string conv = Module(layer, 0), mixing = conv[..conv.LastIndexOf('.')];  // "...spatial_mixing"
            int partial = layer.Tensors[0].Shape[0];
            string axes = _graph.Int64Constant("channel_axis", 1);
            string zero = _graph.Int64Constant("slice_start", 0);
            string split = _graph.Int64Constant($"stage{layer.Stage}.partial_channels", partial);
            string end = _graph.Int64Constant($"stage{layer.Stage}.channels", layer.InChannels);

            // So ONNX Runtime slices the uint8 tensor itself.
            string head = SameQuantization(_graph.Node("Slice", mixing + ".slice_conv", [x, zero, split, axes]), x);
            string convolved = Observe(conv, Conv(conv, head, layer.Kernel, layer.Stride, layer.Kernel / 2, norm: null));
            string untouched = SameQuantization(_graph.Node("Slice", mixing + ".slice_untouched", [x, split, end, axes]), x);
            return Observe(mixing + ".concat", _graph.Node("Concat", mixing + ".concat", [convolved, untouched], [Int("axis", 1)]));
        }

        /// <summary>The module owning a layer's tensor <paramref name="index"/>: its name without the parameter.</summary>
        private static string Module(LayerCost layer, int index)
        {
            string name = layer.Tensors[index].Name;
            return name[..name.LastIndexOf('.')];
        }

        /// <summary>
        /// The activation after a conv, quantized: ReLU folded into the quantization (calibrated
        /// after the ReLU, dropped from the int8 graph); GELU in float between two quantizations.
        /// </summary>
        private string Activated(string key, string convOutput, bool relu)
        {
            if (relu)
                return Quantized ? Observe(key, convOutput) : Observe(key, _graph.Node("Relu", key, [convOutput]));
            string input = Observe(key + ".input", convOutput);
            return Observe(key, Gelu(key, input));
        }

        private string Gelu(string module, string x)
        {
            string scaled = _graph.Node("Div", module + ".div", [x, _graph.ScalarConstant("gelu.sqrt2", MathF.Sqrt(2f))]);
            string erf = _graph.Node("Erf", module + ".erf", [scaled]);
            string shifted = _graph.Node("Add", module + ".add", [erf, _graph.ScalarConstant("gelu.one", 1f)]);
            string product = _graph.Node("Mul", module + ".mul", [x, shifted]);
            return _graph.Node("Mul", module + ".mul_half", [product, _graph.ScalarConstant("gelu.half", 0.5f)]);
        }

        /// <summary>Calibration: the tensor becomes a graph output. QDQ: QuantizeLinear -> DequantizeLinear.</summary>
        private string Observe(string key, string tensor)
        {
            if (!Quantized)
            {
                Observed.Add((key, tensor));
                if (tensor != OnnxExporter.InputName)  // the input's range comes from the batches themselves
                {
                    _graph.Graph.Output.Add(new ValueInfoProto
                    {
                        Name = tensor,
                        Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } },
                    });
                }
                return tensor;
            }
            if (!ranges!.TryGetValue(key, out var range))
                throw new ArgumentException($"no calibrated range for '{key}'");
            (float scale, byte zeroPoint) = ActivationQuantization(range.Min, range.Max);
            return QuantizeDequantize(key, tensor, scale, zeroPoint);
        }

        /// <summary>A tensor quantized exactly as <paramref name="like"/> (a dequantized tensor) is.</summary>
        private string SameQuantization(string tensor, string like)
        {
            if (!Quantized)
                return tensor;
            string scale = like + "_scale", zeroPoint = like + "_zero_point";
            string q = _graph.Node("QuantizeLinear", tensor + "_quantized", [tensor, scale, zeroPoint]);
            string dq = _graph.Node("DequantizeLinear", tensor + "_dequantized", [q, scale, zeroPoint]);
            _scaleOf[dq] = _scaleOf[like];
            return dq;
        }

        private string QuantizeDequantize(string key, string tensor, float scale, byte zeroPoint)
        {
            string dqName = tensor + "_dequantized";
            string scaleName = dqName + "_scale", zeroPointName = dqName + "_zero_point";
            AddInitializer(FloatTensor(scaleName, [], [scale]));
            AddInitializer(new TensorProto
            {
                Name = zeroPointName, DataType = (int)TensorProto.Types.DataType.Uint8, RawData = ByteString.CopyFrom([zeroPoint]),
            });
            string q = _graph.Node("QuantizeLinear", tensor + "_quantized", [tensor, scaleName, zeroPointName]);
            string dq = _graph.Node("DequantizeLinear", dqName, [q, scaleName, zeroPointName]);
            _scaleOf[dq] = scale;
            return dq;
        }

        /// <summary>A conv (bias-free in the checkpoint) with its batch norm, if any, folded into weight and bias.</summary>
        private string Conv(string module, string x, int kernel, int stride, int padding, string? norm)
        {
            Tensor weight = stateDict[module + ".weight"];
            int outChannels = weight.Shape[0], perChannel = weight.Data.Length / outChannels;
            var folded = (float[])weight.Data.Clone();
            float[]? bias = null;
            if (norm is not null)
            {
                float[] gamma = stateDict[norm + ".weight"].Data, beta = stateDict[norm + ".bias"].Data;
                float[] mean = stateDict[norm + ".running_mean"].Data, variance = stateDict[norm + ".running_var"].Data;
                bias = new float[outChannels];
                for (int c = 0; c < outChannels; c++)
                {
                    double scale = gamma[c] / Math.Sqrt(variance[c] + (double)OnnxExporter.BatchNormEpsilon);
                    for (int i = 0; i < perChannel; i++)
                        folded[c * perChannel + i] = (float)(weight.Data[c * perChannel + i] * scale);
                    bias[c] = (float)(beta[c] - mean[c] * scale);
                }
            }
            var inputs = new List<string> { x };
            if (Quantized)
            {
                float inputScale = _scaleOf[x];
                float[] weightScales = QuantizedWeight(module + ".weight_int8", weight.Shape, folded, perChannel);
                inputs.Add(module + ".weight_dequantized");
                if (bias is not null)
                    inputs.Add(QuantizedBias(module + ".bias_int32", bias, inputScale, weightScales));
            }
            else
            {
                AddInitializer(FloatTensor(module + ".weight_folded", weight.Shape, folded));
                inputs.Add(module + ".weight_folded");
                if (bias is not null)
                {
                    AddInitializer(FloatTensor(module + ".bias_folded", [outChannels], bias));
                    inputs.Add(module + ".bias_folded");
                }
            }
            return _graph.Node("Conv", module, inputs,
            [
                Ints("dilations", 1, 1), Int("group", 1), Ints("kernel_shape", kernel, kernel),
                Ints("pads", padding, padding, padding, padding), Ints("strides", stride, stride),
            ]);
        }

        /// <summary>int8 weight, symmetric per output channel, behind a per-axis DequantizeLinear; returns the scales.</summary>
        private float[] QuantizedWeight(string name, int[] shape, float[] weight, int perChannel)
        {
            int channels = shape[0];
            var scales = new float[channels];
            var quantized = new sbyte[weight.Length];
            for (int c = 0; c < channels; c++)
            {
                float largest = 0f;
                for (int i = 0; i < perChannel; i++)
                    largest = Math.Max(largest, Math.Abs(weight[c * perChannel + i]));
                scales[c] = largest > 0f ? largest / 127f : 1f;
                for (int i = 0; i < perChannel; i++)
                    quantized[c * perChannel + i] = (sbyte)Math.Clamp(MathF.Round(weight[c * perChannel + i] / scales[c]), -127f, 127f);
            }
            var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int8 };
            tensor.Dims.AddRange(shape.Select(d => (long)d));
            tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(quantized.AsSpan()));
            AddInitializer(tensor);
            string scaleName = name + "_scale", zeroPointName = name + "_zero_point";
            AddInitializer(FloatTensor(scaleName, [channels], scales));
            var zeroPoints = new TensorProto { Name = zeroPointName, DataType = (int)TensorProto.Types.DataType.Int8 };
            zeroPoints.Dims.Add(channels);
            zeroPoints.RawData = ByteString.CopyFrom(new byte[channels]);
            AddInitializer(zeroPoints);
            string output = name.Replace(".weight_int8", ".weight_dequantized", StringComparison.Ordinal);
            _graph.Node("DequantizeLinear", output, [name, scaleName, zeroPointName], [Int("axis", 0)], output);
            return scales;
        }

        /// <summary>int32 bias at input scale x weight scale (zero point 0), as the int8 conv kernels add it.</summary>
        private string QuantizedBias(string name, float[] bias, float inputScale, float[] weightScales)
        {
            var scales = new float[bias.Length];
            var quantized = new int[bias.Length];
            for (int c = 0; c < bias.Length; c++)
            {
                scales[c] = inputScale * weightScales[c];
                quantized[c] = (int)Math.Clamp(Math.Round(bias[c] / (double)scales[c]), int.MinValue, int.MaxValue);
            }
            var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int32 };
            tensor.Dims.Add(bias.Length);
            tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(quantized.AsSpan()));
            AddInitializer(tensor);
            string scaleName = name + "_scale", zeroPointName = name + "_zero_point";
            AddInitializer(FloatTensor(scaleName, [bias.Length], scales));
            var zeroPoints = new TensorProto { Name = zeroPointName, DataType = (int)TensorProto.Types.DataType.Int32 };
            zeroPoints.Dims.Add(bias.Length);
            zeroPoints.RawData = ByteString.CopyFrom(new byte[4 * bias.Length]);
            AddInitializer(zeroPoints);
            string output = name.Replace(".bias_int32", ".bias_dequantized", StringComparison.Ordinal);
            return _graph.Node("DequantizeLinear", output, [name, scaleName, zeroPointName], [Int("axis", 0)], output);
        }

        private void AddInitializer(TensorProto tensor)
        {
            if (_added.Add(tensor.Name))
                _graph.Graph.Initializer.Add(tensor);
        }
    }
}
