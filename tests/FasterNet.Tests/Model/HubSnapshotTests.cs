using System.Text.Json.Nodes;
using FasterNet.Imaging;
using FasterNet.Serialization;

namespace FasterNet.Tests.Model;

/// <summary>
/// Hugging Face hub snapshot folders (config.json + model.safetensors): the T0 fixture in timm's layout loads with
/// the variant, class count and pre-processing of its config.json and gives exactly the official file's logits;
/// bad config.json fields are errors naming the file and the field.
/// </summary>
public class HubSnapshotTests
{
    private string _folder = "";

    [SetUp]
    public void CreateFolder()
    {
        _folder = Path.Combine(Path.GetTempPath(), $"fasternet-hub-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_folder);
    }

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

    [Test]
    public void TimmT0SnapshotLoadsWithItsConfigAndGivesTheOfficialLogits()
    {
        var options = new ModelOptions { Threads = 2 };
        using var hub = FasterNetModel.FromPretrained(Fixtures.Path("t0_timm_hub"), options);
        using var official = FasterNetModel.FromCheckpoint(ModelSpec.T0, Fixtures.Path("t0/weights.pth"), options);
        Assert.That(hub.Spec, Is.EqualTo(ModelSpec.T0));
        Assert.That(hub.WeightsLayout, Is.EqualTo(CheckpointLayout.Timm));

        Tensor input = Npy.Read(Fixtures.Path("t0/input_1x3x192x256.npy"));
        Assert.That(hub.Run(input).Data, Is.EqualTo(official.Run(input).Data), "bit for bit");
        Tensor pytorch = Npy.Read(Fixtures.Path("t0/logits_1x3x192x256.npy"));
        Assert.That(Fixtures.MaxRelativeError(hub.Run(input).Data, pytorch.Data), Is.LessThan(1e-4));
    }

    [Test]
    public void PretrainedConfigHoldsTheValuesOfConfigJson()
    {
        var cfg = (JsonObject)JsonNode.Parse(File.ReadAllText(Fixtures.Path("t0_timm_hub/config.json")))!["pretrained_cfg"]!;
        using var hub = FasterNetModel.FromPretrained(Fixtures.Path("t0_timm_hub"));
        PretrainedConfig pretrained = hub.Pretrained!;
        int[] inputSize = cfg["input_size"]!.AsArray().Select(v => v!.GetValue<int>()).ToArray();
        Assert.That(new[] { pretrained.InChannels, pretrained.Height, pretrained.Width }, Is.EqualTo(inputSize));
        Assert.That(pretrained.Mean, Is.EqualTo(cfg["mean"]!.AsArray().Select(v => v!.GetValue<float>())));
        Assert.That(pretrained.Std, Is.EqualTo(cfg["std"]!.AsArray().Select(v => v!.GetValue<float>())));
        Assert.That(pretrained.CropPct, Is.EqualTo(cfg["crop_pct"]!.GetValue<double>()));
        Assert.That(pretrained.TestCropPct, Is.EqualTo(cfg["test_crop_pct"]!.GetValue<double>()));
        Assert.That(pretrained.Interpolation.ToString(), Is.EqualTo(cfg["interpolation"]!.GetValue<string>()).IgnoreCase);

        // Inference uses test_crop_pct: the shorter side becomes floor(224 / 0.9) = 248 before the 224 crop.
        PreprocessorOptions preprocessing = PreprocessorOptions.FromPretrained(pretrained);
        Assert.That(preprocessing.Size, Is.EqualTo(inputSize[1]));
        Assert.That(preprocessing.CropRatio, Is.EqualTo(cfg["test_crop_pct"]!.GetValue<double>()));
        Assert.That(preprocessing.ResizeSize, Is.EqualTo(248));
        Assert.That(preprocessing.ResizeMode, Is.EqualTo(ResizeMode.Bicubic));
        Assert.That(preprocessing.Antialias, Is.True);
    }

    [TestCase(CheckpointLayout.Timm)]
    [TestCase(CheckpointLayout.Official)]
    public void AWrittenSnapshotOfACustomNetworkLoadsBackWithTheSameLogits(CheckpointLayout layout)
    {
        ModelSpec spec = ModelSpec.FromJson(Fixtures.Path("tiny/config.json"));
        StateDict official = TorchCheckpoint.Load(Fixtures.Path("tiny/weights.pth"));
        var pretrained = new PretrainedConfig { Height = 32, Width = 32, CropPct = 0.8, TestCropPct = null, Mean = [0.5f, 0.4f, 0.3f] };
        string[] labels = Enumerable.Range(0, spec.NumClasses).Select(i => $"label {i}").ToArray();
        HubSnapshot.Write(_folder, spec, official, layout, pretrained, labels);

        using var reloaded = FasterNetModel.FromPretrained(_folder);
        using var expected = FasterNetModel.FromCheckpoint(spec, Fixtures.Path("tiny/weights.pth"));
        Assert.That(reloaded.WeightsLayout, Is.EqualTo(layout));
        Assert.That(reloaded.Spec with { Name = spec.Name }, Is.EqualTo(spec), "embed_dim, depths, ... from model_args");
        Assert.That(reloaded.Pretrained, Is.EqualTo(pretrained).Using<PretrainedConfig>(SamePretrained));
        Assert.That(reloaded.ClassNames, Is.EqualTo(labels));
        Tensor input = Npy.Read(Fixtures.Path("tiny/input_2x3x32x32.npy"));
        Assert.That(reloaded.Run(input).Data, Is.EqualTo(expected.Run(input).Data));
    }

    [Test]
    public void ASnapshotWithOnlyPytorchModelBinAndModelArgsLoads()
    {
        // The tiny network described the way timm describes a custom FasterNet: a preset plus model_args.
        File.WriteAllText(Path.Combine(_folder, "config.json"), """
            {"architecture": "fasternet_t0", "num_classes": 7,
             "model_args": {"embed_dim": 12, "depths": [1, 2, 1, 1], "feature_dim": 64, "drop_path_rate": 0.1},
             "pretrained_cfg": {"input_size": [3, 32, 32], "crop_pct": 0.875}}
            """);
        File.Copy(Fixtures.Path("tiny/weights_timm.pth"), Path.Combine(_folder, "pytorch_model.bin"));
        using var hub = FasterNetModel.FromPretrained(_folder);
        Assert.That(hub.WeightsLayout, Is.EqualTo(CheckpointLayout.Timm));
        Assert.That(hub.Pretrained!.EvalCropPct, Is.EqualTo(0.875), "crop_pct alone is also the inference ratio");
        Assert.That(hub.Pretrained.Height, Is.EqualTo(32));
        Tensor input = Npy.Read(Fixtures.Path("tiny/input_2x3x32x32.npy"));
        Tensor pytorch = Npy.Read(Fixtures.Path("tiny/logits_2x3x32x32.npy"));
        Assert.That(Fixtures.MaxRelativeError(hub.Run(input).Data, pytorch.Data), Is.LessThan(1e-4));
    }

    [TestCase("{}", "architecture")]
    [TestCase("""{"architecture": "resnet50"}""", "architecture")]
    [TestCase("""{"architecture": 7}""", "architecture")]
    [TestCase("""{"architecture": "fasternet_t0", "num_classes": "ten"}""", "num_classes")]
    [TestCase("""{"architecture": "fasternet_t0", "num_classes": 0}""", "num_classes")]
    [TestCase("""{"architecture": "fasternet_t0", "label_names": ["a", "b"]}""", "label_names")]
    [TestCase("""{"architecture": "fasternet_t0", "model_args": {"embed_dim": 16, "layer_scale_init_value": 1e-6}}""", "model_args.layer_scale_init_value")]
    [TestCase("""{"architecture": "fasternet_t0", "model_args": {"depths": [1, 0]}}""", "model_args.depths")]
    [TestCase("""{"architecture": "fasternet_t0", "pretrained_cfg": []}""", "pretrained_cfg")]
    [TestCase("""{"architecture": "fasternet_t0", "pretrained_cfg": {"mean": [0.5, 0.5]}}""", "pretrained_cfg.mean")]
    [TestCase("""{"architecture": "fasternet_t0", "pretrained_cfg": {"mean": "imagenet"}}""", "pretrained_cfg.mean")]
    [TestCase("""{"architecture": "fasternet_t0", "pretrained_cfg": {"std": [0.2, 0, 0.2]}}""", "pretrained_cfg.std")]
    [TestCase("""{"architecture": "fasternet_t0", "pretrained_cfg": {"interpolation": "lanczos"}}""", "pretrained_cfg.interpolation")]
    [TestCase("""{"architecture": "fasternet_t0", "pretrained_cfg": {"input_size": [3, 224]}}""", "pretrained_cfg.input_size")]
    [TestCase("""{"architecture": "fasternet_t0", "pretrained_cfg": {"input_size": [3, 224, 256]}}""", "pretrained_cfg.input_size")]
    [TestCase("""{"architecture": "fasternet_t0", "pretrained_cfg": {"input_size": [1, 224, 224]}}""", "pretrained_cfg.mean")]
    [TestCase("""{"architecture": "fasternet_t0", "pretrained_cfg": {"crop_pct": 1.5}}""", "pretrained_cfg.crop_pct")]
    [TestCase("""{"architecture": "fasternet_t0", "pretrained_cfg": {"test_crop_pct": 0}}""", "pretrained_cfg.test_crop_pct")]
    [TestCase("""{"architecture": "fasternet_t0", "pretrained_cfg": {"crop_mode": "squash"}}""", "pretrained_cfg.crop_mode")]
    public void ABadConfigFieldIsAnErrorNamingTheFileAndTheField(string config, string field)
    {
        File.WriteAllText(Path.Combine(_folder, "config.json"), config);
        File.WriteAllBytes(Path.Combine(_folder, "model.safetensors"), [0]);
        var e = Assert.Throws<ModelConfigException>(() => FasterNetModel.FromPretrained(_folder).Dispose());
        Assert.That(e!.Field, Is.EqualTo(field));
        Assert.That(e.Message, Does.Contain(Path.Combine(_folder, "config.json")).And.Contain($"'{field}'"));
    }

    [Test]
    public void AFolderWithoutConfigOrWeightsOrWithBrokenJsonIsAClearError()
    {
        var e = Assert.Throws<CheckpointFormatException>(() => FasterNetModel.FromPretrained(_folder).Dispose());
        Assert.That(e!.Message, Does.Contain("config.json"));

        File.WriteAllText(Path.Combine(_folder, "config.json"), """{"architecture": "fasternet_t0"}""");
        e = Assert.Throws<CheckpointFormatException>(() => FasterNetModel.FromPretrained(_folder).Dispose());
        Assert.That(e!.Message, Does.Contain("model.safetensors").And.Contain("pytorch_model.bin"));

        File.WriteAllBytes(Path.Combine(_folder, "model.safetensors"), [0]);
        File.WriteAllText(Path.Combine(_folder, "config.json"), """{"architecture": "fasternet_t0",""");
        e = Assert.Throws<CheckpointFormatException>(() => FasterNetModel.FromPretrained(_folder).Dispose());
        Assert.That(e!.Message, Does.Contain("config.json").And.Contain("not valid JSON"));
    }

    [Test]
    public void WeightsOfAnotherVariantAreReportedWithTheFile()
    {
        File.WriteAllText(Path.Combine(_folder, "config.json"), """{"architecture": "fasternet_t1"}""");
        File.Copy(Fixtures.Path("t0_timm_hub/model.safetensors"), Path.Combine(_folder, "model.safetensors"));
        var e = Assert.Throws<ShapeMismatchException>(() => FasterNetModel.FromPretrained(_folder).Dispose());
        Assert.That(e!.Message, Does.Contain("model.safetensors").And.Contain("t1").And.Contain("timm layout"));
    }

    private static bool SamePretrained(PretrainedConfig a, PretrainedConfig b) =>
        a.InChannels == b.InChannels && a.Height == b.Height && a.Width == b.Width && a.Interpolation == b.Interpolation &&
        a.CropPct == b.CropPct && a.TestCropPct == b.TestCropPct && a.Mean.SequenceEqual(b.Mean) && a.Std.SequenceEqual(b.Std);
}
