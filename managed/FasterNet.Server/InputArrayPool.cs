using System.Collections.Concurrent;

namespace FasterNet.Server;

/// <summary>
/// Request input arrays of exact lengths, reused: a server sees the same few input sizes again and again, and a
/// fresh array per request (602 KB for one 224x224 image, on the large-object heap) costs page faults and zeroing
/// on every request. Retains at most <paramref name="maxRetainedBytes"/> of idle arrays, so memory stays bounded.
/// </summary>
internal sealed class InputArrayPool(long maxRetainedBytes)
{
    // More distinct lengths than this (a client sweeping sizes) are not kept: the table itself stays small.
    private const int MaxLengths = 32;

    private readonly ConcurrentDictionary<int, ConcurrentStack<float[]>> _idle = new();
    private long _retainedBytes;

    public long RetainedBytes => Interlocked.Read(ref _retainedBytes);

    /// <summary>An array of exactly <paramref name="length"/> floats, with undefined contents.</summary>
    public float[] Rent(int length)
    {
        if (_idle.TryGetValue(length, out ConcurrentStack<float[]>? stack) && stack.TryPop(out float[]? array))
        {
            Interlocked.Add(ref _retainedBytes, -4L * length);
            return array;
        }
        return GC.AllocateUninitializedArray<float>(length);
    }

    /// <summary>Gives an array back once nothing reads or writes it any more.</summary>
    public void Return(float[] array)
    {
        long bytes = 4L * array.Length;
        if (array.Length == 0 || Interlocked.Add(ref _retainedBytes, bytes) > maxRetainedBytes)
        {
            Interlocked.Add(ref _retainedBytes, -bytes);
            return;
        }
        if (!_idle.TryGetValue(array.Length, out ConcurrentStack<float[]>? stack))
        {
            if (_idle.Count >= MaxLengths)
            {
                Interlocked.Add(ref _retainedBytes, -bytes);
                return;
            }
            stack = _idle.GetOrAdd(array.Length, _ => new ConcurrentStack<float[]>());
        }
        stack.Push(array);
    }
}
