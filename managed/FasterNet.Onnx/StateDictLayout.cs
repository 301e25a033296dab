namespace FasterNet.Onnx;

/// <summary>One tensor a FasterNet state_dict must hold: its official name and shape.</summary>
public sealed record StateDictEntry(string Name, int[] Shape);

/// <summary>
/// The tensors of a FasterNet state_dict for a <see cref="ModelSpec"/>, in the native runtime's
/// order (patch embedding, then per stage: merging, blocks, backbone norm; then the head).
/// </summary>
public static class StateDictLayout
{
    private static readonly string[] BatchNormParts = ["weight", "bias", "running_mean", "running_var"];

    /// <summary>Channels PConv convolves in stage <paramref name="stage"/> (dim / n_div).</summary>
    public static int PartialChannels(ModelSpec spec, int stage) => spec.StageDim(stage) / spec.NDiv;

    /// <summary>Width of the block's hidden layer: dim * mlp_ratio, truncated as the official code does.</summary>
    public static int HiddenChannels(ModelSpec spec, int stage) => (int)(spec.StageDim(stage) * (double)spec.MlpRatio);

    public static string BlockPrefix(int stage, int block) => $"stages.{2 * stage}.blocks.{block}.";

    public static string MergePrefix(int stage) => $"stages.{2 * stage - 1}.";

    public static string BackboneNormPrefix(int stage) => $"norm{2 * stage}.";

    /// <summary>Every float tensor <paramref name="spec"/> needs (no num_batches_tracked).</summary>
    public static IReadOnlyList<StateDictEntry> Expected(ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var entries = new List<StateDictEntry>();
        void BatchNorm(string prefix, int channels)
        {
            foreach (string part in BatchNormParts)
                entries.Add(new(prefix + part, [channels]));
        }

        entries.Add(new("patch_embed.proj.weight", [spec.EmbedDim, spec.InChannels, spec.PatchSize, spec.PatchSize]));
        BatchNorm("patch_embed.norm.", spec.EmbedDim);
        for (int s = 0; s < spec.Depths.Count; s++)
        {
            int dim = spec.StageDim(s), cp = PartialChannels(spec, s), hidden = HiddenChannels(spec, s);
            if (s > 0)
            {
                entries.Add(new(MergePrefix(s) + "reduction.weight", [dim, dim / 2, spec.PatchSize2, spec.PatchSize2]));
                BatchNorm(MergePrefix(s) + "norm.", dim);
            }
            for (int b = 0; b < spec.Depths[s]; b++)
            {
                string p = BlockPrefix(s, b);
                entries.Add(new(p + "spatial_mixing.partial_conv3.weight", [cp, cp, 3, 3]));
                entries.Add(new(p + "mlp.0.weight", [hidden, dim, 1, 1]));
                BatchNorm(p + "mlp.1.", hidden);
                entries.Add(new(p + "mlp.3.weight", [dim, hidden, 1, 1]));
            }
            if (spec.Backbone)
                BatchNorm(BackboneNormPrefix(s), dim);
        }
        if (!spec.Backbone)
        {
            entries.Add(new("avgpool_pre_head.1.weight", [spec.FeatureDim, spec.StageDim(spec.Depths.Count - 1), 1, 1]));
            entries.Add(new("head.weight", [spec.NumClasses, spec.FeatureDim]));
            entries.Add(new("head.bias", [spec.NumClasses]));
        }
        return entries;
    }

    /// <summary>Checks that <paramref name="stateDict"/> holds every expected tensor with its shape.</summary>
    /// <exception cref="StateDictMismatchException">A tensor is missing.</exception>
    /// <exception cref="ShapeMismatchException">A tensor has another shape.</exception>
    public static void Check(ModelSpec spec, IReadOnlyDictionary<string, Tensor> stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var expected = Expected(spec);
        var missing = expected.Where(e => !stateDict.ContainsKey(e.Name)).Select(e => e.Name).ToList();
        if (missing.Count > 0)
            throw new StateDictMismatchException(
                $"state_dict does not fit model {spec.Name}: missing {missing.Count} tensors: " +
                string.Join(", ", missing.Take(8)) + (missing.Count > 8 ? ", ..." : ""));
        foreach (StateDictEntry entry in expected)
        {
            Tensor tensor = stateDict[entry.Name];
            if (!tensor.HasShape(entry.Shape))
                throw new ShapeMismatchException(
                    $"tensor '{entry.Name}' has shape {tensor.ShapeString}, model {spec.Name} expects {Tensor.FormatShape(entry.Shape)}");
        }
    }
}
