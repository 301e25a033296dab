namespace FasterNet.Imaging;

/// <summary>
/// How images become model input: convert to <see cref="Channels"/>, scale to [0, 1], resize the shorter side to
/// int(<see cref="Size"/> / <see cref="CropRatio"/>), centre-crop <see cref="Size"/> x <see cref="Size"/>, then
/// (x - <see cref="Mean"/>) / <see cref="Std"/>. The defaults are the official FasterNet ImageNet evaluation.
/// </summary>
public sealed record PreprocessorOptions
{
    /// <summary>ImageNet's per-channel mean (R, G, B), the values every ImageNet model here was trained with.</summary>
    public static IReadOnlyList<float> ImageNetMean { get; } = [0.485f, 0.456f, 0.406f];

    /// <summary>ImageNet's per-channel standard deviation (R, G, B).</summary>
    public static IReadOnlyList<float> ImageNetStd { get; } = [0.229f, 0.224f, 0.225f];

    /// <summary>Height and width of the model input.</summary>
    public int Size { get; init; } = 224;

    /// <summary>The official evaluation resizes with bicubic interpolation (PIL's, i.e. antialiased).</summary>
    public ResizeMode ResizeMode { get; init; } = ResizeMode.Bicubic;

    /// <summary>Widen the filter when shrinking, as PIL does (torch's antialias=True); false is torch's plain interpolate.</summary>
    public bool Antialias { get; init; } = true;

    /// <summary>Crop size / resize size: 0.9 resizes the shorter side to int(224 / 0.9) = 248 before a 224 crop; 1 means no crop margin.</summary>
    public double CropRatio { get; init; } = 0.9;

    /// <summary>One value per channel, or one for all.</summary>
    public IReadOnlyList<float> Mean { get; init; } = ImageNetMean;

    /// <summary>One value per channel, or one for all.</summary>
    public IReadOnlyList<float> Std { get; init; } = ImageNetStd;

    public ImageChannels Channels { get; init; } = ImageChannels.Rgb;

    /// <summary>The shorter side after resizing: int(Size / CropRatio), truncated as timm and the official code do.</summary>
    public int ResizeSize => (int)(Size / CropRatio);

    /// <summary>
    /// The pre-processing pretrained weights expect (a hub snapshot's pretrained_cfg, <see cref="FasterNetModel.Pretrained"/>):
    /// timm's evaluation transform, i.e. the shorter side resized to floor(size / crop) with antialiasing (PIL's
    /// filters), a centre crop, mean and std; the crop ratio is test_crop_pct when given, else crop_pct.
    /// </summary>
    /// <exception cref="ArgumentException">The config has other than 1 or 3 channels or a non-square input.</exception>
    public static PreprocessorOptions FromPretrained(PretrainedConfig pretrained)
    {
        ArgumentNullException.ThrowIfNull(pretrained);
        if (pretrained.Height != pretrained.Width)
            throw new ArgumentException($"input size {pretrained.Height}x{pretrained.Width} is not square");
        return new PreprocessorOptions
        {
            Channels = pretrained.InChannels switch
            {
                1 => ImageChannels.Grayscale,
                3 => ImageChannels.Rgb,
                int other => throw new ArgumentException($"{other} input channels: images have 1 (grayscale) or 3 (RGB)"),
            },
            Size = pretrained.Height,
            ResizeMode = pretrained.Interpolation == ImageInterpolation.Bilinear ? ResizeMode.Bilinear : ResizeMode.Bicubic,
            Antialias = true,
            CropRatio = pretrained.EvalCropPct,
            Mean = pretrained.Mean,
            Std = pretrained.Std,
        };
    }

    /// <summary>These options as a pretrained_cfg, e.g. to publish weights in a hub snapshot folder.</summary>
    /// <exception cref="ArgumentException">The resize is not antialiased (timm's evaluation always is).</exception>
    public PretrainedConfig ToPretrained()
    {
        if (!Antialias)
            throw new ArgumentException("a pretrained_cfg describes antialiased resizing; these options resize without antialiasing");
        int channels = (int)Channels;
        return new PretrainedConfig
        {
            InChannels = channels,
            Height = Size,
            Width = Size,
            Interpolation = ResizeMode == ResizeMode.Bilinear ? ImageInterpolation.Bilinear : ImageInterpolation.Bicubic,
            CropPct = CropRatio,
            TestCropPct = null,
            Mean = Mean.Count == channels ? Mean : Enumerable.Repeat(Mean[0], channels).ToArray(),
            Std = Std.Count == channels ? Std : Enumerable.Repeat(Std[0], channels).ToArray(),
        };
    }

    /// <exception cref="ArgumentException">A value is out of range; the message names it.</exception>
    public void Validate()
    {
        if (Size <= 0 || Size > Resampler.MaximumSide)
            throw new ArgumentException($"Size {Size} must be between 1 and {Resampler.MaximumSide}");
        if (!(CropRatio > 0 && CropRatio <= 1))
            throw new ArgumentException($"CropRatio {CropRatio} must be in (0, 1]");
        if (ResizeSize > Resampler.MaximumSide)
            throw new ArgumentException($"Size / CropRatio = {ResizeSize} is larger than {Resampler.MaximumSide}");
        if (Channels is not (ImageChannels.Grayscale or ImageChannels.Rgb))
            throw new ArgumentException($"Channels {Channels} must be Grayscale or Rgb");
        int channels = (int)Channels;
        if (Mean is null || Mean.Count is not 1 && Mean.Count != channels)
            throw new ArgumentException($"Mean must have 1 or {channels} values, it has {Mean?.Count ?? 0}");
        if (Std is null || Std.Count is not 1 && Std.Count != channels)
            throw new ArgumentException($"Std must have 1 or {channels} values, it has {Std?.Count ?? 0}");
        if (Std.Any(s => !(s > 0) || float.IsInfinity(s)))
            throw new ArgumentException($"Std values must be positive and finite: [{string.Join(", ", Std)}]");
        if (Mean.Any(m => !float.IsFinite(m)))
            throw new ArgumentException($"Mean values must be finite: [{string.Join(", ", Mean)}]");
    }

    public override string ToString() =>
        $"{(int)Channels}x{Size}x{Size}, {ResizeMode.ToString().ToLowerInvariant()}{(Antialias ? " (antialias)" : "")}, " +
        $"shorter side {ResizeSize} then centre crop (ratio {CropRatio}), mean [{string.Join(", ", Mean)}], std [{string.Join(", ", Std)}]";
}
