using System.Buffers.Binary;
using System.IO.Compression;
using FasterNet.Serialization;

namespace FasterNet.Data;

/// <summary>
/// Reads IDX files (the MNIST / Fashion-MNIST format), gzipped or plain: a big-endian magic number
/// <c>0x0000 &lt;type&gt; &lt;dimensions&gt;</c>, one big-endian uint32 per dimension, then the elements.
/// Only unsigned-byte files are read: images (<see cref="ImagesMagic"/>, [count, rows, columns]) and labels
/// (<see cref="LabelsMagic"/>, [count]). Sizes are checked against the data before anything large is allocated.
/// </summary>
public static class IdxReader
{
    /// <summary>Unsigned bytes, three dimensions.</summary>
    public const uint ImagesMagic = 0x00000803;

    /// <summary>Unsigned bytes, one dimension.</summary>
    public const uint LabelsMagic = 0x00000801;

    /// <summary>The most element bytes a file may declare; a header claiming more is refused before allocating.</summary>
    public const long MaximumDataBytes = 1L << 30;

    private const byte UnsignedByteType = 0x08;

    // Gzipped data grows its buffer as it arrives, so a lying header cannot make us allocate a gigabyte up front.
    private const int InitialGzipBuffer = 1 << 24;

    /// <exception cref="DatasetFormatException">The file is not a well-formed IDX image file.</exception>
    public static IdxImages ReadImages(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = File.OpenRead(path);
        return ReadImages(stream, path);
    }

    /// <summary>Reads an image file from a stream; <paramref name="sourceName"/> names it in error messages.</summary>
    /// <exception cref="DatasetFormatException">The data is not a well-formed IDX image file.</exception>
    public static IdxImages ReadImages(Stream stream, string? sourceName = null)
    {
        (int[] dimensions, byte[] data) = Read(stream, sourceName ?? "<stream>", ImagesMagic);
        return new IdxImages(dimensions[0], dimensions[1], dimensions[2], data);
    }

    /// <exception cref="DatasetFormatException">The file is not a well-formed IDX label file.</exception>
    public static byte[] ReadLabels(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = File.OpenRead(path);
        return ReadLabels(stream, path);
    }

    /// <summary>Reads a label file from a stream; <paramref name="sourceName"/> names it in error messages.</summary>
    /// <exception cref="DatasetFormatException">The data is not a well-formed IDX label file.</exception>
    public static byte[] ReadLabels(Stream stream, string? sourceName = null) =>
        Read(stream, sourceName ?? "<stream>", LabelsMagic).Data;

