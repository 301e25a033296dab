using BenchmarkDotNet.Attributes;
using FasterNet.Onnx;

namespace FasterNet.Benchmarks;

/// <summary>
/// One forward pass at 224x224 (the paper's protocol), FasterNet against ONNX Runtime running the
/// same seeded random weights with the same thread count. ONNX Runtime is the baseline, so the
/// Ratio column is FasterNet time / ORT time (below 1 means FasterNet is faster).
/// </summary>
[InferenceGflopsColumn]
public class InferenceBenchmarks
{
    public const int Size = 224;

    private FasterNetModel _model = null!;
    private OrtPeer _peer = null!;
    private float[] _input = [];
    private float[] _ours = [];
    private float[] _theirs = [];

    [Params("T0", "T1", "T2", "S", "M", "L")]
    public string Variant { get; set; } = "T0";

    [Params(1, 16)]
    public int Batch { get; set; } = 1;

    [Params(1, 2)]
    public int Threads { get; set; } = 1;

    [GlobalSetup]
    public void Setup()
    {
        ModelSpec spec = ModelSpec.FromName(Variant);
        var weights = RandomStateDict.Create(spec, seed: 0);
        _model = FasterNetModel.FromStateDict(spec, weights, new ModelOptions { Threads = Threads });
        _peer = OrtPeer.Create(spec, weights, Threads);
        var random = new Random(1234);
        _input = new float[Batch * spec.InChannels * Size * Size];
        for (int i = 0; i < _input.Length; i++)
            _input[i] = (float)(random.NextDouble() * 2 - 1);
        _ours = new float[Batch * spec.NumClasses];
        _theirs = new float[_ours.Length];
        FasterNet();
        OnnxRuntime();
        CheckAgreement();
    }

    [Benchmark]
    public void FasterNet() => _model.Run(_input, Batch, Size, Size, _ours);

    [Benchmark(Baseline = true)]
    public void OnnxRuntime() => _peer.Run(_input, Batch, Size, Size, _theirs);

    [GlobalCleanup]
    public void Cleanup()
    {
        _peer.Dispose();
        _model.Dispose();
    }

    /// <summary>Timing two different computations would be meaningless: refuse to.</summary>
    private void CheckAgreement()
    {
        double scale = _theirs.Max(Math.Abs);
        double worst = _ours.Zip(_theirs, (a, b) => Math.Abs((double)a - b)).Max();
        if (!(worst <= 1e-4 * scale))
            throw new InvalidOperationException(
                $"FasterNet and ONNX Runtime disagree on {Variant}: max rel diff {worst / scale:E2} > 1e-4");
    }
}
