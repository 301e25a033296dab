using FasterNet.Interop;
using FasterNet.Native;
using FasterNet.Serialization;

namespace FasterNet;

/// <summary>
/// A FasterNet ready to run: batch norms folded and weights packed once, in native memory.
/// Input is NCHW float32 (PyTorch's layout). <see cref="Run(ReadOnlySpan{float}, int, int, int)"/>
/// is one native call for the whole network and is safe to call from many threads at once.
/// </summary>
public sealed unsafe class FasterNetModel : IDisposable
{
    private readonly ModelHandle _handle;

    private readonly Timer? _idleTrim;

    private FasterNetModel(ModelSpec spec, ModelHandle handle, CheckpointLayout? weightsLayout = null,
                           TimeSpan? trimAfterIdle = null)
    {
        Spec = spec;
        WeightsLayout = weightsLayout;
        _handle = handle;
        KernelSet = (KernelSet)(int)NativeMethods.ModelKernelSet(handle);
        Threads = NativeMethods.ModelNumThreads(handle);
        Precision = (Precision)(int)NativeMethods.ModelPrecision(handle);
        PrecisionKernels = NativeModel.Utf8(NativeMethods.ModelPrecisionKernels(handle)) ?? "";
        OutputCount = NativeMethods.ModelOutputCount(handle);
        if (trimAfterIdle is { } idle)
        {
            if (idle <= TimeSpan.Zero)
            {
                handle.Dispose();
                throw new ArgumentOutOfRangeException(nameof(ModelOptions.TrimScratchAfterIdle), idle, "must be positive");
            }
            // The timer holds only the handle, so an undisposed model can still be collected.
            var period = TimeSpan.FromTicks(Math.Max(idle.Ticks / 2, TimeSpan.TicksPerMillisecond));
            _idleTrim = new Timer(static state => TrimIdle(((ModelHandle, TimeSpan))state!), (handle, idle), period, period);
        }
    }

    /// <summary>Bytes of activation memory kept idle between runs, for reuse by the next ones.</summary>
    public long IdleScratchBytes
    {
        get
        {
            long bytes;
            NativeModel.ThrowIfFailed(NativeMethods.ModelScratchUsage(Handle, &bytes, null));
            return bytes;
        }
    }

    /// <summary>
    /// Frees activation buffers unused for at least <paramref name="idleFor"/> (default: every idle buffer);
    /// returns the bytes freed. Safe while other threads run the model.
    /// </summary>
    public long TrimScratch(TimeSpan? idleFor = null)
    {
        long freed;
        NativeModel.ThrowIfFailed(NativeMethods.ModelTrimScratch(Handle, (idleFor ?? TimeSpan.Zero).TotalSeconds, &freed));
        return freed;
    }

    private static void TrimIdle((ModelHandle Handle, TimeSpan Idle) state)
    {
        if (state.Handle.IsClosed)
            return;
        try
        {
            long freed;
            NativeMethods.ModelTrimScratch(state.Handle, state.Idle.TotalSeconds, &freed);
        }
        catch (ObjectDisposedException)
        {
            // Disposed between the check and the call.
        }
    }

    public ModelSpec Spec { get; }

    /// <summary>The kernel set the model runs with (never Auto).</summary>
    public KernelSet KernelSet { get; }

    /// <summary>float32 or bfloat16 matrix products.</summary>
    public Precision Precision { get; }

    /// <summary>The bf16 kernels of a bfloat16 model ("avx512_bf16", "amx_bf16", "reference_bf16"); "" for float32.</summary>
    public string PrecisionKernels { get; }

    /// <summary>Threads each call uses.</summary>
    public int Threads { get; }

    /// <summary>1 for a classifier (logits); one per stage for a backbone.</summary>
    public int OutputCount { get; }

    /// <summary>The naming the weights came in (official or timm); null for random weights.</summary>
    public CheckpointLayout? WeightsLayout { get; }

    /// <summary>The pre-processing the weights expect (a hub snapshot's pretrained_cfg); null when not known.</summary>
    public PretrainedConfig? Pretrained { get; private set; }

    /// <summary>Class names from the snapshot's config.json (label_names); null when it has none.</summary>
    public IReadOnlyList<string>? ClassNames { get; private set; }

    /// <summary>
    /// Loads a Hugging Face hub snapshot folder (config.json beside model.safetensors or pytorch_model.bin, timm or
    /// official names): the variant and class count come from config.json, the pre-processing from its
    /// pretrained_cfg (<see cref="Pretrained"/>).
    /// </summary>
    /// <exception cref="ModelConfigException">A config.json field is missing or wrong.</exception>
    /// <exception cref="CheckpointFormatException">No config.json or weights, or an unreadable file.</exception>
    /// <exception cref="StateDictMismatchException">The weights do not fit the config's model.</exception>
    public static FasterNetModel FromPretrained(string directory, ModelOptions? options = null) =>
        FromPretrained(HubSnapshot.Open(directory), options);

