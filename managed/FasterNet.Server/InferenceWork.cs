namespace FasterNet.Server;

/// <summary>One accepted request on its way through a model's queue: its NCHW input and how to answer it.</summary>
internal sealed class InferenceWork
{
    private readonly TaskCompletionSource<float[][]> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public InferenceWork(float[] input, int batch, int height, int width, CancellationToken clientGone,
                         TimeSpan? timeout)
    {
        Input = input;
        Batch = batch;
        Height = height;
        Width = width;
        Deadline = new CancellationTokenSource();
        if (timeout is { } t)
            Deadline.CancelAfter(t);
        Linked = CancellationTokenSource.CreateLinkedTokenSource(clientGone, Deadline.Token);
        EnqueuedTimestamp = System.Diagnostics.Stopwatch.GetTimestamp();
    }

    public float[] Input { get; }
    public int Batch { get; }
    public int Height { get; }
    public int Width { get; }

    /// <summary>Cancelled at the request's deadline.</summary>
    public CancellationTokenSource Deadline { get; }

    /// <summary>Cancelled when the client leaves or the deadline passes.</summary>
    public CancellationTokenSource Linked { get; }

    public CancellationToken Token => Linked.Token;

    public long EnqueuedTimestamp { get; }

    /// <summary>Set while the work sits in the queue (guarded by the batcher's lock).</summary>
    public LinkedListNode<InferenceWork>? Node { get; set; }

    public Task<float[][]> Completion => _completion.Task;

    public void Complete(float[][] outputs) => _completion.TrySetResult(outputs);

    /// <summary>Answers a request that will never run: 503 past its deadline, a plain cancellation if its client left.</summary>
    public void Abandon()
    {
        if (Deadline.IsCancellationRequested)
            _completion.TrySetException(new InferenceException(InferenceErrorKind.Unavailable,
                "the request's deadline passed before it could run (timeout)", "timeout"));
        else
            _completion.TrySetCanceled(Token);
    }

    public void Fail(Exception e) => _completion.TrySetException(e);

    public void DisposeTokens()
    {
        Linked.Dispose();
        Deadline.Dispose();
    }
}
