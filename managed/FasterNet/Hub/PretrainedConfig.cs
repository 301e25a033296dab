namespace FasterNet;

/// <summary>How pretrained weights expect their images to be resized.</summary>
public enum ImageInterpolation
{
    Bilinear,
    Bicubic,
}

/// <summary>
/// The pre-processing that belongs to pretrained weights: timm's <c>pretrained_cfg</c> (input_size, interpolation,
/// crop_pct, test_crop_pct, crop_mode, mean, std) as read from a hub snapshot's config.json. Images are scaled to
/// [0, 1], their shorter side resized to floor(size / <see cref="EvalCropPct"/>), centre-cropped to
/// <see cref="Height"/> x <see cref="Width"/> and normalised with <see cref="Mean"/> and <see cref="Std"/>.
/// The defaults are those of timm's <c>fasternet_*.in1k</c>.
/// </summary>
public sealed record PretrainedConfig
{
    public static IReadOnlyList<float> ImageNetMean { get; } = [0.485f, 0.456f, 0.406f];

    public static IReadOnlyList<float> ImageNetStd { get; } = [0.229f, 0.224f, 0.225f];

    /// <summary>input_size[0]: 3 for RGB, 1 for grayscale.</summary>
    public int InChannels { get; init; } = 3;

    /// <summary>input_size[1].</summary>
    public int Height { get; init; } = 224;

    /// <summary>input_size[2].</summary>
    public int Width { get; init; } = 224;

    public ImageInterpolation Interpolation { get; init; } = ImageInterpolation.Bicubic;

    /// <summary>crop_pct: crop size / resize size at training resolution.</summary>
    public double CropPct { get; init; } = 1.0;

    /// <summary>test_crop_pct: the crop ratio for evaluation, when it differs from <see cref="CropPct"/>.</summary>
    public double? TestCropPct { get; init; } = 0.9;

    /// <summary>One value per channel.</summary>
    public IReadOnlyList<float> Mean { get; init; } = ImageNetMean;

    /// <summary>One value per channel.</summary>
    public IReadOnlyList<float> Std { get; init; } = ImageNetStd;

    /// <summary>The crop ratio inference uses: test_crop_pct when given, else crop_pct (timm's eval transform).</summary>
    public double EvalCropPct => TestCropPct ?? CropPct;

    /// <summary>The shorter side before the centre crop: floor(max(height, width) / EvalCropPct).</summary>
    public int ResizeSize => (int)Math.Floor(Math.Max(Height, Width) / EvalCropPct);

    /// <summary>timm's defaults for FasterNet at <paramref name="inChannels"/> (ImageNet statistics need 3).</summary>
    /// <exception cref="ArgumentException">Other than 3 channels: ImageNet's mean and std do not apply.</exception>
    public static PretrainedConfig ForImageNet(int inChannels = 3) => inChannels == 3
        ? new PretrainedConfig()
        : throw new ArgumentException(
            $"in_chans {inChannels}: ImageNet's mean and std are for 3 channels; give the pre-processing explicitly");

    public override string ToString() =>
        $"{InChannels}x{Height}x{Width}, {Interpolation.ToString().ToLowerInvariant()}, shorter side {ResizeSize} then centre crop " +
        $"(crop_pct {CropPct}{(TestCropPct is { } t ? $", test_crop_pct {t}" : "")}), mean [{string.Join(", ", Mean)}], std [{string.Join(", ", Std)}]";
}
