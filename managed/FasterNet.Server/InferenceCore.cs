using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using FasterNet.Imaging;
using SkiaSharp;

namespace FasterNet.Server;

/// <summary>An input tensor as a protocol decoded it: FP32 values, or the elements of a BYTES tensor.</summary>
public sealed record InputTensor(string Name, string Datatype, long[] Shape)
{
    public float[]? Floats { get; init; }

    /// <summary>Floats came from the server's input pool and go back to it once the request is done.</summary>
    internal bool Pooled { get; init; }
    public IReadOnlyList<byte[]>? Bytes { get; init; }
}

/// <summary>An output the client asked for; classification k > 0 returns the top k as BYTES "score:index:label".</summary>
public sealed record RequestedOutput(string Name, int Classification = 0, bool? Binary = null);

public sealed record InferenceRequest(string ModelName, string? Id, IReadOnlyList<InputTensor> Inputs,
                                      IReadOnlyList<RequestedOutput>? Outputs, long? TimeoutUs);

/// <summary>An output ready to encode: FP32 values or BYTES elements, with its shape.</summary>
public sealed record OutputTensor(string Name, string Datatype, long[] Shape, float[]? Floats, byte[][]? Bytes,
                                  bool? Binary);

public sealed record InferenceResponse(string ModelName, string? Id, IReadOnlyList<OutputTensor> Outputs);

/// <summary>
/// What REST and gRPC share: turns decoded tensors into one NCHW batch (FP32 "input", or "image" BYTES decoded and
/// preprocessed with the model's own pipeline), runs it through the model's queue, and shapes the outputs.
/// </summary>
public sealed class InferenceCore(IReadOnlyDictionary<string, ServedModel> models, ServerConfiguration configuration)
{
    public IReadOnlyDictionary<string, ServedModel> Models { get; } = models;

    /// <summary>Reused FP32 input arrays; idle ones never hold more than one maximal request body.</summary>
    internal InputArrayPool InputPool { get; } = new(configuration.MaxRequestBodyBytes);

    public ServedModel FindModel(string name, string? version = null)
    {
        if (!Models.TryGetValue(name, out ServedModel? model))
            throw new InferenceException(InferenceErrorKind.NotFound, $"unknown model '{name}'");
        if (!string.IsNullOrEmpty(version) && version != "1")
            throw new InferenceException(InferenceErrorKind.NotFound, $"unknown version '{version}' of model '{name}' (it has version 1)");
        return model;
    }

    public async Task<InferenceResponse> InferAsync(InferenceRequest request, CancellationToken clientGone)
    {
        ServedModel model = FindModel(request.ModelName);
        (float[] data, int n, int h, int w, bool pooled) = BuildInput(model, request.Inputs);
        try
        {
            return await InferAsync(model, request, data, n, h, w, clientGone).ConfigureAwait(false);
        }
        finally
        {
            // The executor is done with the input once the request has its answer (or was never run).
            if (pooled)
                InputPool.Return(data);
        }
    }

    private async Task<InferenceResponse> InferAsync(ServedModel model, InferenceRequest request, float[] data, int n, int h,
                                                     int w, CancellationToken clientGone)
    {
        // Output names are checked before the work is queued.
        IReadOnlyList<RequestedOutput> wanted = request.Outputs is { Count: > 0 } o
            ? o
            : model.Outputs.Select(t => new RequestedOutput(t.Name)).ToList();
        foreach (RequestedOutput r in wanted)
        {
            if (!model.Outputs.Any(t => t.Name == r.Name))
                throw InferenceException.BadRequest(
                    $"unknown output '{r.Name}' (model {model.Name} has {string.Join(", ", model.Outputs.Select(t => t.Name))})");
            if (r.Classification < 0)
                throw InferenceException.BadRequest($"output '{r.Name}': classification must be a positive count, got {r.Classification}");
            if (r.Classification > 0 && model.Spec.Backbone)
                throw InferenceException.BadRequest($"output '{r.Name}': classification needs a classifier, model {model.Name} is a backbone");
        }
        float[][] results = await model.InferAsync(data, n, h, w, request.TimeoutUs, clientGone).ConfigureAwait(false);
        long[][] shapes = model.OutputShapes(n, h, w);
        var outputs = new List<OutputTensor>();
        foreach (RequestedOutput r in wanted)
        {
            int index = model.Outputs.ToList().FindIndex(t => t.Name == r.Name);
            outputs.Add(r.Classification > 0
                ? Classify(r, results[index], n, model)
                : new OutputTensor(r.Name, "FP32", shapes[index], results[index], null, r.Binary));
        }
        return new InferenceResponse(model.Name, request.Id, outputs);
    }

