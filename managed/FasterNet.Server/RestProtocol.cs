using System.Buffers;
using System.Globalization;
using System.IO.Compression;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace FasterNet.Server;

/// <summary>
/// The REST side of the protocol: request bodies (JSON, Triton's binary tensor extension, gzip/deflate) to
/// <see cref="InferenceRequest"/>, and responses back to JSON or JSON + binary.
/// </summary>
internal static class RestProtocol
{
    public const string HeaderLengthName = "Inference-Header-Content-Length";

    // A JSON header beyond this carries tensor data in JSON: parsed off the socket thread (see LeaveSocketThread).
    private const int LargeJsonHeaderBytes = 64 * 1024;

    /// <summary>The body, decompressed, refused beyond <paramref name="limit"/> bytes (413) either way.</summary>
    public static async Task<byte[]> ReadBodyAsync(HttpRequest request, long limit, CancellationToken token)
    {
        string? encoding = request.Headers.ContentEncoding;
        Func<Stream, Stream>? decompressor = encoding?.Trim().ToLowerInvariant() switch
        {
            null or "" or "identity" => null,
            "gzip" => raw => new GZipStream(raw, CompressionMode.Decompress),
            "deflate" => raw => new ZLibStream(raw, CompressionMode.Decompress),
            _ => throw new InferenceException(InferenceErrorKind.BadRequest,
                $"unsupported Content-Encoding '{encoding}' (gzip, deflate or none)"),
        };
        byte[] body;
        if (request.ContentLength is { } length && length <= limit)
        {
            // Known length: one array of that size, no regrowing copies.
            body = new byte[length];
            await request.Body.ReadExactlyAsync(body, token).ConfigureAwait(false);
        }
        else
        {
            body = await ReadAllAsync(request.Body, limit, afterDecompression: false, token).ConfigureAwait(false);
        }
        await LeaveSocketThread();
        if (decompressor is null)
            return body;
        try
        {
            using Stream decompressed = decompressor(new MemoryStream(body, writable: false));
            return await ReadAllAsync(decompressed, limit, afterDecompression: true, token).ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            throw InferenceException.BadRequest($"the {encoding} body is corrupt: {e.Message}");
        }
    }