    /// <inheritdoc cref="FromPretrained(string, ModelOptions?)"/>
    public static FasterNetModel FromPretrained(HubSnapshot snapshot, ModelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        FasterNetModel model = FromCheckpoint(snapshot.Spec, snapshot.WeightsPath, options);
        model.Pretrained = snapshot.Pretrained;
        model.ClassNames = snapshot.LabelNames;
        return model;
    }

    /// <summary>
    /// Loads a PyTorch checkpoint (.pth) or a .safetensors file for <paramref name="spec"/>, in the official or timm
    /// layout (<see cref="WeightsLayout"/> says which), also under a wrapper's <c>module.</c>/<c>model.</c> prefix.
    /// </summary>
    /// <exception cref="CheckpointFormatException">The file is not a readable checkpoint.</exception>
    /// <exception cref="StateDictMismatchException">Tensors are missing or unexpected.</exception>
    /// <exception cref="ShapeMismatchException">A tensor's shape differs from the spec's.</exception>
    public static FasterNetModel FromCheckpoint(ModelSpec spec, string path, ModelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        StateDict stateDict = Checkpoint.Load(path);
        try
        {
            return FromStateDict(spec, stateDict, options);
        }
        catch (FasterNetException e) when (e is StateDictMismatchException or ShapeMismatchException)
        {
            throw Rethrow(e, $"checkpoint '{path}' does not fit model {spec.Name}");
        }
    }

    /// <summary>
    /// Builds the model from a state_dict (batch-norm statistics included) with official or timm names, also under
    /// a wrapper prefix; <see cref="WeightsLayout"/> says which layout was found.
    /// </summary>
    /// <exception cref="StateDictMismatchException">Tensors are missing or unexpected; the message names the layout found.</exception>
    /// <exception cref="ShapeMismatchException">A tensor's shape differs from the spec's.</exception>
    public static FasterNetModel FromStateDict(ModelSpec spec, IReadOnlyDictionary<string, Tensor> stateDict,
                                               ModelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(stateDict);
        RecognizedStateDict recognized = CheckpointLayouts.ToOfficial(stateDict);
        try
        {
            options ??= ModelOptions.Default;
            return new FasterNetModel(spec, NativeModel.Create(spec, recognized.StateDict, options), recognized.Layout,
                                      options.TrimScratchAfterIdle);
        }
        catch (FasterNetException e) when (e is StateDictMismatchException or ShapeMismatchException)
        {
            throw Rethrow(e, recognized.Layout == CheckpointLayout.Timm
                ? $"{recognized.Description} (names below in their official spelling)"
                : recognized.Description);
        }
    }

    /// <summary>Seeded random weights: for benchmarks and tests, not for predictions.</summary>
    public static FasterNetModel CreateRandom(ModelSpec spec, ulong seed = 0, ModelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        options ??= ModelOptions.Default;
        return new FasterNetModel(spec, NativeModel.CreateRandom(spec, seed, options), trimAfterIdle: options.TrimScratchAfterIdle);
    }

    /// <summary>NCHW shape of output <paramref name="index"/> for an input batch of height x width.</summary>
    public int[] OutputShape(int batch, int height, int width, int index = 0)
    {
        long* shape = stackalloc long[4];
        NativeModel.ThrowIfFailed(NativeMethods.ModelOutputShape(Handle, batch, height, width, index, shape));
        return [checked((int)shape[0]), checked((int)shape[1]), checked((int)shape[2]), checked((int)shape[3])];
    }

    /// <summary>Classifier logits, batch x classes, for an NCHW input of batch x channels x height x width.</summary>
    public float[] Run(ReadOnlySpan<float> input, int batch, int height, int width)
    {
        RequireClassifier();
        int[] shape = OutputShape(batch, height, width);
        var logits = new float[(long)shape[0] * shape[1]];
        Run(input, batch, height, width, logits);
        return logits;
    }

    /// <summary>Writes classifier logits (batch x classes) into <paramref name="logits"/>.</summary>
    public void Run(ReadOnlySpan<float> input, int batch, int height, int width, Span<float> logits)
    {
        RequireClassifier();
        fixed (float* output = logits)
        {
            float** outputs = stackalloc float*[1];
            long* sizes = stackalloc long[1];
            outputs[0] = output;
            sizes[0] = logits.Length;
            RunNative(input, batch, height, width, 1, outputs, sizes, null);
        }
    }

