using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;

namespace FasterNet.Data;

/// <summary>
/// Reads a one-dimensional integer .npy array of class indices (e.g. PyTorch's predictions on a test set,
/// <c>np.save(path, pred.astype(np.int32))</c>): little- or big-endian int8/16/32/64 or uint8, C order.
/// </summary>
public static partial class ClassIndexFile
{
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    // Enough for any array of class indices; a header claiming more is corrupt.
    private const int MaximumCount = 1 << 28;
    private const int MaximumHeaderSize = 1 << 16;

    /// <exception cref="DatasetFormatException">The file is not a 1-D integer .npy array.</exception>
    public static int[] Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = File.OpenRead(path);
        return Read(stream, path);
    }

    /// <exception cref="DatasetFormatException">The data is not a 1-D integer .npy array.</exception>
    public static int[] Read(Stream stream, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        string source = sourceName ?? "<stream>";
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        ReadOnlySpan<byte> bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);

        if (bytes.Length < 10 || !bytes[..6].SequenceEqual(Magic))
            throw new DatasetFormatException(source, "not a .npy file: it does not start with the magic \\x93NUMPY");
        int preamble = bytes[6] == 1 ? 10 : 12;
        if (bytes[6] is not (1 or 2 or 3) || bytes.Length < preamble)
            throw new DatasetFormatException(source, $"unsupported or truncated .npy header (version {bytes[6]})");
        long headerLength = preamble == 10
            ? BinaryPrimitives.ReadUInt16LittleEndian(bytes[8..])
            : BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]);
        if (headerLength > MaximumHeaderSize || preamble + headerLength > bytes.Length)
            throw new DatasetFormatException(source, "the .npy header is longer than the file (truncated or corrupt)");
        string header = Encoding.Latin1.GetString(bytes.Slice(preamble, (int)headerLength));

        Match descr = DescrPattern().Match(header);
        Match shape = ShapePattern().Match(header);
        if (!descr.Success)
            throw new DatasetFormatException(source, $"not an integer array (header: {header.Trim()})");
        if (FortranPattern().IsMatch(header))
            throw new DatasetFormatException(source, "the array is in Fortran order; save np.ascontiguousarray(a)");
        if (!shape.Success || !long.TryParse(shape.Groups[1].Value, out long count) || count > MaximumCount)
            throw new DatasetFormatException(source, $"expected a one-dimensional array of a sensible length (header: {header.Trim()})");

        bool bigEndian = descr.Groups[1].Value == ">";
        bool unsigned = descr.Groups[2].Value == "u";
        int size = int.Parse(descr.Groups[3].Value);
        if (unsigned && size != 1)
            throw new DatasetFormatException(source, $"dtype '{descr.Value}' is not supported: use a signed integer type");
        ReadOnlySpan<byte> data = bytes[(int)(preamble + headerLength)..];
        if (data.Length != count * size)
            throw new DatasetFormatException(source,
                $"shape ({count},) of {size}-byte integers needs {count * size} bytes but {data.Length} follow the header " +
                (data.Length < count * size ? "(truncated file)" : "(trailing bytes)"));

        var result = new int[count];
        for (int i = 0; i < result.Length; i++)
        {
            ReadOnlySpan<byte> element = data.Slice(i * size, size);
            long value = size switch
            {
                1 => unsigned ? element[0] : (sbyte)element[0],
                2 => bigEndian ? BinaryPrimitives.ReadInt16BigEndian(element) : BinaryPrimitives.ReadInt16LittleEndian(element),
                4 => bigEndian ? BinaryPrimitives.ReadInt32BigEndian(element) : BinaryPrimitives.ReadInt32LittleEndian(element),
                _ => bigEndian ? BinaryPrimitives.ReadInt64BigEndian(element) : BinaryPrimitives.ReadInt64LittleEndian(element),
            };
            if (value < 0 || value > int.MaxValue)
                throw new DatasetFormatException(source, $"element {i} is {value}: not a class index");
            result[i] = (int)value;
        }
        return result;
    }

    [GeneratedRegex(@"'descr'\s*:\s*'([<>|=])([iu])([1248])'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'shape'\s*:\s*\(\s*(\d+)\s*,\s*\)")]
    private static partial Regex ShapePattern();

    [GeneratedRegex(@"'fortran_order'\s*:\s*True")]
    private static partial Regex FortranPattern();
}
