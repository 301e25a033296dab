using System.Diagnostics;

namespace FasterNet.Analysis;

/// <summary>Whole-model latency: warm-up runs, then the median of timed runs (the paper's protocol).</summary>
public static class ModelLatency
{
    /// <summary>Median seconds of one <see cref="FasterNetModel"/> run on a seeded random input.</summary>
    public static double Median(FasterNetModel model, int batch = 1, int height = 224, int width = 224,
                                int iterations = 20, int warmup = 3)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Statistics.Median(Measure(model, batch, height, width, iterations, warmup));
    }

    /// <summary>Seconds of each timed run.</summary>
    public static double[] Measure(FasterNetModel model, int batch, int height, int width, int iterations, int warmup)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (iterations < 1)
            throw new ArgumentOutOfRangeException(nameof(iterations), iterations, "at least one timed run");
        if (warmup < 0)
            throw new ArgumentOutOfRangeException(nameof(warmup), warmup, "warm-up runs cannot be negative");
        float[] input = RandomInput(model.Spec, batch, height, width);
        Action run = RunOnce(model, input, batch, height, width);
        for (int i = 0; i < warmup; i++)
            run();
        var seconds = new double[iterations];
        for (int i = 0; i < iterations; i++)
        {
            long start = Stopwatch.GetTimestamp();
            run();
            seconds[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        return seconds;
    }

    /// <summary>A seeded N(0, 1)-like input of batch x channels x height x width floats.</summary>
    internal static float[] RandomInput(ModelSpec spec, int batch, int height, int width)
    {
        if (batch < 1 || height < 1 || width < 1)
            throw new InvalidModelInputException($"input batch {batch}, height {height}, width {width} must be positive");
        var random = new Random(1234);
        var input = new float[checked((long)batch * spec.InChannels * height * width)];
        for (int i = 0; i < input.Length; i++)
            input[i] = (float)(random.NextDouble() + random.NextDouble() + random.NextDouble() - 1.5) * 2f;
        return input;
    }

    /// <summary>One plain run of the model on <paramref name="input"/>, outputs preallocated.</summary>
    internal static Action RunOnce(FasterNetModel model, float[] input, int batch, int height, int width)
    {
        if (model.Spec.Backbone)
            return () => model.RunBackbone(input, batch, height, width);
        int[] shape = model.OutputShape(batch, height, width);
        var logits = new float[(long)shape[0] * shape[1]];
        return () => model.Run(input, batch, height, width, logits);
    }
}
