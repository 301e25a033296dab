namespace FasterNet.Imaging;

/// <summary>Preprocessed images as one NCHW float32 batch, ready for <see cref="FasterNetModel.Run(ReadOnlySpan{float}, int, int, int)"/>.</summary>
public sealed class ImageBatch
{
    /// <exception cref="ArgumentException">A size is not positive, or the array length is not count x channels x height x width.</exception>
    public ImageBatch(int count, int channels, int height, int width, float[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        if ((long)count * channels * height * width != data.LongLength)
            throw new ArgumentException(
                $"{count}x{channels}x{height}x{width} needs {(long)count * channels * height * width} values, the array has {data.LongLength}",
                nameof(data));
        Count = count;
        Channels = channels;
        Height = height;
        Width = width;
        Data = data;
    }

    public int Count { get; }
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }

    /// <summary>Count x channels x height x width values.</summary>
    public float[] Data { get; }

    public int ValuesPerImage => Channels * Height * Width;

    /// <summary>The values of image <paramref name="index"/> (channels x height x width).</summary>
    public Span<float> Image(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return Data.AsSpan(index * ValuesPerImage, ValuesPerImage);
    }

    /// <summary>The batch as a [N, C, H, W] tensor sharing this batch's array.</summary>
    public Tensor ToTensor() => new([Count, Channels, Height, Width], Data);
}
