using System.Runtime.InteropServices;
using System.Text;
using FasterNet.Interop;

namespace FasterNet.Native;

/// <summary>Owns a native fasternet_model; released exactly once, even if Dispose is never called.</summary>
internal sealed class ModelHandle : SafeHandle
{
    public ModelHandle() : base(0, ownsHandle: true) { }

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        NativeMethods.ModelDestroy(handle);
        return true;
    }

    internal void Attach(nint pointer) => SetHandle(pointer);
}

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
            Status.OutOfMemory => new InsufficientMemoryException(message),
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
    };

    internal static (long Macs, long Parameters) Cost(ModelSpec spec, int height, int width)
    {
        ModelConfig config = ToNative(spec);
        long macs, parameters;
        ThrowIfFailed(NativeMethods.ConfigCost(&config, height, width, &macs, &parameters));
        return (macs, parameters);
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
            var handle = new ModelHandle();
            nint pointer;
            fixed (Interop.Tensor* tensors = views)
            {
                ThrowIfFailed(NativeMethods.ModelCreate(&config, tensors, views.Length, &nativeOptions, &pointer));
            }
            handle.Attach(pointer);
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
        var handle = new ModelHandle();
        nint pointer;
        ThrowIfFailed(NativeMethods.ModelCreateRandom(&config, seed, &nativeOptions, &pointer));
        handle.Attach(pointer);
        return handle;
    }
}