    private static (int[] Dimensions, byte[] Data) Read(Stream stream, string source, uint expectedMagic)
    {
        ArgumentNullException.ThrowIfNull(stream);
        stream = SeekableStream.Of(stream);
        try
        {
            if (!IsGzip(stream))
                return ReadContent(stream, stream.Length - stream.Position, source, expectedMagic);
            using var gzip = new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true);
            return ReadContent(gzip, knownLength: null, source, expectedMagic);
        }
        catch (InvalidDataException e)
        {
            throw new DatasetFormatException(source, $"the gzip data is corrupt: {e.Message}", e);
        }
    }

    private static bool IsGzip(Stream stream)
    {
        long start = stream.Position;
        Span<byte> head = stackalloc byte[2];
        int read = stream.ReadAtLeast(head, 2, throwOnEndOfStream: false);
        stream.Position = start;
        return read == 2 && head[0] == 0x1F && head[1] == 0x8B;
    }

    private static (int[] Dimensions, byte[] Data) ReadContent(Stream content, long? knownLength, string source,
                                                              uint expectedMagic)
    {
        int expectedRank = (int)(expectedMagic & 0xFF);
        Span<byte> magicBytes = stackalloc byte[4];
        int read = content.ReadAtLeast(magicBytes, 4, throwOnEndOfStream: false);
        if (read < 4)
            throw new DatasetFormatException(source, $"the data is {read} bytes long: too short for an IDX header (truncated file)");
        CheckMagic(BinaryPrimitives.ReadUInt32BigEndian(magicBytes), expectedMagic, source);

        Span<byte> dimensionBytes = stackalloc byte[4 * expectedRank];
        if (content.ReadAtLeast(dimensionBytes, dimensionBytes.Length, throwOnEndOfStream: false) < dimensionBytes.Length)
            throw new DatasetFormatException(source, "the data ends inside the IDX header (truncated file)");
        var dimensions = new int[expectedRank];
        long elements = 1;
        for (int i = 0; i < expectedRank; i++)
        {
            uint dimension = BinaryPrimitives.ReadUInt32BigEndian(dimensionBytes[(4 * i)..]);
            if (dimension > MaximumDataBytes)
                throw new DatasetFormatException(source, $"dimension {i} is {dimension}: absurdly large (corrupt header)");
            if (dimension == 0 && i > 0)
                throw new DatasetFormatException(source, $"dimension {i} is 0: images must have at least one row and column");
            dimensions[i] = (int)dimension;
            elements *= dimension;
            if (elements > MaximumDataBytes)
                throw new DatasetFormatException(source,
                    $"the header declares {Shape(dimensionBytes)} elements: more than {MaximumDataBytes} bytes (corrupt header?)");
        }

        long headerLength = 4 + 4L * expectedRank;
        if (knownLength is { } length && length - headerLength != elements)
            throw new DatasetFormatException(source, SizeProblem(elements, length - headerLength, dimensions));
        byte[] data = knownLength is null ? ReadGrowing(content, elements) : ReadExact(content, elements);
        if (data.LongLength != elements)
            throw new DatasetFormatException(source, SizeProblem(elements, data.LongLength, dimensions));
        if (knownLength is null && content.ReadByte() >= 0)
            throw new DatasetFormatException(source, SizeProblem(elements, elements + 1, dimensions));
        return (dimensions, data);
    }

    private static void CheckMagic(uint magic, uint expectedMagic, string source)
    {
        if (magic == expectedMagic)
            return;
        string wanted = expectedMagic == ImagesMagic ? "an IDX image file (magic 0x00000803)" : "an IDX label file (magic 0x00000801)";
        if (magic >> 16 != 0)
            throw new DatasetFormatException(source,
                $"not an IDX file: it starts with 0x{magic:X8}; expected {wanted}");
        if (((magic >> 8) & 0xFF) != UnsignedByteType)
            throw new DatasetFormatException(source,
                $"IDX element type 0x{(magic >> 8) & 0xFF:X2} is not supported (only unsigned bytes, 0x08); expected {wanted}");
        string actual = magic switch
        {
            ImagesMagic => "an image file (0x00000803)",
            LabelsMagic => "a label file (0x00000801)",
            _ => $"an unsigned-byte IDX file with {magic & 0xFF} dimensions (0x{magic:X8})",
        };
        throw new DatasetFormatException(source, $"this is {actual}, expected {wanted}");
    }

    private static string Shape(ReadOnlySpan<byte> dimensionBytes)
    {
        var parts = new List<string>();
        for (int i = 0; i + 4 <= dimensionBytes.Length; i += 4)
            parts.Add(BinaryPrimitives.ReadUInt32BigEndian(dimensionBytes[i..]).ToString());
        return string.Join(" x ", parts);
    }

    private static string SizeProblem(long expected, long actual, int[] dimensions) =>
        $"the header declares {string.Join(" x ", dimensions)} = {expected} bytes of data but " +
        (actual < expected ? $"only {actual} follow (truncated file)" : "more data follows (trailing bytes; corrupt file?)");

    private static byte[] ReadExact(Stream content, long count)
    {
        var data = new byte[count];
        int read = content.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
        return read == data.Length ? data : data[..read];
    }

    private static byte[] ReadGrowing(Stream content, long count)
    {
        var data = new byte[Math.Min(count, InitialGzipBuffer)];
        long filled = 0;
        while (filled < count)
        {
            if (filled == data.LongLength)
                Array.Resize(ref data, (int)Math.Min(count, 2 * data.LongLength));
            int read = content.Read(data, (int)filled, (int)(data.LongLength - filled));
            if (read == 0)
                return data[..(int)filled];
            filled += read;
        }
        return data;
    }
}
