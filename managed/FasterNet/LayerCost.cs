namespace FasterNet;

/// <summary>The kind of a network layer (the native layer table's fasternet_layer_kind).</summary>
public enum LayerKind
{
    /// <summary>The input's NCHW -> NHWC layout change.</summary>
    Input = 0,
    PatchEmbedding = 1,
    Merging = 2,
    PartialConv = 3,
    PointwiseExpand = 4,
    PointwiseProject = 5,
    BackboneNorm = 6,
    Head = 7,
}

/// <summary>One state_dict tensor a layer owns: its official name and shape.</summary>
public sealed record LayerTensor(string Name, int[] Shape);

/// <summary>
/// One layer of the network as the native plan runs it (a row of the native layer table, one
/// row of a profile), for one image: the tensor it reads (in) and writes (out), its
/// multiply-accumulates, parameters (batch norms folded away), the activation bytes it must move
/// at minimum, its weight bytes and the state_dict tensors it owns. Bytes count each tensor at the
/// element size it has in the table's precision: 4 in <see cref="Precision.Float32"/>; in
/// <see cref="Precision.BFloat16"/>, 2 for the weights of the merges, PConvs and pointwise convs,
/// for PConv's output and for the hidden tensor, 4 for the rest (input, residual stream, embedding,
/// head). A PConv reads and writes all of its stage's channels and convolves the first ones (its
/// weight's shape).
/// </summary>
public sealed record LayerCost(
    string Name, LayerKind Kind, int Stage, int Kernel, int Stride,
    int InChannels, int InHeight, int InWidth, int OutChannels, int Height, int Width,
    long Macs, long Parameters, long ActivationBytes, long WeightBytes, IReadOnlyList<LayerTensor> Tensors)
{
    /// <summary>Bytes moved for one image: activations in and out plus the weights.</summary>
    public long Bytes => ActivationBytes + WeightBytes;

    public double FlopsPerByte => Bytes == 0 ? 0 : 2.0 * Macs / Bytes;

    /// <summary>
    /// Every layer of <paramref name="spec"/> at an input of height x width, in execution order
    /// ("input" first), as the native runtime derives them (fasternet_config_layers_in_precision), with the
    /// bytes of a <paramref name="precision"/> model.
    /// </summary>
    /// <exception cref="InvalidModelInputException">The spec is invalid or the input too small.</exception>
    public static IReadOnlyList<LayerCost> For(ModelSpec spec, int height = 224, int width = 224,
                                               Precision precision = Precision.Float32)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (!Enum.IsDefined(precision))
            throw new ArgumentOutOfRangeException(nameof(precision), precision, "unknown precision");
        return Native.NativeModel.Layers(spec, height, width, precision);
    }

    /// <summary>
    /// The layers of <paramref name="spec"/> without an input size: names, kinds, channels, kernels,
    /// parameters and tensors (map sizes, MACs and activation bytes are 0).
    /// </summary>
    public static IReadOnlyList<LayerCost> Structure(ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return Native.NativeModel.Layers(spec, 0, 0);
    }

    /// <summary>
    /// Every tensor a state_dict must hold for <paramref name="spec"/> (no num_batches_tracked),
    /// layer by layer in execution order; independent of the input size.
    /// </summary>
    public static IReadOnlyList<LayerTensor> StateDictTensors(ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return Native.NativeModel.Tensors(spec);
    }
}
