using FasterNet.Onnx;
using FasterNet.Serialization;

namespace FasterNet.Tests.Onnx;

/// <summary>
/// ONNX Runtime's per-node trace summed per layer of the layer table: the peer side of
/// `fasternet profile --peer onnxruntime`.
/// </summary>
public class OrtNodeProfileTests
{
    private static string Node(string name, long ts, long dur) =>
        $$$"""{"cat":"Node","pid":1,"tid":1,"dur":{{{dur}}},"ts":{{{ts}}},"ph":"X","name":"{{{name}}}_kernel_time","args":{"op_name":"Conv"}}""";

    private static string Run(long ts, long dur) =>
        $$$"""{"cat":"Session","pid":1,"tid":1,"dur":{{{dur}}},"ts":{{{ts}}},"ph":"X","name":"model_run","args":{}}""";

    [Test]
    public void NodesAreSummedPerLayerAndTheMedianRunIsTaken()
    {
        var nodeLayers = new Dictionary<string, string>
        {
            ["a.conv"] = "a", ["a.bn"] = "a", ["b.conv"] = "b",
        };
        // Three runs; "a" = a.conv + a.bn (+ the derived a.conv_nchwc), "b" = b.conv + the ReorderInput after it.
        // Run 0 is skipped (the session's first run).
        string trace = "[" + string.Join(",",
            Run(0, 1000), Node("a.conv", 10, 900), Node("b.conv", 500, 90),
            Run(2000, 100), Node("a.conv", 2001, 10), Node("a.bn", 2011, 5), Node("b.conv", 2020, 20), Node("ReorderInput", 2040, 4),
            Run(3000, 100), Node("a.conv_nchwc", 3001, 30), Node("b.conv", 3040, 40),
            Run(4000, 100), Node("a.conv", 4001, 20), Node("b.conv", 4030, 60), Node("ReorderInput_token_7", 4090, 2)) + "]";

        OrtNodeProfile.Result result = OrtNodeProfile.Summarize(trace, nodeLayers, skipRuns: 1);

        Assert.That(result.Layers.Select(l => l.Layer), Is.EqualTo(new[] { "a", "b" }));
        // a: runs 15, 30, 20 us -> median 20 us; b: 24, 40, 62 us -> median 40 us.
        Assert.That(result.Layers[0].Seconds, Is.EqualTo(20e-6).Within(1e-12));
        Assert.That(result.Layers[1].Seconds, Is.EqualTo(40e-6).Within(1e-12));
        Assert.That(result.RunSeconds, Is.EqualTo(100e-6).Within(1e-12));
        Assert.That(result.UnmatchedNodes, Is.EqualTo(new[] { "ReorderInput", "ReorderInput_token_7" }));
    }

    [Test]
    public void TraceWithoutTimedRunsIsRefusedWithAClearError()
    {
        string trace = "[" + Run(0, 10) + "]";
        var error = Assert.Throws<InvalidOperationException>(() =>
            OrtNodeProfile.Summarize(trace, new Dictionary<string, string>(), skipRuns: 1));
        Assert.That(error!.Message, Does.Contain("no timed run"));
    }

    [Test]
    public void EveryComputeLayerOfTheTinyModelGetsOnnxRuntimeTime()
    {
        ModelSpec spec = ModelSpec.FromJson(Fixtures.Path("tiny/config.json"));
        StateDict weights = TorchCheckpoint.Load(Fixtures.Path("tiny/weights.pth"));
        using var session = new OrtNodeProfile.Session(spec, weights, threads: 1, batch: 2, height: 32, width: 32);
        session.Run(3);
        OrtNodeProfile.Result result = session.Finish();

        var computeLayers = LayerCost.For(spec, 32, 32)
            .Where(l => l.Macs > 0 && l.Kind != LayerKind.BackboneNorm).Select(l => l.Name).ToList();
        var timed = result.Layers.Where(l => l.Seconds > 0).Select(l => l.Layer).ToList();
        Assert.That(timed, Is.SupersetOf(computeLayers));
        Assert.Throws<InvalidOperationException>(() => session.Finish());
    }
}
