using System.Text.Json;
using System.Text.Json.Nodes;
using FasterNet.Imaging;
using FasterNet.Serialization;

namespace FasterNet.Tests.Cli;

/// <summary>
/// The CLI with timm-layout weights and hub snapshot folders: `run` gives exactly the official file's logits,
/// `convert` writes either layout and hub folders, `classify` and `eval` take the pre-processing from config.json.
/// </summary>
[NonParallelizable]
public class WeightLayoutCliTests
{
    private string _folder = "";

    [SetUp]
    public void CreateFolder()
    {
        _folder = Path.Combine(Path.GetTempPath(), $"fasternet-cli-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_folder);
    }

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

    [Test]
    public void RunOnTheT0SnapshotFolderNeedsNoModelAndGivesTheOfficialLogits()
    {
        string official = Temp("official.npy"), hub = Temp("hub.npy");
        CliRunner.Succeed("run", "--model", "t0", "--weights", Fixtures.Path("t0/weights.pth"),
                          "--input", Fixtures.Path("t0/input_2x3x224x224.npy"), "--output", official);
        CliRunner.Result result = CliRunner.Succeed("run", "--weights", Fixtures.Path("t0_timm_hub"),
                          "--input", Fixtures.Path("t0/input_2x3x224x224.npy"), "--output", hub);
        Assert.That(result.Stderr, Does.Contain("timm layout"));
        Assert.That(Npy.Read(hub).Data, Is.EqualTo(Npy.Read(official).Data), "bit for bit");
    }

    [Test]
    public void RunOnATimmPthGivesTheOfficialLogits()
    {
        string official = Temp("official.npy"), timm = Temp("timm.npy");
        string[] common = ["--config", Fixtures.Path("tiny/config.json"), "--input", Fixtures.Path("tiny/input_1x3x40x56.npy")];
        CliRunner.Succeed(["run", "--weights", Fixtures.Path("tiny/weights.pth"), "--output", official, .. common]);
        CliRunner.Succeed(["run", "--weights", Fixtures.Path("tiny/weights_timm.pth"), "--output", timm, .. common]);
        Assert.That(Npy.Read(timm).Data, Is.EqualTo(Npy.Read(official).Data));
    }

    [Test]
    public void AModelThatDisagreesWithTheSnapshotIsAnErrorNamingBoth()
    {
        CliRunner.Result result = CliRunner.Run("run", "--model", "s", "--weights", Fixtures.Path("t0_timm_hub"),
                                                "--input", Fixtures.Path("t0/input_1x3x192x256.npy"), "--output", Temp("x.npy"));
        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Stderr, Does.StartWith("error: ").And.Contain("--model s").And.Contain("fasternet_t0"));
        Assert.That(File.Exists(Temp("x.npy")), Is.False);
    }

    [Test]
    public void ConvertWritesTheTimmLayoutAndAHubFolderThatLoadBack()
    {
        string timmFile = Temp("tiny_timm.safetensors"), hubFolder = Temp("hub"), viaFile = Temp("a.npy"), viaHub = Temp("b.npy"),
               official = Temp("c.npy");
        string input = Fixtures.Path("tiny/input_2x3x32x32.npy"), config = Fixtures.Path("tiny/config.json");
        CliRunner.Succeed("convert", "--input", Fixtures.Path("tiny/weights.pth"), "--output", timmFile, "--layout", "timm");
        var names = SafeTensorNames(timmFile);
        Assert.That(names, Does.Contain("classifier.weight").And.Contain("stages.1.downsample.reduction.weight")
                                   .And.Not.Contain("head.weight"));
        CliRunner.Succeed("convert", "--input", Fixtures.Path("tiny/weights.pth"), "--output", hubFolder, "--config", config);
        Assert.That(File.Exists(Path.Combine(hubFolder, "config.json")) && File.Exists(Path.Combine(hubFolder, "model.safetensors")));

        CliRunner.Succeed("run", "--config", config, "--weights", Fixtures.Path("tiny/weights.pth"), "--input", input, "--output", official);
        CliRunner.Succeed("run", "--config", config, "--weights", timmFile, "--input", input, "--output", viaFile);
        CliRunner.Succeed("run", "--weights", hubFolder, "--input", input, "--output", viaHub);
        Assert.That(Npy.Read(viaFile).Data, Is.EqualTo(Npy.Read(official).Data));
        Assert.That(Npy.Read(viaHub).Data, Is.EqualTo(Npy.Read(official).Data));
    }

