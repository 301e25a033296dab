using System.Text.Json;
using System.Text.Json.Nodes;

namespace FasterNet.Imaging;

/// <summary>
/// Turns decoded images into model input, one image or a batch at a time: convert channels, scale to [0, 1],
/// resize the shorter side, centre-crop, normalise (<see cref="PreprocessorOptions"/>). Stateless after
/// construction, so one instance can serve many threads.
/// </summary>
public sealed class Preprocessor
{
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public Preprocessor(PreprocessorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
    }

    public PreprocessorOptions Options { get; }

    /// <summary>Values per preprocessed image: channels x size x size.</summary>
    public int ValuesPerImage => (int)Options.Channels * Options.Size * Options.Size;

    /// <summary>
    /// The official FasterNet ImageNet evaluation: RGB, shorter side to int(size / 0.9) with antialiased bicubic
    /// (PIL's BICUBIC), centre crop size x size, ImageNet mean and std.
    /// </summary>
    public static Preprocessor ForImageNet(int size = 224) => new(new PreprocessorOptions { Size = size });

    /// <summary>The pre-processing pretrained weights expect (<see cref="PreprocessorOptions.FromPretrained"/>).</summary>
    /// <exception cref="ArgumentException">The config cannot be expressed (channels, non-square input, out of range).</exception>
    public static Preprocessor FromPretrained(PretrainedConfig pretrained) => new(PreprocessorOptions.FromPretrained(pretrained));