    private static OutputTensor Classify(RequestedOutput r, float[] logits, int batch, ServedModel model)
    {
        int classes = logits.Length / batch;
        int k = Math.Min(r.Classification, classes);
        var elements = new byte[batch * k][];
        for (int n = 0; n < batch; n++)
        {
            Prediction[] top = Classification.TopK(logits.AsSpan(n * classes, classes), k, model.Labels);
            for (int i = 0; i < k; i++)
            {
                // Triton's format: the output value (here the logit), the class index, the label when known.
                float value = logits[n * classes + top[i].ClassIndex];
                string text = string.Create(CultureInfo.InvariantCulture, $"{value:R}:{top[i].ClassIndex}");
                if (top[i].Label is { } label)
                    text += ":" + label;
                elements[n * k + i] = Encoding.UTF8.GetBytes(text);
            }
        }
        return new OutputTensor(r.Name, "BYTES", [batch, k], null, elements, r.Binary);
    }

    private (float[] Data, int N, int H, int W, bool Pooled) BuildInput(ServedModel model, IReadOnlyList<InputTensor> inputs)
    {
        if (inputs.Count != 1)
            throw InferenceException.BadRequest(
                $"expected exactly one input ('{ServedModel.InputName}' FP32 [N, {model.Spec.InChannels}, H, W] or '{ServedModel.ImageInputName}' BYTES [N]), got {inputs.Count}");
        InputTensor t = inputs[0];
        if (t.Name == ServedModel.InputName)
            return TensorInput(model, t);
        if (t.Name == ServedModel.ImageInputName)
            return ImageInput(model, t);
        throw InferenceException.BadRequest(
            $"unknown input '{t.Name}' (model {model.Name} takes '{ServedModel.InputName}' or '{ServedModel.ImageInputName}')");
    }

    private static (float[], int, int, int, bool) TensorInput(ServedModel model, InputTensor t)
    {
        if (t.Datatype != "FP32")
            throw InferenceException.BadRequest($"input '{t.Name}' must be FP32, got {t.Datatype}");
        int c = model.Spec.InChannels;
        if (t.Shape.Length != 4 || t.Shape[1] != c || t.Shape.Any(d => d < 1 || d > int.MaxValue))
            throw InferenceException.BadRequest(
                $"input '{t.Name}' has shape [{string.Join(", ", t.Shape)}], expected [N, {c}, H, W] with positive sizes");
        long count = t.Shape[0] * t.Shape[1] * t.Shape[2] * t.Shape[3];
        float[] data = t.Floats ?? throw InferenceException.BadRequest($"input '{t.Name}' has no data");
        if (data.Length != count)
            throw InferenceException.BadRequest(
                $"input '{t.Name}' has {data.Length} values, its shape [{string.Join(", ", t.Shape)}] needs {count}");
        return (data, (int)t.Shape[0], (int)t.Shape[2], (int)t.Shape[3], t.Pooled);
    }

