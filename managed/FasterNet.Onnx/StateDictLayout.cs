namespace FasterNet.Onnx;

/// <summary>One tensor a FasterNet state_dict must hold: its official name and shape.</summary>
public sealed record StateDictEntry(string Name, int[] Shape);

/// <summary>
/// The tensors of a FasterNet state_dict for a <see cref="ModelSpec"/>, in the native runtime's
/// order (patch embedding, then per stage: merging, blocks, backbone norm; then the head), as
/// the native layer table lists them (<see cref="LayerCost.StateDictTensors"/>).
/// </summary>
public static class StateDictLayout
{
    /// <summary>Every float tensor <paramref name="spec"/> needs (no num_batches_tracked).</summary>
    public static IReadOnlyList<StateDictEntry> Expected(ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return LayerCost.StateDictTensors(spec).Select(t => new StateDictEntry(t.Name, t.Shape)).ToList();
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
