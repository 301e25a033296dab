namespace FasterNet.Imaging;

/// <summary>The interpolation a resize uses.</summary>
public enum ResizeMode
{
    /// <summary>Linear in each direction (triangle filter).</summary>
    Bilinear,

    /// <summary>Cubic convolution in each direction: Keys' kernel, a = -0.75 plain, a = -0.5 with antialiasing (PIL's).</summary>
    Bicubic,
}

/// <summary>
/// Resizes float planes the way PyTorch's <c>F.interpolate(x, size, mode, align_corners=False, antialias)</c> does,
/// so results can be checked against torch value by value. Separable: every output pixel is a weighted sum of input
/// pixels, the weights being the product of one horizontal and one vertical tap table (<see cref="AxisTaps"/>).
/// Sums run in double; no clamping afterwards (bicubic may overshoot [0, 1], as in torch).
/// </summary>
public static class Resampler
{
    /// <summary>The largest side a resize produces; larger requests are refused before allocating.</summary>
    public const int MaximumSide = 1 << 15;

    /// <exception cref="ArgumentOutOfRangeException">A requested size is not positive or is absurdly large.</exception>
    public static PlanarImage Resize(PlanarImage source, int height, int width, ResizeMode mode, bool antialias)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(height, MaximumSide);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(width, MaximumSide);
        if (height == source.Height && width == source.Width)
            return new PlanarImage(source.Channels, height, width, (float[])source.Data.Clone()); // every kernel is the identity here

        AxisTaps horizontal = AxisTaps.Create(source.Width, width, mode, antialias);
        AxisTaps vertical = AxisTaps.Create(source.Height, height, mode, antialias);
        int channels = source.Channels;
        var rows = new double[channels * source.Height * width];
        for (int plane = 0; plane < channels * source.Height; plane++)
        {
            ReadOnlySpan<float> input = source.Data.AsSpan(plane * source.Width, source.Width);
            Span<double> output = rows.AsSpan(plane * width, width);
            for (int x = 0; x < width; x++)
                output[x] = horizontal.Apply(x, input);
        }

        var result = new float[channels * height * width];
        var column = new double[source.Height];
        for (int c = 0; c < channels; c++)
        {
            for (int x = 0; x < width; x++)
            {
                for (int y = 0; y < source.Height; y++)
                    column[y] = rows[(c * source.Height + y) * width + x];
                for (int y = 0; y < height; y++)
                    result[(c * height + y) * width + x] = (float)vertical.Apply(y, column);
            }
        }
        return new PlanarImage(channels, height, width, result);
    }
}

/// <summary>
/// For each output index along one axis, the input indices it reads and their weights, computed as PyTorch computes
/// them (ATen UpSample.h / UpSampleKernel.cpp) with scale = input / output:
/// <list type="bullet">
/// <item>bilinear: source x = max(scale (i + 0.5) - 0.5, 0); taps floor(x) and the next one (the last pixel repeats).</item>
/// <item>bicubic: source x = scale (i + 0.5) - 0.5; four taps floor(x) - 1 .. floor(x) + 2, clamped to the border,
/// Keys' kernel with a = -0.75.</item>
/// <item>antialias (both): PIL's area-aware filter: centre scale (i + 0.5), support = (taps / 2) * max(scale, 1), taps
/// int(centre -/+ support + 0.5) clipped to the image, filter(( j - centre + 0.5) / max(scale, 1)), weights normalised
/// to sum 1; triangle for bilinear, Keys a = -0.5 for bicubic.</item>
/// </list>
/// </summary>
internal sealed class AxisTaps
{
    private readonly int[][] _indices;
    private readonly double[][] _weights;

    private AxisTaps(int[][] indices, double[][] weights)
    {
        _indices = indices;
        _weights = weights;
    }

    public int OutputSize => _indices.Length;

    public IReadOnlyList<int> Indices(int output) => _indices[output];

    public IReadOnlyList<double> Weights(int output) => _weights[output];

    public double Apply(int output, ReadOnlySpan<float> input)
    {
        int[] indices = _indices[output];
        double[] weights = _weights[output];
        double sum = 0;
        for (int k = 0; k < indices.Length; k++)
            sum += weights[k] * input[indices[k]];
        return sum;
    }

    public double Apply(int output, ReadOnlySpan<double> input)
    {
        int[] indices = _indices[output];
        double[] weights = _weights[output];
        double sum = 0;
        for (int k = 0; k < indices.Length; k++)
            sum += weights[k] * input[indices[k]];
        return sum;
    }

    public static AxisTaps Create(int inputSize, int outputSize, ResizeMode mode, bool antialias)
    {
        double scale = (double)inputSize / outputSize;
        var indices = new int[outputSize][];
        var weights = new double[outputSize][];
        for (int i = 0; i < outputSize; i++)
        {
            (indices[i], weights[i]) = antialias
                ? AreaAwareTaps(i, inputSize, scale, mode)
                : mode == ResizeMode.Bilinear
                    ? LinearTaps(i, inputSize, scale)
                    : CubicTaps(i, inputSize, scale);
        }
        return new AxisTaps(indices, weights);
    }

    private const double KeysA = -0.75;
    private const double PilKeysA = -0.5;

    private static (int[], double[]) LinearTaps(int output, int inputSize, double scale)
    {
        double source = Math.Max(scale * (output + 0.5) - 0.5, 0.0);
        int first = (int)source;
        int second = first < inputSize - 1 ? first + 1 : first;
        double fraction = source - first;
        return ([first, second], [1.0 - fraction, fraction]);
    }

    private static (int[], double[]) CubicTaps(int output, int inputSize, double scale)
    {
        double source = scale * (output + 0.5) - 0.5;
        int floor = (int)Math.Floor(source);
        double t = source - floor;
        int[] indices = new int[4];
        for (int k = 0; k < 4; k++)
            indices[k] = Math.Clamp(floor - 1 + k, 0, inputSize - 1);
        return (indices, [Keys(t + 1, KeysA), Keys(t, KeysA), Keys(1 - t, KeysA), Keys(2 - t, KeysA)]);
    }

    private static (int[], double[]) AreaAwareTaps(int output, int inputSize, double scale, ResizeMode mode)
    {
        int kernelTaps = mode == ResizeMode.Bilinear ? 2 : 4;
        double stretch = Math.Max(scale, 1.0);
        double support = kernelTaps * 0.5 * stretch;
        double center = scale * (output + 0.5);
        int first = Math.Max((int)(center - support + 0.5), 0);
        int count = Math.Min((int)(center + support + 0.5), inputSize) - first;
        var indices = new int[count];
        var weights = new double[count];
        double total = 0;
        for (int j = 0; j < count; j++)
        {
            double x = (j + first - center + 0.5) / stretch;
            indices[j] = first + j;
            weights[j] = mode == ResizeMode.Bilinear ? Math.Max(0.0, 1.0 - Math.Abs(x)) : Keys(x, PilKeysA);
            total += weights[j];
        }
        if (total != 0)
        {
            for (int j = 0; j < count; j++)
                weights[j] /= total;
        }
        return (indices, weights);
    }

    /// <summary>Keys' cubic convolution kernel with parameter <paramref name="a"/>; zero beyond |x| = 2.</summary>
    private static double Keys(double x, double a)
    {
        x = Math.Abs(x);
        if (x <= 1)
            return ((a + 2) * x - (a + 3)) * x * x + 1;
        if (x < 2)
            return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
        return 0;
    }
}