    /// <summary>
    /// Runs into caller-provided buffers, one per output (<see cref="OutputCount"/>: logits for a classifier, each
    /// stage's map for a backbone), each sized as <see cref="OutputShape"/> says. Nothing is allocated per call.
    /// A cancelled <paramref name="cancellationToken"/> stops the native run at the next layer boundary and throws
    /// <see cref="OperationCanceledException"/>; the outputs are then undefined. Threads per call are the model's
    /// (<see cref="Threads"/>): the native plan sizes per-thread scratch and splits layers for that count, so a
    /// server that wants N concurrent calls creates its executors with Threads = cores / N.
    /// </summary>
    public void Run(ReadOnlySpan<float> input, int batch, int height, int width, ReadOnlySpan<Memory<float>> outputs,
                    CancellationToken cancellationToken = default)
    {
        fixed (float* data = input)
            RunInto(new NativeInput(data, input.Length, null), batch, height, width, outputs, cancellationToken);
    }

    /// <summary>
    /// The same run with the batch's images in separate buffers: <paramref name="images"/>[n] holds image n's
    /// channels x height x width floats, and the batch is <c>images.Length</c>. A server that batches requests
    /// passes each request's own buffer instead of copying them into one; the outputs are the same to the bit.
    /// Up to 256 images nothing is allocated per call once the shared pin pool is warm.
    /// </summary>
    public void Run(ReadOnlySpan<ReadOnlyMemory<float>> images, int height, int width, ReadOnlySpan<Memory<float>> outputs,
                    CancellationToken cancellationToken = default)
    {
        if (images.IsEmpty)
            throw new ArgumentException("at least one image is needed", nameof(images));
        if (height < 1 || width < 1)
            throw new ArgumentOutOfRangeException(nameof(height), $"height and width must be positive, got {height}x{width}");
        long perImage = (long)Spec.InChannels * height * width;
        for (int n = 0; n < images.Length; n++)
        {
            if (images[n].Length != perImage)
                throw new ShapeMismatchException(
                    $"image {n} has {images[n].Length} floats, expected {Spec.InChannels} x {height} x {width} = {perImage}");
        }
        // A large batch keeps its pointer table off the stack.
        const int StackImages = 256;
        float*[]? heapPointers = images.Length > StackImages ? new float*[images.Length] : null;
        float** stackPointers = stackalloc float*[heapPointers is null ? images.Length : 0];
        var pins = System.Buffers.ArrayPool<System.Buffers.MemoryHandle>.Shared.Rent(images.Length);
        try
        {
            fixed (float** pinnedHeap = heapPointers)
            {
                float** pointers = heapPointers is null ? stackPointers : pinnedHeap;
                for (int n = 0; n < images.Length; n++)
                {
                    pins[n] = images[n].Pin();
                    pointers[n] = (float*)pins[n].Pointer;
                }
                RunInto(new NativeInput(null, 0, pointers), images.Length, height, width, outputs, cancellationToken);
            }
        }
        finally
        {
            for (int n = 0; n < images.Length; n++)
                pins[n].Dispose();
            System.Buffers.ArrayPool<System.Buffers.MemoryHandle>.Shared.Return(pins, clearArray: true);
        }
    }

    // The input of one native run: one contiguous NCHW batch, or one pointer per image.
    private readonly struct NativeInput(float* contiguous, long length, float** images)
    {
        public readonly float* Contiguous = contiguous;
        public readonly long Length = length;
        public readonly float** Images = images;
    }

    private void RunInto(NativeInput input, int batch, int height, int width, ReadOnlySpan<Memory<float>> outputs,
                         CancellationToken cancellationToken)
    {
        if (outputs.Length != OutputCount)
            throw new ArgumentException($"model {Spec.Name} has {OutputCount} output(s), {outputs.Length} buffer(s) were given",
                nameof(outputs));
        var pins = new OutputPins();
        try
        {
            float** pointers = stackalloc float*[OutputCount];
            long* sizes = stackalloc long[OutputCount];
            for (int i = 0; i < outputs.Length; i++)
            {
                pins[i] = outputs[i].Pin();
                pointers[i] = (float*)pins[i].Pointer;
                sizes[i] = outputs[i].Length;
            }
            if (!cancellationToken.CanBeCanceled)
            {
                RunNative(input, batch, height, width, OutputCount, pointers, sizes, null);
                return;
            }
            // The flag lives on this frame; the registration is disposed (waiting for a running callback)
            // before the frame ends, so the callback never writes to a dead frame.
            int cancelFlag = 0;
            int* flag = &cancelFlag;
            using (cancellationToken.UnsafeRegister(static state => Volatile.Write(ref *(int*)(nint)state!, 1), (nint)flag))
            {
                try
                {
                    RunNative(input, batch, height, width, OutputCount, pointers, sizes, flag);
                }
                catch (OperationCanceledException)
                {
                    throw new OperationCanceledException($"run of model {Spec.Name} cancelled", cancellationToken);
                }
            }
        }
        finally
        {
            for (int i = 0; i < outputs.Length; i++)
                pins[i].Dispose();
        }
    }

