using System.Text;
using FasterNet.Imaging;
using FasterNet.Serialization;

namespace FasterNet.Tests.Imaging;

/// <summary>The image pre-processing fixtures in tests/fixtures/pipeline (made by tools/make_fixtures.py in float64).</summary>
internal static class PipelineFixtures
{
    public static string Path(string name) => Fixtures.Path(System.IO.Path.Combine("pipeline", name));

    public static string PngPath => Path("image_37x23.png");

    /// <summary>The fixture PNG as torch saw it: pixels / 255, 1x3x23x37, read back into planes.</summary>
    public static PlanarImage Image()
    {
        Tensor x = Npy.Read(Path("image_1x3x23x37.npy"));
        return new PlanarImage(3, 23, 37, x.Data);
    }

    public static Tensor Expected(string name) => Npy.Read(Path(name));

    /// <summary>The uint8 H x W x C array numpy stored (the Npy reader takes only floats, so the bytes are taken as they lie).</summary>
    public static byte[] PixelsU8(string name, int height, int width, int channels)
    {
        byte[] file = File.ReadAllBytes(Path(name));
        string header = Encoding.Latin1.GetString(file, 0, Math.Min(file.Length, 128));
        Assert.That(header, Does.Contain("'|u1'").And.Contain($"({height}, {width}, {channels})"), "fixture header");
        int count = height * width * channels;
        return file[^count..];
    }

    /// <summary>Largest absolute difference, with a readable failure when the shapes differ.</summary>
    public static double MaxAbsoluteDifference(PlanarImage actual, Tensor expected)
    {
        Assert.That(new[] { 1, actual.Channels, actual.Height, actual.Width }, Is.EqualTo(expected.Shape), "shape");
        double worst = 0;
        for (int i = 0; i < actual.Data.Length; i++)
            worst = Math.Max(worst, Math.Abs((double)actual.Data[i] - expected.Data[i]));
        return worst;
    }
}
