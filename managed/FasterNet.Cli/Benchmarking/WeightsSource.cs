using FasterNet.Onnx;
using FasterNet.Serialization;

namespace FasterNet.Cli.Benchmarking;

/// <summary>The state_dict a command runs: a checkpoint's, or seeded random weights made in managed code.</summary>
internal static class WeightsSource
{
    /// <summary>The tensors and a label saying where they came from.</summary>
    public static (IReadOnlyDictionary<string, Tensor> StateDict, string Label) Load(ModelSpec spec, FileInfo? weights, ulong seed)
    {
        if (weights is null)
            return (RandomStateDict.Create(spec, seed), $"random (seed {seed})");
        if (Commands.CommonOptions.Snapshot(weights) is { } snapshot)
            return (CheckpointLayouts.ToOfficial(Checkpoint.Load(snapshot.WeightsPath)).StateDict, weights.Name);
        if (!weights.Exists)
            throw new FileNotFoundException($"weights file '{weights.FullName}' does not exist");
        // Official names, whichever layout the file has: the ONNX exporter reads them by name.
        return (CheckpointLayouts.ToOfficial(Checkpoint.Load(weights.FullName)).StateDict, weights.Name);
    }
}
