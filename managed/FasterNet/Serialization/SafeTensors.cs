using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace FasterNet.Serialization;

/// <summary>
/// Reads and writes the safetensors format: an 8-byte little-endian header size, a JSON header
/// (<c>{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}</c>, padded with
/// spaces), then the tensors' little-endian bytes, contiguous and without holes. F32, F16, BF16 and F64
/// tensors are read as float32; integer and BOOL tensors go to <see cref="StateDict.IntegerTensors"/>.
/// </summary>
public static class SafeTensors
{
    /// <summary>The largest header the reference implementation accepts (100 MB).</summary>
    public const long MaximumHeaderSize = 100_000_000;

    private const string MetadataKey = "__metadata__";

    private static readonly Dictionary<string, ElementType> TypesByName = new(StringComparer.Ordinal)
    {
        ["F32"] = ElementType.Float32,
        ["F16"] = ElementType.Float16,
        ["BF16"] = ElementType.BFloat16,
        ["F64"] = ElementType.Float64,
        ["I64"] = ElementType.Int64,
        ["I32"] = ElementType.Int32,
        ["I16"] = ElementType.Int16,
        ["I8"] = ElementType.Int8,
        ["U8"] = ElementType.UInt8,
        ["BOOL"] = ElementType.Bool,
    };

    private sealed record Entry(string Name, ElementType Type, int[] Shape, long Begin, long End);

    /// <exception cref="CheckpointFormatException">The file is not a valid safetensors file.</exception>
    public static StateDict Read(string path) => Read(path, out _);

    /// <summary>Reads a file and its <c>__metadata__</c> (empty when the file has none).</summary>
    /// <exception cref="CheckpointFormatException">The file is not a valid safetensors file.</exception>
    public static StateDict Read(string path, out IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = File.OpenRead(path);
        return ReadCore(stream, path, out metadata);
    }

    /// <exception cref="CheckpointFormatException">The data is not a valid safetensors file.</exception>
    public static StateDict Read(Stream stream, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return ReadCore(stream, sourceName ?? "<stream>", out _);
    }

    private static StateDict ReadCore(Stream stream, string source, out IReadOnlyDictionary<string, string> metadata)
    {
        stream = SeekableStream.Of(stream);
        long start = stream.Position;
        long fileLength = stream.Length - start;

        Span<byte> sizeBytes = stackalloc byte[8];
        if (stream.ReadAtLeast(sizeBytes, 8, throwOnEndOfStream: false) < 8)
            throw new CheckpointFormatException(source, $"the file is {fileLength} bytes long: too short for a safetensors header");
        ulong headerSize = BinaryPrimitives.ReadUInt64LittleEndian(sizeBytes);
        if (headerSize > MaximumHeaderSize)
            throw new CheckpointFormatException(source,
                $"the header size field says {headerSize} bytes, more than the {MaximumHeaderSize}-byte limit (not a safetensors file?)");
        if ((long)headerSize > fileLength - 8)
            throw new CheckpointFormatException(source,
                $"the header size field says {headerSize} bytes but only {fileLength - 8} follow (truncated file)");

        var header = new byte[headerSize];
        stream.ReadExactly(header);
        long dataLength = fileLength - 8 - (long)headerSize;
        var entries = ParseHeader(header, dataLength, source, out metadata);

        long dataStart = start + 8 + (long)headerSize;
        var tensors = new List<KeyValuePair<string, Tensor>>();
        var integers = new List<KeyValuePair<string, IntegerTensor>>();
        foreach (var entry in entries)
        {
            int count = (int)Tensor.CountElements(entry.Shape);
            stream.Position = dataStart + entry.Begin;
            if (entry.Type == ElementType.Float32 && BitConverter.IsLittleEndian)
            {
                var data = new float[count];
                stream.ReadExactly(MemoryMarshal.AsBytes(data.AsSpan()));
                tensors.Add(new(entry.Name, new Tensor(entry.Shape, data)));
                continue;
            }
            var bytes = new byte[entry.End - entry.Begin];
            stream.ReadExactly(bytes);
            if (entry.Type.IsFloatingPoint())
            {
                var data = new float[count];
                ElementTypes.ToFloat32(bytes, entry.Type, data);
                tensors.Add(new(entry.Name, new Tensor(entry.Shape, data)));
            }
            else
            {
                var data = new long[count];
                for (int i = 0; i < count; i++)
                    data[i] = ElementTypes.ReadInt64(bytes, entry.Type, i);
                integers.Add(new(entry.Name, new IntegerTensor(entry.Shape, data, entry.Type.TorchName())));
            }
        }
        return new StateDict(tensors, integers);
    }

