using System.Diagnostics;
using FasterNet.Imaging;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace FasterNet.Server;

/// <summary>Name, datatype and shape (-1: any size) of a model input or output, as model metadata shows it.</summary>
public sealed record TensorMetadata(string Name, string Datatype, long[] Shape);

/// <summary>
/// One model behind the server: its executors (each a <see cref="FasterNetModel"/> with its own threads, run on
/// its own thread), its queue and batcher, metadata and statistics. Ready after loading and one warm-up run.
/// </summary>
public sealed class ServedModel : IDisposable
{
    public const string InputName = "input";
    public const string ImageInputName = "image";
    public const string LogitsName = "logits";

    private readonly FasterNetModel[] _executors;
    private readonly Thread[] _threads;
    private readonly Batcher _batcher;
    private readonly ILogger _logger;
    private volatile bool _ready;

    private ServedModel(ModelConfiguration configuration, FasterNetModel[] executors, IReadOnlyList<string>? labels,
                        Preprocessor preprocessor, int threadsPerExecutor, MetricFactory metrics, ILogger logger)
    {
        Configuration = configuration;
        Name = configuration.EffectiveName;
        _executors = executors;
        Spec = executors[0].Spec;
        Labels = labels;
        Preprocessor = preprocessor;
        ThreadsPerExecutor = threadsPerExecutor;
        _logger = logger;
        Statistics = new ModelStatistics(metrics, Name);
        _batcher = new Batcher(configuration.MaxQueueSize, configuration.MaxBatchSize,
                               TimeSpan.FromTicks(configuration.MaxQueueDelayUs * 10));
        Inputs =
        [
            new TensorMetadata(InputName, "FP32", [-1, Spec.InChannels, -1, -1]),
            new TensorMetadata(ImageInputName, "BYTES", [-1]),
        ];
        Outputs = Spec.Backbone
            ? Enumerable.Range(0, executors[0].OutputCount)
                .Select(i => new TensorMetadata($"stage{i + 1}", "FP32", [-1, Spec.EmbedDim << i, -1, -1])).ToArray()
            : [new TensorMetadata(LogitsName, "FP32", [-1, Spec.NumClasses])];
        _threads = new Thread[executors.Length];
        for (int i = 0; i < executors.Length; i++)
        {
            FasterNetModel executor = executors[i];
            _threads[i] = new Thread(() => ExecutorLoop(executor))
            {
                IsBackground = true,
                Name = $"{Name} executor {i}",
            };
        }
    }

    public string Name { get; }
    public ModelConfiguration Configuration { get; }
    public ModelSpec Spec { get; }
    public int ThreadsPerExecutor { get; }
    public IReadOnlyList<string>? Labels { get; }

    /// <summary>The model's own image pipeline (decode, resize, crop, normalize) for the "image" input.</summary>
    public Preprocessor Preprocessor { get; }

    public IReadOnlyList<TensorMetadata> Inputs { get; }
    public IReadOnlyList<TensorMetadata> Outputs { get; }
    public bool IsReady => _ready;
    internal ModelStatistics Statistics { get; }
    internal int QueueLength => _batcher.Count;

    /// <summary>Test hook: when set, an executor waits here after taking a batch and before running it.</summary>
    internal ManualResetEventSlim? ExecutorGate { get; set; }

    /// <summary>The settings the model actually runs with (shown in metadata and logged at start).</summary>
    public IReadOnlyDictionary<string, object> EffectiveSettings => new Dictionary<string, object>
    {
        ["variant"] = Configuration.Variant ?? (Configuration.Config is null ? DefaultModel.Name : "custom"),
        ["weights"] = Configuration.Weights ?? (Configuration.Variant is null && Configuration.Config is null ? "built-in" : "random (seed 0)"),
        ["executors"] = _executors.Length,
        ["threads_per_executor"] = ThreadsPerExecutor,
        ["kernel_set"] = _executors[0].KernelSet.ToString().ToLowerInvariant(),
        ["precision"] = Configuration.Precision,
        ["max_batch_size"] = Configuration.MaxBatchSize,
        ["max_queue_delay_us"] = Configuration.MaxQueueDelayUs,
        ["max_queue_size"] = Configuration.MaxQueueSize,
        ["default_timeout_us"] = Configuration.DefaultTimeoutUs,
        ["image_size"] = Preprocessor.Options.Size,
        ["classes"] = Spec.Backbone ? 0 : Spec.NumClasses,
    };

