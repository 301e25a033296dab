namespace FasterNet.Imaging;

/// <summary>
/// A decoded 8-bit image: <see cref="Height"/> x <see cref="Width"/> pixels of 1 (gray) or 3 (R, G, B)
/// interleaved channels, row-major, as PIL and <c>np.asarray(image)</c> lay them out.
/// </summary>
public sealed class PixelImage
{
    /// <exception cref="ArgumentException">A size is not positive, or the array length is not height x width x channels.</exception>
    public PixelImage(int height, int width, ImageChannels channels, byte[] pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        if (channels is not (ImageChannels.Grayscale or ImageChannels.Rgb))
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "grayscale or RGB");
        if ((long)height * width * (int)channels != pixels.LongLength)
            throw new ArgumentException(
                $"a {height}x{width} image with {(int)channels} channels needs {(long)height * width * (int)channels} bytes, " +
                $"the array has {pixels.LongLength}", nameof(pixels));
        Height = height;
        Width = width;
        Channels = channels;
        Pixels = pixels;
    }

    /// <summary>A grayscale image from row-major pixels (copied).</summary>
    public static PixelImage FromGray(ReadOnlySpan<byte> pixels, int height, int width) =>
        new(height, width, ImageChannels.Grayscale, pixels.ToArray());

    public int Height { get; }
    public int Width { get; }
    public ImageChannels Channels { get; }

    /// <summary>Height x width x channels bytes.</summary>
    public byte[] Pixels { get; }

    /// <summary>
    /// This image with the given channels: RGB to gray by ITU-R 601-2 luma, L = R 299/1000 + G 587/1000 + B 114/1000,
    /// in PIL's fixed-point form (convert('L'): (R 19595 + G 38470 + B 7471 + 2^15) >> 16, i.e. rounded), so a gray
    /// image stored as RGB comes back unchanged; gray to RGB repeats the value (PIL's convert('RGB')).
    /// </summary>
    public PixelImage ConvertTo(ImageChannels channels)
    {
        if (channels == Channels)
            return this;
        int count = Height * Width;
        if (channels == ImageChannels.Grayscale)
        {
            var gray = new byte[count];
            for (int i = 0; i < count; i++)
                gray[i] = Luma(Pixels[3 * i], Pixels[3 * i + 1], Pixels[3 * i + 2]);
            return new PixelImage(Height, Width, ImageChannels.Grayscale, gray);
        }
        var rgb = new byte[3 * count];
        for (int i = 0; i < count; i++)
            rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = Pixels[i];
        return new PixelImage(Height, Width, ImageChannels.Rgb, rgb);
    }

    /// <summary>ITU-R 601-2 luma of one pixel, rounded as PIL rounds it.</summary>
    public static byte Luma(byte red, byte green, byte blue) =>
        (byte)((red * 19595 + green * 38470 + blue * 7471 + 0x8000) >> 16);
}
