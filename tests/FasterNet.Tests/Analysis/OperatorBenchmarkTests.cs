using FasterNet.Analysis;

namespace FasterNet.Tests.Analysis;

/// <summary>The operator benchmark through the native runtime, on small maps (no timing assertions).</summary>
public class OperatorBenchmarkTests
{
    private static IEnumerable<TestCaseData> OperatorsAndKernelSets() =>
        from set in Fixtures.SupportedKernelSets()
        from kind in OperatorBenchmark.Operators
        select new TestCaseData(kind, set).SetArgDisplayNames(kind.PaperName(), set.ToString());

    [TestCaseSource(nameof(OperatorsAndKernelSets))]
    public void EveryOperatorRunsAndReportsOneTimePerIteration(OperatorKind kind, KernelSet set)
    {
        var benchmark = new OperatorBenchmark { Iterations = 3, Warmup = 1, Layers = 2, Groups = 4, KernelSet = set };
        OperatorResult result = benchmark.Run(kind, new FeatureMapSize(32, 7, 9));
        Assert.That(result.Seconds, Has.Count.EqualTo(3));
        Assert.That(result.Seconds, Has.All.GreaterThan(0.0));
        Assert.That(double.IsFinite(result.Gflops) && result.Gflops > 0, Is.True, $"GFLOPS {result.Gflops}");
        Assert.That(result.Cost, Is.EqualTo(OperatorCost.For(kind, new FeatureMapSize(32, 7, 9), groups: 4)));
    }

    [Test]
    public void RunAllCoversEveryOperatorAtEverySizeInOrder()
    {
        var sizes = new[] { new FeatureMapSize(16, 6, 5), new FeatureMapSize(32, 3, 3) };
        var seen = new List<OperatorResult>();
        OperatorReport report = new OperatorBenchmark { Iterations = 1, Warmup = 0, Layers = 1, Groups = 4 }
            .RunAll(sizes, new SynchronousProgress<OperatorResult>(seen.Add));
        Assert.That(report.Results.Select(r => (r.Operator, r.Size)),
            Is.EqualTo(OperatorBenchmark.Operators.SelectMany(o => sizes.Select(s => (o, s)))));
        Assert.That(seen, Is.EqualTo(report.Results));
        Assert.That(report.Averages, Has.Count.EqualTo(5));
    }

    [Test]
    public void GroupsThatDoNotDivideTheChannelsAreAnInputError()
    {
        var benchmark = new OperatorBenchmark { Iterations = 1, Groups = 5 };
        var e = Assert.Throws<InvalidModelInputException>(() => benchmark.Run(OperatorKind.GroupConv, new FeatureMapSize(32, 4, 4)));
        Assert.That(e!.Message, Does.Contain("groups (5) must divide channels (32)"));
    }

    [Test]
    public void RunAllChecksEveryCaseBeforeRunningAny()
    {
        var seen = new List<OperatorResult>();
        var benchmark = new OperatorBenchmark { Iterations = 1, Groups = 5 };
        var e = Assert.Throws<InvalidModelInputException>(() =>
            benchmark.RunAll([new FeatureMapSize(18, 4, 4)], new SynchronousProgress<OperatorResult>(seen.Add)));
        Assert.That(e!.Message, Does.Contain("GConv 18x4x4"));
        Assert.That(seen, Is.Empty, "Conv ran before GConv's bad groups were noticed");
    }

    [Test]
    public void AnUnsupportedKernelSetIsRefusedUpFront()
    {
        KernelSet[] unsupported = new[] { KernelSet.Avx2, KernelSet.Avx512, KernelSet.Neon }.Where(s => !Runtime.IsSupported(s)).ToArray();
        Assume.That(unsupported, Is.Not.Empty, "this machine runs every kernel set");
        var benchmark = new OperatorBenchmark { Iterations = 1, KernelSet = unsupported[0] };
        var e = Assert.Throws<NotSupportedByRuntimeException>(() => benchmark.Run(OperatorKind.Conv, new FeatureMapSize(8, 4, 4)));
        Assert.That(e!.Message, Does.Contain(unsupported[0].ToString().ToLowerInvariant()));
    }

    [Test]
    public void NativeValidationErrorsNameTheField()
    {
        var benchmark = new OperatorBenchmark { Iterations = 1, Layers = 0 };
        var e = Assert.Throws<InvalidModelInputException>(() => benchmark.Run(OperatorKind.Conv, new FeatureMapSize(8, 4, 4)));
        Assert.That(e!.Message, Does.Contain("layers"));
    }

    private sealed class SynchronousProgress<T>(Action<T> action) : IProgress<T>
    {
        public void Report(T value) => action(value);
    }
}
