using SkiaSharp;

namespace FasterNet.Imaging;

/// <summary>
/// Decodes JPEG, PNG, WebP, BMP and GIF (first frame) files to 8-bit pixels with SkiaSharp. Pixels come out as
/// stored: no colour-profile conversion, no EXIF rotation (PIL's Image.open does neither), alpha dropped without
/// blending (PIL's convert('RGB')). Grayscale files stay one channel; everything else becomes RGB.
/// </summary>
public static class ImageDecoder
{
    /// <summary>Images with more pixels are refused before decoding (a decompression bomb or a corrupt header).</summary>
    public const long MaximumPixels = 1L << 27;

    /// <summary>File extensions treated as images when a folder is searched (lower case, with the dot).</summary>
    public static IReadOnlyList<string> FileExtensions { get; } = [".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif"];

    private static readonly HashSet<SKEncodedImageFormat> SupportedFormats =
    [
        SKEncodedImageFormat.Jpeg, SKEncodedImageFormat.Png, SKEncodedImageFormat.Webp, SKEncodedImageFormat.Bmp,
        SKEncodedImageFormat.Gif,
    ];

    /// <summary>True when the file name has one of <see cref="FileExtensions"/>.</summary>
    public static bool HasImageExtension(string path) =>
        FileExtensions.Contains(Path.GetExtension(path).ToLowerInvariant());

    /// <exception cref="ImageFormatException">The file is not a decodable image of a supported format.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static PixelImage Decode(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Decode(File.ReadAllBytes(path), path);
    }

    /// <summary>Decodes an image read from a stream; <paramref name="sourceName"/> names it in error messages.</summary>
    /// <exception cref="ImageFormatException">The data is not a decodable image of a supported format.</exception>
    public static PixelImage Decode(Stream stream, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return Decode(buffer.ToArray(), sourceName);
    }

    /// <summary>Decodes encoded image bytes; <paramref name="sourceName"/> names them in error messages.</summary>
    /// <exception cref="ImageFormatException">The data is not a decodable image of a supported format.</exception>
    public static PixelImage Decode(byte[] encoded, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        string source = sourceName ?? "<stream>";
        if (encoded.Length == 0)
            throw new ImageFormatException(source, "the file is empty");

        // The codec owns the stream from here on and frees it (also when creation fails).
        using SKCodec? codec = SKCodec.Create(new SKMemoryStream(encoded), out SKCodecResult created);
        if (codec is null)
            throw new ImageFormatException(source, Signature(encoded) is { } format
                ? created == SKCodecResult.IncompleteInput
                    ? $"the {format} data ends early (truncated file)"
                    : $"the {format} header is corrupt"
                : "not a supported image: the data starts like no JPEG, PNG, WebP, BMP or GIF file");
        if (!SupportedFormats.Contains(codec.EncodedFormat))
            throw new ImageFormatException(source,
                $"{codec.EncodedFormat} images are not supported (JPEG, PNG, WebP, BMP or GIF)");

        SKImageInfo info = codec.Info;
        if (info.Width <= 0 || info.Height <= 0)
            throw new ImageFormatException(source, $"the image claims a size of {info.Width}x{info.Height}");
        if ((long)info.Width * info.Height > MaximumPixels)
            throw new ImageFormatException(source,
                $"the image is {info.Width}x{info.Height}, more than {MaximumPixels} pixels (refused before decoding)");

        bool gray = info.ColorType == SKColorType.Gray8;
        // A null colour space in the target info means: copy the stored values, convert no colour profile.
        var target = new SKImageInfo(info.Width, info.Height, gray ? SKColorType.Gray8 : SKColorType.Rgba8888,
                                     gray ? SKAlphaType.Opaque : SKAlphaType.Unpremul);
        var decoded = new byte[target.BytesSize64];
        SKCodecResult result = codec.GetPixels(target, decoded);
        if (result != SKCodecResult.Success)
            throw new ImageFormatException(source, result switch
            {
                SKCodecResult.IncompleteInput => "the image data ends early (truncated file)",
                SKCodecResult.ErrorInInput => "the image data is corrupt",
                _ => $"the image could not be decoded ({result})",
            });
        return gray
            ? new PixelImage(info.Height, info.Width, ImageChannels.Grayscale, decoded)
            : new PixelImage(info.Height, info.Width, ImageChannels.Rgb, DropAlpha(decoded));
    }

    /// <summary>The format the first bytes announce, or null.</summary>
    private static string? Signature(ReadOnlySpan<byte> data)
    {
        if (data.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G']))
            return "PNG";
        if (data.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]))
            return "JPEG";
        if (data.StartsWith("GIF8"u8))
            return "GIF";
        if (data.StartsWith("BM"u8))
            return "BMP";
        return data.Length >= 12 && data.StartsWith("RIFF"u8) && data[8..12].SequenceEqual("WEBP"u8) ? "WebP" : null;
    }

    private static byte[] DropAlpha(byte[] rgba)
    {
        var rgb = new byte[rgba.Length / 4 * 3];
        for (int i = 0, j = 0; i < rgba.Length; i += 4, j += 3)
        {
            rgb[j] = rgba[i];
            rgb[j + 1] = rgba[i + 1];
            rgb[j + 2] = rgba[i + 2];
        }
        return rgb;
    }
}
