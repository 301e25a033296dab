using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using static FasterNet.Server.Tests.ServerHarness;

namespace FasterNet.Server.Tests;

/// <summary>Request limits: body size (also after decompression), image size from the header, slow clients.</summary>
[TestFixture]
public sealed class LimitsTests
{
    private const long BodyLimit = 64 * 1024;
    private ServerHarness _server = null!;

    [OneTimeSetUp]
    public async Task Start() => _server = await StartAsync(adjust: c => c with
    {
        MaxRequestBodyBytes = BodyLimit,
        MaxImagePixels = 500,
        RequestHeadersTimeoutSeconds = 1,
    });

    [OneTimeTearDown]
    public async Task Stop() => await _server.DisposeAsync();

    [Test]
    public async Task ABodyOverTheLimitIs413()
    {
        var content = new ByteArrayContent(new byte[BodyLimit + 1]);
        HttpResponseMessage response = await _server.Http.PostAsync("/v2/models/fashion-mnist/infer", content);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
    }

    [Test]
    public async Task AGzipBodyThatInflatesOverTheLimitIs413()
    {
        var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            gzip.Write(new byte[BodyLimit * 16]);
        Assert.That(compressed.Length, Is.LessThan(BodyLimit), "the compressed body itself is allowed");
        var content = new ByteArrayContent(compressed.ToArray());
        content.Headers.Add("Content-Encoding", "gzip");
        HttpResponseMessage response = await _server.Http.PostAsync("/v2/models/fashion-mnist/infer", content);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        Assert.That((await ReadJsonAsync(response))["error"]!.GetValue<string>(), Does.Contain("after decompression"));
    }

    [Test]
    public async Task ACorruptGzipBodyIs400()
    {
        var content = new ByteArrayContent([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
        content.Headers.Add("Content-Encoding", "gzip");
        HttpResponseMessage response = await _server.Http.PostAsync("/v2/models/fashion-mnist/infer", content);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [Test]
    public async Task AnImageLargerThanTheLimitIsRefusedFromItsHeader()
    {
        byte[] png = GrayPng(28, 28, seed: 40); // 784 pixels > 500
        var json = new JsonObject
        {
            ["inputs"] = new JsonArray(new JsonObject
            {
                ["name"] = "image", ["datatype"] = "BYTES", ["shape"] = new JsonArray(1),
                ["data"] = new JsonArray(Convert.ToBase64String(png)),
            }),
        };
        HttpResponseMessage response = await _server.PostJsonAsync("/v2/models/fashion-mnist/infer", json);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await ReadJsonAsync(response))["error"]!.GetValue<string>(),
            Does.Contain("image[0] is 28x28").And.Contain("before decoding"));
    }

    [Test]
    public async Task AClientThatNeverFinishesItsHeadersIsDisconnected()
    {
        using var client = new TcpClient();
        await client.ConnectAsync(_server.Server.HttpAddress.Host, _server.Server.HttpAddress.Port);
        NetworkStream stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("POST /v2/models/fashion-mnist/infer HTTP/1.1\r\nHost: x\r\n"));
        var buffer = new byte[4096];
        using var giveUp = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        int total = 0, read;
        // The server answers 408 and/or closes; either way the connection ends without the client finishing.
        while ((read = await stream.ReadAsync(buffer.AsMemory(total), giveUp.Token)) > 0)
            total += read;
        string answer = Encoding.ASCII.GetString(buffer, 0, total);
        Assert.That(answer, Is.Empty.Or.Contains("408"));
        Assert.That((await _server.Http.GetAsync("/v2/health/live")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }
}
