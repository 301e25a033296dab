using FasterNet.Serialization;

namespace FasterNet.Onnx;

/// <summary>
/// Seeded random weights for a <see cref="ModelSpec"/>, made in managed code so that FasterNet
/// and ONNX Runtime can be given the very same tensors. Conv and linear weights are uniform in
/// ±1/sqrt(fan_in); batch-norm weights and running variances in 0.5..1.5; biases and running
/// means in ±0.1. The generator (splitmix64) and the tensor order are the native runtime's, so
/// the tensors equal those behind <see cref="FasterNetModel.CreateRandom"/> with the same seed.
/// </summary>
public static class RandomStateDict
{
    public static StateDict Create(ModelSpec spec, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var random = new SplitMix64(seed);
        var tensors = new List<KeyValuePair<string, Tensor>>();
        foreach (StateDictEntry entry in StateDictLayout.Expected(spec))
        {
            var values = new float[Tensor.CountElements(entry.Shape)];
            (float low, float high) = Range(entry, values.Length);
            for (int i = 0; i < values.Length; i++)
                values[i] = random.Uniform(low, high);
            tensors.Add(new(entry.Name, new Tensor(entry.Shape, values)));
        }
        return new StateDict(tensors);
    }

    private static (float Low, float High) Range(StateDictEntry entry, int count)
    {
        if (entry.Shape.Length == 1)
        {
            // Batch norms near identity, so that deep random networks keep a sane scale.
            bool nearOne = entry.Name.EndsWith("running_var", StringComparison.Ordinal) ||
                           entry.Name.EndsWith(".weight", StringComparison.Ordinal);
            return nearOne ? (0.5f, 1.5f) : (-0.1f, 0.1f);
        }
        int fanIn = count / entry.Shape[0];
        float bound = 1.0f / MathF.Sqrt(fanIn);
        return (-bound, bound);
    }

    /// <summary>splitmix64, bit for bit as native/src/model/state_dict.cpp draws it.</summary>
    private struct SplitMix64(ulong seed)
    {
        private ulong _state = seed;

        public ulong Next()
        {
            ulong z = _state += 0x9e3779b97f4a7c15UL;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
            return z ^ (z >> 31);
        }

        public float Uniform(float low, float high) =>
            low + (high - low) * (float)((Next() >> 40) * (1.0 / 16777216.0));
    }
}
