using FasterNet.Onnx;
using FasterNet.Serialization;

namespace FasterNet.Tests.Serialization;

/// <summary>
/// Official and timm layouts recognised by their names (also under wrapper prefixes) and mapped to each other; the
/// timm fixtures (tools/make_fixtures.py: the tiny/ and t0/ weights under timm's names) give exactly the logits of
/// the official files.
/// </summary>
public class CheckpointLayoutTests
{
    // Pairs from timm's checkpoint_filter_fn table (timm/models/fasternet.py).
    [TestCase("patch_embed.proj.weight", "patch_embed.proj.weight")]
    [TestCase("stages.0.blocks.0.spatial_mixing.partial_conv3.weight", "stages.0.blocks.0.spatial_mixing.partial_conv3.weight")]
    [TestCase("stages.1.reduction.weight", "stages.1.downsample.reduction.weight")]
    [TestCase("stages.1.norm.running_var", "stages.1.downsample.norm.running_var")]
    [TestCase("stages.2.blocks.1.mlp.1.bias", "stages.1.blocks.1.mlp.1.bias")]
    [TestCase("stages.5.norm.num_batches_tracked", "stages.3.downsample.norm.num_batches_tracked")]
    [TestCase("stages.6.blocks.1.mlp.3.weight", "stages.3.blocks.1.mlp.3.weight")]
    [TestCase("avgpool_pre_head.1.weight", "conv_head.weight")]
    [TestCase("head.weight", "classifier.weight")]
    [TestCase("head.bias", "classifier.bias")]
    [TestCase("norm4.running_mean", "norm4.running_mean")]
    public void OfficialAndTimmNamesMapBothWays(string official, string timm)
    {
        Assert.That(TimmNames.FromOfficial(official), Is.EqualTo(timm));
        Assert.That(TimmNames.ToOfficial(timm), Is.EqualTo(official));
    }

    [Test]
    public void EveryOfficialNameOfTheLargestVariantSurvivesARoundTrip()
    {
        foreach (ModelSpec spec in new[] { ModelSpec.L, ModelSpec.L with { Backbone = true } })
        {
            var names = StateDictLayout.Expected(spec).Select(e => e.Name).ToList();
            var timm = names.Select(TimmNames.FromOfficial).ToList();
            Assert.That(timm.Distinct().Count(), Is.EqualTo(names.Count), "distinct timm names");
            Assert.That(timm.Select(TimmNames.ToOfficial), Is.EqualTo(names));
            Assert.That(CheckpointLayouts.Detect(timm), Is.EqualTo(CheckpointLayout.Timm));
            Assert.That(CheckpointLayouts.Detect(names), Is.EqualTo(CheckpointLayout.Official));
        }
    }

    [Test]
    public void NamesOfNeitherLayoutOrOfBothAreUnrecognized()
    {
        Assert.That(CheckpointLayouts.Detect(["conv1.weight", "fc.weight", "fc.bias"]), Is.EqualTo(CheckpointLayout.Unrecognized));
        Assert.That(CheckpointLayouts.Detect(["stages.1.reduction.weight", "stages.1.downsample.reduction.weight"]),
            Is.EqualTo(CheckpointLayout.Unrecognized));
        // A one-stage backbone has only names both layouts share: the official spelling is the same.
        Assert.That(CheckpointLayouts.Detect(["patch_embed.proj.weight", "stages.0.blocks.0.mlp.0.weight"]),
            Is.EqualTo(CheckpointLayout.Official));
    }

    [Test]
    public void TimmPthGivesExactlyTheOfficialLogits()
    {
        ModelSpec spec = ModelSpec.FromJson(Fixtures.Path("tiny/config.json"));
        using var official = FasterNetModel.FromCheckpoint(spec, Fixtures.Path("tiny/weights.pth"));
        using var timm = FasterNetModel.FromCheckpoint(spec, Fixtures.Path("tiny/weights_timm.pth"));
        Assert.That(official.WeightsLayout, Is.EqualTo(CheckpointLayout.Official));
        Assert.That(timm.WeightsLayout, Is.EqualTo(CheckpointLayout.Timm));
        ExpectSameLogits(official, timm, "tiny", "2x3x32x32");
        ExpectSameLogits(official, timm, "tiny", "1x3x40x56");
    }

    [Test]
    public void ModulePrefixedTimmSafetensorsGivesExactlyTheOfficialLogits()
    {
        ModelSpec spec = ModelSpec.FromJson(Fixtures.Path("tiny/config.json"));
        StateDict raw = SafeTensors.Read(Fixtures.Path("tiny/weights_timm_module.safetensors"));
        Assert.That(raw.Keys, Has.All.StartWith("module."), "the fixture keeps DataParallel's prefix");
        RecognizedStateDict recognized = CheckpointLayouts.ToOfficial(raw);
        Assert.That(recognized.Layout, Is.EqualTo(CheckpointLayout.Timm));
        Assert.That(recognized.StrippedPrefix, Is.EqualTo("module."));
        Assert.That(recognized.StateDict.IntegerTensors.Keys, Does.Contain("stages.1.norm.num_batches_tracked"));

        using var official = FasterNetModel.FromCheckpoint(spec, Fixtures.Path("tiny/weights.pth"));
        using var timm = FasterNetModel.FromCheckpoint(spec, Fixtures.Path("tiny/weights_timm_module.safetensors"));
        Assert.That(timm.WeightsLayout, Is.EqualTo(CheckpointLayout.Timm));
        ExpectSameLogits(official, timm, "tiny", "2x3x32x32");
    }