    /// <summary>Reads the pre-processing of a model config file (see <see cref="FromModelConfig(JsonObject, string?)"/>).</summary>
    /// <exception cref="FasterNetException">The file is not valid JSON or a value is out of range.</exception>
    public static Preprocessor FromModelConfig(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new FasterNetException($"Model config '{path}' is not valid JSON: {e.Message}", e);
        }
        return root is JsonObject json
            ? FromModelConfig(json, path)
            : throw new FasterNetException($"Model config '{path}' must be a JSON object.");
    }

    /// <summary>
    /// The pre-processing a model config describes. Keys: <c>in_chans</c> (1 = grayscale, 3 = RGB), <c>input_size</c>
    /// (n, [h, w] or timm's [c, h, w]; square), <c>mean</c>, <c>std</c> (1 or in_chans values), <c>crop_ratio</c>
    /// (also timm's <c>crop_pct</c> and the official <c>test_crop_ratio</c>), <c>interpolation</c> ("bilinear" or
    /// "bicubic"), <c>antialias</c>. Missing keys take the ImageNet evaluation's values, except that a config with an
    /// <c>input_size</c> but no crop ratio is taken at that size with no crop margin (ratio 1), and a grayscale model
    /// must state its mean and std.
    /// </summary>
    /// <exception cref="FasterNetException">A value is missing, of the wrong type or out of range.</exception>
    public static Preprocessor FromModelConfig(JsonObject config, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        string source = sourceName ?? "model config";
        try
        {
            var defaults = new PreprocessorOptions();
            int inChannels = config["in_chans"]?.GetValue<int>() ?? 3;
            ImageChannels channels = inChannels switch
            {
                1 => ImageChannels.Grayscale,
                3 => ImageChannels.Rgb,
                _ => throw new FormatException($"in_chans {inChannels}: images have 1 (grayscale) or 3 (RGB) channels"),
            };
            int? size = InputSize(config["input_size"]);
            double? cropRatio = (config["crop_ratio"] ?? config["crop_pct"] ?? config["test_crop_ratio"])?.GetValue<double>();
            bool hasMean = config["mean"] is not null, hasStd = config["std"] is not null;
            if (channels == ImageChannels.Grayscale && (!hasMean || !hasStd))
                throw new FormatException("a grayscale model (in_chans 1) must give its \"mean\" and \"std\"");
            var options = new PreprocessorOptions
            {
                Channels = channels,
                Size = size ?? defaults.Size,
                CropRatio = cropRatio ?? (size is null ? defaults.CropRatio : 1.0),
                ResizeMode = config["interpolation"]?.GetValue<string>().ToLowerInvariant() switch
                {
                    null => defaults.ResizeMode,
                    "bilinear" => ResizeMode.Bilinear,
                    "bicubic" => ResizeMode.Bicubic,
                    string other => throw new FormatException($"interpolation \"{other}\" is not supported (bilinear or bicubic)"),
                },
                Antialias = config["antialias"]?.GetValue<bool>() ?? defaults.Antialias,
                Mean = hasMean ? Floats(config["mean"]!) : defaults.Mean,
                Std = hasStd ? Floats(config["std"]!) : defaults.Std,
            };
            return new Preprocessor(options);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or ArgumentException)
        {
            throw new FasterNetException($"{source}: {e.Message}", e);
        }
    }

    /// <summary>Decodes and preprocesses one image file.</summary>
    /// <exception cref="ImageFormatException">The file is not a decodable image.</exception>
    public PlanarImage Process(string path) => Process(ImageDecoder.Decode(path));

    /// <summary>Preprocesses one decoded image: channels x size x size normalised values.</summary>
    public PlanarImage Process(PixelImage image)
    {
        var result = new PlanarImage((int)Options.Channels, Options.Size, Options.Size, new float[ValuesPerImage]);
        ProcessInto(image, result.Data);
        return result;
    }

    /// <summary>Preprocesses one decoded image into <paramref name="destination"/> (channels x size x size values).</summary>
    public void ProcessInto(PixelImage image, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        PlanarImage planes = PlanarImage.FromPixels(image.ConvertTo(Options.Channels));
        if (planes.Height == Options.Size && planes.Width == Options.Size && Options.ResizeSize == Options.Size)
        {
            planes.NormalizeInto(Options.Mean, Options.Std, destination); // resize and crop are the identity here
            return;
        }
        PlanarImage cropped = planes
            .ResizeShorterSide(Options.ResizeSize, Options.ResizeMode, Options.Antialias)
            .CenterCrop(Options.Size, Options.Size);
        cropped.NormalizeInto(Options.Mean, Options.Std, destination);
    }

    /// <summary>Preprocesses decoded images into one NCHW batch.</summary>
    public ImageBatch CreateBatch(IReadOnlyList<PixelImage> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        var batch = new ImageBatch(images.Count, (int)Options.Channels, Options.Size, Options.Size,
                                   new float[(long)images.Count * ValuesPerImage]);
        for (int i = 0; i < images.Count; i++)
            ProcessInto(images[i], batch.Image(i));
        return batch;
    }

    /// <summary>Decodes and preprocesses image files into one NCHW batch, in the given order.</summary>
    /// <exception cref="ImageFormatException">A file is not a decodable image (the message names it).</exception>
    public ImageBatch LoadBatch(IReadOnlyList<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        return CreateBatch(paths.Select(ImageDecoder.Decode).ToList());
    }

    public override string ToString() => Options.ToString();

    private static int? InputSize(JsonNode? node)
    {
        if (node is null)
            return null;
        if (node is not JsonArray array)
            return node.GetValue<int>();
        int[] sizes = array.Select(v => v!.GetValue<int>()).ToArray();
        (int height, int width) = sizes.Length switch
        {
            1 => (sizes[0], sizes[0]),
            2 => (sizes[0], sizes[1]),
            3 => (sizes[1], sizes[2]),
            _ => throw new FormatException($"input_size has {sizes.Length} values; expected n, [h, w] or [c, h, w]"),
        };
        return height == width
            ? height
            : throw new FormatException($"input_size {height}x{width} is not square; only square inputs are supported");
    }

    private static float[] Floats(JsonNode node) => node switch
    {
        JsonArray array => array.Select(v => v!.GetValue<float>()).ToArray(),
        _ => [node.GetValue<float>()],
    };
}
