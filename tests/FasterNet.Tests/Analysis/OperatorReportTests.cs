using System.Text.Json;
using FasterNet.Analysis;

namespace FasterNet.Tests.Analysis;

/// <summary>Averages, ratios and JSON of operator results (synthetic timings, no native calls).</summary>
public class OperatorReportTests
{
    private static OperatorResult Result(OperatorKind kind, FeatureMapSize size, params double[] seconds) =>
        new(kind, size, Batch: 1, Layers: 10, OperatorCost.For(kind, size), seconds);

    [Test]
    public void GflopsCountMultiplyAddsOfEveryLayerOverTheMedianRun()
    {
        // 10 layers x 260112384 multiply-adds in a median of 0.1 s.
        OperatorResult r = Result(OperatorKind.Conv, new(96, 56, 56), 0.3, 0.1, 0.05);
        Assert.That(r.MedianSeconds, Is.EqualTo(0.1));
        Assert.That(r.RunFlops, Is.EqualTo(2_601_123_840));
        Assert.That(r.Gflops, Is.EqualTo(26.0112384).Within(1e-9));
    }

    [Test]
    public void AveragesAndRatiosFollowThePapersAverageRows()
    {
        var small = new FeatureMapSize(768, 7, 7);
        var large = new FeatureMapSize(96, 56, 56);
        var results = new List<OperatorResult>
        {
            Result(OperatorKind.Conv, large, 0.1),
            Result(OperatorKind.Conv, small, 0.2),
            Result(OperatorKind.DepthwiseConv, large, 0.01),
            Result(OperatorKind.DepthwiseConv, small, 0.01),
            Result(OperatorKind.PartialConv, large, 0.01),
            Result(OperatorKind.PartialConv, small, 0.02),
        };
        var report = new OperatorReport(new OperatorBenchmark(), results);

        double conv = (results[0].Gflops + results[1].Gflops) / 2;
        double depthwise = (results[2].Gflops + results[3].Gflops) / 2;
        double partial = (results[4].Gflops + results[5].Gflops) / 2;
        Assert.That(report.AverageGflops(OperatorKind.Conv), Is.EqualTo(conv).Within(1e-12));
        Assert.That(report.PartialOverDepthwise, Is.EqualTo(partial / depthwise).Within(1e-12));
        Assert.That(report.PartialOverConv, Is.EqualTo(partial / conv).Within(1e-12));
        Assert.That(report.Averages.Single(a => a.Operator == OperatorKind.Conv).MedianSeconds, Is.EqualTo(0.15).Within(1e-12));
        Assert.That(report.Averages.Single(a => a.Operator == OperatorKind.DepthwiseConv).PaperGflops, Is.EqualTo(6.42));
        Assert.That(report.AverageGflops(OperatorKind.GroupConv), Is.Null);
    }

    [Test]
    public void PaperRatiosComeFromTable1()
    {
        Assert.That(PaperFigures.PartialOverDepthwise, Is.EqualTo(39.91 / 6.42).Within(1e-12));
        Assert.That(PaperFigures.PartialOverConv, Is.EqualTo(39.91 / 71.89).Within(1e-12));
        Assert.That(PaperFigures.Table1CpuGflops.ContainsKey(OperatorKind.PartialConvPointwise), Is.False);
    }

    [Test]
    public void JsonListsEveryResultWithItsCostAndTheRatios()
    {
        var results = new List<OperatorResult>
        {
            Result(OperatorKind.Conv, new(96, 56, 56), 0.1),
            Result(OperatorKind.PartialConv, new(96, 56, 56), 0.01),
        };
        using JsonDocument json = JsonDocument.Parse(new OperatorReport(new OperatorBenchmark(), results).ToJson());
        JsonElement root = json.RootElement;
        Assert.That(root.GetProperty("layers").GetInt32(), Is.EqualTo(10));
        JsonElement first = root.GetProperty("results")[0];
        Assert.That(first.GetProperty("operator").GetString(), Is.EqualTo("Conv"));
        Assert.That(first.GetProperty("flops_per_layer").GetInt64(), Is.EqualTo(260_112_384));
        Assert.That(first.GetProperty("memory_access_per_layer").GetInt64(), Is.EqualTo(685_056));
        Assert.That(first.GetProperty("gflops").GetDouble(), Is.EqualTo(26.0112384).Within(1e-9));
        Assert.That(root.GetProperty("ratios").GetProperty("pconv_over_conv").GetDouble(),
            Is.EqualTo(results[1].Gflops / results[0].Gflops).Within(1e-9));
        Assert.That(root.GetProperty("ratios").GetProperty("pconv_over_dwconv").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(root.GetProperty("unit").GetString(), Does.Contain("multiply-adds"));
    }
}
