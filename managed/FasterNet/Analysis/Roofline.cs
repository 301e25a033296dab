namespace FasterNet.Analysis;

/// <summary>One layer on the roofline: where it sits and what bounds it there.</summary>
public sealed record RooflinePoint(string Name, string Kind, double Intensity, double Gflops, double Attainable)
{
    /// <summary>Achieved over attainable at this intensity (1 = on the roof).</summary>
    public double Efficiency => Attainable > 0 ? Gflops / Attainable : 0;
}

/// <summary>
/// The roofline model of this machine: attainable GFLOP/s = min(peak, bandwidth x intensity),
/// intensity in FLOPs (2 per multiply-add) per byte. Layers left of the ridge point are bound
/// by memory access, those right of it by compute.
/// </summary>
public sealed record Roofline(double PeakGflops, double BandwidthGigabytesPerSecond)
{
    /// <summary>The intensity where the bandwidth slope meets the compute peak.</summary>
    public double RidgeIntensity => PeakGflops / BandwidthGigabytesPerSecond;

    public double Attainable(double intensity) => Math.Min(PeakGflops, BandwidthGigabytesPerSecond * intensity);

    public bool IsMemoryBound(double intensity) => intensity < RidgeIntensity;

    /// <summary>The profile's layers that do arithmetic (the input copy has no FLOPs to place).</summary>
    public IReadOnlyList<RooflinePoint> Points(ModelProfile profile) =>
        profile.Layers.Where(l => l.Flops > 0 && l.Bytes > 0 && l.Seconds > 0)
            .Select(l => new RooflinePoint(l.Name, l.KindName, l.Intensity, l.Gflops, Attainable(l.Intensity)))
            .ToList();
}
