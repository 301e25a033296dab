using FasterNet.Imaging;

namespace FasterNet.Tests.Imaging;

/// <summary>
/// Resizing against values worked out by hand and against torch.nn.functional.interpolate(align_corners=False).
/// The torch references are float64 stored as float32; we read float32 and sum in double, so 1e-5 absolute on values
/// in [0, 1] leaves two orders of magnitude for rounding and would still catch any wrong tap or weight (those move
/// values by 1e-2 or more).
/// </summary>
public class ResamplerTests
{
    private const double Tolerance = 1e-5;

    [Test]
    public void Bilinear2x2To4x4_MatchesHandComputedValues()
    {
        // Per axis, scale 0.5: source x = 0.5 * i - 0.25 -> clamp(-0.25) = 0, 0.25, 0.75, 1.25 (last pixel repeats),
        // so the taps are [1, 0], [0.75, 0.25], [0.25, 0.75], [0, 1].
        var image = new PlanarImage(1, 2, 2, [0, 4, 8, 12]);

        PlanarImage resized = image.Resize(4, 4, ResizeMode.Bilinear, antialias: false);

        Assert.That(resized.Data, Is.EqualTo(new float[]
        {
            0, 1, 3, 4,
            2, 3, 5, 6,
            6, 7, 9, 10,
            8, 9, 11, 12,
        }));
    }

    [Test]
    public void Bicubic4To2_UsesKeysKernelWithAMinus075AndClampedBorderTaps()
    {
        // Scale 2: source x = 0.5 and 2.5, t = 0.5; Keys(0.5) = 0.59375, Keys(1.5) = -0.09375 (a = -0.75).
        // Output 0 reads indices (-1 -> 0), 0, 1, 2; output 1 reads 1, 2, 3, (4 -> 3).
        var image = new PlanarImage(1, 1, 4, [0, 1, 2, 3]);

        PlanarImage resized = image.Resize(1, 2, ResizeMode.Bicubic, antialias: false);

        Assert.That(resized.Data[0], Is.EqualTo(0.59375 * 1 - 0.09375 * 2).Within(1e-7));
        Assert.That(resized.Data[1], Is.EqualTo(-0.09375 * 1 + 0.59375 * 2 + 0.59375 * 3 - 0.09375 * 3).Within(1e-7));
    }

    [Test]
    public void AntialiasedBilinear4To2_WidensTheTriangleByTheScale()
    {
        // Scale 2, support 2: output 0 has centre 1 and reads indices 0..2 with triangle((j - 0.5) / 2) = 3/4, 3/4, 1/4,
        // normalised to 3/7, 3/7, 1/7; output 1 (centre 3) reads 1..3 with 1/7, 3/7, 3/7.
        var image = new PlanarImage(1, 1, 4, [0, 1, 2, 3]);

        PlanarImage resized = image.Resize(1, 2, ResizeMode.Bilinear, antialias: true);

        Assert.That(resized.Data[0], Is.EqualTo(5.0 / 7).Within(1e-6)); // float32 output
        Assert.That(resized.Data[1], Is.EqualTo(16.0 / 7).Within(1e-6));
    }

    [TestCase(ResizeMode.Bilinear, false)]
    [TestCase(ResizeMode.Bicubic, false)]
    [TestCase(ResizeMode.Bilinear, true)]
    [TestCase(ResizeMode.Bicubic, true)]
    public void SameSize_ReturnsTheImageUnchanged(ResizeMode mode, bool antialias)
    {
        var image = new PlanarImage(1, 2, 3, [0.1f, 0.7f, 0.3f, 0.9f, 0.2f, 0.5f]);

        Assert.That(image.Resize(2, 3, mode, antialias).Data, Is.EqualTo(image.Data));
    }

    [TestCase("bilinear_16x16.npy", 16, 16, ResizeMode.Bilinear, false)]
    [TestCase("bilinear_30x50.npy", 30, 50, ResizeMode.Bilinear, false)]
    [TestCase("bicubic_16x16.npy", 16, 16, ResizeMode.Bicubic, false)]
    [TestCase("bicubic_30x50.npy", 30, 50, ResizeMode.Bicubic, false)]
    [TestCase("bilinear_antialias_16x16.npy", 16, 16, ResizeMode.Bilinear, true)]
    [TestCase("bicubic_antialias_16x16.npy", 16, 16, ResizeMode.Bicubic, true)]
    [TestCase("resize_short32_32x51.npy", 32, 51, ResizeMode.Bilinear, false)]
    public void Resize_MatchesTorchInterpolate(string fixture, int height, int width, ResizeMode mode, bool antialias)
    {
        PlanarImage resized = PipelineFixtures.Image().Resize(height, width, mode, antialias);

        Assert.That(PipelineFixtures.MaxAbsoluteDifference(resized, PipelineFixtures.Expected(fixture)), Is.LessThan(Tolerance));
    }

    [Test]
    public void AntialiasChangesADownsample_SoTheFixturesCanTellTheVariantsApart()
    {
        PlanarImage plain = PipelineFixtures.Image().Resize(16, 16, ResizeMode.Bilinear, antialias: false);

        Assert.That(PipelineFixtures.MaxAbsoluteDifference(plain, PipelineFixtures.Expected("bilinear_antialias_16x16.npy")),
            Is.GreaterThan(1e-2));
    }

    [Test]
    public void ResizeShorterSide_KeepsTheAspectRatioTruncatingTheLongerSide()
    {
        // int(32 * 37 / 23) = int(51.47) = 51
        PlanarImage resized = PipelineFixtures.Image().ResizeShorterSide(32, ResizeMode.Bilinear, antialias: false);

        Assert.That((resized.Height, resized.Width), Is.EqualTo((32, 51)));
        Assert.That(PipelineFixtures.MaxAbsoluteDifference(resized, PipelineFixtures.Expected("resize_short32_32x51.npy")),
            Is.LessThan(Tolerance));
    }

    [TestCase(23, 37, 32, 32, 51)]
    [TestCase(300, 200, 248, 372, 248)]
    [TestCase(500, 375, 248, 330, 248)] // 248 * 500 / 375 = 330.67
    [TestCase(64, 64, 248, 248, 248)]
    public void ShorterSideSize_FollowsTorchvisionResizeInt(int height, int width, int size, int expectedHeight, int expectedWidth)
    {
        Assert.That(PlanarImage.ShorterSideSize(height, width, size), Is.EqualTo((expectedHeight, expectedWidth)));
    }

    [TestCase(0, 4)]
    [TestCase(4, 0)]
    [TestCase(Resampler.MaximumSide + 1, 4)]
    public void Resize_RefusesEmptyOrAbsurdSizes(int height, int width)
    {
        var image = new PlanarImage(1, 2, 2, [0, 1, 2, 3]);

        Assert.Throws<ArgumentOutOfRangeException>(() => image.Resize(height, width, ResizeMode.Bilinear, false));
    }
}
