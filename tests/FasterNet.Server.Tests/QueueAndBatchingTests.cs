using System.Net;
using System.Text.Json.Nodes;
using static FasterNet.Server.Tests.ServerHarness;

namespace FasterNet.Server.Tests;

/// <summary>
/// Backpressure, deadlines, client disconnects and batching, with the executor held busy through the server's
/// executor gate (the executor has taken a batch and waits there before running it).
/// </summary>
[TestFixture]
public sealed class QueueAndBatchingTests
{
    private static ModelConfiguration Small(int queue = 2, int maxBatch = 1, long delayUs = 0) => new()
    {
        MaxQueueSize = queue,
        MaxBatchSize = maxBatch,
        MaxQueueDelayUs = delayUs,
    };

    private static Task<HttpResponseMessage> Post(ServerHarness server, int seed, JsonObject? parameters = null,
                                                  CancellationToken token = default) =>
        server.PostJsonAsync("/v2/models/fashion-mnist/infer",
            JsonRequest(RandomInput(28 * 28, seed), [1, 1, 28, 28], parameters: parameters), token);

    /// <summary>Holds the executor at the gate with one request taken (running), so later ones stay queued.</summary>
    private static async Task<Task<HttpResponseMessage>> HoldExecutorBusy(ServerHarness server)
    {
        var gate = new ManualResetEventSlim(false);
        server.Model().ExecutorGate = gate;
        Task<HttpResponseMessage> running = Post(server, seed: 100);
        await Eventually(() => Task.FromResult(server.Model().Statistics.Taken == 1 && server.Model().QueueLength == 0),
                         "the executor to take the first request");
        Assert.That(running.IsCompleted, Is.False, "the first request waits at the gate");
        return running;
    }

