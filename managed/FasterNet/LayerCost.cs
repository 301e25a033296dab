namespace FasterNet;

/// <summary>The kind of a network layer, as the analysis tools group them.</summary>
public enum LayerKind
{
    PatchEmbedding,
    PartialConv,
    PointwiseExpand,
    PointwiseProject,
    Merging,
    BackboneNorm,
    Head,
}

/// <summary>
/// One layer's cost for one image: multiply-accumulates, parameters (batch norms folded away)
/// and the bytes it must move at minimum (fp32 input + output activations + weights).
/// </summary>
public sealed record LayerCost(
    string Name, LayerKind Kind, int Stage, int InChannels, int OutChannels, int Height, int Width,
    long Macs, long Parameters, long Bytes)
{
    public double FlopsPerByte => Bytes == 0 ? 0 : 2.0 * Macs / Bytes;

    /// <summary>Every layer of <paramref name="spec"/> at an input of height x width, in execution order.</summary>
    public static IReadOnlyList<LayerCost> For(ModelSpec spec, int height = 224, int width = 224)
    {
        var layers = new List<LayerCost>();
        int h = (height - spec.PatchSize) / spec.PatchStride + 1, w = (width - spec.PatchSize) / spec.PatchStride + 1;
        if (height < spec.PatchSize || width < spec.PatchSize)
            throw new InvalidModelInputException($"input {height}x{width} is smaller than the {spec.PatchSize}x{spec.PatchSize} patch");
        long embedParams = (long)spec.EmbedDim * spec.InChannels * spec.PatchSize * spec.PatchSize;
        layers.Add(new("patch_embed", LayerKind.PatchEmbedding, 0, spec.InChannels, spec.EmbedDim, h, w,
            (long)h * w * embedParams, embedParams,
            4L * ((long)height * width * spec.InChannels + (long)h * w * spec.EmbedDim + embedParams)));
        for (int s = 0; s < spec.Depths.Count; s++)
        {
            int dim = spec.StageDim(s);
            if (s > 0)
            {
                int inH = h, inW = w;
                h = (h - spec.PatchSize2) / spec.PatchStride2 + 1;
                w = (w - spec.PatchSize2) / spec.PatchStride2 + 1;
                if (inH < spec.PatchSize2 || inW < spec.PatchSize2)
                    throw new InvalidModelInputException($"input {height}x{width} is too small for stage {s + 1}");
                long mergeParams = (long)dim * (dim / 2) * spec.PatchSize2 * spec.PatchSize2;
                layers.Add(new($"stages.{2 * s - 1}", LayerKind.Merging, s, dim / 2, dim, h, w, (long)h * w * mergeParams,
                    mergeParams, 4L * ((long)inH * inW * (dim / 2) + (long)h * w * dim + mergeParams)));
            }
            long pixels = (long)h * w;
            int cp = dim / spec.NDiv, hidden = (int)(dim * (double)spec.MlpRatio);
            for (int b = 0; b < spec.Depths[s]; b++)
            {
                string prefix = $"stages.{2 * s}.blocks.{b}";
                long pconvParams = 9L * cp * cp, pw1Params = (long)dim * hidden, pw2Params = (long)hidden * dim;
                // PConv touches only its cp channels: the paper's h*w*2*cp + 9*cp^2 accesses.
                layers.Add(new($"{prefix}.pconv", LayerKind.PartialConv, s, cp, cp, h, w, pixels * pconvParams,
                    pconvParams, 4L * (pixels * 2 * cp + pconvParams)));
                layers.Add(new($"{prefix}.pw1", LayerKind.PointwiseExpand, s, dim, hidden, h, w, pixels * pw1Params,
                    pw1Params, 4L * (pixels * (dim + hidden) + pw1Params)));
                layers.Add(new($"{prefix}.pw2", LayerKind.PointwiseProject, s, hidden, dim, h, w, pixels * pw2Params,
                    pw2Params, 4L * (pixels * (hidden + 2 * dim) + pw2Params)));
            }
            if (spec.Backbone)
                layers.Add(new($"norm{2 * s}", LayerKind.BackboneNorm, s, dim, dim, h, w, 0, 0, 4L * pixels * 2 * dim));
        }
        if (!spec.Backbone)
        {
            int last = spec.StageDim(spec.Depths.Count - 1);
            long headParams = (long)last * spec.FeatureDim + (long)spec.FeatureDim * spec.NumClasses + spec.NumClasses;
            long headMacs = (long)last * spec.FeatureDim + (long)spec.FeatureDim * spec.NumClasses;
            layers.Add(new("head", LayerKind.Head, spec.Depths.Count - 1, last, spec.NumClasses, 1, 1, headMacs,
                headParams, 4L * ((long)h * w * last + headParams)));
        }
        return layers;
    }
}
