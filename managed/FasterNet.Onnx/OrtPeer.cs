using Microsoft.ML.OnnxRuntime;

namespace FasterNet.Onnx;

/// <summary>
/// ONNX Runtime running an exported FasterNet, configured as fairly as FasterNet itself runs:
/// all graph optimisations (Conv+BN fusion, NCHWc layouts), the same number of intra-op threads,
/// one inter-op thread, sequential execution, and no spinning after a run returns (FasterNet's
/// own OpenMP workers also go to sleep shortly after a run). Input and output buffers are bound once and reused,
/// so a timed <see cref="Run(float[], int, int, int, float[])"/> does no managed allocation.
/// Not thread-safe: one caller at a time.
/// </summary>
public sealed class OrtPeer : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly string[] _inputNames = [OnnxExporter.InputName];
    private readonly string[] _outputNames;
    private readonly long _inputChannels;
    private BoundBuffers? _bound;

    /// <summary>Loads a serialized ONNX model (e.g. from <see cref="OnnxExporter.ToBytes"/>).</summary>
    public OrtPeer(byte[] onnxModel, int threads) : this(onnxModel, threads, profilePrefix: null)
    {
    }

    /// <summary>
    /// As above; with <paramref name="profilePrefix"/>, ONNX Runtime's own profiler records every
    /// node's kernel time until <see cref="EndProfiling"/> (a JSON trace named after the prefix).
    /// </summary>
    public OrtPeer(byte[] onnxModel, int threads, string? profilePrefix)
    {
        ArgumentNullException.ThrowIfNull(onnxModel);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        Threads = threads;
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        // Workers still spin between operators inside a run, but not after it returns: otherwise
        // they keep a core busy for milliseconds, which a service (or a runtime timed next) pays for.
        options.AddSessionConfigEntry("session.force_spinning_stop", "1");
        if (profilePrefix is not null)
        {
            options.EnableProfiling = true;
            options.ProfileOutputPathPrefix = profilePrefix;
        }
        _session = new InferenceSession(onnxModel, options);
        _outputNames = _session.OutputNames.ToArray();
        _inputChannels = _session.InputMetadata[OnnxExporter.InputName].Dimensions[1];
    }

    /// <summary>Exports <paramref name="spec"/> with <paramref name="stateDict"/> and opens it in ONNX Runtime.</summary>
    public static OrtPeer Create(ModelSpec spec, IReadOnlyDictionary<string, Tensor> stateDict, int threads) =>
        new(OnnxExporter.ToBytes(spec, stateDict), threads);

    /// <summary>Intra-op threads of the session.</summary>
    public int Threads { get; }

    /// <summary>ONNX Runtime's version, e.g. "1.31.1".</summary>
    public static string Version => typeof(InferenceSession).Assembly.GetName().Version?.ToString(3) ?? "";

    /// <summary>Classifier logits (batch x classes) for an NCHW input; a new array per call.</summary>
    public float[] Run(float[] input, int batch, int height, int width)
    {
        int classes = checked((int)_session.OutputMetadata[OnnxExporter.LogitsName].Dimensions[1]);
        var logits = new float[(long)batch * classes];
        Run(input, batch, height, width, logits);
        return logits;
    }

    /// <summary>
    /// Writes classifier logits into <paramref name="logits"/>. Calls with the same arrays and
    /// shape reuse the bound ONNX values: nothing is allocated or copied besides ONNX Runtime's own work.
    /// </summary>
    public void Run(float[] input, int batch, int height, int width, float[] logits)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(logits);
        if (_outputNames.Length != 1)
            throw new InvalidOperationException("the model is a backbone; use RunBackbone");
        if (input.LongLength != batch * _inputChannels * height * width)
            throw new ShapeMismatchException(
                $"input has {input.LongLength} values, expected {batch}x{_inputChannels}x{height}x{width}");
        if (_bound is null || !_bound.Fits(input, logits, batch, height, width))
        {
            _bound?.Dispose();
            long classes = logits.LongLength / Math.Max(batch, 1);
            if (classes * batch != logits.LongLength)
                throw new ShapeMismatchException($"logits has {logits.LongLength} values, not a multiple of batch {batch}");
            _bound = new BoundBuffers(input, logits, [batch, _inputChannels, height, width], [batch, classes]);
        }
        _session.Run(_runOptions, _inputNames, _bound.Inputs, _outputNames, _bound.Outputs);
    }

    /// <summary>Every output of the graph by name (the backbone's stage maps), shaped as ONNX Runtime returns them.</summary>
    public IReadOnlyDictionary<string, Tensor> RunAll(float[] input, int batch, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(input);
        using OrtValue value = OrtValue.CreateTensorValueFromMemory(input, [batch, _inputChannels, height, width]);
        using IDisposableReadOnlyCollection<OrtValue> results =
            _session.Run(_runOptions, _inputNames, [value], _outputNames);
        var outputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        int index = 0;
        foreach (OrtValue result in results)
        {
            int[] shape = result.GetTensorTypeAndShape().Shape.Select(d => checked((int)d)).ToArray();
            outputs[_outputNames[index++]] = new Tensor(shape, result.GetTensorDataAsSpan<float>().ToArray());
        }
        return outputs;
    }

    /// <summary>Stops ONNX Runtime's profiler (see the constructor) and returns the path of its JSON trace.</summary>
    public string EndProfiling() => _session.EndProfiling();

    public void Dispose()
    {
        _bound?.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
    }

    /// <summary>ONNX values over caller arrays, pinned for as long as they stay bound.</summary>
    private sealed class BoundBuffers(float[] input, float[] output, long[] inputShape, long[] outputShape) : IDisposable
    {
        private readonly long[] _inputShape = inputShape;

        public OrtValue[] Inputs { get; } = [OrtValue.CreateTensorValueFromMemory(input, inputShape)];
        public OrtValue[] Outputs { get; } = [OrtValue.CreateTensorValueFromMemory(output, outputShape)];

        public bool Fits(float[] newInput, float[] newOutput, int batch, int height, int width) =>
            ReferenceEquals(newInput, input) && ReferenceEquals(newOutput, output) &&
            _inputShape[0] == batch && _inputShape[2] == height && _inputShape[3] == width;

        public void Dispose()
        {
            Inputs[0].Dispose();
            Outputs[0].Dispose();
        }
    }
}
