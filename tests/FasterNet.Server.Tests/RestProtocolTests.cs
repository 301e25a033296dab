using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using FasterNet.Imaging;
using static FasterNet.Server.Tests.ServerHarness;

namespace FasterNet.Server.Tests;

/// <summary>
/// Every REST endpoint over real HTTP, with results compared bit for bit with the library API; once with request reads
/// on the socket thread (the default) and once through the thread pool.
/// </summary>
[TestFixture(true)]
[TestFixture(false)]
public sealed class RestProtocolTests(bool readRequestsOnSocketThread)
{
    private ServerHarness _server = null!;

    [OneTimeSetUp]
    public async Task Start() => _server = await StartAsync(new ModelConfiguration { MaxBatchSize = 4 },
        c => c with { ReadRequestsOnSocketThread = readRequestsOnSocketThread });

    [OneTimeTearDown]
    public async Task Stop() => await _server.DisposeAsync();

    [Test]
    public async Task HealthEndpointsAnswer200OnceTheModelIsLoadedAndWarm()
    {
        Assert.That(_server.Model().IsReady, Is.True);
        Assert.That((await _server.Http.GetAsync("/v2/health/live")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await _server.Http.GetAsync("/v2/health/ready")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await _server.Http.GetAsync("/v2/models/fashion-mnist/ready")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await _server.Http.GetAsync("/v2/models/fashion-mnist/versions/1/ready")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await _server.Http.GetAsync("/v2/models/other/ready")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task ServerMetadataNamesTheExtensions()
    {
        JsonNode metadata = await ReadJsonAsync(await _server.Http.GetAsync("/v2"));
        Assert.That(metadata["name"]!.GetValue<string>(), Is.EqualTo("fasternet"));
        var extensions = metadata["extensions"]!.AsArray().Select(e => e!.GetValue<string>()).ToList();
        Assert.That(extensions, Does.Contain("binary_tensor_data").And.Contain("classification").And.Contain("statistics"));
    }

    [Test]
    public async Task ModelMetadataShowsTensorsAndTheEffectiveBatchingSettings()
    {
        JsonNode m = await ReadJsonAsync(await _server.Http.GetAsync("/v2/models/fashion-mnist"));
        Assert.That(m["name"]!.GetValue<string>(), Is.EqualTo("fashion-mnist"));
        Assert.That(m["inputs"]![0]!["name"]!.GetValue<string>(), Is.EqualTo("input"));
        Assert.That(m["inputs"]![0]!["shape"]!.ToJsonString(), Is.EqualTo($"[-1,{DefaultModel.Spec.InChannels},-1,-1]"));
        Assert.That(m["inputs"]![1]!["datatype"]!.GetValue<string>(), Is.EqualTo("BYTES"));
        Assert.That(m["outputs"]![0]!["name"]!.GetValue<string>(), Is.EqualTo("logits"));
        Assert.That(m["outputs"]![0]!["shape"]!.ToJsonString(), Is.EqualTo($"[-1,{DefaultModel.Spec.NumClasses}]"));
        Assert.That(m["parameters"]!["max_batch_size"]!.GetValue<int>(), Is.EqualTo(4));
        Assert.That(m["parameters"]!["max_queue_delay_us"]!.GetValue<long>(), Is.EqualTo(0));
        Assert.That((await _server.Http.GetAsync("/v2/models/fashion-mnist/versions/2")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task JsonInferenceIsBitIdenticalToTheLibraryAndEchoesTheId()
    {
        float[] input = RandomInput(2 * 28 * 28, seed: 1);
        float[] expected = LibraryLogits(_server.Model(), input, 2, 28, 28);
        HttpResponseMessage response = await _server.PostJsonAsync("/v2/models/fashion-mnist/infer",
            JsonRequest(input, [2, 1, 28, 28], id: "request-7"));
        JsonNode body = await ReadJsonAsync(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        Assert.That(body["id"]!.GetValue<string>(), Is.EqualTo("request-7"));
        JsonNode output = body["outputs"]![0]!;
        Assert.That(output["name"]!.GetValue<string>(), Is.EqualTo("logits"));
        Assert.That(output["shape"]!.ToJsonString(), Is.EqualTo("[2,10]"));
        Assert.That(Floats(output["data"]!), Is.EqualTo(expected).AsCollection);
    }

    [Test]
    public async Task NestedJsonDataGivesTheSameAnswerAsFlatData()
    {
        float[] input = RandomInput(28 * 28, seed: 2);
        var nested = new JsonArray(new JsonArray(Enumerable.Range(0, 28).Select(y =>
            (JsonNode)new JsonArray(input.Skip(y * 28).Take(28).Select(v => (JsonNode)v).ToArray())).ToArray()));
        JsonObject request = JsonRequest(input, [1, 1, 28, 28]);
        request["inputs"]![0]!["data"] = new JsonArray(nested);
        JsonNode body = await ReadJsonAsync(await _server.PostJsonAsync("/v2/models/fashion-mnist/versions/1/infer", request));
        Assert.That(Floats(body["outputs"]![0]!["data"]!), Is.EqualTo(LibraryLogits(_server.Model(), input, 1, 28, 28)).AsCollection);
        Assert.That(body.AsObject().ContainsKey("id"), Is.False);
    }

    [TestCase(null)]
    [TestCase("gzip")]
    [TestCase("deflate")]
    public async Task BinaryTensorsInAndOutAreBitIdenticalToTheLibrary(string? encoding)
    {
        float[] input = RandomInput(3 * 28 * 28, seed: 3);
        var header = new JsonObject
        {
            ["inputs"] = new JsonArray(new JsonObject
            {
                ["name"] = "input", ["datatype"] = "FP32", ["shape"] = new JsonArray(3, 1, 28, 28),
                ["parameters"] = new JsonObject { ["binary_data_size"] = input.Length * 4 },
            }),
            ["outputs"] = new JsonArray(new JsonObject { ["name"] = "logits", ["parameters"] = new JsonObject { ["binary_data"] = true } }),
        };
        ByteArrayContent content = BinaryBody(header, Bytes(input));
        if (encoding is not null)
        {
            byte[] raw = await content.ReadAsByteArrayAsync();
            var compressed = new MemoryStream();
            using (Stream z = encoding == "gzip" ? new GZipStream(compressed, CompressionLevel.Fastest, true)
                                                 : new ZLibStream(compressed, CompressionLevel.Fastest, true))
                z.Write(raw);
            var zipped = new ByteArrayContent(compressed.ToArray());
            zipped.Headers.Add("Content-Encoding", encoding);
            zipped.Headers.Add("Inference-Header-Content-Length", content.Headers.GetValues("Inference-Header-Content-Length"));
            content = zipped;
        }
        HttpResponseMessage response = await _server.Http.PostAsync("/v2/models/fashion-mnist/infer", content);
        byte[] body = await response.Content.ReadAsByteArrayAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), Encoding.UTF8.GetString(body));
        int headerLength = int.Parse(response.Headers.GetValues("Inference-Header-Content-Length").Single());
        JsonNode json = JsonNode.Parse(body.AsSpan(0, headerLength))!;
        Assert.That(json["outputs"]![0]!["parameters"]!["binary_data_size"]!.GetValue<int>(), Is.EqualTo(3 * 10 * 4));
        float[] logits = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(body.AsSpan(headerLength)).ToArray();
        Assert.That(logits, Is.EqualTo(LibraryLogits(_server.Model(), input, 3, 28, 28)).AsCollection);
    }

    [Test]
    public async Task ClassificationReturnsTheLibrarysTopKAsScoreIndexLabel()
    {
        float[] input = RandomInput(2 * 28 * 28, seed: 4);
        float[] logits = LibraryLogits(_server.Model(), input, 2, 28, 28);
        var outputs = new JsonArray(new JsonObject { ["name"] = "logits", ["parameters"] = new JsonObject { ["classification"] = 3 } });
        JsonNode body = await ReadJsonAsync(await _server.PostJsonAsync("/v2/models/fashion-mnist/infer",
            JsonRequest(input, [2, 1, 28, 28], outputs: outputs)));
        JsonNode output = body["outputs"]![0]!;
        Assert.That(output["datatype"]!.GetValue<string>(), Is.EqualTo("BYTES"));
        Assert.That(output["shape"]!.ToJsonString(), Is.EqualTo("[2,3]"));
        var entries = output["data"]!.AsArray().Select(e => e!.GetValue<string>().Split(':')).ToList();
        for (int n = 0; n < 2; n++)
        {
            Prediction[] top = Classification.TopK(logits.AsSpan(n * 10, 10), 3, DefaultModel.ClassNames);
            for (int i = 0; i < 3; i++)
            {
                string[] e = entries[n * 3 + i];
                Assert.That(int.Parse(e[1]), Is.EqualTo(top[i].ClassIndex));
                Assert.That(float.Parse(e[0], System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(logits[n * 10 + top[i].ClassIndex]));
                Assert.That(e[2], Is.EqualTo(top[i].Label));
            }
        }
    }

    [Test]
    public async Task EncodedImagesArePreprocessedWithTheModelsOwnPipeline()
    {
        byte[][] images = [GrayPng(28, 28, seed: 5), GrayPng(40, 33, seed: 6)];
        Preprocessor pre = DefaultModel.Preprocessor;
        float[] expectedInput = images.SelectMany(i => pre.Process(ImageDecoder.Decode(i)).Data).ToArray();
        float[] expected = LibraryLogits(_server.Model(), expectedInput, 2, pre.Options.Size, pre.Options.Size);
        var header = new JsonObject
        {
            ["inputs"] = new JsonArray(new JsonObject
            {
                ["name"] = "image", ["datatype"] = "BYTES", ["shape"] = new JsonArray(2),
                ["parameters"] = new JsonObject { ["binary_data_size"] = images.Sum(i => 4 + i.Length) },
            }),
        };
        byte[] elements = images.SelectMany(i => BitConverter.GetBytes(i.Length).Concat(i)).ToArray();
        HttpResponseMessage response = await _server.Http.PostAsync("/v2/models/fashion-mnist/infer", BinaryBody(header, elements));
        JsonNode body = await ReadJsonAsync(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        Assert.That(Floats(body["outputs"]![0]!["data"]!), Is.EqualTo(expected).AsCollection);

        // The same images as base64 strings in plain JSON.
        var json = new JsonObject
        {
            ["inputs"] = new JsonArray(new JsonObject
            {
                ["name"] = "image", ["datatype"] = "BYTES", ["shape"] = new JsonArray(2),
                ["data"] = new JsonArray(images.Select(i => (JsonNode)Convert.ToBase64String(i)).ToArray()),
            }),
        };
        JsonNode viaJson = await ReadJsonAsync(await _server.PostJsonAsync("/v2/models/fashion-mnist/infer", json));
        Assert.That(Floats(viaJson["outputs"]![0]!["data"]!), Is.EqualTo(expected).AsCollection);
    }

    private static readonly (string Name, string Body, int Status, string Reason)[] BadRequests =
    [
        ("malformed JSON", "{\"inputs\": [", 400, "not valid JSON"),
        ("not an object", "[1, 2]", 400, "JSON object"),
        ("no inputs", "{}", 400, "'inputs'"),
        ("wrong datatype", """{"inputs":[{"name":"input","datatype":"INT64","shape":[1,1,2,2],"data":[1,2,3,4]}]}""", 400, "datatype INT64 is not supported"),
        ("size mismatch", """{"inputs":[{"name":"input","datatype":"FP32","shape":[1,1,28,28],"data":[1,2,3]}]}""", 400, "needs 784"),
        ("wrong channels", """{"inputs":[{"name":"input","datatype":"FP32","shape":[1,3,2,2],"data":[1,2,3,4,5,6,7,8,9,10,11,12]}]}""", 400, "expected [N, 1, H, W]"),
        ("string in data", """{"inputs":[{"name":"input","datatype":"FP32","shape":[1,1,1,2],"data":[1,"x"]}]}""", 400, "element 1"),
        ("unknown input", """{"inputs":[{"name":"pixels","datatype":"FP32","shape":[1],"data":[1]}]}""", 400, "unknown input 'pixels'"),
        ("unknown output", """{"inputs":[{"name":"input","datatype":"FP32","shape":[1,1,28,28],"data":[]}],"outputs":[{"name":"probs"}]}""", 400, "784"),
        ("image too small for the network", """{"inputs":[{"name":"input","datatype":"FP32","shape":[1,1,2,2],"data":[1,2,3,4]}]}""", 400, "does not fit"),
        ("batch above max_batch_size", """{"inputs":[{"name":"input","datatype":"FP32","shape":[5,1,1,1],"data":[1,2,3,4,5]}]}""", 400, "max_batch_size"),
        ("undecodable image", """{"inputs":[{"name":"image","datatype":"BYTES","shape":[1],"data":["aGVsbG8="]}]}""", 400, "image[0]"),
        ("bad base64", """{"inputs":[{"name":"image","datatype":"BYTES","shape":[1],"data":["***"]}]}""", 400, "base64"),
        ("negative timeout", """{"parameters":{"timeout":-5},"inputs":[{"name":"input","datatype":"FP32","shape":[1,1,1,1],"data":[1]}]}""", 400, ""),
    ];

    [TestCaseSource(nameof(BadRequests))]
    public async Task BadRequestsGet400WithAReason((string Name, string Body, int Status, string Reason) bad)
    {
        HttpResponseMessage response = await _server.Http.PostAsync("/v2/models/fashion-mnist/infer",
            new StringContent(bad.Body, Encoding.UTF8, "application/json"));
        JsonNode body = await ReadJsonAsync(response);
        Assert.That((int)response.StatusCode, Is.EqualTo(bad.Status), body.ToJsonString());
        Assert.That(body["error"]!.GetValue<string>(), Does.Contain(bad.Reason));
        Assert.That((await _server.Http.GetAsync("/v2/health/live")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task UnknownModelIs404()
    {
        HttpResponseMessage response = await _server.PostJsonAsync("/v2/models/t9/infer", JsonRequest([1f], [1, 1, 1, 1]));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((await ReadJsonAsync(response))["error"]!.GetValue<string>(), Does.Contain("t9"));
    }

    [Test]
    public async Task BinaryDataSizesThatDoNotAddUpAre400()
    {
        var header = new JsonObject
        {
            ["inputs"] = new JsonArray(new JsonObject
            {
                ["name"] = "input", ["datatype"] = "FP32", ["shape"] = new JsonArray(1, 1, 28, 28),
                ["parameters"] = new JsonObject { ["binary_data_size"] = 784 * 4 },
            }),
        };
        HttpResponseMessage response = await _server.Http.PostAsync("/v2/models/fashion-mnist/infer", BinaryBody(header, new byte[100]));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await ReadJsonAsync(response))["error"]!.GetValue<string>(), Does.Contain("binary_data_size"));
    }

    [Test]
    public async Task MetricsUseTritonsNamesAndStatsCountInferences()
    {
        long before = await _server.StatAsync("fashion-mnist", "inference_count");
        float[] input = RandomInput(2 * 28 * 28, seed: 8);
        Assert.That((await _server.PostJsonAsync("/v2/models/fashion-mnist/infer", JsonRequest(input, [2, 1, 28, 28]))).IsSuccessStatusCode);
        Assert.That(await _server.StatAsync("fashion-mnist", "inference_count"), Is.EqualTo(before + 2));
        string metrics = await _server.Http.GetStringAsync("/metrics");
        foreach (string name in new[] { "nv_inference_request_success", "nv_inference_request_failure", "nv_inference_count",
                                        "nv_inference_exec_count", "nv_inference_request_duration_us", "nv_inference_queue_duration_us",
                                        "nv_inference_compute_infer_duration_us", "nv_inference_pending_request_count",
                                        "fasternet_inference_batch_size_bucket" })
            Assert.That(metrics, Does.Contain(name + "{"), name);
        Assert.That(metrics, Does.Contain("nv_inference_count{model=\"fashion-mnist\",version=\"1\"} " + (before + 2)));
    }
}
