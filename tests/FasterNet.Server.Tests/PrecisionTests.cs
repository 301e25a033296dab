using System.Net;
using System.Text.Json.Nodes;
using static FasterNet.Server.Tests.ServerHarness;

namespace FasterNet.Server.Tests;

/// <summary>The per-model "precision" setting: bf16 served over real HTTP, and a bad value refused at start.</summary>
[TestFixture]
public sealed class PrecisionTests
{
    [Test]
    public async Task Bf16ModelAnswersExactlyAsTheLibrarysBf16Model()
    {
        var configuration = new ModelConfiguration { Precision = "bf16", MaxBatchSize = 1 };
        if (!FasterNet.Runtime.CpuFeatures.Contains("avx512bf16"))
        {
            Assert.ThrowsAsync<NotSupportedByRuntimeException>(async () => await (await StartAsync(configuration)).DisposeAsync());
            return;
        }
        await using ServerHarness server = await StartAsync(configuration);
        Assert.That(server.Model().EffectiveSettings["precision"], Is.EqualTo("bf16"));
        float[] input = RandomInput(28 * 28, seed: 3);
        float[] expected, fp32;
        using (var bf16 = DefaultModel.Load(new ModelOptions { Threads = server.Model().ThreadsPerExecutor, Precision = Precision.BFloat16 }))
            expected = bf16.Run(input, 1, 28, 28);
        fp32 = LibraryLogits(server.Model(), input, 1, 28, 28);
        Assert.That(expected, Is.Not.EqualTo(fp32).AsCollection, "bf16 and fp32 logits should differ in the last bits");

        HttpResponseMessage response = await server.PostJsonAsync("/v2/models/fashion-mnist/infer", JsonRequest(input, [1, 1, 28, 28]));
        JsonNode body = await ReadJsonAsync(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        Assert.That(Floats(body["outputs"]![0]!["data"]!), Is.EqualTo(expected).AsCollection);
    }

    [Test]
    public void AnUnknownPrecisionIsRefusedWithItsName()
    {
        var e = Assert.ThrowsAsync<ArgumentException>(async () =>
            await (await StartAsync(new ModelConfiguration { Precision = "fp16" })).DisposeAsync());
        Assert.That(e!.Message, Does.Contain("\"fp16\"").And.Contain("precision"));
    }
}