    [Test]
    public void ClassifyUsesThePreprocessingOfTheSnapshotsPretrainedCfg()
    {
        // A copy of the T0 snapshot with unusual pre-processing: bilinear, crop_pct 0.75, mean 0, std 1.
        string folder = Temp("t0_hub");
        Directory.CreateDirectory(folder);
        File.Copy(Fixtures.Path("t0_timm_hub/model.safetensors"), Path.Combine(folder, "model.safetensors"));
        var config = JsonNode.Parse(File.ReadAllText(Fixtures.Path("t0_timm_hub/config.json")))!.AsObject();
        var cfg = config["pretrained_cfg"]!.AsObject();
        cfg["interpolation"] = "bilinear";
        cfg["crop_pct"] = 0.75;
        cfg.Remove("test_crop_pct");
        cfg["mean"] = new JsonArray(0, 0, 0);
        cfg["std"] = new JsonArray(1, 1, 1);
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        string image = Fixtures.Path("pipeline/image_37x23.png");

        CliRunner.Result result = CliRunner.Succeed("classify", image, "--weights", folder, "--top", "3", "--json");
        var top = JsonNode.Parse(result.Stdout)!["results"]![0]!["top"]!.AsArray();

        // The same by hand through the API: those options, stated here, not read from the file.
        var options = new PreprocessorOptions
        {
            Size = 224, ResizeMode = ResizeMode.Bilinear, Antialias = true, CropRatio = 0.75, Mean = [0f, 0f, 0f], Std = [1f, 1f, 1f],
        };
        using var model = FasterNetModel.FromCheckpoint(ModelSpec.T0, Fixtures.Path("t0/weights.pth"));
        float[] logits = model.Run(new Preprocessor(options).Process(image).Data, 1, 224, 224);
        Prediction[] expected = Classification.TopK(logits, 3);
        Assert.That(top.Select(t => t!["class"]!.GetValue<int>()), Is.EqualTo(expected.Select(p => p.ClassIndex)));
        Assert.That(top[0]!["probability"]!.GetValue<double>(), Is.EqualTo(expected[0].Probability).Within(1e-6));

        // ImageNet's default pre-processing gives other probabilities: the config really was used.
        float[] imagenet = model.Run(Preprocessor.ForImageNet().Process(image).Data, 1, 224, 224);
        Assert.That(Classification.TopK(imagenet, 1)[0].Probability, Is.Not.EqualTo(expected[0].Probability).Within(1e-4));
    }

    [Test]
    public void EvalOfTheBuiltInModelAsAHubFolderMatchesTheBuiltInModel()
    {
        string folder = Temp("fashion_hub");
        CliRunner.Succeed("convert", "--input", Path.Combine(Fixtures.RepoRoot, "models/fashion-mnist/weights.pth"),
                          "--output", folder, "--config", Path.Combine(Fixtures.RepoRoot, "models/fashion-mnist/config.json"));
        var written = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!;
        Assert.That(written["pretrained_cfg"]!["input_size"]!.AsArray().Select(v => v!.GetValue<int>()), Is.EqualTo(new[] { 1, 28, 28 }));
        Assert.That(written["label_names"]!.AsArray(), Has.Count.EqualTo(10));

        var builtIn = JsonNode.Parse(CliRunner.Succeed("eval", "--limit", "1000", "--json").Stdout)!;
        var hub = JsonNode.Parse(CliRunner.Succeed("eval", "--weights", folder, "--limit", "1000", "--json").Stdout)!;
        Assert.That(hub["count"]!.GetValue<int>(), Is.EqualTo(1000));
        Assert.That(hub["correct"]!.GetValue<int>(), Is.EqualTo(builtIn["correct"]!.GetValue<int>()));
        Assert.That(hub["confusion"]!.ToJsonString(), Is.EqualTo(builtIn["confusion"]!.ToJsonString()));
    }

    private string Temp(string name) => Path.Combine(_folder, name);

    private static List<string> SafeTensorNames(string path)
    {
        using var stream = File.OpenRead(path);
        var size = new byte[8];
        stream.ReadExactly(size);
        var header = new byte[BitConverter.ToInt64(size)];
        stream.ReadExactly(header);
        using var json = JsonDocument.Parse(header);
        return json.RootElement.EnumerateObject().Select(p => p.Name).Where(n => n != "__metadata__").ToList();
    }
}
