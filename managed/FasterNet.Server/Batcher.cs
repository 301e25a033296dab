namespace FasterNet.Server;

/// <summary>
/// A model's bounded queue and dynamic batcher (Triton's dynamic batcher as the model): a free executor takes the
/// oldest request and every queued request of the same image size that still fits max_batch_size, waiting at most
/// max_queue_delay for more. Requests can be taken out again (client gone, deadline) until an executor takes them.
/// </summary>
internal sealed class Batcher(int capacity, int maxBatchSize, TimeSpan maxQueueDelay)
{
    private readonly object _lock = new();
    private readonly LinkedList<InferenceWork> _queue = new();
    private bool _closed;

    public int Count
    {
        get
        {
            lock (_lock)
                return _queue.Count;
        }
    }

    public bool IsClosed
    {
        get
        {
            lock (_lock)
                return _closed;
        }
    }

    /// <summary>False when the queue is full or closed.</summary>
    public bool TryEnqueue(InferenceWork work)
    {
        lock (_lock)
        {
            if (_closed || _queue.Count >= capacity)
                return false;
            work.Node = _queue.AddLast(work);
            Monitor.PulseAll(_lock);
            return true;
        }
    }

    /// <summary>Takes the work out if it is still queued (then it will never run).</summary>
    public bool TryRemove(InferenceWork work)
    {
        lock (_lock)
        {
            if (work.Node is null || work.Node.List != _queue)
                return false;
            _queue.Remove(work.Node);
            work.Node = null;
            return true;
        }
    }

    /// <summary>Stops new work; executors drain what is queued, then <see cref="Take"/> returns null.</summary>
    public void Close()
    {
        lock (_lock)
        {
            _closed = true;
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>Blocks until there is work; the next batch (same image size, at most max_batch_size images), or null once closed and empty.</summary>
    public List<InferenceWork>? Take()
    {
        lock (_lock)
        {
            while (_queue.Count == 0)
            {
                if (_closed)
                    return null;
                Monitor.Wait(_lock);
            }
            InferenceWork first = _queue.First!.Value;
            Detach(first);
            var batch = new List<InferenceWork> { first };
            int images = first.Batch;
            long waitUntil = System.Diagnostics.Stopwatch.GetTimestamp() +
                             (long)(maxQueueDelay.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
            while (true)
            {
                for (LinkedListNode<InferenceWork>? node = _queue.First; node is not null && images < maxBatchSize;)
                {
                    LinkedListNode<InferenceWork>? next = node.Next;
                    InferenceWork w = node.Value;
                    if (w.Height == first.Height && w.Width == first.Width && images + w.Batch <= maxBatchSize)
                    {
                        Detach(w);
                        batch.Add(w);
                        images += w.Batch;
                    }
                    node = next;
                }
                long remaining = waitUntil - System.Diagnostics.Stopwatch.GetTimestamp();
                if (images >= maxBatchSize || remaining <= 0 || _closed)
                    return batch;
                Monitor.Wait(_lock, TimeSpan.FromSeconds((double)remaining / System.Diagnostics.Stopwatch.Frequency));
            }
        }
    }

    private void Detach(InferenceWork work)
    {
        _queue.Remove(work.Node!);
        work.Node = null;
    }
}
