using FasterNet.Fuzz;

namespace FasterNet.Tests.Fuzz;

/// <summary>
/// Replays the committed fuzz seeds (fuzz/corpus) and every past finding (fuzz/regressions) through the
/// same targets the fuzzer drives: each input is either accepted or refused with the target's typed error
/// (a FasterNetException; the server's InferenceException, i.e. HTTP 400/413).
/// </summary>
public class FuzzCorpusTests
{
    // The native target runs under libFuzzer only.
    private static readonly string[] NativeTargets = ["model-create"];

    private static readonly IReadOnlyDictionary<string, Action<byte[]>> ManagedTargets =
        FuzzTargets.All.Keys.ToDictionary(k => k, k => (Action<byte[]>)(bytes => FuzzTargets.Run(k, bytes)))
            .Concat(ServerFuzzTargets.All).ToDictionary(t => t.Key, t => t.Value);

    private static IEnumerable<TestCaseData> Inputs()
    {
        foreach (string folder in new[] { "corpus", "regressions" })
        {
            foreach (string target in ManagedTargets.Keys)
            {
                string directory = Path.Combine(Fixtures.RepoRoot, "fuzz", folder, target);
                if (!Directory.Exists(directory))
                    continue;
                foreach (string file in Directory.GetFiles(directory).Order(StringComparer.Ordinal))
                    yield return new TestCaseData(target, file).SetArgDisplayNames(target, $"{folder}/{Path.GetFileName(file)}");
            }
        }
    }

    [TestCaseSource(nameof(Inputs))]
    public void InputIsAcceptedOrRefusedWithAFasterNetException(string target, string file)
    {
        Assert.DoesNotThrow(() => ManagedTargets[target](File.ReadAllBytes(file)));
    }

    [Test]
    public void EveryFuzzTargetHasASeedCorpusAndEveryCorpusATarget()
    {
        string corpus = Path.Combine(Fixtures.RepoRoot, "fuzz", "corpus");
        var folders = Directory.GetDirectories(corpus).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        var targets = ManagedTargets.Keys.Concat(NativeTargets).Order(StringComparer.Ordinal).ToList();
        Assert.That(folders, Is.EqualTo(targets));
        foreach (string target in targets)
            Assert.That(Directory.GetFiles(Path.Combine(corpus, target)), Is.Not.Empty, $"fuzz/corpus/{target} has no seeds");
    }

    [Test]
    public void ThePickleTargetWrapsItsInputInAZipTheCheckpointReaderAccepts()
    {
        // The seeds are real pickles: wrapped, a valid one loads as a state_dict.
        byte[] pickle = File.ReadAllBytes(Path.Combine(Fixtures.RepoRoot, "fuzz", "corpus", "pickle", "handmade_valid.pkl"));
        var stateDict = FasterNet.Serialization.TorchCheckpoint.Load(new MemoryStream(FuzzTargets.WrapPickle(pickle)));
        Assert.That(stateDict.Count, Is.GreaterThan(0));
    }
}