    [Test]
    public void TimmT0SafetensorsGivesExactlyTheOfficialLogits()
    {
        var options = new ModelOptions { Threads = 2 };
        using var official = FasterNetModel.FromCheckpoint(ModelSpec.T0, Fixtures.Path("t0/weights.pth"), options);
        using var timm = FasterNetModel.FromCheckpoint(ModelSpec.T0, Fixtures.Path("t0_timm_hub/model.safetensors"), options);
        Assert.That(timm.WeightsLayout, Is.EqualTo(CheckpointLayout.Timm));
        ExpectSameLogits(official, timm, "t0", "2x3x224x224");
    }

    [Test]
    public void ConvertingToTimmAndBackGivesTheSameTensors()
    {
        StateDict official = TorchCheckpoint.Load(Fixtures.Path("tiny/weights.pth"));
        StateDict timm = CheckpointLayouts.FromOfficial(official, CheckpointLayout.Timm);
        StateDict fromFixture = TorchCheckpoint.Load(Fixtures.Path("tiny/weights_timm.pth"));
        Assert.That(timm.Keys, Is.EqualTo(fromFixture.Keys), "the names PyTorch's timm mapping wrote");
        Assert.That(timm.IntegerTensors.Keys, Is.EqualTo(fromFixture.IntegerTensors.Keys));
        StateDict back = CheckpointLayouts.ToOfficial(timm).StateDict;
        Assert.That(back.Keys, Is.EqualTo(official.Keys));
        foreach (string name in official.Keys)
            Assert.That(back[name].Data, Is.EqualTo(official[name].Data), name);
    }

    [Test]
    public void AnUnrecognizedCheckpointStillGetsTheMissingAndUnexpectedReport()
    {
        var tensors = new Dictionary<string, Tensor>
        {
            ["conv1.weight"] = Tensor.Zeros([8, 3, 3, 3]),
            ["fc.weight"] = Tensor.Zeros([10, 8]),
        };
        var e = Assert.Throws<StateDictMismatchException>(() => FasterNetModel.FromStateDict(ModelSpec.T0, tensors).Dispose());
        Assert.That(e!.Message, Does.Contain("unrecognized layout"));
        Assert.That(e.Message, Does.Contain("missing tensors"));
        Assert.That(e.Message, Does.Contain("unexpected tensors"));
        Assert.That(e.Message, Does.Contain("fc.weight"));
    }

    [Test]
    public void ATimmCheckpointForAnotherVariantSaysItsLayout()
    {
        var e = Assert.Throws<StateDictMismatchException>(() =>
            FasterNetModel.FromCheckpoint(ModelSpec.T0, Fixtures.Path("tiny/weights_timm.pth")).Dispose());
        Assert.That(e!.Message, Does.Contain("weights_timm.pth"));
        Assert.That(e.Message, Does.Contain("timm layout"));
    }

    [Test]
    public void MixedOfficialAndTimmNamesForTheSameTensorAreRefused()
    {
        StateDict official = TorchCheckpoint.Load(Fixtures.Path("tiny/weights.pth"));
        var both = official.Concat(CheckpointLayouts.FromOfficial(official, CheckpointLayout.Timm)
            .Where(e => e.Key.StartsWith("classifier.", StringComparison.Ordinal)));
        var e = Assert.Throws<StateDictMismatchException>(() =>
            FasterNetModel.FromStateDict(ModelSpec.FromJson(Fixtures.Path("tiny/config.json")), new StateDict(both)).Dispose());
        Assert.That(e!.Message, Does.Contain("unexpected tensors").And.Contain("classifier.weight"));
    }

    private static void ExpectSameLogits(FasterNetModel official, FasterNetModel timm, string dir, string shape)
    {
        Tensor input = Npy.Read(Fixtures.Path($"{dir}/input_{shape}.npy"));
        Tensor expected = official.Run(input);
        Tensor actual = timm.Run(input);
        Assert.That(actual.Data, Is.EqualTo(expected.Data), $"{dir} {shape}: timm layout vs official, bit for bit");
        Tensor pytorch = Npy.Read(Fixtures.Path($"{dir}/logits_{shape}.npy"));
        Assert.That(Fixtures.MaxRelativeError(actual.Data, pytorch.Data), Is.LessThan(1e-4), "against PyTorch");
    }
}
