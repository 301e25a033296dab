using System.Runtime.InteropServices;
using System.Text;
using FasterNet.Interop;

namespace FasterNet.Native;

/// <summary>
/// The one place that talks to the raw bindings: marshals specs and state_dicts, and turns
/// native status codes into typed exceptions with the native message.
/// </summary>
internal static unsafe class NativeModel
{
    internal static void ThrowIfFailed(Status status, string? context = null)
    {
        if (status == Status.Ok)
            return;
        string message = LastError();
        if (context is not null)
            message = $"{context}: {message}";
        throw status switch
        {
            Status.ShapeMismatch => new ShapeMismatchException(message),
            Status.MissingTensor or Status.UnexpectedTensor => new StateDictMismatchException(message),
            Status.InvalidArgument => new InvalidModelInputException(message),
            Status.Unsupported => new NotSupportedByRuntimeException(message),
            Status.OutOfMemory => new RuntimeOutOfMemoryException(message),
            Status.Cancelled => new OperationCanceledException(message),
            _ => new FasterNetException($"native runtime error ({status}): {message}"),
        };
    }

    internal static string LastError() => Utf8(NativeMethods.LastError()) ?? "";

    internal static string? Utf8(byte* text) =>
        text is null ? null : Marshal.PtrToStringUTF8((nint)text);

    internal static ModelConfig ToNative(ModelSpec spec)
    {
        if (spec.Depths.Count is < 1 or > ModelSpec.MaxStages)
            throw new InvalidModelInputException(
                $"invalid model config: {spec.Depths.Count} stages (depths), expected 1..{ModelSpec.MaxStages}");
        var config = new ModelConfig
        {
            InChannels = spec.InChannels,
            NumClasses = spec.NumClasses,
            EmbedDim = spec.EmbedDim,
            NumStages = spec.Depths.Count,
            NDiv = spec.NDiv,
            MlpRatio = spec.MlpRatio,
            PatchSize = spec.PatchSize,
            PatchStride = spec.PatchStride,
            PatchSize2 = spec.PatchSize2,
            PatchStride2 = spec.PatchStride2,
            FeatureDim = spec.FeatureDim,
            Activation = (Interop.Activation)(int)spec.Activation,
            Backbone = spec.Backbone ? 1 : 0,
        };
        for (int i = 0; i < spec.Depths.Count; i++)
            config.Depths[i] = spec.Depths[i];
        return config;
    }

    internal static Interop.ModelOptions ToNative(FasterNet.ModelOptions options) => new()
    {
        NumThreads = options.Threads,
        KernelSet = (Interop.KernelSet)(int)options.KernelSet,
        Precision = (Interop.Precision)(int)options.Precision,
        MaxIdleScratchBytes = options.MaxIdleScratchBytes,
    };

    internal static (long Macs, long Parameters) Cost(ModelSpec spec, int height, int width)
    {
        ModelConfig config = ToNative(spec);
        long macs, parameters;
        ThrowIfFailed(NativeMethods.ConfigCost(&config, height, width, &macs, &parameters));
        return (macs, parameters);
    }

    /// <summary>
    /// The native layer table at height x width, each layer with its state_dict tensors; bytes at the element sizes
    /// of a <paramref name="precision"/> model.
    /// </summary>
    internal static IReadOnlyList<LayerCost> Layers(ModelSpec spec, int height, int width,
                                                    FasterNet.Precision precision = FasterNet.Precision.Float32)
    {
        ModelConfig config = ToNative(spec);
        int nativePrecision = (int)precision;
        int count = 0;
        Status status = NativeMethods.ConfigLayersInPrecision(&config, nativePrecision, height, width, null, 0, &count);
        if (status != Status.InvalidArgument || count == 0)
            ThrowIfFailed(status, $"layers of {spec.Name} at {height}x{width}");
        var rows = new LayerInfo[count];
        fixed (LayerInfo* table = rows)
        {
            ThrowIfFailed(NativeMethods.ConfigLayersInPrecision(&config, nativePrecision, height, width, table,
                rows.Length, &count), $"layers of {spec.Name} at {height}x{width}");
        }
        IReadOnlyList<LayerTensor> tensors = Tensors(spec);
        var layers = new List<LayerCost>(count);
        foreach (LayerInfo row in rows)
        {
            LayerInfo r = row;
            layers.Add(new LayerCost(
                FixedString(r.Name, Constants.LayerNameSize), (FasterNet.LayerKind)(int)r.Kind, r.Stage, r.Kernel,
                r.Stride, r.InChannels, r.InHeight, r.InWidth, r.OutChannels, r.OutHeight, r.OutWidth, r.Macs,
                r.Parameters, r.ActivationBytes, r.WeightBytes,
                tensors.Skip(r.FirstTensor).Take(r.TensorCount).ToArray()));
        }
        return layers;
    }

