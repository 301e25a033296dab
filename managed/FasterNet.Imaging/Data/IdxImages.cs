namespace FasterNet.Data;

/// <summary>
/// The content of an IDX image file: <see cref="Count"/> 8-bit grayscale images of
/// <see cref="Rows"/> x <see cref="Columns"/> pixels, row-major, one after another.
/// </summary>
public sealed class IdxImages
{
    /// <exception cref="ArgumentException">The pixel array's length is not count x rows x columns.</exception>
    public IdxImages(int count, int rows, int columns, byte[] pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        if ((long)count * rows * columns != pixels.LongLength)
            throw new ArgumentException(
                $"{count} images of {rows}x{columns} need {(long)count * rows * columns} bytes, the array has {pixels.LongLength}",
                nameof(pixels));
        Count = count;
        Rows = rows;
        Columns = columns;
        Pixels = pixels;
    }

    public int Count { get; }
    public int Rows { get; }
    public int Columns { get; }

    /// <summary>All pixels, image after image, each row-major.</summary>
    public byte[] Pixels { get; }

    public int PixelsPerImage => Rows * Columns;

    /// <summary>The pixels of image <paramref name="index"/>, row-major.</summary>
    public ReadOnlySpan<byte> Image(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return Pixels.AsSpan(index * PixelsPerImage, PixelsPerImage);
    }
}