    [System.Runtime.CompilerServices.InlineArray(ModelSpec.MaxStages)]
    private struct OutputPins
    {
        private System.Buffers.MemoryHandle _element;
    }

    /// <summary>Runs a classifier on a tensor of shape [N, C, H, W]; returns [N, classes].</summary>
    public Tensor Run(Tensor input)
    {
        (int n, int h, int w) = CheckInput(input);
        int[] shape = OutputShape(n, h, w);
        return new Tensor([shape[0], shape[1]], Run(input.Data, n, h, w));
    }

    /// <summary>Backbone mode: the normalised feature map of every stage, each [N, C, H, W].</summary>
    public Tensor[] RunBackbone(ReadOnlySpan<float> input, int batch, int height, int width)
    {
        if (!Spec.Backbone)
            throw new InvalidOperationException($"model {Spec.Name} is a classifier; use Run, or a spec with Backbone = true");
        var maps = new Tensor[OutputCount];
        var handles = new System.Runtime.InteropServices.GCHandle[OutputCount];
        try
        {
            float** outputs = stackalloc float*[OutputCount];
            long* sizes = stackalloc long[OutputCount];
            for (int i = 0; i < OutputCount; i++)
            {
                maps[i] = Tensor.Zeros(OutputShape(batch, height, width, i));
                handles[i] = System.Runtime.InteropServices.GCHandle.Alloc(maps[i].Data,
                    System.Runtime.InteropServices.GCHandleType.Pinned);
                outputs[i] = (float*)handles[i].AddrOfPinnedObject();
                sizes[i] = maps[i].ElementCount;
            }
            RunNative(input, batch, height, width, OutputCount, outputs, sizes, null);
        }
        finally
        {
            foreach (var h in handles)
            {
                if (h.IsAllocated)
                    h.Free();
            }
        }
        return maps;
    }

    /// <summary>Backbone mode on a tensor of shape [N, C, H, W].</summary>
    public Tensor[] RunBackbone(Tensor input)
    {
        (int n, int h, int w) = CheckInput(input);
        return RunBackbone(input.Data, n, h, w);
    }

    public void Dispose()
    {
        _idleTrim?.Dispose();
        _handle.Dispose();
    }

    internal ModelHandle NativeHandle => Handle;

    // The marshaller holds a reference on the handle for each native call, so Dispose during a run
    // defers the release until the run returns; calls after Dispose get ObjectDisposedException.
    private ModelHandle Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
            return _handle;
        }
    }

    private void RunNative(ReadOnlySpan<float> input, int batch, int height, int width, int count, float** outputs,
                           long* sizes, int* cancelFlag)
    {
        fixed (float* data = input)
            RunNative(new NativeInput(data, input.Length, null), batch, height, width, count, outputs, sizes, cancelFlag);
    }

    private void RunNative(NativeInput input, int batch, int height, int width, int count, float** outputs, long* sizes,
                           int* cancelFlag)
    {
        try
        {
            NativeModel.ThrowIfFailed(input.Images is not null
                ? NativeMethods.ModelRunImages(Handle, input.Images, batch, height, width, count, outputs, sizes, cancelFlag)
                : NativeMethods.ModelRunCancellable(Handle, input.Contiguous, input.Length, batch, height, width, count,
                                                    outputs, sizes, cancelFlag));
        }
        catch (ObjectDisposedException)
        {
            throw new ObjectDisposedException(nameof(FasterNetModel));
        }
    }

    private (int N, int H, int W) CheckInput(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 4 || input.Dimension(1) != Spec.InChannels)
            throw new ShapeMismatchException(
                $"input has shape {input.ShapeString}, expected [N, {Spec.InChannels}, H, W]");
        return (input.Dimension(0), input.Dimension(2), input.Dimension(3));
    }

    private void RequireClassifier()
    {
        if (Spec.Backbone)
            throw new InvalidOperationException($"model {Spec.Name} is a backbone; use RunBackbone");
    }

    private static FasterNetException Rethrow(FasterNetException e, string context) => e switch
    {
        StateDictMismatchException => new StateDictMismatchException($"{context}: {e.Message}"),
        ShapeMismatchException => new ShapeMismatchException($"{context}: {e.Message}"),
        _ => e,
    };
}