    /// <summary>Every tensor a state_dict must hold for <paramref name="spec"/>, in the layer table's order.</summary>
    internal static IReadOnlyList<LayerTensor> Tensors(ModelSpec spec)
    {
        ModelConfig config = ToNative(spec);
        int count = 0;
        Status status = NativeMethods.ConfigTensors(&config, null, 0, &count);
        if (status != Status.InvalidArgument || count == 0)
            ThrowIfFailed(status, $"tensors of {spec.Name}");
        var rows = new TensorInfo[count];
        fixed (TensorInfo* table = rows)
        {
            ThrowIfFailed(NativeMethods.ConfigTensors(&config, table, rows.Length, &count), $"tensors of {spec.Name}");
        }
        var tensors = new LayerTensor[count];
        for (int i = 0; i < count; i++)
        {
            TensorInfo t = rows[i];
            var shape = new int[t.Ndim];
            for (int d = 0; d < t.Ndim; d++)
                shape[d] = checked((int)t.Shape[d]);
            tensors[i] = new LayerTensor(FixedString(t.Name, Constants.TensorNameSize), shape);
        }
        return tensors;
    }

    /// <summary>A NUL-terminated UTF-8 string in a fixed-size native buffer.</summary>
    internal static string FixedString(byte* text, int capacity)
    {
        int length = 0;
        while (length < capacity && text[length] != 0)
            length++;
        return Encoding.UTF8.GetString(text, length);
    }

    internal static ModelHandle Create(ModelSpec spec, IReadOnlyDictionary<string, Tensor> stateDict,
                                       FasterNet.ModelOptions options)
    {
        ModelConfig config = ToNative(spec);
        Interop.ModelOptions nativeOptions = ToNative(options);
        var entries = stateDict.ToArray();
        var names = new GCHandle[entries.Length];
        var datas = new GCHandle[entries.Length];
        var views = new Interop.Tensor[entries.Length];
        try
        {
            for (int i = 0; i < entries.Length; i++)
            {
                (string name, Tensor tensor) = (entries[i].Key, entries[i].Value);
                if (tensor.Rank > Constants.MaxDims)
                    throw new ShapeMismatchException(
                        $"tensor '{name}' has {tensor.Rank} dimensions, more than {Constants.MaxDims}");
                names[i] = GCHandle.Alloc(Encoding.UTF8.GetBytes(name + "\0"), GCHandleType.Pinned);
                datas[i] = GCHandle.Alloc(tensor.Data, GCHandleType.Pinned);
                views[i].Name = (byte*)names[i].AddrOfPinnedObject();
                views[i].Data = (float*)datas[i].AddrOfPinnedObject();
                views[i].Ndim = tensor.Rank;
                for (int d = 0; d < tensor.Rank; d++)
                    views[i].Shape[d] = tensor.Dimension(d);
            }
            ModelHandle handle;
            fixed (Interop.Tensor* tensors = views)
            {
                ThrowIfFailed(NativeMethods.ModelCreate(&config, tensors, views.Length, &nativeOptions, out handle));
            }
            return handle;
        }
        finally
        {
            foreach (GCHandle h in names.Concat(datas))
            {
                if (h.IsAllocated)
                    h.Free();
            }
        }
    }

    internal static ModelHandle CreateRandom(ModelSpec spec, ulong seed, FasterNet.ModelOptions options)
    {
        ModelConfig config = ToNative(spec);
        Interop.ModelOptions nativeOptions = ToNative(options);
        ThrowIfFailed(NativeMethods.ModelCreateRandom(&config, seed, &nativeOptions, out ModelHandle handle));
        return handle;
    }
}
