using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace FasterNet.Serialization;

/// <summary>
/// Reads and writes NumPy <c>.npy</c> arrays: the magic <c>\x93NUMPY</c>, a version, a header that is a
/// Python dict literal (<c>{'descr': '&lt;f4', 'fortran_order': False, 'shape': (3, 4), }</c>), then the
/// elements. Float32 is read as is; float16 and float64 (either byte order) are converted to float32.
/// Only C-order arrays are accepted.
/// </summary>
public static class Npy
{
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    // numpy itself refuses headers over 10 kB unless told otherwise; this is far beyond any real array's.
    private const int MaximumHeaderSize = 1 << 20;

    /// <exception cref="CheckpointFormatException">The file is not a float C-order .npy array.</exception>
    public static Tensor Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = File.OpenRead(path);
        return Read(stream, path);
    }

    /// <exception cref="CheckpointFormatException">The data is not a float C-order .npy array.</exception>
    public static Tensor Read(Stream stream, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        string source = sourceName ?? "<stream>";
        stream = SeekableStream.Of(stream);
        long remaining = stream.Length - stream.Position;

        Span<byte> preamble = stackalloc byte[12];
        int read = stream.ReadAtLeast(preamble[..10], 10, throwOnEndOfStream: false);
        if (read < 10 || !preamble[..6].SequenceEqual(Magic))
            throw new CheckpointFormatException(source, "not a .npy file: it does not start with the magic \\x93NUMPY");
        byte major = preamble[6], minor = preamble[7];
        long headerLength;
        int preambleLength;
        switch (major)
        {
            case 1:
                headerLength = BinaryPrimitives.ReadUInt16LittleEndian(preamble[8..]);
                preambleLength = 10;
                break;
            case 2 or 3:
                if (stream.ReadAtLeast(preamble[10..], 2, throwOnEndOfStream: false) < 2)
                    throw new CheckpointFormatException(source, "the file ends inside the .npy preamble (truncated file)");
                headerLength = BinaryPrimitives.ReadUInt32LittleEndian(preamble[8..]);
                preambleLength = 12;
                break;
            default:
                throw new CheckpointFormatException(source, $"unsupported .npy format version {major}.{minor} (supported: 1.0, 2.0, 3.0)");
        }
        if (headerLength > MaximumHeaderSize || headerLength > remaining - preambleLength)
            throw new CheckpointFormatException(source,
                $"the header length field says {headerLength} bytes but {remaining - preambleLength} follow (truncated or corrupt file)");

        var headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(headerBytes);
        var (type, bigEndian, shape) = ParseHeader(header, source);

        long count = Tensor.CountElements(shape); // checked in ParseHeader
        if (count > Array.MaxLength)
            throw new CheckpointFormatException(source, $"shape {Tensor.FormatShape(shape)} has {count} elements, more than can be loaded");
        long dataBytes = remaining - preambleLength - headerLength;
        long neededBytes = count * type.Size();
        if (neededBytes != dataBytes)
            throw new CheckpointFormatException(source,
                $"shape {Tensor.FormatShape(shape)} of {type.TorchName()} needs {neededBytes} bytes of data but the file has {dataBytes} " +
                (neededBytes > dataBytes ? "(truncated file)" : "(trailing bytes)"));

        var data = new float[count];
        if (type == ElementType.Float32 && BitConverter.IsLittleEndian && !bigEndian)
        {
            stream.ReadExactly(MemoryMarshal.AsBytes(data.AsSpan()));
        }
        else
        {
            var bytes = new byte[dataBytes];
            stream.ReadExactly(bytes);
            if (bigEndian) ElementTypes.SwapBytes(bytes, type.Size());
            ElementTypes.ToFloat32(bytes, type, data);
        }
        return new Tensor(shape, data);
    }

    private static (ElementType Type, bool BigEndian, int[] Shape) ParseHeader(string header, string source)
    {
        Dictionary<string, object?> fields;
        try
        {
            fields = new HeaderParser(header).ParseDict();
        }
        catch (FormatException exception)
        {
            throw new CheckpointFormatException(source, $"the .npy header is not a valid dict literal: {exception.Message} (header: {header.Trim()})");
        }

        if (fields.Count != 3 || !fields.ContainsKey("descr") || !fields.ContainsKey("fortran_order") || !fields.ContainsKey("shape"))
            throw new CheckpointFormatException(source,
                $"the .npy header must have exactly the keys descr, fortran_order and shape; it has {string.Join(", ", fields.Keys)}");
        if (fields["descr"] is not string descr)
            throw new CheckpointFormatException(source, "the array has a structured dtype; only plain float arrays are supported");
        if (fields["fortran_order"] is not bool fortranOrder)
            throw new CheckpointFormatException(source, "fortran_order is not True or False");
        if (fortranOrder)
            throw new CheckpointFormatException(source,
                "the array is stored in Fortran (column-major) order; only C order is supported: save np.ascontiguousarray(a) instead");
        if (fields["shape"] is not List<object?> dims)
            throw new CheckpointFormatException(source, "shape is not a tuple");

        var shape = new int[dims.Count];
        for (int i = 0; i < dims.Count; i++)
        {
            if (dims[i] is not long dimension || dimension < 0 || dimension > int.MaxValue)
                throw new CheckpointFormatException(source, $"shape entry {dims[i] ?? "None"} is not a valid dimension");
            shape[i] = (int)dimension;
        }
        try
        {
            Tensor.CountElements(shape);
        }
        catch (ArgumentException)
        {
            throw new CheckpointFormatException(source, $"shape {Tensor.FormatShape(shape)} has too many elements");
        }

        (ElementType? type, bool bigEndian) = descr switch
        {
            "<f4" => (ElementType.Float32, false),
            ">f4" => (ElementType.Float32, true),
            "<f8" => (ElementType.Float64, false),
            ">f8" => (ElementType.Float64, true),
            "<f2" => (ElementType.Float16, false),
            ">f2" => (ElementType.Float16, true),
            _ => ((ElementType?)null, false),
        };
        if (type is null)
            throw new CheckpointFormatException(source,
                $"unsupported dtype '{descr}': only float32 ('<f4'), float64 and float16 arrays can be read as tensors");
        return (type.Value, bigEndian, shape);
    }

    /// <summary>Writes a version 1.0 '&lt;f4' C-order array, the header padded so the data starts at a multiple of 64.</summary>
    public static void Write(string path, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        Write(stream, tensor);
    }

    /// <inheritdoc cref="Write(string, Tensor)"/>
    public static void Write(Stream stream, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensor);
        var shape = tensor.Shape;
        string shapeText = shape.Length == 1
            ? $"({shape[0]},)"
            : "(" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + ")";
        string dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': {shapeText}, }}";
        const int preambleLength = 10;
        int padded = (preambleLength + dict.Length + 1 + 63) / 64 * 64 - preambleLength;
        if (padded > ushort.MaxValue)
            throw new ArgumentException($"Shape {tensor.ShapeString} needs a header too long for .npy version 1.0.", nameof(tensor));
        string header = dict.PadRight(padded - 1) + "\n";

        Span<byte> preamble = stackalloc byte[preambleLength];
        Magic.CopyTo(preamble);
        preamble[6] = 1;
        preamble[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(preamble[8..], (ushort)padded);
        stream.Write(preamble);
        stream.Write(Encoding.Latin1.GetBytes(header));
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(tensor.Data.AsSpan()));
        }
        else
        {
            var bytes = MemoryMarshal.AsBytes(tensor.Data.AsSpan()).ToArray();
            ElementTypes.SwapBytes(bytes, 4);
            stream.Write(bytes);
        }
        stream.Flush();
    }

    /// <summary>Parses the subset of Python literals a .npy header uses: dict, tuple/list, str, int, True/False/None.</summary>
    private ref struct HeaderParser(string text)
    {
        private readonly string _text = text;
        private int _position;

        public Dictionary<string, object?> ParseDict()
        {
            var result = ParseValue() as Dictionary<string, object?> ?? throw new FormatException("not a dict");
            SkipSpace();
            if (_position != _text.Length)
                throw new FormatException($"unexpected '{_text[_position]}' after the dict");
            return result;
        }

        private object? ParseValue()
        {
            SkipSpace();
            if (_position >= _text.Length) throw new FormatException("unexpected end");
            char c = _text[_position];
            switch (c)
            {
                case '{':
                {
                    _position++;
                    var dict = new Dictionary<string, object?>(StringComparer.Ordinal);
                    while (!TryConsume('}'))
                    {
                        if (ParseValue() is not string key) throw new FormatException("a dict key is not a string");
                        Expect(':');
                        if (!dict.TryAdd(key, ParseValue())) throw new FormatException($"the key '{key}' appears twice");
                        if (!TryConsume(',')) { Expect('}'); break; }
                    }
                    return dict;
                }
                case '(' or '[':
                {
                    char close = c == '(' ? ')' : ']';
                    _position++;
                    var items = new List<object?>();
                    while (!TryConsume(close))
                    {
                        items.Add(ParseValue());
                        if (!TryConsume(',')) { Expect(close); break; }
                    }
                    return items;
                }
                case '\'' or '"':
                {
                    int end = _text.IndexOf(c, _position + 1);
                    if (end < 0) throw new FormatException("unterminated string");
                    string value = _text[(_position + 1)..end];
                    if (value.Contains('\\')) throw new FormatException("escapes in strings are not supported");
                    _position = end + 1;
                    return value;
                }
                default:
                {
                    int start = _position;
                    while (_position < _text.Length && (char.IsAsciiLetterOrDigit(_text[_position]) || _text[_position] is '-' or '_'))
                        _position++;
                    string word = _text[start.._position];
                    if (word == "True") return true;
                    if (word == "False") return false;
                    if (word == "None") return null;
                    if (word.EndsWith('L')) word = word[..^1]; // Python 2 longs
                    if (long.TryParse(word, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long number))
                        return number;
                    throw new FormatException(word.Length == 0 ? $"unexpected '{c}'" : $"unexpected '{word}'");
                }
            }
        }

        private void SkipSpace()
        {
            while (_position < _text.Length && char.IsWhiteSpace(_text[_position])) _position++;
        }

        private bool TryConsume(char c)
        {
            SkipSpace();
            if (_position < _text.Length && _text[_position] == c) { _position++; return true; }
            return false;
        }

        private void Expect(char c)
        {
            if (!TryConsume(c))
                throw new FormatException(_position < _text.Length ? $"expected '{c}' but found '{_text[_position]}'" : $"expected '{c}'");
        }
    }
}
