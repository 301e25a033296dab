using FasterNet.Imaging;

namespace FasterNet.Tests.Imaging;

public class ImageDecoderTests
{
    private string _directory = "";

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("fasternet-images-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public void Decode_FixturePng_GivesTheStoredPixelsExactly()
    {
        PixelImage image = ImageDecoder.Decode(PipelineFixtures.PngPath);

        Assert.That((image.Height, image.Width, image.Channels), Is.EqualTo((23, 37, ImageChannels.Rgb)));
        Assert.That(image.Pixels, Is.EqualTo(PipelineFixtures.PixelsU8("pixels_23x37x3_u8.npy", 23, 37, 3)));
    }

    [Test]
    public void Decode_FromAStream_EqualsDecodeFromThePath()
    {
        using var stream = File.OpenRead(PipelineFixtures.PngPath);

        PixelImage image = ImageDecoder.Decode(stream, "fixture");

        Assert.That(image.Pixels, Is.EqualTo(ImageDecoder.Decode(PipelineFixtures.PngPath).Pixels));
    }

    [Test]
    public void Decode_TextFile_ThrowsImageFormatExceptionNamingTheFile()
    {
        string path = Path.Combine(_directory, "notes.png");
        File.WriteAllText(path, "this is not a picture");

        var exception = Assert.Throws<ImageFormatException>(() => ImageDecoder.Decode(path))!;

        Assert.That(exception.Message, Does.StartWith(path));
        Assert.That(exception.Source, Is.EqualTo(path));
    }

    [Test]
    public void Decode_TruncatedPng_ThrowsImageFormatExceptionNamingTheFile()
    {
        byte[] png = File.ReadAllBytes(PipelineFixtures.PngPath);
        string path = Path.Combine(_directory, "cut.png");
        File.WriteAllBytes(path, png[..(png.Length / 2)]);

        var exception = Assert.Throws<ImageFormatException>(() => ImageDecoder.Decode(path))!;

        Assert.That(exception.Message, Does.StartWith(path));
    }

    [Test]
    public void Decode_EmptyFile_SaysItIsEmpty()
    {
        string path = Path.Combine(_directory, "empty.jpg");
        File.WriteAllBytes(path, []);

        var exception = Assert.Throws<ImageFormatException>(() => ImageDecoder.Decode(path))!;

        Assert.That(exception.Message, Is.EqualTo($"{path}: the file is empty"));
    }

    [Test]
    public void Decode_MissingFile_ThrowsFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => ImageDecoder.Decode(Path.Combine(_directory, "absent.png")));
    }

    [Test]
    public void ImageFormatException_IsAFasterNetException()
    {
        Assert.That(new ImageFormatException("a.png", "bad"), Is.InstanceOf<FasterNetException>());
    }
}
