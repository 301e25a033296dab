namespace FasterNet.Tests;

/// <summary>Paths of the committed test fixtures (tests/fixtures, made by tools/make_fixtures.py).</summary>
internal static class Fixtures
{
    private static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "FasterNet.sln")))
                return dir.FullName;
        }
        throw new DirectoryNotFoundException("repository root (FasterNet.sln) not found above the test directory");
    });

    public static string RepoRoot => Root.Value;

    public static string Path(string relative) => System.IO.Path.Combine(Root.Value, "tests", "fixtures", relative);

    /// <summary>Largest |actual - expected| relative to the largest |expected|.</summary>
    public static double MaxRelativeError(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), "element count");
        double scale = 0, worst = 0;
        foreach (float v in expected)
            scale = Math.Max(scale, Math.Abs(v));
        for (int i = 0; i < actual.Length; i++)
        {
            double diff = Math.Abs((double)actual[i] - expected[i]);
            if (double.IsNaN(diff))
                return double.PositiveInfinity;
            worst = Math.Max(worst, diff);
        }
        return worst / Math.Max(scale, 1e-30);
    }

    /// <summary>Kernel sets this machine can run, reference first.</summary>
    public static IEnumerable<KernelSet> SupportedKernelSets() =>
        new[] { KernelSet.Reference, KernelSet.Avx2, KernelSet.Avx512, KernelSet.Neon }.Where(Runtime.IsSupported);
}
