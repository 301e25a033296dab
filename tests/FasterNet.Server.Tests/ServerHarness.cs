using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FasterNet.Server;
using SkiaSharp;

namespace FasterNet.Server.Tests;

/// <summary>A real server on 127.0.0.1 (ephemeral ports) and helpers to talk to it as a client would.</summary>
internal sealed class ServerHarness : IAsyncDisposable
{
    private ServerHarness(InferenceServer server)
    {
        Server = server;
        Http = new HttpClient { BaseAddress = server.HttpAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public InferenceServer Server { get; }
    public HttpClient Http { get; }

    public static async Task<ServerHarness> StartAsync(ModelConfiguration? model = null,
                                                       Func<ServerConfiguration, ServerConfiguration>? adjust = null)
    {
        var configuration = new ServerConfiguration
        {
            HttpPort = 0,
            GrpcPort = 0,
            Models = [model ?? new ModelConfiguration()],
        };
        if (adjust is not null)
            configuration = adjust(configuration);
        return new ServerHarness(await InferenceServer.StartAsync(configuration));
    }

    public ServedModel Model(string name = DefaultModel.Name) => Server.Models[name];

    /// <summary>The library's own answer for the same input, with the executor's thread count.</summary>
    public static float[] LibraryLogits(ServedModel served, float[] input, int batch, int height, int width)
    {
        using FasterNetModel model = served.Configuration.Variant is null
            ? DefaultModel.Load(new ModelOptions { Threads = served.ThreadsPerExecutor })
            : FasterNetModel.CreateRandom(ModelSpec.FromName(served.Configuration.Variant), 0,
                                          new ModelOptions { Threads = served.ThreadsPerExecutor });
        return model.Run(input, batch, height, width);
    }

    public static float[] RandomInput(int count, int seed)
    {
        var random = new Random(seed);
        var data = new float[count];
        for (int i = 0; i < data.Length; i++)
            data[i] = (float)(random.NextDouble() * 4 - 2);
        return data;
    }

    public static JsonObject JsonRequest(float[] input, long[] shape, string? id = null, JsonObject? parameters = null,
                                         JsonArray? outputs = null)
    {
        var request = new JsonObject
        {
            ["inputs"] = new JsonArray(new JsonObject
            {
                ["name"] = "input",
                ["datatype"] = "FP32",
                ["shape"] = new JsonArray(shape.Select(d => (JsonNode)d).ToArray()),
                ["data"] = new JsonArray(input.Select(v => (JsonNode)v).ToArray()),
            }),
        };
        if (id is not null)
            request["id"] = id;
        if (parameters is not null)
            request["parameters"] = parameters;
        if (outputs is not null)
            request["outputs"] = outputs;
        return request;
    }

    public Task<HttpResponseMessage> PostJsonAsync(string path, JsonNode body, CancellationToken token = default) =>
        new Client(Http).PostJsonAsync(path, body, token);

    /// <summary>Posts JSON bodies with any HttpClient (also one talking to a server in another process).</summary>
    public sealed class Client(HttpClient http)
    {
        public Task<HttpResponseMessage> PostJsonAsync(string path, JsonNode body, CancellationToken token = default) =>
            http.PostAsync(path, new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"), token);
    }

    /// <summary>Triton's binary tensor body: the JSON header, then the raw bytes of each input in order.</summary>
    public static ByteArrayContent BinaryBody(JsonObject header, params byte[][] tensors)
    {
        byte[] json = Encoding.UTF8.GetBytes(header.ToJsonString());
        byte[] body = json.Concat(tensors.SelectMany(t => t)).ToArray();
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.Add("Inference-Header-Content-Length", json.Length.ToString());
        return content;
    }

    public static byte[] Bytes(float[] values) => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    public static float[] Floats(JsonNode data) => data.AsArray().Select(v => v!.GetValue<float>()).ToArray();

    public static async Task<JsonNode> ReadJsonAsync(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

    /// <summary>A gray PNG of the given size, from seeded pixels.</summary>
    public static byte[] GrayPng(int width, int height, int seed)
    {
        var random = new Random(seed);
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
        var pixels = new byte[width * height];
        random.NextBytes(pixels);
        Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        using SKData data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    public async Task<long> StatAsync(string model, string field)
    {
        JsonNode stats = await ReadJsonAsync(await Http.GetAsync($"/v2/models/{model}/stats"));
        return stats["model_stats"]![0]![field]!.GetValue<long>();
    }

    public static async Task Eventually(Func<Task<bool>> condition, string what)
    {
        for (int i = 0; i < 600; i++)
        {
            if (await condition())
                return;
            await Task.Delay(50);
        }
        Assert.Fail($"timed out waiting for: {what}");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (ServedModel m in Server.Models.Values)
            m.ExecutorGate?.Set();
        Http.Dispose();
        await Server.DisposeAsync();
    }
}
