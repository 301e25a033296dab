using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace FasterNet.Serialization;

/// <summary>
/// Named float32 tensors read from a checkpoint (PyTorch's state_dict). Keys compare ordinally and
/// enumerate in ordinal order, whatever order the file stored them in. Integer tensors (such as
/// BatchNorm's <c>num_batches_tracked</c>) are not model weights: they are kept apart in
/// <see cref="IntegerTensors"/> so that strict key checks can tell them from missing weights.
/// </summary>
public sealed class StateDict : IReadOnlyDictionary<string, Tensor>
{
    private readonly Dictionary<string, Tensor> _tensors;
    private readonly string[] _orderedKeys;

    /// <exception cref="ArgumentException">A key is duplicated or appears both as a float and an integer tensor.</exception>
    public StateDict(
        IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IEnumerable<KeyValuePair<string, IntegerTensor>>? integerTensors = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        _tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, tensor) in tensors)
        {
            ArgumentNullException.ThrowIfNull(key, nameof(tensors));
            ArgumentNullException.ThrowIfNull(tensor, nameof(tensors));
            if (!_tensors.TryAdd(key, tensor))
                throw new ArgumentException($"Duplicate tensor name '{key}'.", nameof(tensors));
        }
        var integers = new SortedDictionary<string, IntegerTensor>(StringComparer.Ordinal);
        foreach (var (key, tensor) in integerTensors ?? [])
        {
            ArgumentNullException.ThrowIfNull(key, nameof(integerTensors));
            ArgumentNullException.ThrowIfNull(tensor, nameof(integerTensors));
            if (_tensors.ContainsKey(key) || !integers.TryAdd(key, tensor))
                throw new ArgumentException($"Duplicate tensor name '{key}'.", nameof(integerTensors));
        }
        _orderedKeys = _tensors.Keys.Order(StringComparer.Ordinal).ToArray();
        IntegerTensors = integers.AsReadOnly();
    }

    /// <summary>Integer-typed entries (int64 <c>num_batches_tracked</c> and the like), by name.</summary>
    public IReadOnlyDictionary<string, IntegerTensor> IntegerTensors { get; }

    public Tensor this[string key] => _tensors.TryGetValue(key, out var tensor)
        ? tensor
        : throw new KeyNotFoundException($"No tensor named '{key}' in the state dict.");

    /// <summary>Float tensor names in ordinal order.</summary>
    public IEnumerable<string> Keys => _orderedKeys;

    public IEnumerable<Tensor> Values => _orderedKeys.Select(key => _tensors[key]);

    public int Count => _tensors.Count;

    public bool ContainsKey(string key) => _tensors.ContainsKey(key);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out Tensor value) => _tensors.TryGetValue(key, out value);

    public IEnumerator<KeyValuePair<string, Tensor>> GetEnumerator()
    {
        foreach (string key in _orderedKeys)
            yield return new KeyValuePair<string, Tensor>(key, _tensors[key]);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The total number of float elements, a quick size figure for logs.</summary>
    public long ElementCount => _tensors.Values.Sum(tensor => tensor.ElementCount);
}

/// <summary>An integer tensor from a checkpoint, widened to int64, in row-major order.</summary>
public sealed class IntegerTensor
{
    private readonly int[] _shape;

    /// <exception cref="ArgumentException">The shape does not match the data length.</exception>
    public IntegerTensor(int[] shape, long[] data, string dataType = "int64")
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(data);
        long count = Tensor.CountElements(shape);
        if (count != data.Length)
            throw new ArgumentException(
                $"Shape {Tensor.FormatShape(shape)} holds {count} elements but the data has {data.Length}.", nameof(data));
        _shape = (int[])shape.Clone();
        Data = data;
        DataType = dataType;
    }

    public long[] Data { get; }

    public int[] Shape => (int[])_shape.Clone();

    /// <summary>The element type the file stored (e.g. "int64", "int32", "uint8", "bool").</summary>
    public string DataType { get; }

    public string ShapeString => Tensor.FormatShape(_shape);
}