    [Test]
    public async Task AFullQueueAnswers503WithRetryAfterAtOnce()
    {
        await using ServerHarness server = await StartAsync(Small(queue: 2));
        Task<HttpResponseMessage> running = await HoldExecutorBusy(server);
        Task<HttpResponseMessage>[] queued = [Post(server, 1), Post(server, 2)];
        await Eventually(() => Task.FromResult(server.Model().QueueLength == 2), "two queued requests");

        HttpResponseMessage rejected = await Post(server, 3);
        Assert.That(rejected.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That(rejected.Headers.RetryAfter, Is.Not.Null);
        Assert.That((await ReadJsonAsync(rejected))["error"]!.GetValue<string>(), Does.Contain("queue is full"));

        server.Model().ExecutorGate!.Set();
        foreach (HttpResponseMessage r in await Task.WhenAll(queued.Append(running)))
            Assert.That(r.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        string metrics = await server.Http.GetStringAsync("/metrics");
        Assert.That(metrics, Does.Contain("fasternet_inference_rejected_total{model=\"fashion-mnist\",version=\"1\",reason=\"queue_full\"} 1"));
        // Turned away before its body was read, and still a failed request in Triton's terms.
        Assert.That(metrics, Does.Contain("nv_inference_request_failure{model=\"fashion-mnist\",version=\"1\"} 1"));
        Assert.That(metrics, Does.Contain("nv_inference_request_success{model=\"fashion-mnist\",version=\"1\"} 3"));
        JsonNode stats = await ReadJsonAsync(await server.Http.GetAsync("/v2/models/fashion-mnist/stats"));
        Assert.That(stats["model_stats"]![0]!["inference_stats"]!["fail"]!["count"]!.GetValue<long>(), Is.EqualTo(1));
    }

    [Test]
    public async Task ARequestStillQueuedAtItsDeadlineGets503AndNeverRuns()
    {
        await using ServerHarness server = await StartAsync(Small(queue: 4));
        Task<HttpResponseMessage> running = await HoldExecutorBusy(server);
        HttpResponseMessage expired = await Post(server, 1, new JsonObject { ["timeout"] = 20_000 });
        Assert.That(expired.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That((await ReadJsonAsync(expired))["error"]!.GetValue<string>(), Does.Contain("deadline"));

        server.Model().ExecutorGate!.Set();
        Assert.That((await running).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(server.Model().Statistics.InferenceCount, Is.EqualTo(1), "only the first request ran");
    }

    [Test]
    public async Task AClientThatDisconnectsWhileQueuedIsRemovedAndNeverRuns()
    {
        await using ServerHarness server = await StartAsync(Small(queue: 4));
        Task<HttpResponseMessage> running = await HoldExecutorBusy(server);
        using var leave = new CancellationTokenSource();
        Task<HttpResponseMessage> leaving = Post(server, 1, token: leave.Token);
        await Eventually(() => Task.FromResult(server.Model().QueueLength == 1), "the second request to queue");
        leave.Cancel();
        Assert.That(async () => await leaving, Throws.InstanceOf<OperationCanceledException>());
        await Eventually(() => Task.FromResult(server.Model().Statistics.CancelledInQueue == 1), "the server to notice the client left");
        Assert.That(server.Model().QueueLength, Is.Zero);

        server.Model().ExecutorGate!.Set();
        Assert.That((await running).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        // A later request proves the executor has moved past anything that was queued.
        Assert.That((await Post(server, 2)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(server.Model().Statistics.InferenceCount, Is.EqualTo(2), "the departed client's request never ran");
        Assert.That(server.Model().Statistics.ExecutionCount, Is.EqualTo(2));
    }

    [Test]
    public async Task QueuedRequestsOfTheSameSizeRunAsOneBatchAndEachGetsItsOwnSlice()
    {
        await using ServerHarness server = await StartAsync(Small(queue: 8, maxBatch: 8));
        Task<HttpResponseMessage> running = await HoldExecutorBusy(server);
        float[][] inputs = Enumerable.Range(0, 3).Select(i => RandomInput(28 * 28, 10 + i)).ToArray();
        float[] other = RandomInput(32 * 32, 20);
        // Queued one at a time, so the queue order (and the batch order) is known; a different image size
        // queued second must not join the 28x28 batch.
        var queued = new List<Task<HttpResponseMessage>>();
        foreach ((float[] input, long size) in new[] { (inputs[0], 28L), (other, 32L), (inputs[1], 28L), (inputs[2], 28L) })
        {
            queued.Add(server.PostJsonAsync("/v2/models/fashion-mnist/infer", JsonRequest(input, [1, 1, size, size])));
            int expected = queued.Count;
            await Eventually(() => Task.FromResult(server.Model().QueueLength == expected), $"{expected} queued requests");
        }
        queued = [queued[0], queued[2], queued[3], queued[1]];
        server.Model().ExecutorGate!.Set();
        HttpResponseMessage[] responses = await Task.WhenAll(queued);
        Assert.That((await running).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        // first request alone, then one batch of the three 28x28 requests, then the 32x32 one.
        Assert.That(server.Model().Statistics.ExecutionCount, Is.EqualTo(3));
        Assert.That(server.Model().Statistics.InferenceCount, Is.EqualTo(5));
        float[] batchInput = inputs.SelectMany(i => i).ToArray();
        float[] batched = LibraryLogits(server.Model(), batchInput, 3, 28, 28);
        for (int i = 0; i < 3; i++)
        {
            JsonNode body = await ReadJsonAsync(responses[i]);
            Assert.That(Floats(body["outputs"]![0]!["data"]!), Is.EqualTo(batched.Skip(i * 10).Take(10)).AsCollection,
                "request i's slice of the library's batch-3 run");
        }
        JsonNode last = await ReadJsonAsync(responses[3]);
        Assert.That(Floats(last["outputs"]![0]!["data"]!), Is.EqualTo(LibraryLogits(server.Model(), other, 1, 32, 32)).AsCollection);
    }

    [Test]
    public async Task ConcurrentRequestsOfMixedSizesAndBatchesAllGetTheirOwnAnswers()
    {
        await using ServerHarness server = await StartAsync(Small(queue: 64, maxBatch: 8, delayUs: 2000));
        var cases = Enumerable.Range(0, 24).Select(i =>
        {
            int size = i % 2 == 0 ? 28 : 36, batch = 1 + i % 3;
            return (size, batch, input: RandomInput(batch * size * size, 200 + i));
        }).ToList();
        HttpResponseMessage[] responses = await Task.WhenAll(cases.Select(c => server.PostJsonAsync(
            "/v2/models/fashion-mnist/infer", JsonRequest(c.input, [c.batch, 1, c.size, c.size]))));
        for (int i = 0; i < cases.Count; i++)
        {
            var (size, batch, input) = cases[i];
            Assert.That(responses[i].StatusCode, Is.EqualTo(HttpStatusCode.OK));
            float[] got = Floats((await ReadJsonAsync(responses[i]))["outputs"]![0]!["data"]!);
            float[] alone = LibraryLogits(server.Model(), input, batch, size, size);
            // Batched with others, a request's rows may be summed in another order than alone: within 1e-4.
            Assert.That(got, Is.EqualTo(alone).Within(1e-4f).AsCollection, $"request {i}");
        }
        Assert.That(server.Model().Statistics.InferenceCount, Is.EqualTo(cases.Sum(c => c.batch)));
    }
}
