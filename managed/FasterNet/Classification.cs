namespace FasterNet;

/// <summary>A class index with its probability.</summary>
public readonly record struct Prediction(int ClassIndex, float Probability, string? Label = null);

/// <summary>Post-processing of classifier logits.</summary>
public static class Classification
{
    /// <summary>Softmax of one row of logits, computed stably (max subtracted). NaN propagates.</summary>
    public static float[] Softmax(ReadOnlySpan<float> logits)
    {
        var result = new float[logits.Length];
        if (logits.Length == 0)
            return result;
        float max = float.NegativeInfinity;
        foreach (float v in logits)
            max = float.IsNaN(v) || v > max ? v : max;
        double sum = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            double e = Math.Exp(logits[i] - max);
            result[i] = (float)e;
            sum += e;
        }
        for (int i = 0; i < result.Length; i++)
            result[i] = (float)(result[i] / sum);
        return result;
    }

    /// <summary>The <paramref name="k"/> most probable classes of one row of logits, best first.</summary>
    public static Prediction[] TopK(ReadOnlySpan<float> logits, int k, IReadOnlyList<string>? labels = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        float[] probabilities = Softmax(logits);
        return Enumerable.Range(0, probabilities.Length)
            .OrderByDescending(i => probabilities[i])
            .ThenBy(i => i)
            .Take(k)
            .Select(i => new Prediction(i, probabilities[i], labels is not null && i < labels.Count ? labels[i] : null))
            .ToArray();
    }

    /// <summary>Index of the largest logit of each row of a batch x classes array.</summary>
    public static int[] ArgMax(ReadOnlySpan<float> logits, int classes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        if (logits.Length % classes != 0)
            throw new ShapeMismatchException($"logits have {logits.Length} values, not a multiple of {classes} classes");
        var result = new int[logits.Length / classes];
        for (int n = 0; n < result.Length; n++)
        {
            ReadOnlySpan<float> row = logits.Slice(n * classes, classes);
            int best = 0;
            for (int i = 1; i < classes; i++)
            {
                if (row[i] > row[best])
                    best = i;
            }
            result[n] = best;
        }
        return result;
    }
}
