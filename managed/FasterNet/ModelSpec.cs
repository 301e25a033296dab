using System.Text.Json;
using System.Text.Json.Nodes;

namespace FasterNet;

/// <summary>The activation after PW1 (and in the head).</summary>
public enum Activation
{
    Relu = 1,
    /// <summary>Exact GELU (erf form), PyTorch's default.</summary>
    Gelu = 2,
}

/// <summary>
/// A FasterNet configuration: the official model's constructor arguments. The presets
/// <see cref="T0"/> .. <see cref="L"/> are the paper's variants; <c>with</c> expressions or
/// <see cref="FromJson(string)"/> describe custom PConv networks.
/// </summary>
public sealed record ModelSpec
{
    public const int MaxStages = 8;

    /// <summary>Preset name ("t0" .. "l") or a free label for custom specs.</summary>
    public string Name { get; init; } = "custom";
    public int InChannels { get; init; } = 3;
    public int NumClasses { get; init; } = 1000;
    public int EmbedDim { get; init; } = 40;
    public IReadOnlyList<int> Depths { get; init; } = [1, 2, 8, 2];
    /// <summary>PConv convolves the first EmbedDim / NDiv channels of each stage.</summary>
    public int NDiv { get; init; } = 4;
    public float MlpRatio { get; init; } = 2.0f;
    public int PatchSize { get; init; } = 4;
    public int PatchStride { get; init; } = 4;
    public int PatchSize2 { get; init; } = 2;
    public int PatchStride2 { get; init; } = 2;
    public int FeatureDim { get; init; } = 1280;
    public Activation Activation { get; init; } = Activation.Gelu;
    /// <summary>Backbone mode (the official fork_feat): no head, one normalised map per stage.</summary>
    public bool Backbone { get; init; }

    public static ModelSpec T0 { get; } = Variant("t0", 40, [1, 2, 8, 2], Activation.Gelu);
    public static ModelSpec T1 { get; } = Variant("t1", 64, [1, 2, 8, 2], Activation.Gelu);
    public static ModelSpec T2 { get; } = Variant("t2", 96, [1, 2, 8, 2], Activation.Relu);
    public static ModelSpec S { get; } = Variant("s", 128, [1, 2, 13, 2], Activation.Relu);
    public static ModelSpec M { get; } = Variant("m", 144, [3, 4, 18, 3], Activation.Relu);
    public static ModelSpec L { get; } = Variant("l", 192, [3, 4, 18, 3], Activation.Relu);

    /// <summary>The six paper variants, smallest first.</summary>
    public static IReadOnlyList<ModelSpec> Variants { get; } = [T0, T1, T2, S, M, L];

    /// <summary>Channels of stage <paramref name="stage"/>: EmbedDim * 2^stage.</summary>
    public int StageDim(int stage) => EmbedDim << stage;

    /// <summary>A preset by name ("t0", "T2", "s", ...).</summary>
    /// <exception cref="ArgumentException">The name is not one of t0, t1, t2, s, m, l.</exception>
    public static ModelSpec FromName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Variants.FirstOrDefault(v => string.Equals(v.Name, name, StringComparison.OrdinalIgnoreCase))
               ?? throw new ArgumentException(
                   $"Unknown model '{name}'; expected one of {string.Join(", ", Variants.Select(v => v.Name))}.",
                   nameof(name));
    }

    /// <summary>
    /// Reads a config file with the official constructor argument names (in_chans, num_classes,
    /// embed_dim, depths, n_div, mlp_ratio, act, patch_size, patch_stride, patch_size2,
    /// patch_stride2, feature_dim, fork_feat); missing keys keep the T0 defaults.
    /// </summary>
    public static ModelSpec FromJson(string path)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new FasterNetException($"Model config '{path}' is not valid JSON: {e.Message}", e);
        }
        if (root is not JsonObject json)
            throw new FasterNetException($"Model config '{path}' must be a JSON object.");
        try
        {
            return FromJson(json) with { Name = Path.GetFileNameWithoutExtension(path) };
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException)
        {
            throw new FasterNetException($"Model config '{path}': {e.Message}", e);
        }
    }

    /// <summary>Reads the official constructor argument names from a JSON object.</summary>
    public static ModelSpec FromJson(JsonObject json)
    {
        var spec = new ModelSpec();
        int Int(string key, int fallback) => json[key] is { } node ? node.GetValue<int>() : fallback;
        string activation = json["act"]?.GetValue<string>() ?? "gelu";
        return spec with
        {
            InChannels = Int("in_chans", spec.InChannels),
            NumClasses = Int("num_classes", spec.NumClasses),
            EmbedDim = Int("embed_dim", spec.EmbedDim),
            Depths = json["depths"] is JsonArray depths ? depths.Select(d => d!.GetValue<int>()).ToArray() : spec.Depths,
            NDiv = Int("n_div", spec.NDiv),
            MlpRatio = json["mlp_ratio"] is { } ratio ? ratio.GetValue<float>() : spec.MlpRatio,
            PatchSize = Int("patch_size", spec.PatchSize),
            PatchStride = Int("patch_stride", spec.PatchStride),
            PatchSize2 = Int("patch_size2", spec.PatchSize2),
            PatchStride2 = Int("patch_stride2", spec.PatchStride2),
            FeatureDim = Int("feature_dim", spec.FeatureDim),
            Activation = activation.ToLowerInvariant() switch
            {
                "gelu" => Activation.Gelu,
                "relu" => Activation.Relu,
                _ => throw new ArgumentException($"act '{activation}' is not supported (gelu or relu)"),
            },
            Backbone = json["fork_feat"] is { } fork && fork.GetValue<bool>(),
        };
    }

    /// <summary>Multiply-accumulates of one image at <paramref name="height"/> x <paramref name="width"/>.</summary>
    public long Macs(int height = 224, int width = 224) => Native.NativeModel.Cost(this, height, width).Macs;

    /// <summary>Conv and linear weights plus the classifier bias (batch norms fold away), as the paper counts.</summary>
    public long Parameters => Native.NativeModel.Cost(this, 224, 224).Parameters;

    public override string ToString() =>
        $"{Name}: embed_dim {EmbedDim}, depths [{string.Join(", ", Depths)}], n_div {NDiv}, mlp_ratio {MlpRatio}, " +
        $"{Activation.ToString().ToLowerInvariant()}, in_chans {InChannels}, " +
        (Backbone ? "backbone" : $"{NumClasses} classes, feature_dim {FeatureDim}");

    public bool Equals(ModelSpec? other) =>
        other is not null && Name == other.Name && InChannels == other.InChannels && NumClasses == other.NumClasses &&
        EmbedDim == other.EmbedDim && Depths.SequenceEqual(other.Depths) && NDiv == other.NDiv &&
        MlpRatio == other.MlpRatio && PatchSize == other.PatchSize && PatchStride == other.PatchStride &&
        PatchSize2 == other.PatchSize2 && PatchStride2 == other.PatchStride2 && FeatureDim == other.FeatureDim &&
        Activation == other.Activation && Backbone == other.Backbone;

    public override int GetHashCode() => HashCode.Combine(Name, EmbedDim, Depths.Count, NumClasses, Backbone);

    private static ModelSpec Variant(string name, int embedDim, int[] depths, Activation activation) =>
        new() { Name = name, EmbedDim = embedDim, Depths = depths, Activation = activation };
}
