using FasterNet.Analysis;

namespace FasterNet.Tests.Analysis;

public class RooflineTests
{
    private static readonly Roofline Machine = new(PeakGflops: 200, BandwidthGigabytesPerSecond: 25);

    [Test]
    public void AttainableIsBandwidthTimesIntensityUpToThePeak()
    {
        Assert.That(Machine.RidgeIntensity, Is.EqualTo(8));
        Assert.That(Machine.Attainable(2), Is.EqualTo(50));
        Assert.That(Machine.Attainable(8), Is.EqualTo(200));
        Assert.That(Machine.Attainable(100), Is.EqualTo(200));
        Assert.That(Machine.IsMemoryBound(7.9), Is.True);
        Assert.That(Machine.IsMemoryBound(8.1), Is.False);
    }

    [Test]
    public void PointsSkipLayersWithoutArithmeticAndMeasureEfficiency()
    {
        var profile = new ModelProfile
        {
            Model = "test", KernelSet = KernelSet.Reference, Threads = 1, Batch = 1, Height = 8, Width = 8,
            Iterations = 1, ModelSeconds = 1, PeakGflops = 200,
            Layers =
            [
                new LayerProfile("input", LayerKind.Input, 0.1, 0.1, 0, 1000),
                // 2e9 FLOPs over 1e8 bytes = 20 FLOP/B in 0.02 s = 100 GFLOP/s of an attainable 200.
                new LayerProfile("stages.0.blocks.0.pw1", LayerKind.PointwiseExpand, 0.02, 0.9, 1_000_000_000, 100_000_000),
            ],
        };
        RooflinePoint point = Machine.Points(profile).Single();
        Assert.That(point.Name, Is.EqualTo("stages.0.blocks.0.pw1"));
        Assert.That(point.Kind, Is.EqualTo("pointwise_expand"));
        Assert.That(point.Intensity, Is.EqualTo(20));
        Assert.That(point.Gflops, Is.EqualTo(100).Within(1e-9));
        Assert.That(point.Efficiency, Is.EqualTo(0.5).Within(1e-9));
    }
}
