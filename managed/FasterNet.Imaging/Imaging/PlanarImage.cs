namespace FasterNet.Imaging;

/// <summary>
/// A float image in planar layout, channels x height x width (one NCHW sample): what the resize, crop and
/// normalisation steps work on, each returning a new image.
/// </summary>
public sealed class PlanarImage
{
    /// <exception cref="ArgumentException">A size is not positive, or the array length is not channels x height x width.</exception>
    public PlanarImage(int channels, int height, int width, float[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        if ((long)channels * height * width != data.LongLength)
            throw new ArgumentException(
                $"{channels}x{height}x{width} needs {(long)channels * height * width} values, the array has {data.LongLength}",
                nameof(data));
        Channels = channels;
        Height = height;
        Width = width;
        Data = data;
    }

    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }

    /// <summary>Channels x height x width values, row-major.</summary>
    public float[] Data { get; }

    /// <summary>The values of channel <paramref name="channel"/>, row-major.</summary>
    public Span<float> Plane(int channel) => Data.AsSpan(channel * Height * Width, Height * Width);

    /// <summary>8-bit pixels to planes in [0, 1]: value / 255 in float32, as PyTorch's ToTensor computes it.</summary>
    public static PlanarImage FromPixels(PixelImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        int channels = (int)image.Channels, count = image.Height * image.Width;
        var data = new float[channels * count];
        for (int c = 0; c < channels; c++)
        {
            Span<float> plane = data.AsSpan(c * count, count);
            for (int i = 0; i < count; i++)
                plane[i] = image.Pixels[i * channels + c] / 255f;
        }
        return new PlanarImage(channels, image.Height, image.Width, data);
    }

    /// <summary>Resized to exactly <paramref name="height"/> x <paramref name="width"/> (see <see cref="Resampler"/>).</summary>
    public PlanarImage Resize(int height, int width, ResizeMode mode, bool antialias) =>
        Resampler.Resize(this, height, width, mode, antialias);

    /// <summary>
    /// Resized so the shorter side is <paramref name="size"/>, keeping the aspect ratio (torchvision's Resize(int)).
    /// </summary>
    public PlanarImage ResizeShorterSide(int size, ResizeMode mode, bool antialias)
    {
        (int height, int width) = ShorterSideSize(Height, Width, size);
        return Resize(height, width, mode, antialias);
    }

    /// <summary>
    /// The size torchvision's Resize(int) gives: the shorter side becomes <paramref name="size"/>, the longer one
    /// int(size * long / short), truncated (a square stays square).
    /// </summary>
    public static (int Height, int Width) ShorterSideSize(int height, int width, int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        int shorter = Math.Min(height, width), longer = Math.Max(height, width);
        int scaledLonger = (int)Math.Min(int.MaxValue, (double)((long)size * longer) / shorter);
        return height <= width ? (size, scaledLonger) : (scaledLonger, size);
    }

    /// <summary>The rectangle of <paramref name="height"/> x <paramref name="width"/> starting at (top, left).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The rectangle does not lie inside the image.</exception>
    public PlanarImage Crop(int top, int left, int height, int width)
    {
        if (top < 0 || left < 0 || height <= 0 || width <= 0 || top + height > Height || left + width > Width)
            throw new ArgumentOutOfRangeException(nameof(height),
                $"crop {height}x{width} at ({top}, {left}) does not fit in a {Height}x{Width} image");
        var data = new float[Channels * height * width];
        for (int c = 0; c < Channels; c++)
        {
            for (int y = 0; y < height; y++)
            {
                Data.AsSpan((c * Height + top + y) * Width + left, width)
                    .CopyTo(data.AsSpan((c * height + y) * width, width));
            }
        }
        return new PlanarImage(Channels, height, width, data);
    }

    /// <summary>The centred <paramref name="height"/> x <paramref name="width"/> rectangle, offsets as in <see cref="CenterOffset"/>.</summary>
    public PlanarImage CenterCrop(int height, int width) =>
        Crop(CenterOffset(Height, height), CenterOffset(Width, width), height, width);

    /// <summary>
    /// torchvision's CenterCrop offset: int(round((size - cropSize) / 2.0)) with Python's round-half-to-even,
    /// so an odd margin of 23 puts 12 pixels before the crop and 11 after.
    /// </summary>
    public static int CenterOffset(int size, int cropSize) =>
        (int)Math.Round((size - cropSize) / 2.0, MidpointRounding.ToEven);

    /// <summary>
    /// (x - mean[c]) / std[c] per channel, in float32 as PyTorch's Normalize computes it; one value of
    /// mean or std applies to every channel.
    /// </summary>
    public PlanarImage Normalize(IReadOnlyList<float> mean, IReadOnlyList<float> std)
    {
        var result = new PlanarImage(Channels, Height, Width, new float[Data.Length]);
        NormalizeInto(mean, std, result.Data);
        return result;
    }

    /// <summary>Writes the normalised values into <paramref name="destination"/> (channels x height x width).</summary>
    public void NormalizeInto(IReadOnlyList<float> mean, IReadOnlyList<float> std, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Count is not 1 && mean.Count != Channels || std.Count is not 1 && std.Count != Channels)
            throw new ArgumentException(
                $"mean has {mean.Count} and std {std.Count} values; a {Channels}-channel image needs 1 or {Channels}");
        if (destination.Length != Data.Length)
            throw new ArgumentException($"destination has {destination.Length} values, the image {Data.Length}", nameof(destination));
        int count = Height * Width;
        for (int c = 0; c < Channels; c++)
        {
            float m = mean[mean.Count == 1 ? 0 : c], s = std[std.Count == 1 ? 0 : c];
            ReadOnlySpan<float> source = Data.AsSpan(c * count, count);
            Span<float> target = destination.Slice(c * count, count);
            for (int i = 0; i < count; i++)
                target[i] = (source[i] - m) / s;
        }
    }
}