    /// <summary>Validates the header: names, dtypes, shapes, and offsets that tile the data exactly.</summary>
    private static List<Entry> ParseHeader(byte[] header, long dataLength, string source, out IReadOnlyDictionary<string, string> metadata)
    {
        if (header.Length == 0 || header[0] != (byte)'{')
            throw new CheckpointFormatException(source, "the header does not start with '{' (not a safetensors file?)");
        if (!System.Text.Unicode.Utf8.IsValid(header))
            throw new CheckpointFormatException(source, "the header is not valid UTF-8");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException exception)
        {
            throw new CheckpointFormatException(source, $"the header is not valid JSON: {exception.Message}", exception);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new CheckpointFormatException(source, "the header is not a JSON object");
            var names = new HashSet<string>(StringComparer.Ordinal);
            var entries = new List<Entry>();
            var meta = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (!names.Add(property.Name))
                    throw new CheckpointFormatException(source, $"the header names '{property.Name}' twice");
                if (property.Name == MetadataKey)
                {
                    if (property.Value.ValueKind != JsonValueKind.Object)
                        throw new CheckpointFormatException(source, "__metadata__ is not an object of strings");
                    foreach (var item in property.Value.EnumerateObject())
                    {
                        if (item.Value.ValueKind != JsonValueKind.String)
                            throw new CheckpointFormatException(source, $"__metadata__ entry '{item.Name}' is not a string");
                        meta[item.Name] = item.Value.GetString()!;
                    }
                    continue;
                }
                entries.Add(ParseEntry(property.Name, property.Value, source));
            }
            metadata = meta.AsReadOnly();

