using System.Text.RegularExpressions;

namespace FasterNet.Serialization;

/// <summary>Which naming a FasterNet state_dict uses.</summary>
public enum CheckpointLayout
{
    /// <summary>Neither official nor timm names (another network, or a broken file).</summary>
    Unrecognized = 0,

    /// <summary>The official release's names (<c>stages.1.reduction</c>, <c>avgpool_pre_head.1</c>, <c>head</c>).</summary>
    Official = 1,

    /// <summary>timm's names (<c>stages.1.downsample.reduction</c>, <c>conv_head</c>, <c>classifier</c>).</summary>
    Timm = 2,
}

/// <summary>A state_dict with official names, the layout it was found in and the wrapper prefix taken off.</summary>
public sealed record RecognizedStateDict(StateDict StateDict, CheckpointLayout Layout, string StrippedPrefix)
{
    /// <summary>"timm layout", "official layout, 'module.' prefix removed", ...</summary>
    public string Description => CheckpointLayouts.Describe(Layout) +
                                 (StrippedPrefix.Length > 0 ? $", '{StrippedPrefix}' prefix removed" : "");
}

/// <summary>
/// Recognises the official and timm layouts by their names (also under the prefixes that training wrappers add:
/// DataParallel's <c>module.</c>, <c>model.</c>, torch.compile's <c>_orig_mod.</c>) and renames between them
/// (<see cref="TimmNames"/>).
/// </summary>
public static partial class CheckpointLayouts
{
    /// <summary>Prefixes taken off when every name has them (repeatedly: <c>module.model.</c> too).</summary>
    private static readonly string[] WrapperPrefixes = ["module.", "model.", "_orig_mod."];

    [GeneratedRegex(@"^(stages\.\d+\.downsample\.|conv_head\.|classifier\.)")]
    private static partial Regex TimmOnlyName();

    [GeneratedRegex(@"^(stages\.\d+\.(reduction|norm)\.|avgpool_pre_head\.|head\.)")]
    private static partial Regex OfficialOnlyName();

    // Names both layouts share: the patch embedding, blocks, the official backbone's norms.
    [GeneratedRegex(@"^(patch_embed\.|stages\.\d+\.blocks\.|norm\d+\.)")]
    private static partial Regex SharedName();

    public static string Describe(CheckpointLayout layout) => layout switch
    {
        CheckpointLayout.Official => "official layout",
        CheckpointLayout.Timm => "timm layout",
        _ => "unrecognized layout (neither the official nor timm's FasterNet names)",
    };

    /// <summary>
    /// The layout of names without wrapper prefixes: timm when only timm-specific names occur, official when only
    /// official-specific ones do (or only names the two share), else <see cref="CheckpointLayout.Unrecognized"/>.
    /// </summary>
    public static CheckpointLayout Detect(IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        bool timm = false, official = false, shared = false;
        foreach (string name in names)
        {
            timm |= TimmOnlyName().IsMatch(name);
            official |= OfficialOnlyName().IsMatch(name);
            shared |= SharedName().IsMatch(name);
        }
        return (timm, official) switch
        {
            (true, false) => CheckpointLayout.Timm,
            (false, true) => CheckpointLayout.Official,
            (false, false) when shared => CheckpointLayout.Official,
            _ => CheckpointLayout.Unrecognized,
        };
    }

    /// <summary>
    /// Takes off wrapper prefixes, recognises the layout and renames timm names to official ones. An unrecognized
    /// state_dict keeps its names, so loading it reports what is missing and unexpected.
    /// </summary>
    public static RecognizedStateDict ToOfficial(StateDict stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        string prefix = CommonWrapperPrefix(stateDict.Keys.Concat(stateDict.IntegerTensors.Keys).ToList());
        StateDict unwrapped = prefix.Length == 0 ? stateDict : Rename(stateDict, name => name[prefix.Length..]);
        CheckpointLayout layout = Detect(unwrapped.Keys.Concat(unwrapped.IntegerTensors.Keys));
        StateDict official = layout == CheckpointLayout.Timm ? Rename(unwrapped, TimmNames.ToOfficial) : unwrapped;
        return new RecognizedStateDict(official, layout, prefix);
    }

    /// <inheritdoc cref="ToOfficial(StateDict)"/>
    public static RecognizedStateDict ToOfficial(IReadOnlyDictionary<string, Tensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        return ToOfficial(tensors as StateDict ?? new StateDict(tensors));
    }

    /// <summary>An official-layout state_dict with the names of <paramref name="layout"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="layout"/> is Unrecognized.</exception>
    public static StateDict FromOfficial(StateDict official, CheckpointLayout layout)
    {
        ArgumentNullException.ThrowIfNull(official);
        return layout switch
        {
            CheckpointLayout.Official => official,
            CheckpointLayout.Timm => Rename(official, TimmNames.FromOfficial),
            _ => throw new ArgumentException($"cannot write the {Describe(layout)}", nameof(layout)),
        };
    }

    /// <summary>Parses "official" or "timm".</summary>
    /// <exception cref="ArgumentException">Another name.</exception>
    public static CheckpointLayout Parse(string name) => name?.ToLowerInvariant() switch
    {
        "official" => CheckpointLayout.Official,
        "timm" => CheckpointLayout.Timm,
        _ => throw new ArgumentException($"layout '{name}' is not one of official, timm"),
    };

    private static string CommonWrapperPrefix(IReadOnlyList<string> names)
    {
        string prefix = "";
        while (names.Count > 0)
        {
            string? next = WrapperPrefixes.FirstOrDefault(p =>
                names.All(n => n.Length > prefix.Length + p.Length && string.CompareOrdinal(n, prefix.Length, p, 0, p.Length) == 0));
            if (next is null)
                break;
            prefix += next;
        }
        return prefix;
    }

    /// <exception cref="StateDictMismatchException">Two names become one.</exception>
    private static StateDict Rename(StateDict stateDict, Func<string, string> rename)
    {
        var floats = stateDict.Select(e => KeyValuePair.Create(rename(e.Key), e.Value)).ToList();
        var integers = stateDict.IntegerTensors.Select(e => KeyValuePair.Create(rename(e.Key), e.Value)).ToList();
        string? duplicate = floats.Select(e => e.Key).Concat(integers.Select(e => e.Key))
            .GroupBy(name => name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1)?.Key;
        if (duplicate is not null)
            throw new StateDictMismatchException($"two tensors of the state_dict both mean '{duplicate}' (official and timm names mixed?)");
        return new StateDict(floats, integers);
    }
}
