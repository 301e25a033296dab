namespace FasterNet.Tests.Model;

/// <summary>The presets against the paper's table (DESIGN.md), and custom specs.</summary>
public class ModelSpecTests
{
    // Parameters (M) and GMACs at 224x224, from the paper.
    [TestCase("t0", 3.9, 0.34)]
    [TestCase("t1", 7.6, 0.85)]
    [TestCase("t2", 15.0, 1.90)]
    [TestCase("s", 31.1, 4.55)]
    [TestCase("m", 53.5, 8.72)]
    [TestCase("l", 93.4, 15.49)]
    public void VariantMatchesThePapersTable(string name, double parametersMillions, double gmacs)
    {
        ModelSpec spec = ModelSpec.FromName(name);
        Assert.That(Math.Round(spec.Parameters / 1e6, 1), Is.EqualTo(parametersMillions));
        Assert.That(Math.Round(spec.Macs() / 1e9, 2), Is.EqualTo(gmacs));
    }

    [TestCase("t0")]
    [TestCase("m")]
    public void LayerCostsAddUpToTheNativeTotals(string name)
    {
        ModelSpec spec = ModelSpec.FromName(name);
        var layers = LayerCost.For(spec, 192, 256);
        Assert.That(layers.Sum(l => l.Macs), Is.EqualTo(spec.Macs(192, 256)));
        Assert.That(layers.Sum(l => l.Parameters), Is.EqualTo(spec.Parameters));
    }

    [Test]
    public void ActivationsFollowTheVariants()
    {
        Assert.That(ModelSpec.T0.Activation, Is.EqualTo(Activation.Gelu));
        Assert.That(ModelSpec.T1.Activation, Is.EqualTo(Activation.Gelu));
        Assert.That(ModelSpec.Variants.Skip(2).All(v => v.Activation == Activation.Relu), Is.True);
    }

    [Test]
    public void UnknownVariantNameListsTheChoices()
    {
        var error = Assert.Throws<ArgumentException>(() => ModelSpec.FromName("t9"));
        Assert.That(error!.Message, Does.Contain("t0, t1, t2, s, m, l"));
    }

    [Test]
    public void JsonConfigReadsTheOfficialArgumentNames()
    {
        ModelSpec spec = ModelSpec.FromJson(Fixtures.Path("tiny/odd_config.json"));
        Assert.That(spec.InChannels, Is.EqualTo(1));
        Assert.That(spec.NDiv, Is.EqualTo(3));
        Assert.That(spec.MlpRatio, Is.EqualTo(1.5f));
        Assert.That(spec.PatchSize, Is.EqualTo(3));
        Assert.That(spec.PatchStride, Is.EqualTo(2));
        Assert.That(spec.Activation, Is.EqualTo(Activation.Relu));
        Assert.That(spec.Depths, Is.EqualTo(new[] { 1, 1, 2, 1 }));
    }

    [Test]
    public void BadJsonConfigIsAClearError()
    {
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"bad-config-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, "{\"act\": \"swish\"}");
        try
        {
            var error = Assert.Throws<FasterNetException>(() => ModelSpec.FromJson(path));
            Assert.That(error!.Message, Does.Contain("swish").And.Contain(path));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
