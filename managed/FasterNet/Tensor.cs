namespace FasterNet;

/// <summary>
/// A dense float32 tensor in row-major (C) order: the unit that checkpoint and array readers
/// hand to the model builder. The data array is owned by the tensor and not copied.
/// </summary>
public sealed class Tensor
{
    private readonly int[] _shape;

    /// <summary>Wraps <paramref name="data"/> with the given shape; the element count must match exactly.</summary>
    /// <exception cref="ArgumentException">A dimension is negative or the shape does not match the data length.</exception>
    public Tensor(int[] shape, float[] data)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(data);
        long count = CountElements(shape);
        if (count != data.Length)
            throw new ArgumentException(
                $"Shape {FormatShape(shape)} holds {count} elements but the data has {data.Length}.", nameof(data));
        _shape = (int[])shape.Clone();
        Data = data;
    }

    /// <summary>A zero-filled tensor of the given shape.</summary>
    public static Tensor Zeros(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long count = CountElements(shape);
        if (count > Array.MaxLength)
            throw new ArgumentException($"Shape {FormatShape(shape)} has {count} elements, more than an array can hold.", nameof(shape));
        return new Tensor(shape, new float[count]);
    }

    /// <summary>The elements in row-major order.</summary>
    public float[] Data { get; }

    /// <summary>The dimensions, outermost first (a copy; the tensor's shape never changes).</summary>
    public int[] Shape => (int[])_shape.Clone();

    /// <summary>The number of dimensions (0 for a scalar).</summary>
    public int Rank => _shape.Length;

    /// <summary>The size of dimension <paramref name="axis"/>.</summary>
    public int Dimension(int axis) => _shape[axis];

    /// <summary>The product of the dimensions (1 for a scalar).</summary>
    public long ElementCount => Data.LongLength;

    /// <summary>The shape as PyTorch prints it, e.g. "[40, 3, 4, 4]".</summary>
    public string ShapeString => FormatShape(_shape);

    /// <summary>True when the shapes are equal dimension by dimension.</summary>
    public bool HasShape(params int[] shape) => _shape.AsSpan().SequenceEqual(shape);

    public override string ToString() => $"Tensor{ShapeString}";

    /// <summary>Formats a shape as "[d0, d1, ...]".</summary>
    public static string FormatShape(IReadOnlyList<int> shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>The checked product of the dimensions.</summary>
    /// <exception cref="ArgumentException">A dimension is negative or the product overflows a long.</exception>
    public static long CountElements(IReadOnlyList<int> shape)
    {
        long count = 1;
        foreach (int dimension in shape)
        {
            if (dimension < 0)
                throw new ArgumentException($"Shape {FormatShape(shape)} has a negative dimension.", nameof(shape));
            try { count = checked(count * dimension); }
            catch (OverflowException)
            {
                throw new ArgumentException($"Shape {FormatShape(shape)} has too many elements.", nameof(shape));
            }
        }
        return count;
    }
}