    private (float[], int, int, int, bool) ImageInput(ServedModel model, InputTensor t)
    {
        if (t.Datatype != "BYTES")
            throw InferenceException.BadRequest($"input '{t.Name}' must be BYTES (encoded JPEG/PNG/WebP images), got {t.Datatype}");
        IReadOnlyList<byte[]> images = t.Bytes ?? throw InferenceException.BadRequest($"input '{t.Name}' has no data");
        if (t.Shape.Length != 1 || t.Shape[0] != images.Count || images.Count == 0)
            throw InferenceException.BadRequest(
                $"input '{t.Name}' has shape [{string.Join(", ", t.Shape)}] and {images.Count} element(s); expected [N] with N >= 1 images");
        if (images.Count > model.Configuration.MaxBatchSize)
            throw InferenceException.BadRequest(
                $"the request's batch of {images.Count} exceeds max_batch_size {model.Configuration.MaxBatchSize} of model {model.Name}");
        Preprocessor pre = model.Preprocessor;
        int per = pre.ValuesPerImage;
        float[] data = InputPool.Rent(images.Count * per); // every value is written below
        for (int i = 0; i < images.Count; i++)
        {
            string element = $"{t.Name}[{i}]";
            CheckImageHeader(images[i], element);
            PixelImage decoded;
            try
            {
                decoded = ImageDecoder.Decode(images[i], element);
            }
            catch (ImageFormatException e)
            {
                throw InferenceException.BadRequest($"{e.Message}");
            }
            pre.ProcessInto(decoded, data.AsSpan(i * per, per));
        }
        return (data, images.Count, pre.Options.Size, pre.Options.Size, true);
    }

    /// <summary>Reads only the image header and refuses sizes beyond the limit before any pixel is decoded.</summary>
    private void CheckImageHeader(byte[] encoded, string element)
    {
        if (encoded.Length == 0)
            throw InferenceException.BadRequest($"image {element} is empty");
        using SKCodec? codec = SKCodec.Create(new SKMemoryStream(encoded), out _);
        if (codec is null)
            throw InferenceException.BadRequest($"image {element} is not a decodable JPEG, PNG, WebP, BMP or GIF (header unreadable)");
        long pixels = (long)codec.Info.Width * codec.Info.Height;
        if (pixels > configuration.MaxImagePixels)
            throw InferenceException.BadRequest(
                $"image {element} is {codec.Info.Width}x{codec.Info.Height}, more than the server's limit of {configuration.MaxImagePixels} pixels (refused before decoding)");
    }

    /// <summary>Little-endian FP32 bytes (binary extension, gRPC raw contents) to floats, in a pooled array when a pool is given.</summary>
    internal static float[] FloatsFromBytes(ReadOnlySpan<byte> raw, string name, InputArrayPool? pool = null)
    {
        if (raw.Length % 4 != 0)
            throw InferenceException.BadRequest($"input '{name}': {raw.Length} bytes is not a whole number of FP32 values");
        float[] values = pool?.Rent(raw.Length / 4) ?? new float[raw.Length / 4];
        if (BitConverter.IsLittleEndian)
            raw.CopyTo(MemoryMarshal.AsBytes(values.AsSpan()));
        else
            for (int i = 0; i < values.Length; i++)
                values[i] = BinaryPrimitives.ReadSingleLittleEndian(raw[(i * 4)..]);
        return values;
    }

    /// <summary>BYTES elements in Triton's binary layout: each a 4-byte little-endian length, then the bytes.</summary>
    public static List<byte[]> BytesElements(ReadOnlySpan<byte> raw, string name)
    {
        var elements = new List<byte[]>();
        while (!raw.IsEmpty)
        {
            if (raw.Length < 4)
                throw InferenceException.BadRequest($"input '{name}': BYTES element {elements.Count} has a truncated length prefix");
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(raw);
            if (length > raw.Length - 4)
                throw InferenceException.BadRequest(
                    $"input '{name}': BYTES element {elements.Count} claims {length} bytes, only {raw.Length - 4} remain");
            elements.Add(raw.Slice(4, (int)length).ToArray());
            raw = raw[(4 + (int)length)..];
        }
        return elements;
    }

    public static byte[] EncodeBytesElements(byte[][] elements)
    {
        var buffer = new byte[elements.Sum(e => 4 + e.Length)];
        int offset = 0;
        foreach (byte[] e in elements)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(offset), (uint)e.Length);
            e.CopyTo(buffer, offset + 4);
            offset += 4 + e.Length;
        }
        return buffer;
    }
}