    /// <summary>Loads the weights once per executor, starts the executors and makes one warm-up run each.</summary>
    public static ServedModel Load(ModelConfiguration configuration, MetricFactory metrics, ILogger logger)
    {
        configuration.Validate();
        int threads = configuration.Threads > 0
            ? configuration.Threads
            : Math.Max(1, Environment.ProcessorCount / configuration.Executors);
        var options = new ModelOptions { Threads = threads, Precision = configuration.ParsedPrecision };
        bool builtIn = configuration.Config is null && !configuration.WeightsIsSnapshot &&
                       (configuration.Variant is null || configuration.Variant == DefaultModel.Name);
        IReadOnlyList<string>? labels;
        Preprocessor preprocessor;
        Func<FasterNetModel> load;
        if (builtIn)
        {
            if (configuration.Weights is not null)
                throw new ArgumentException($"model {configuration.EffectiveName}: the built-in model takes no weights file");
            labels = DefaultModel.ClassNames;
            preprocessor = DefaultModel.Preprocessor;
            load = () => DefaultModel.Load(options);
        }
        else if (configuration.WeightsIsSnapshot)
        {
            // A hub snapshot folder: the variant, classes, labels and preprocessing are the folder's own.
            HubSnapshot snapshot = HubSnapshot.Open(configuration.Weights!);
            if (configuration.Config is not null)
                throw new ArgumentException(
                    $"model {configuration.EffectiveName}: config {configuration.Config} and the hub snapshot folder {snapshot.Directory} both describe the model; give one of them");
            if (configuration.Variant is not null &&
                !string.Equals("fasternet_" + ModelSpec.FromName(configuration.Variant).Name, snapshot.Architecture,
                               StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException(
                    $"model {configuration.EffectiveName}: variant {configuration.Variant} disagrees with the architecture " +
                    $"{snapshot.Architecture} in {snapshot.ConfigPath}");
            labels = snapshot.LabelNames ??
                     (snapshot.Spec.NumClasses == ImageNetClasses.Names.Count ? ImageNetClasses.Names : null);
            preprocessor = Preprocessor.FromPretrained(snapshot.Pretrained);
            load = () => FasterNetModel.FromPretrained(snapshot, options);
        }
        else
        {
            ModelSpec spec = configuration.Config is not null
                ? ModelSpec.FromJson(configuration.Config)
                : ModelSpec.FromName(configuration.Variant!);
            labels = spec.NumClasses == ImageNetClasses.Names.Count ? ImageNetClasses.Names : null;
            // The config's own preprocessing (ImageNet's values where it says nothing); a bad value fails at start.
            preprocessor = configuration.Config is not null ? Preprocessor.FromModelConfig(configuration.Config) : Preprocessor.ForImageNet();
            if (configuration.Weights is not null && !File.Exists(configuration.Weights))
                throw new FileNotFoundException($"model {configuration.EffectiveName}: weights file '{configuration.Weights}' does not exist");
            load = () => configuration.Weights is null
                ? FasterNetModel.CreateRandom(spec, seed: 0, options)
                : FasterNetModel.FromCheckpoint(spec, configuration.Weights, options);
        }
        if (configuration.ImageSize > 0)
            preprocessor = new Preprocessor(preprocessor.Options with { Size = configuration.ImageSize });
        var executors = new FasterNetModel[configuration.Executors];
        try
        {
            for (int i = 0; i < executors.Length; i++)
                executors[i] = load();
        }
        catch
        {
            foreach (FasterNetModel? m in executors)
                m?.Dispose();
            throw;
        }
        var model = new ServedModel(configuration, executors, labels, preprocessor, threads, metrics, logger);
        model.WarmUpAndStart();
        return model;
    }

    private void WarmUpAndStart()
    {
        int size = Preprocessor.Options.Size;
        var input = new float[Spec.InChannels * size * size];
        foreach (FasterNetModel executor in _executors)
        {
            var outputs = AllocateOutputs(executor, 1, size, size);
            executor.Run(input, 1, size, size, outputs);
        }
        foreach (Thread t in _threads)
            t.Start();
        _ready = true;
    }

    /// <summary>
    /// Queues one request's NCHW input and waits for its outputs (one array per model output, this request's slice).
    /// </summary>
    /// <exception cref="InferenceException">Bad shape (400), queue full or deadline passed (503).</exception>
    /// <exception cref="OperationCanceledException">The client left; the work was never run, or was stopped.</exception>
    public async Task<float[][]> InferAsync(float[] input, int batch, int height, int width, long? timeoutUs,
                                            CancellationToken clientGone)
    {
        if (batch > Configuration.MaxBatchSize)
            throw Reject(InferenceErrorKind.BadRequest,
                $"the request's batch of {batch} exceeds max_batch_size {Configuration.MaxBatchSize} of model {Name}",
                "batch_too_large");
        if (batch < 1)
            throw Reject(InferenceErrorKind.BadRequest, $"the batch dimension must be at least 1, got {batch}", "bad_request");
        try
        {
            _executors[0].OutputShape(batch, height, width); // input too small for the network: 400 with the reason
        }
        catch (FasterNetException e)
        {
            throw Reject(InferenceErrorKind.BadRequest, $"input of {height}x{width} does not fit model {Name}: {e.Message}",
                "bad_request");
        }
        long? effectiveUs = Configuration.DefaultTimeoutUs > 0 ? Configuration.DefaultTimeoutUs : null;
        if (timeoutUs is { } requested)
        {
            if (requested <= 0)
                throw Reject(InferenceErrorKind.BadRequest, $"the timeout parameter must be positive (microseconds), got {requested}", "bad_request");
            effectiveUs = effectiveUs is { } d ? Math.Min(d, requested) : requested;
        }
        var work = new InferenceWork(input, batch, height, width, clientGone,
                                     effectiveUs is { } us ? TimeSpan.FromTicks(us * 10) : null);
        long start = Stopwatch.GetTimestamp();
        if (!_batcher.TryEnqueue(work))
        {
            work.DisposeTokens();
            throw _batcher.IsClosed
                ? Reject(InferenceErrorKind.Unavailable, $"model {Name} is shutting down", "shutting_down")
                : RejectQueueFull();
        }
        Statistics.PendingChanged(+1);
        Statistics.InFlightChanged(+1);
        // Taken out of the queue when the client leaves or the deadline passes: such work never runs.
        using CancellationTokenRegistration removal = work.Token.UnsafeRegister(static state =>
        {
            var (model, w) = ((ServedModel, InferenceWork))state!;
            if (model._batcher.TryRemove(w))
            {
                model.Statistics.PendingChanged(-1);
                model.Statistics.Rejected(w.Deadline.IsCancellationRequested ? "timeout" : "client_gone");
                w.Abandon();
            }
        }, (this, work));
        bool success = false;
        try
        {
            float[][] result = await work.Completion.ConfigureAwait(false);
            success = true;
            return result;
        }
        finally
        {
            Statistics.InFlightChanged(-1);
            Statistics.Finished(success, start);
            removal.Dispose();
            work.DisposeTokens();
        }
    }

    internal InferenceException RejectQueueFull() => Reject(InferenceErrorKind.Unavailable,
        $"model {Name}'s queue is full ({Configuration.MaxQueueSize} requests waiting); retry later", "queue_full");

    /// <summary>
    /// A request the model refuses without running it: counted by reason and, as Triton counts rejected requests,
    /// in nv_inference_request_failure (with no duration).
    /// </summary>
    private InferenceException Reject(InferenceErrorKind kind, string message, string reason)
    {
        Statistics.Rejected(reason);
        Statistics.Finished(false, Stopwatch.GetTimestamp());
        return new InferenceException(kind, message, reason);
    }

    private void ExecutorLoop(FasterNetModel executor)
    {
        ReadOnlyMemory<float>[] images = [];
        while (_batcher.Take() is { } batch)
        {
            Statistics.TakenFromQueue(batch.Count);
            ExecutorGate?.Wait();
            try
            {
                RunBatch(executor, batch, ref images);
            }
            catch (Exception e)
            {
                _logger.LogError(e, "model {Model}: a batch failed", Name);
                foreach (InferenceWork w in batch)
                    w.Fail(new InferenceException(InferenceErrorKind.Internal, $"model {Name} failed to run: {e.Message}"));
            }
        }
    }

    private void RunBatch(FasterNetModel executor, List<InferenceWork> taken, ref ReadOnlyMemory<float>[] images)
    {
        Statistics.PendingChanged(-taken.Count);
        // Work whose client left or whose deadline passed after it was taken still never runs.
        var batch = new List<InferenceWork>(taken.Count);
        foreach (InferenceWork w in taken)
        {
            if (w.Token.IsCancellationRequested)
            {
                Statistics.Rejected(w.Deadline.IsCancellationRequested ? "timeout" : "client_gone");
                w.Abandon();
            }
            else
            {
                Statistics.Queued(w.EnqueuedTimestamp);
                batch.Add(w);
            }
        }
        if (batch.Count == 0)
            return;
        int count = batch.Sum(w => w.Batch), height = batch[0].Height, width = batch[0].Width;
        // Each request's images straight from its own input array: the batch is never copied together.
        int perImage = Spec.InChannels * height * width;
        if (images.Length < count)
            images = new ReadOnlyMemory<float>[count];
        int image = 0;
        foreach (InferenceWork w in batch)
        {
            for (int n = 0; n < w.Batch; n++)
                images[image++] = w.Input.AsMemory(n * perImage, perImage);
        }
        Memory<float>[] outputs = AllocateOutputs(executor, count, height, width);

        // The native run stops early only when every request in the batch is gone.
        using var everyoneGone = new CancellationTokenSource();
        int alive = batch.Count;
        var registrations = batch.Select(w => w.Token.UnsafeRegister(_ =>
        {
            if (Interlocked.Decrement(ref alive) == 0)
                everyoneGone.Cancel();
        }, null)).ToList();
        long start = Stopwatch.GetTimestamp();
        try
        {
            executor.Run(images.AsSpan(0, count), height, width, outputs, everyoneGone.Token);
        }
        catch (OperationCanceledException)
        {
            foreach (InferenceWork w in batch)
                w.Abandon();
            return;
        }
        finally
        {
            foreach (CancellationTokenRegistration r in registrations)
                r.Dispose();
            Array.Clear(images, 0, count); // the requests' arrays go back to their pool, not held here
        }
        Statistics.Executed(count, ModelStatistics.ElapsedNs(start));

        int first = 0;
        foreach (InferenceWork w in batch)
        {
            var slices = new float[outputs.Length][];
            for (int o = 0; o < outputs.Length; o++)
            {
                int per = outputs[o].Length / count;
                slices[o] = outputs[o].Span.Slice(first * per, w.Batch * per).ToArray();
            }
            first += w.Batch;
            w.Complete(slices);
        }
    }

    /// <summary>Output shapes for a request of batch x height x width (NCHW; a classifier's are [N, classes]).</summary>
    public long[][] OutputShapes(int batch, int height, int width) =>
        Enumerable.Range(0, _executors[0].OutputCount).Select(i =>
        {
            int[] s = _executors[0].OutputShape(batch, height, width, i);
            return Spec.Backbone ? s.Select(d => (long)d).ToArray() : new long[] { s[0], s[1] };
        }).ToArray();

    private static Memory<float>[] AllocateOutputs(FasterNetModel executor, int batch, int height, int width)
    {
        var outputs = new Memory<float>[executor.OutputCount];
        for (int i = 0; i < outputs.Length; i++)
        {
            int[] s = executor.OutputShape(batch, height, width, i);
            outputs[i] = new float[(long)s[0] * s[1] * s[2] * s[3]];
        }
        return outputs;
    }

    /// <summary>Readiness goes false; requests that already arrived are still queued and run.</summary>
    public void BeginDrain() => _ready = false;

    /// <summary>No more work is queued; executors finish what is queued and running, then stop.</summary>
    public void CloseQueue()
    {
        _ready = false;
        _batcher.Close();
    }

    /// <summary>Waits for the executors to finish the queue (bounded).</summary>
    public bool WaitDrained(TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        foreach (Thread t in _threads)
        {
            var left = TimeSpan.FromSeconds(Math.Max(0, (double)(deadline - Stopwatch.GetTimestamp()) / Stopwatch.Frequency));
            if (t.IsAlive && !t.Join(left))
                return false;
        }
        return true;
    }

    public void Dispose()
    {
        CloseQueue();
        ExecutorGate?.Set();
        if (WaitDrained(TimeSpan.FromSeconds(30)))
        {
            foreach (FasterNetModel m in _executors)
                m.Dispose();
        }
    }
}