            // The data must be covered exactly: no overlap, no holes, nothing after the last tensor.
            entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
            long expectedBegin = 0;
            foreach (var entry in entries)
            {
                if (entry.Begin < expectedBegin)
                    throw new CheckpointFormatException(source,
                        $"tensor '{entry.Name}' (bytes {entry.Begin}..{entry.End}) overlaps the previous tensor, which ends at {expectedBegin}");
                if (entry.Begin > expectedBegin)
                    throw new CheckpointFormatException(source,
                        $"tensor '{entry.Name}' starts at byte {entry.Begin}, leaving a hole after byte {expectedBegin}");
                if (entry.End > dataLength)
                    throw new CheckpointFormatException(source,
                        $"tensor '{entry.Name}' ends at byte {entry.End} but the data section has only {dataLength} bytes (truncated file)");
                expectedBegin = entry.End;
            }
            if (expectedBegin != dataLength)
                throw new CheckpointFormatException(source,
                    $"the tensors cover {expectedBegin} bytes but the data section has {dataLength}");
            return entries;
        }
    }

    private static Entry ParseEntry(string name, JsonElement value, string source)
    {
        CheckpointFormatException Bad(string problem) => new(source, $"tensor '{name}' {problem}");

        if (value.ValueKind != JsonValueKind.Object)
            throw Bad("is not described by a JSON object");
        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw Bad("has no \"dtype\" string");
        string dtypeName = dtypeElement.GetString()!;
        if (!TypesByName.TryGetValue(dtypeName, out var type))
            throw Bad($"has the unsupported dtype '{dtypeName}' (supported: {string.Join(", ", TypesByName.Keys)})");

        if (!value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw Bad("has no \"shape\" array");
        var shape = new int[shapeElement.GetArrayLength()];
        int axis = 0;
        foreach (var dimension in shapeElement.EnumerateArray())
        {
            if (dimension.ValueKind != JsonValueKind.Number || !dimension.TryGetInt64(out long size) || size < 0)
                throw Bad($"has a shape entry {dimension.GetRawText()} that is not a non-negative integer");
            if (size > int.MaxValue)
                throw Bad($"has a dimension of {size}, too large");
            shape[axis++] = (int)size;
        }

        if (!value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array ||
            offsets.GetArrayLength() != 2)
            throw Bad("has no \"data_offsets\" pair");
        if (!offsets[0].TryGetInt64(out long begin) || !offsets[1].TryGetInt64(out long end) || begin < 0 || end < begin)
            throw Bad($"has invalid data_offsets {offsets.GetRawText()}");

        long count = 1;
        try
        {
            foreach (int size in shape) count = checked(count * size);
            long bytes = checked(count * type.Size());
            if (bytes != end - begin)
                throw Bad($"has shape {Tensor.FormatShape(shape)} of {dtypeName} ({bytes} bytes) but data_offsets span {end - begin} bytes");
        }
        catch (OverflowException)
        {
            throw Bad($"has shape {Tensor.FormatShape(shape)}, whose size overflows");
        }
        if (end - begin > Array.MaxLength)
            throw Bad($"has {count} elements ({end - begin} bytes), more than can be loaded");
        return new Entry(name, type, shape, begin, end);
    }

    /// <summary>
    /// Writes float tensors as F32 and integer tensors as I64, in ordinal name order, with an optional
    /// <c>__metadata__</c> map.
    /// </summary>
    public static void Write(string path, StateDict tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        Write(stream, tensors, metadata);
    }

    /// <inheritdoc cref="Write(string, StateDict, IReadOnlyDictionary{string, string}?)"/>
    public static void Write(Stream stream, StateDict tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensors);
        var names = tensors.Keys.Concat(tensors.IntegerTensors.Keys).Order(StringComparer.Ordinal).ToList();
        if (names.Contains(MetadataKey))
            throw new ArgumentException($"A tensor cannot be named '{MetadataKey}'.", nameof(tensors));

        var headerBuffer = new MemoryStream();
        // Names are written as they are (not HTML-escaped): the header is read by JSON parsers, not browsers.
        using (var json = new Utf8JsonWriter(headerBuffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata.OrderBy(item => item.Key, StringComparer.Ordinal))
                    json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (string name in names)
            {
                (string dtype, int[] shape, long bytes) = tensors.TryGetValue(name, out var tensor)
                    ? ("F32", tensor.Shape, tensor.ElementCount * 4)
                    : ("I64", tensors.IntegerTensors[name].Shape, tensors.IntegerTensors[name].Data.LongLength * 8);
                json.WriteStartObject(name);
                json.WriteString("dtype", dtype);
                json.WriteStartArray("shape");
                foreach (int dimension in shape) json.WriteNumberValue(dimension);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        // Pad the header with spaces so the data starts 8-byte aligned.
        while (headerBuffer.Length % 8 != 0) headerBuffer.WriteByte((byte)' ');

        Span<byte> size = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(size, (ulong)headerBuffer.Length);
        stream.Write(size);
        headerBuffer.Position = 0;
        headerBuffer.CopyTo(stream);
        foreach (string name in names)
        {
            if (tensors.TryGetValue(name, out var tensor))
                WriteLittleEndian(stream, tensor.Data);
            else
                WriteLittleEndian(stream, tensors.IntegerTensors[name].Data);
        }
        stream.Flush();
    }

    private static void WriteLittleEndian<T>(Stream stream, T[] data) where T : unmanaged
    {
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(data.AsSpan()));
            return;
        }
        var bytes = MemoryMarshal.AsBytes(data.AsSpan()).ToArray();
        ElementTypes.SwapBytes(bytes, Marshal.SizeOf<T>());
        stream.Write(bytes);
    }
}
