using System.IO.Compression;
using FasterNet.Data;

namespace FasterNet.Tests.Data;

/// <summary>The IDX reader on tiny hand-made files, plain and gzipped.</summary>
public class IdxReaderTests
{
    private string _directory = "";

    // Two 2x3 images: magic 0x00000803, dims 2, 2, 3 (big-endian), then 12 pixels.
    private static readonly byte[] TwoImages =
    [
        0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3,
        1, 2, 3, 4, 5, 6,
        10, 20, 30, 40, 50, 255,
    ];

    // Three labels: magic 0x00000801, count 3, then 3 bytes.
    private static readonly byte[] ThreeLabels = [0, 0, 8, 1, 0, 0, 0, 3, 9, 0, 7];

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("fasternet-idx-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    [TestCase(false)]
    [TestCase(true)]
    public void ReadImages_ReturnsCountRowsColumnsAndPixels(bool gzipped)
    {
        string path = Write("images", TwoImages, gzipped);

        IdxImages images = IdxReader.ReadImages(path);

        Assert.That((images.Count, images.Rows, images.Columns), Is.EqualTo((2, 2, 3)));
        Assert.That(images.Image(0).ToArray(), Is.EqualTo(new byte[] { 1, 2, 3, 4, 5, 6 }));
        Assert.That(images.Image(1).ToArray(), Is.EqualTo(new byte[] { 10, 20, 30, 40, 50, 255 }));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ReadLabels_ReturnsTheBytes(bool gzipped)
    {
        string path = Write("labels", ThreeLabels, gzipped);

        Assert.That(IdxReader.ReadLabels(path), Is.EqualTo(new byte[] { 9, 0, 7 }));
    }

    [Test]
    public void ReadImages_OfALabelFile_SaysWhichKindItIs()
    {
        string path = Write("labels", ThreeLabels, gzipped: false);

        var exception = Assert.Throws<DatasetFormatException>(() => IdxReader.ReadImages(path))!;

        Assert.That(exception.Message, Does.StartWith(path).And.Contain("label file").And.Contain("0x00000803"));
    }

    [Test]
    public void ReadImages_BadMagic_NamesTheFileAndTheBytes()
    {
        byte[] data = (byte[])TwoImages.Clone();
        data[0] = 0x50;
        data[1] = 0x4B;
        string path = Write("zip", data, gzipped: false);

        var exception = Assert.Throws<DatasetFormatException>(() => IdxReader.ReadImages(path))!;

        Assert.That(exception.Message, Does.StartWith(path).And.Contain("not an IDX file").And.Contain("0x504B0803"));
    }

    [Test]
    public void ReadImages_FloatElements_AreRefusedNamingTheType()
    {
        byte[] data = (byte[])TwoImages.Clone();
        data[2] = 0x0D;

        var exception = Assert.Throws<DatasetFormatException>(() => IdxReader.ReadImages(new MemoryStream(data), "floats.idx"))!;

        Assert.That(exception.Message, Does.StartWith("floats.idx").And.Contain("0x0D"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ReadImages_TruncatedPixels_SaysTruncated(bool gzipped)
    {
        string path = Write("cut", TwoImages[..^3], gzipped);

        var exception = Assert.Throws<DatasetFormatException>(() => IdxReader.ReadImages(path))!;

        Assert.That(exception.Message, Does.StartWith(path).And.Contain("only 9 follow (truncated file)"));
    }

    [Test]
    public void ReadImages_TruncatedHeader_SaysTruncated()
    {
        var exception = Assert.Throws<DatasetFormatException>(
            () => IdxReader.ReadImages(new MemoryStream(TwoImages[..10]), "short.idx"))!;

        Assert.That(exception.Message, Does.StartWith("short.idx").And.Contain("truncated"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ReadLabels_TrailingBytes_AreRefused(bool gzipped)
    {
        string path = Write("long", [.. ThreeLabels, 4], gzipped);

        var exception = Assert.Throws<DatasetFormatException>(() => IdxReader.ReadLabels(path))!;

        Assert.That(exception.Message, Does.StartWith(path).And.Contain("trailing"));
    }

    [Test]
    public void ReadImages_AbsurdHeader_IsRefusedBeforeAllocating()
    {
        // 2^31 - 1 images of 255 x 255 claimed by a 16-byte file.
        byte[] header = [0, 0, 8, 3, 0x7F, 0xFF, 0xFF, 0xFF, 0, 0, 0, 255, 0, 0, 0, 255];

        var exception = Assert.Throws<DatasetFormatException>(
            () => IdxReader.ReadImages(new MemoryStream(header), "bomb.idx"))!;

        Assert.That(exception.Message, Does.StartWith("bomb.idx").And.Contain("corrupt header"));
    }

    [Test]
    public void ReadImages_GzipBombHeader_IsRefusedBeforeAllocating()
    {
        byte[] header = [0, 0, 8, 3, 0, 0, 0x10, 0, 0, 1, 0, 0, 0, 1, 0, 0];
        string path = Write("bomb", header, gzipped: true);

        var exception = Assert.Throws<DatasetFormatException>(() => IdxReader.ReadImages(path))!;

        Assert.That(exception.Message, Does.Contain("corrupt header"));
    }

    [Test]
    public void ReadImages_ZeroRows_AreRefused()
    {
        byte[] header = [0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3];

        var exception = Assert.Throws<DatasetFormatException>(() => IdxReader.ReadImages(new MemoryStream(header), "flat.idx"))!;

        Assert.That(exception.Message, Does.Contain("dimension 1 is 0"));
    }

    [Test]
    public void ReadImages_CorruptGzip_SaysSo()
    {
        byte[] gzipped = Gzip(TwoImages);
        for (int i = 12; i < gzipped.Length - 8; i++)
            gzipped[i] ^= 0x5A;

        var exception = Assert.Throws<DatasetFormatException>(() => IdxReader.ReadImages(new MemoryStream(gzipped), "bad.gz"))!;

        Assert.That(exception.Message, Does.StartWith("bad.gz"));
    }

    [Test]
    public void ReadImages_NonSeekableStream_Works()
    {
        using var stream = new NonSeekableStream(Gzip(TwoImages));

        Assert.That(IdxReader.ReadImages(stream).Count, Is.EqualTo(2));
    }

    private string Write(string name, byte[] content, bool gzipped)
    {
        string path = Path.Combine(_directory, name + (gzipped ? ".gz" : ".idx"));
        File.WriteAllBytes(path, gzipped ? Gzip(content) : content);
        return path;
    }

    private static byte[] Gzip(byte[] content)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal))
            gzip.Write(content);
        return output.ToArray();
    }

    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
