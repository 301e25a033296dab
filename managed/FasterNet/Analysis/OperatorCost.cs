namespace FasterNet.Analysis;

/// <summary>
/// The paper's cost model of the Table 1 operators for one image (section 3.1), with k = 3.
/// <para>
/// FLOPs are counted as multiply-adds, the paper's unit: Conv h*w*k^2*c^2, GConv
/// h*w*k^2*c^2/g, DWConv h*w*k^2*c, PConv h*w*k^2*cp^2 with cp = c / n_div, PConv + PWConv
/// h*w*(k^2*cp^2 + c^2).
/// </para>
/// <para>
/// Memory access is counted in elements (fp32 values, 4 bytes each), the paper's
/// "h*w*2c + k^2*c^2": the input and output feature maps plus the weights. Conv
/// h*w*2c + k^2*c^2, GConv h*w*2c + k^2*c^2/g, DWConv h*w*2c + k^2*c, PConv
/// h*w*2cp + k^2*cp^2 (the untouched channels are neither read nor written), PConv + PWConv
/// h*w*2c + k^2*cp^2 + c^2 (the pair as one operator: its c-channel input read once, its
/// c-channel output written once, both weights; the cp-channel intermediate stays in cache).
/// </para>
/// </summary>
public readonly record struct OperatorCost(long Flops, long MemoryAccess)
{
    public const int Kernel = 3;

    /// <summary>Arithmetic intensity in the paper's units: multiply-adds per element accessed.</summary>
    public double FlopsPerElement => MemoryAccess == 0 ? 0 : (double)Flops / MemoryAccess;

    /// <summary>The cost of one layer of <paramref name="kind"/> on one image of <paramref name="size"/>.</summary>
    /// <exception cref="ArgumentException">groups or n_div do not fit the channels.</exception>
    public static OperatorCost For(OperatorKind kind, FeatureMapSize size, int groups = 16, int nDiv = 4)
    {
        if (size.Channels < 1 || size.Height < 1 || size.Width < 1)
            throw new ArgumentException($"feature map {size} must have positive channels, height and width");
        long c = size.Channels, hw = size.Pixels, k2 = Kernel * Kernel;
        switch (kind)
        {
            case OperatorKind.Conv:
                return new(hw * k2 * c * c, hw * 2 * c + k2 * c * c);
            case OperatorKind.GroupConv:
                if (groups < 1 || size.Channels % groups != 0)
                    throw new ArgumentException($"groups ({groups}) must divide channels ({size.Channels})");
                return new(hw * k2 * c * c / groups, hw * 2 * c + k2 * c * c / groups);
            case OperatorKind.DepthwiseConv:
                return new(hw * k2 * c, hw * 2 * c + k2 * c);
            case OperatorKind.PartialConv:
            {
                long cp = PartialChannels(size.Channels, nDiv);
                return new(hw * k2 * cp * cp, hw * 2 * cp + k2 * cp * cp);
            }
            case OperatorKind.PartialConvPointwise:
            {
                long cp = PartialChannels(size.Channels, nDiv);
                return new(hw * (k2 * cp * cp + c * c), hw * 2 * c + k2 * cp * cp + c * c);
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown operator");
        }
    }

    /// <summary>cp = c / n_div (floor, as the official code), at least 1.</summary>
    public static int PartialChannels(int channels, int nDiv)
    {
        if (nDiv < 1 || nDiv > channels)
            throw new ArgumentException($"n_div ({nDiv}) must be 1..{channels} (the channels)");
        return channels / nDiv;
    }
}
