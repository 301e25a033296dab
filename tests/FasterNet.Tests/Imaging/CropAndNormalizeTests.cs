using FasterNet.Imaging;

namespace FasterNet.Tests.Imaging;

/// <summary>Centre crop (torchvision's rounding), normalisation and channel conversion.</summary>
public class CropAndNormalizeTests
{
    [TestCase(32, 28, 2)]
    [TestCase(51, 28, 12)] // round(11.5) = 12: half to even
    [TestCase(8, 3, 2)]    // round(2.5) = 2: half to even, not up
    [TestCase(10, 3, 4)]   // round(3.5) = 4
    [TestCase(248, 224, 12)]
    [TestCase(28, 28, 0)]
    public void CenterOffset_RoundsHalfToEvenLikePython(int size, int crop, int expected)
    {
        Assert.That(PlanarImage.CenterOffset(size, crop), Is.EqualTo(expected));
    }

    [Test]
    public void CenterCrop_TakesTheMiddleRectangleOfEveryChannel()
    {
        // 2 channels of 3x4: offsets round(0.5) = 0 rows, round(1.0) = 1 column.
        float[] data = Enumerable.Range(0, 24).Select(i => (float)i).ToArray();
        var image = new PlanarImage(2, 3, 4, data);

        PlanarImage cropped = image.CenterCrop(2, 2);

        Assert.That(cropped.Data, Is.EqualTo(new float[] { 1, 2, 5, 6, 13, 14, 17, 18 }));
    }

    [Test]
    public void CenterCrop_OfTheResizedFixture_MatchesTorchSlicing()
    {
        PlanarImage resized = PipelineFixtures.Image().ResizeShorterSide(32, ResizeMode.Bilinear, antialias: false);

        PlanarImage cropped = resized.CenterCrop(28, 28);

        Assert.That(PipelineFixtures.MaxAbsoluteDifference(cropped, PipelineFixtures.Expected("resize_short32_crop28.npy")),
            Is.LessThan(1e-5));
    }

    [Test]
    public void Crop_RefusesARectangleOutsideTheImage()
    {
        var image = new PlanarImage(1, 3, 3, new float[9]);

        Assert.Throws<ArgumentOutOfRangeException>(() => image.CenterCrop(4, 2));
    }

    [Test]
    public void Normalize_MatchesTorchWithImageNetStatistics()
    {
        PlanarImage normalized = PipelineFixtures.Image()
            .Normalize(PreprocessorOptions.ImageNetMean, PreprocessorOptions.ImageNetStd);

        // Values reach about 2.6; float32 arithmetic against a float64 reference.
        Assert.That(PipelineFixtures.MaxAbsoluteDifference(normalized, PipelineFixtures.Expected("normalized_image_1x3x23x37.npy")),
            Is.LessThan(1e-5));
    }

    [Test]
    public void Normalize_ByHand_SubtractsTheMeanAndDividesByTheStdPerChannel()
    {
        var image = new PlanarImage(2, 1, 2, [0.5f, 1.0f, 0.25f, 0.75f]);

        PlanarImage normalized = image.Normalize([0.5f, 0.25f], [0.5f, 0.25f]);

        Assert.That(normalized.Data, Is.EqualTo(new float[] { 0, 1, 0, 2 }));
    }

    [Test]
    public void Normalize_RefusesAMeanOfTheWrongLength()
    {
        var image = new PlanarImage(3, 1, 1, new float[3]);

        Assert.Throws<ArgumentException>(() => image.Normalize([0.5f, 0.5f], [1f]));
    }

    [TestCase(255, 0, 0, 76)]     // 255 * 19595 / 65536 = 76.24
    [TestCase(0, 255, 0, 150)]    // 255 * 38470 / 65536 = 149.69, rounded
    [TestCase(0, 0, 255, 29)]     // 255 * 7471 / 65536 = 29.07
    [TestCase(10, 200, 30, 124)]  // 2.99 + 117.40 + 3.42 = 123.81, rounded
    [TestCase(77, 77, 77, 77)]    // the weights sum to 1: gray stays gray
    [TestCase(255, 255, 255, 255)]
    public void Luma_IsItuR601RoundedAsPilConvertL(int red, int green, int blue, int expected)
    {
        Assert.That(PixelImage.Luma((byte)red, (byte)green, (byte)blue), Is.EqualTo(expected));
    }

    [Test]
    public void ConvertTo_RgbRepeatsTheGrayValueAndGrayTakesTheLuma()
    {
        PixelImage gray = PixelImage.FromGray([0, 128, 255], 1, 3);

        PixelImage rgb = gray.ConvertTo(ImageChannels.Rgb);

        Assert.That(rgb.Pixels, Is.EqualTo(new byte[] { 0, 0, 0, 128, 128, 128, 255, 255, 255 }));
        Assert.That(rgb.ConvertTo(ImageChannels.Grayscale).Pixels, Is.EqualTo(gray.Pixels));
    }

    [Test]
    public void FromPixels_DividesBy255AndSplitsTheChannels()
    {
        var image = new PixelImage(1, 2, ImageChannels.Rgb, [0, 51, 255, 102, 153, 204]);

        PlanarImage planes = PlanarImage.FromPixels(image);

        Assert.That(planes.Data, Is.EqualTo(new[] { 0f, 102 / 255f, 51 / 255f, 153 / 255f, 1f, 204 / 255f }));
    }
}
