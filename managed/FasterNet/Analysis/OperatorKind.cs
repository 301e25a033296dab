namespace FasterNet.Analysis;

/// <summary>The 3x3 operators of the paper's Table 1 (stride 1, padding 1, no bias).</summary>
public enum OperatorKind
{
    /// <summary>Regular conv, c -> c channels.</summary>
    Conv = 0,
    /// <summary>Group conv: c / g channels per group (the paper: 16 groups).</summary>
    GroupConv = 1,
    /// <summary>Depthwise conv: one 3x3 filter per channel.</summary>
    DepthwiseConv = 2,
    /// <summary>Partial conv: a regular conv on the first c / n_div channels, the rest untouched.</summary>
    PartialConv = 3,
    /// <summary>PConv followed by a 1x1 conv over all c channels (FasterNet's spatial + channel mixing).</summary>
    PartialConvPointwise = 4,
}

/// <summary>
/// A feature map of <see cref="Channels"/> x <see cref="Height"/> x <see cref="Width"/> (one image).
/// Ordered by channels, then height and width: FasterNet's stages in order.
/// </summary>
public readonly record struct FeatureMapSize(int Channels, int Height, int Width)
    : IComparable<FeatureMapSize>, IComparable
{
    /// <summary>The four maps of the paper's Table 1: FasterNet's stage widths at 224x224.</summary>
    public static IReadOnlyList<FeatureMapSize> Paper { get; } =
        [new(96, 56, 56), new(192, 28, 28), new(384, 14, 14), new(768, 7, 7)];

    public long Pixels => (long)Height * Width;

    public override string ToString() => $"{Channels}x{Height}x{Width}";

    public int CompareTo(FeatureMapSize other) =>
        Channels != other.Channels ? Channels.CompareTo(other.Channels)
        : Height != other.Height ? Height.CompareTo(other.Height)
        : Width.CompareTo(other.Width);

    int IComparable.CompareTo(object? other) => other is FeatureMapSize size
        ? CompareTo(size)
        : throw new ArgumentException($"cannot compare a {nameof(FeatureMapSize)} with {other?.GetType().Name ?? "null"}");
}

public static class OperatorKindNames
{
    /// <summary>The paper's short name: Conv, GConv, DWConv, PConv, PConv+PWConv.</summary>
    public static string PaperName(this OperatorKind kind) => kind switch
    {
        OperatorKind.Conv => "Conv",
        OperatorKind.GroupConv => "GConv",
        OperatorKind.DepthwiseConv => "DWConv",
        OperatorKind.PartialConv => "PConv",
        OperatorKind.PartialConvPointwise => "PConv+PWConv",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown operator"),
    };
}