    private static async Task<byte[]> ReadAllAsync(Stream source, long limit, bool afterDecompression, CancellationToken token)
    {
        using var buffer = new MemoryStream();
        byte[] chunk = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            int read;
            while ((read = await source.ReadAsync(chunk, token).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > limit)
                    throw new InferenceException(InferenceErrorKind.PayloadTooLarge,
                        $"the request body is larger than the server's limit of {limit} bytes" +
                        (afterDecompression ? " (after decompression)" : ""));
                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
        return buffer.ToArray();
    }

    /// <summary>
    /// Continues on the thread pool. With <see cref="ServerConfiguration.ReadRequestsOnSocketThread"/> a request's reads
    /// resume on the socket thread that received the bytes, which also serves other connections: CPU-heavy steps
    /// (decompression, JSON tensors, image decoding) run after this, so they never hold up another client's I/O.
    /// </summary>
    private static YieldAwaitable LeaveSocketThread() => Task.Yield();

    /// <summary>A whole body (JSON, or JSON header + binary inputs) to a request; the fallback for compressed bodies.</summary>
    public static (InferenceRequest Request, bool BinaryOutput) ParseInfer(string modelName, byte[] body, string? headerLengthText,
                                                                           InputArrayPool? pool = null)
    {
        int headerLength = HeaderLength(headerLengthText, body.Length);
        InferHeader header = ParseHeader(modelName, body.AsMemory(0, headerLength), body.Length - headerLength);
        int offset = headerLength;
        for (int i = 0; i < header.Inputs.Count; i++)
        {
            if (header.BinarySizes[i] is not { } size)
                continue;
            InputTensor t = header.Inputs[i];
            ReadOnlySpan<byte> raw = body.AsSpan(offset, (int)size);
            offset += (int)size;
            header.Inputs[i] = t.Datatype == "FP32"
                ? t with { Floats = InferenceCore.FloatsFromBytes(raw, t.Name, pool), Pooled = pool is not null }
                : t with { Bytes = InferenceCore.BytesElements(raw, t.Name) };
        }
        return header.ToRequest();
    }

    /// <summary>
    /// Reads and parses an infer request. A plain binary-tensor body of known length (tritonclient's usual request)
    /// is read in place: the JSON header first, then each binary input straight into its (pooled) FP32 array, one
    /// copy from the connection. Anything else (compressed, chunked, JSON only) is read whole first.
    /// </summary>
    public static async Task<(InferenceRequest Request, bool BinaryOutput)> ReadInferAsync(
        HttpRequest request, string modelName, long limit, InputArrayPool pool, CancellationToken token)
    {
        string? headerLengthText = request.Headers[HeaderLengthName].FirstOrDefault();
        string? encoding = request.Headers.ContentEncoding;
        if (headerLengthText is null || request.ContentLength is not { } length || length > Math.Min(limit, int.MaxValue) ||
            !(string.IsNullOrWhiteSpace(encoding) || encoding.Trim().Equals("identity", StringComparison.OrdinalIgnoreCase)))
        {
            byte[] body = await ReadBodyAsync(request, limit, token).ConfigureAwait(false);
            return ParseInfer(modelName, body, headerLengthText, pool);
        }
        PipeReader reader = request.BodyReader;
        int headerLength = HeaderLength(headerLengthText, length);
        var json = new byte[headerLength];
        await ReadExactlyAsync(reader, json, headerLength, token).ConfigureAwait(false);
        if (headerLength > LargeJsonHeaderBytes)
            await LeaveSocketThread();
        InferHeader header = ParseHeader(modelName, json, length - headerLength);
        for (int i = 0; i < header.Inputs.Count; i++)
        {
            if (header.BinarySizes[i] is not { } size)
                continue;
            InputTensor t = header.Inputs[i];
            if (t.Datatype == "FP32")
            {
                float[] values = pool.Rent((int)(size / 4));
                await ReadExactlyAsync(reader, values, (int)size, token).ConfigureAwait(false);
                header.Inputs[i] = t with { Floats = values, Pooled = true };
            }
            else
            {
                var raw = new byte[size];
                await ReadExactlyAsync(reader, raw, (int)size, token).ConfigureAwait(false);
                header.Inputs[i] = t with { Bytes = InferenceCore.BytesElements(raw, t.Name) };
            }
        }
        if (header.Inputs.Exists(t => t.Datatype != "FP32"))
            await LeaveSocketThread(); // images are decoded next
        return header.ToRequest();
    }

    private static int HeaderLength(string? headerLengthText, long bodyLength)
    {
        if (headerLengthText is null)
            return (int)bodyLength;
        if (!int.TryParse(headerLengthText, NumberStyles.None, CultureInfo.InvariantCulture, out int headerLength) ||
            headerLength > bodyLength)
            throw InferenceException.BadRequest(
                $"{HeaderLengthName} is '{headerLengthText}', expected a byte count of at most the body's {bodyLength}");
        return headerLength;
    }

    /// <summary>Fills the first <paramref name="byteCount"/> bytes of <paramref name="target"/> (a byte[] or float[]) from the body.</summary>
    private static async ValueTask ReadExactlyAsync(PipeReader reader, Array target, int byteCount, CancellationToken token)
    {
        int filled = 0;
        while (filled < byteCount)
        {
            ReadResult result = await reader.ReadAsync(token).ConfigureAwait(false);
            filled += CopyOut(reader, result.Buffer, target, filled, byteCount);
            if (filled < byteCount && (result.IsCompleted || result.IsCanceled))
                throw InferenceException.BadRequest($"the body ended {byteCount - filled} bytes short of its announced length");
        }
    }

    private static int CopyOut(PipeReader reader, ReadOnlySequence<byte> buffer, Array target, int filled, int byteCount)
    {
        Span<byte> destination = target is float[] floats ? MemoryMarshal.AsBytes(floats.AsSpan()) : ((byte[])target).AsSpan();
        int take = (int)Math.Min(buffer.Length, byteCount - filled);
        buffer.Slice(0, take).CopyTo(destination.Slice(filled, take));
        reader.AdvanceTo(buffer.GetPosition(take));
        return take;
    }

    /// <summary>A request's JSON part parsed: binary inputs have no data yet, only their sizes (in body order).</summary>
    private sealed record InferHeader(string ModelName, string? Id, List<InputTensor> Inputs, long?[] BinarySizes,
                                      List<RequestedOutput>? Outputs, long? Timeout, bool BinaryOutput)
    {
        public (InferenceRequest, bool) ToRequest() =>
            (new InferenceRequest(ModelName, Id, Inputs, Outputs, Timeout), BinaryOutput);
    }

    /// <summary>Parses the JSON header; <paramref name="binaryBytes"/> follow it, and the binary_data_size values must add up to them.</summary>
    private static InferHeader ParseHeader(string modelName, ReadOnlyMemory<byte> json, long binaryBytes)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw InferenceException.BadRequest($"the request is not valid JSON: {e.Message}");
        }
        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw InferenceException.BadRequest("the request must be a JSON object");
            string? id = root.TryGetProperty("id", out JsonElement idElement)
                ? idElement.ValueKind == JsonValueKind.String ? Utf8(idElement, "'id'")
                  : throw InferenceException.BadRequest("'id' must be a string")
                : null;
            long? timeout = null;
            bool? binaryOutput = null;
            if (root.TryGetProperty("parameters", out JsonElement parameters))
            {
                RequireObject(parameters, "parameters");
                if (parameters.TryGetProperty("timeout", out JsonElement t))
                    timeout = t.ValueKind == JsonValueKind.Number && t.TryGetInt64(out long us) ? us
                        : throw InferenceException.BadRequest("parameter 'timeout' must be an integer (microseconds)");
                if (parameters.TryGetProperty("binary_data_output", out JsonElement b))
                    binaryOutput = Bool(b, "binary_data_output");
            }
            if (!root.TryGetProperty("inputs", out JsonElement inputsElement) || inputsElement.ValueKind != JsonValueKind.Array)
                throw InferenceException.BadRequest("the request needs an 'inputs' array");
            var inputs = new List<InputTensor>();
            var binarySizes = new List<long?>();
            long binaryLeft = binaryBytes;
            foreach (JsonElement input in inputsElement.EnumerateArray())
            {
                inputs.Add(ParseInput(input, ref binaryLeft, out long? binarySize));
                binarySizes.Add(binarySize);
            }
            if (binaryLeft != 0)
                throw InferenceException.BadRequest(
                    $"the body has {binaryLeft} bytes after the inputs' binary data (binary_data_size values do not add up)");
            List<RequestedOutput>? outputs = null;
            if (root.TryGetProperty("outputs", out JsonElement outputsElement))
            {
                if (outputsElement.ValueKind != JsonValueKind.Array)
                    throw InferenceException.BadRequest("'outputs' must be an array");
                outputs = outputsElement.EnumerateArray().Select(o => ParseOutput(o, binaryOutput)).ToList();
            }
            return new InferHeader(modelName, id, inputs, binarySizes.ToArray(), outputs, timeout, binaryOutput ?? false);
        }
    }

    /// <summary>An input from the JSON header: with its data when inline, without it (and its size) when binary.</summary>
    private static InputTensor ParseInput(JsonElement input, ref long binaryLeft, out long? binarySize)
    {
        RequireObject(input, "an input");
        string name = String(input, "name", "an input");
        string datatype = String(input, "datatype", $"input '{name}'");
        if (!input.TryGetProperty("shape", out JsonElement shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw InferenceException.BadRequest($"input '{name}' needs a 'shape' array");
        long[] shape = shapeElement.EnumerateArray().Select(d =>
            d.ValueKind == JsonValueKind.Number && d.TryGetInt64(out long v) && v >= 0 ? v
                : throw InferenceException.BadRequest($"input '{name}': shape entries must be non-negative integers")).ToArray();
        binarySize = null;
        if (input.TryGetProperty("parameters", out JsonElement p))
        {
            RequireObject(p, $"input '{name}' parameters");
            if (p.TryGetProperty("binary_data_size", out JsonElement size))
                binarySize = size.ValueKind == JsonValueKind.Number && size.TryGetInt64(out long s) && s >= 0 ? s
                    : throw InferenceException.BadRequest($"input '{name}': binary_data_size must be a non-negative integer");
        }
        if (binarySize is { } byteCount)
        {
            if (input.TryGetProperty("data", out _))
                throw InferenceException.BadRequest($"input '{name}' has both 'data' and binary_data_size");
            if (byteCount > binaryLeft)
                throw InferenceException.BadRequest(
                    $"input '{name}': binary_data_size {byteCount} exceeds the {binaryLeft} bytes left in the body");
            binaryLeft -= byteCount;
            if (datatype is not ("FP32" or "BYTES"))
                throw InferenceException.BadRequest($"input '{name}': datatype {datatype} is not supported (FP32 or BYTES)");
            if (datatype == "FP32" && byteCount % 4 != 0)
                throw InferenceException.BadRequest($"input '{name}': {byteCount} bytes is not a whole number of FP32 values");
            return new InputTensor(name, datatype, shape);
        }
        if (!input.TryGetProperty("data", out JsonElement data))
            throw InferenceException.BadRequest($"input '{name}' has neither 'data' nor binary_data_size");
        if (datatype == "FP32")
        {
            var values = new List<float>();
            Flatten(data, name, values, 0);
            return new InputTensor(name, datatype, shape) { Floats = values.ToArray() };
        }
        if (datatype == "BYTES")
        {
            // JSON cannot carry raw bytes: each element is a base64 string.
            var elements = new List<JsonElement>();
            FlattenElements(data, elements, 0);
            var bytes = elements.Select((e, i) =>
            {
                if (e.ValueKind != JsonValueKind.String)
                    throw InferenceException.BadRequest($"input '{name}': BYTES element {i} must be a base64 string");
                try
                {
                    return Convert.FromBase64String(Utf8(e, $"input '{name}': BYTES element {i}"));
                }
                catch (FormatException)
                {
                    throw InferenceException.BadRequest($"input '{name}': BYTES element {i} is not valid base64");
                }
            }).ToList();
            return new InputTensor(name, datatype, shape) { Bytes = bytes };
        }
        throw InferenceException.BadRequest($"input '{name}': datatype {datatype} is not supported (FP32 or BYTES)");
    }

    private static void Flatten(JsonElement e, string name, List<float> values, int depth)
    {
        if (depth > 8)
            throw InferenceException.BadRequest($"input '{name}': 'data' is nested too deeply");
        if (e.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement item in e.EnumerateArray())
                Flatten(item, name, values, depth + 1);
        }
        else if (e.ValueKind == JsonValueKind.Number && e.TryGetSingle(out float v))
        {
            values.Add(v);
        }
        else
        {
            throw InferenceException.BadRequest(
                $"input '{name}': element {values.Count} of 'data' is {e.ValueKind.ToString().ToLowerInvariant()}, expected an FP32 number");
        }
    }

    private static void FlattenElements(JsonElement e, List<JsonElement> elements, int depth)
    {
        if (e.ValueKind == JsonValueKind.Array && depth <= 8)
            foreach (JsonElement item in e.EnumerateArray())
                FlattenElements(item, elements, depth + 1);
        else
            elements.Add(e);
    }

    private static RequestedOutput ParseOutput(JsonElement output, bool? binaryDefault)
    {
        RequireObject(output, "an output");
        string name = String(output, "name", "an output");
        int classification = 0;
        bool? binary = binaryDefault;
        if (output.TryGetProperty("parameters", out JsonElement p))
        {
            RequireObject(p, $"output '{name}' parameters");
            if (p.TryGetProperty("classification", out JsonElement c))
                classification = c.ValueKind == JsonValueKind.Number && c.TryGetInt32(out int k) ? k
                    : throw InferenceException.BadRequest($"output '{name}': classification must be an integer");
            if (p.TryGetProperty("binary_data", out JsonElement b))
                binary = Bool(b, "binary_data");
        }
        return new RequestedOutput(name, classification, binary);
    }

    private static void RequireObject(JsonElement e, string what)
    {
        if (e.ValueKind != JsonValueKind.Object)
            throw InferenceException.BadRequest($"{what} must be a JSON object");
    }

    private static string String(JsonElement e, string property, string what) =>
        e.TryGetProperty(property, out JsonElement v) && v.ValueKind == JsonValueKind.String
            ? Utf8(v, $"{what}: '{property}'")
            : throw InferenceException.BadRequest($"{what} needs a string '{property}'");

    // JsonDocument checks UTF-8 only when a string is read: invalid bytes are the client's error (400).
    private static string Utf8(JsonElement value, string what)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw InferenceException.BadRequest($"{what} is not valid UTF-8");
        }
    }

    private static bool Bool(JsonElement e, string name) => e.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw InferenceException.BadRequest($"parameter '{name}' must be true or false"),
    };

    /// <summary>Writes the response: JSON alone, or JSON header + binary outputs (with Inference-Header-Content-Length).</summary>
    public static async Task WriteInferResponseAsync(HttpResponse http, InferenceResponse response, bool binaryDefault)
    {
        var header = new ArrayBufferWriter<byte>();
        var binary = new List<byte[]>();
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            json.WriteString("model_name", response.ModelName);
            json.WriteString("model_version", "1");
            if (response.Id is not null)
                json.WriteString("id", response.Id);
            json.WriteStartArray("outputs");
            foreach (OutputTensor o in response.Outputs)
            {
                json.WriteStartObject();
                json.WriteString("name", o.Name);
                json.WriteString("datatype", o.Datatype);
                json.WriteStartArray("shape");
                foreach (long d in o.Shape)
                    json.WriteNumberValue(d);
                json.WriteEndArray();
                if (o.Binary ?? binaryDefault)
                {
                    byte[] raw = o.Floats is { } f
                        ? MemoryMarshal.AsBytes(f.AsSpan()).ToArray()
                        : InferenceCore.EncodeBytesElements(o.Bytes!);
                    binary.Add(raw);
                    json.WriteStartObject("parameters");
                    json.WriteNumber("binary_data_size", raw.Length);
                    json.WriteEndObject();
                }
                else
                {
                    json.WriteStartArray("data");
                    if (o.Floats is { } floats)
                        foreach (float v in floats)
                            WriteFloat(json, v);
                    else
                        foreach (byte[] b in o.Bytes!)
                            json.WriteStringValue(Encoding.UTF8.GetString(b));
                    json.WriteEndArray();
                }
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        http.StatusCode = 200;
        if (binary.Count == 0)
        {
            http.ContentType = "application/json";
            http.ContentLength = header.WrittenCount;
            await http.Body.WriteAsync(header.WrittenMemory).ConfigureAwait(false);
            return;
        }
        http.ContentType = "application/octet-stream";
        http.Headers[HeaderLengthName] = header.WrittenCount.ToString(CultureInfo.InvariantCulture);
        http.ContentLength = header.WrittenCount + binary.Sum(b => (long)b.Length);
        await http.Body.WriteAsync(header.WrittenMemory).ConfigureAwait(false);
        foreach (byte[] b in binary)
            await http.Body.WriteAsync(b).ConfigureAwait(false);
    }

    /// <summary>Shortest text that parses back to the same float; NaN and infinities as Triton's JSON strings.</summary>
    private static void WriteFloat(Utf8JsonWriter json, float v)
    {
        if (float.IsFinite(v))
            json.WriteRawValue(v.ToString("R", CultureInfo.InvariantCulture), skipInputValidation: true);
        else
            json.WriteStringValue(float.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
    }

    private static readonly JsonSerializerOptions ErrorJson =
        new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static async Task WriteErrorAsync(HttpResponse http, int status, string message)
    {
        if (http.HasStarted)
            return;
        http.StatusCode = status;
        http.ContentType = "application/json";
        await http.WriteAsync(JsonSerializer.Serialize(new { error = message }, ErrorJson)).ConfigureAwait(false);
    }
}
