using System.Globalization;

namespace FasterNet.Serialization;

/// <summary>
/// Tensor names of timm's FasterNet (<c>timm/models/fasternet.py</c>) and the official ones. timm nests each merging
/// layer in the stage it starts (<c>stages.{i}.downsample</c>, i &gt;= 1) where the official model gives it a
/// <c>stages</c> entry of its own, and renames the head: official stages.1 is timm's stages.1.downsample, stages.2
/// is stages.1, stages.3 is stages.2.downsample, ...; <c>avgpool_pre_head.1</c> is <c>conv_head</c> and
/// <c>head</c> is <c>classifier</c>. Names outside those parts (the patch embedding, the official backbone's
/// <c>norm0</c>..<c>norm6</c>) are the same in both.
/// </summary>
public static class TimmNames
{
    private const string Stages = "stages.";
    private const string Downsample = "downsample.";
    private const string OfficialHeadConv = "avgpool_pre_head.1.";
    private const string OfficialClassifier = "head.";
    private const string TimmHeadConv = "conv_head.";
    private const string TimmClassifier = "classifier.";

    /// <summary>The official name of a timm tensor name (unchanged when timm and official agree).</summary>
    public static string ToOfficial(string timmName)
    {
        ArgumentNullException.ThrowIfNull(timmName);
        if (timmName.StartsWith(TimmHeadConv, StringComparison.Ordinal))
            return OfficialHeadConv + timmName[TimmHeadConv.Length..];
        if (timmName.StartsWith(TimmClassifier, StringComparison.Ordinal))
            return OfficialClassifier + timmName[TimmClassifier.Length..];
        if (!TrySplitStage(timmName, out int stage, out string rest))
            return timmName;
        // stages.0.downsample does not exist in timm: left as it is, it is reported as unexpected.
        if (rest.StartsWith(Downsample, StringComparison.Ordinal) && stage >= 1)
            return $"{Stages}{2 * stage - 1}.{rest[Downsample.Length..]}";
        return $"{Stages}{2 * stage}.{rest}";
    }

    /// <summary>timm's name for an official tensor name (unchanged when timm and official agree).</summary>
    public static string FromOfficial(string officialName)
    {
        ArgumentNullException.ThrowIfNull(officialName);
        if (officialName.StartsWith(OfficialHeadConv, StringComparison.Ordinal))
            return TimmHeadConv + officialName[OfficialHeadConv.Length..];
        if (officialName.StartsWith(OfficialClassifier, StringComparison.Ordinal))
            return TimmClassifier + officialName[OfficialClassifier.Length..];
        if (!TrySplitStage(officialName, out int index, out string rest))
            return officialName;
        // Even entries are FasterNet stages, odd ones the merging layer in front of the next stage.
        return index % 2 == 0
            ? $"{Stages}{index / 2}.{rest}"
            : $"{Stages}{(index + 1) / 2}.{Downsample}{rest}";
    }

    /// <summary>"stages.{n}.{rest}" into n and rest.</summary>
    private static bool TrySplitStage(string name, out int index, out string rest)
    {
        index = 0;
        rest = "";
        if (!name.StartsWith(Stages, StringComparison.Ordinal))
            return false;
        int dot = name.IndexOf('.', Stages.Length);
        if (dot < 0 || !int.TryParse(name.AsSpan(Stages.Length, dot - Stages.Length), NumberStyles.None,
                                     CultureInfo.InvariantCulture, out index) || index > 1_000_000)
            return false;
        rest = name[(dot + 1)..];
        return true;
    }
}
