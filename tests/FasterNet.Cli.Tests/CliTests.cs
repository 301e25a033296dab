using System.Text.Json;
using FasterNet.Serialization;

namespace FasterNet.Cli.Tests;

/// <summary>
/// Every command's exit code on success (0) and on bad input (non-zero, with an error naming the problem),
/// its --json output parsed and checked against facts that do not come from the command itself.
/// </summary>
public class CliTests
{
    private static string Tiny(string file) => Cli.Repo(Path.Combine("tests", "fixtures", "tiny", file));

    private string _temp = "";

    [SetUp]
    public void CreateTempDirectory()
    {
        _temp = Path.Combine(Path.GetTempPath(), "fasternet-cli-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_temp);
    }

    [TearDown]
    public void DeleteTempDirectory() => Directory.Delete(_temp, recursive: true);

    [Test]
    public void InfoJsonDescribesT0AsThePaperDefinesIt()
    {
        var result = Cli.Run("info", "--model", "t0", "--json");
        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        JsonElement json = result.Json();
        Assert.That(json.GetProperty("model").GetString(), Is.EqualTo("t0"));
        Assert.That(json.GetProperty("depths").EnumerateArray().Select(d => d.GetInt32()), Is.EqualTo(new[] { 1, 2, 8, 2 }));
        Assert.That(json.GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("channels").GetInt32()),
            Is.EqualTo(new[] { 40, 80, 160, 320 }));
        // The paper's Table: T0 has 3.9 M parameters and 0.34 G FLOPs (MACs) at 224x224.
        Assert.That(json.GetProperty("parameters").GetInt64() / 1e6, Is.EqualTo(3.9).Within(0.05));
        Assert.That(json.GetProperty("gmacs").GetDouble(), Is.EqualTo(0.34).Within(0.01));
        Assert.That(json.GetProperty("runtime").GetProperty("kernel_set").GetString(), Is.Not.Empty);
    }

    [Test]
    public void UnknownModelNameExitsWithAnErrorNamingIt()
    {
        var result = Cli.Run("info", "--model", "t99");
        Assert.That(result.ExitCode, Is.Not.Zero, result.ToString());
        Assert.That(result.Stderr, Does.Contain("t99"));
    }

    [Test]
    public void ServeRefusesModelOptionsNextToAConfigFileInsteadOfIgnoringThem()
    {
        var result = Cli.Run("serve", "--config", "serve.json", "--model", "t0", "--weights", "t0.pth");
        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Stderr, Does.Contain("--model, --weights cannot be combined with --config"));
    }

    [Test]
    public void UnknownCommandOrOptionFails()
    {
        Assert.That(Cli.Run("frobnicate").ExitCode, Is.Not.Zero);
        Assert.That(Cli.Run("info", "--no-such-option").ExitCode, Is.Not.Zero);
    }

    [Test]
    public void ClassifyJsonLabelsEverySampleWithItsTrueClass()
    {
        string samples = Cli.Repo(Path.Combine("samples", "fashion-mnist"));
        var result = Cli.Run("classify", samples, "--top", "3", "--json");
        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        JsonElement json = result.Json();
        var results = json.GetProperty("results").EnumerateArray().ToList();
        Assert.That(results, Has.Count.EqualTo(Directory.GetFiles(samples, "*.png").Length));
        Assert.That(json.GetProperty("errors").GetArrayLength(), Is.Zero);
        foreach (JsonElement r in results)
        {
            string file = Path.GetFileName(r.GetProperty("file").GetString()!);
            int truth = int.Parse(file.Split('_')[0]);  // samples are named <true class>_<label>.png
            var top = r.GetProperty("top").EnumerateArray().ToList();
            Assert.That(top, Has.Count.EqualTo(3), file);
            Assert.That(top[0].GetProperty("class").GetInt32(), Is.EqualTo(truth), file);
            var probabilities = top.Select(t => t.GetProperty("probability").GetDouble()).ToList();
            Assert.That(probabilities, Is.Ordered.Descending, file);
            Assert.That(probabilities.Sum(), Is.InRange(0.0, 1.0 + 1e-6), file);
        }
    }

    [Test]
    public void ClassifyFolderWithOneBadFileReportsItAndStillClassifiesTheRest()
    {
        string samples = Cli.Repo(Path.Combine("samples", "fashion-mnist"));
        foreach (string png in Directory.GetFiles(samples, "*.png").Order().Take(3))
            File.Copy(png, Path.Combine(_temp, Path.GetFileName(png)));
        File.WriteAllBytes(Path.Combine(_temp, "broken.png"), [0x89, (byte)'P', (byte)'N', (byte)'G', 1, 2, 3]);

        var result = Cli.Run("classify", _temp, "--json");
        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        JsonElement json = result.Json();
        Assert.That(json.GetProperty("results").GetArrayLength(), Is.EqualTo(3));
        var errors = json.GetProperty("errors").EnumerateArray().ToList();
        Assert.That(errors, Has.Count.EqualTo(1));
        Assert.That(errors[0].GetProperty("file").GetString(), Does.EndWith("broken.png"));
        Assert.That(errors[0].GetProperty("error").GetString(), Is.Not.Empty);
    }

    [Test]
    public void ClassifyRefusesBadArgumentsAndMissingFiles()
    {
        var top = Cli.Run("classify", Cli.Repo("samples/fashion-mnist"), "--top", "0");
        Assert.That(top.ExitCode, Is.EqualTo(1), top.ToString());
        Assert.That(top.Stderr, Does.Contain("--top 0"));
        var missing = Cli.Run("classify", Path.Combine(_temp, "nothing-here.png"));
        Assert.That(missing.ExitCode, Is.EqualTo(1), missing.ToString());
        Assert.That(missing.Stderr, Does.Contain("nothing-here.png"));
    }

    /// <summary>The README's claim: 90.73% on the 10,000 test images, the same predictions as PyTorch.</summary>
    [Test]
    public void EvalOverAllTenThousandTestImagesMatchesPyTorchExactly()
    {
        var result = Cli.Run("eval", "--json");
        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        JsonElement json = result.Json();
        Assert.That(json.GetProperty("count").GetInt32(), Is.EqualTo(10_000));
        Assert.That(json.GetProperty("correct").GetInt32(), Is.EqualTo(9073));
        Assert.That(json.GetProperty("accuracy").GetDouble(), Is.EqualTo(0.9073).Within(1e-9));
        JsonElement pytorch = json.GetProperty("pytorch");
        Assert.That(pytorch.GetProperty("compared").GetInt32(), Is.EqualTo(10_000));
        Assert.That(pytorch.GetProperty("differing").GetInt32(), Is.Zero,
            "indices: " + pytorch.GetProperty("differing_indices"));
        int confusionTotal = json.GetProperty("confusion").EnumerateArray().Sum(row => row.EnumerateArray().Sum(c => c.GetInt32()));
        Assert.That(confusionTotal, Is.EqualTo(10_000));
    }

    [Test]
    public void EvalRefusesBadArguments()
    {
        var batch = Cli.Run("eval", "--batch", "0");
        Assert.That(batch.ExitCode, Is.EqualTo(1), batch.ToString());
        Assert.That(batch.Stderr, Does.Contain("--batch 0"));
        var dataset = Cli.Run("eval", "--dataset", "cifar-10");
        Assert.That(dataset.ExitCode, Is.EqualTo(1), dataset.ToString());
        Assert.That(dataset.Stderr, Does.Contain("cifar-10"));
    }

    /// <summary>
    /// ONNX Runtime's int8 QDQ graph of the built-in model (calibrated on 256 training images) beside our fp32 on
    /// 2,000 test images: int8 costs accuracy, but little (measured: the same 2,000 images, see docs/performance.md).
    /// </summary>
    [Test]
    public void EvalReportsOnnxRuntimeInt8AccuracyBesideOurs()
    {
        var result = Cli.Run("eval", "--limit", "2000", "--peer", "onnxruntime-int8", "--json");
        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        JsonElement json = result.Json();
        JsonElement int8 = json.GetProperty("onnxruntime_int8");
        Assert.That(int8.GetProperty("calibration_images").GetInt32(), Is.EqualTo(256));
        double ours = json.GetProperty("accuracy").GetDouble(), theirs = int8.GetProperty("accuracy").GetDouble();
        Assert.That(theirs, Is.EqualTo(ours).Within(0.02), "int8 within 2 points of fp32");
        Assert.That(int8.GetProperty("differing_from_pytorch").GetInt32(), Is.InRange(0, 60), "at most 3% of predictions change");
    }

    [Test]
    public void Int8OptionsInTheWrongCombinationAreClearErrors()
    {
        var calibration = Cli.Run("export-onnx", "-m", "t0", "-o", Path.Combine(_temp, "t0.onnx"), "--calibration-images", _temp);
        Assert.That(calibration.ExitCode, Is.EqualTo(1), calibration.ToString());
        Assert.That(calibration.Stderr, Does.Contain("need --quantize int8"));
        var empty = Cli.Run("export-onnx", "-m", "t0", "-o", Path.Combine(_temp, "t0.onnx"), "--quantize", "int8",
            "--calibration-images", _temp);
        Assert.That(empty.ExitCode, Is.EqualTo(1), empty.ToString());
        Assert.That(empty.Stderr, Does.Contain("holds no images"));
        Assert.That(File.Exists(Path.Combine(_temp, "t0.onnx")), Is.False);
        var bits = Cli.Run("export-onnx", "-m", "t0", "-o", Path.Combine(_temp, "t0.onnx"), "--quantize", "int4");
        Assert.That(bits.ExitCode, Is.Not.Zero, bits.ToString());
        Assert.That(bits.Stderr, Does.Contain("int4"));
        var peer = Cli.Run("bench", "-m", "t0", "--peer", "onnxruntime-int16", "-n", "1");
        Assert.That(peer.ExitCode, Is.EqualTo(1), peer.ToString());
        Assert.That(peer.Stderr, Does.Contain("onnxruntime-int16").And.Contain("onnxruntime-int8"));
        var all = Cli.Run("bench", "all", "--models", "t0", "--peer", "onnxruntime-int8", "-n", "1");
        Assert.That(all.ExitCode, Is.EqualTo(1), all.ToString());
        Assert.That(all.Stderr, Does.Contain("must include onnxruntime"));
        var eval = Cli.Run("eval", "--peer", "onnxruntime", "--limit", "10");
        Assert.That(eval.ExitCode, Is.EqualTo(1), eval.ToString());
        Assert.That(eval.Stderr, Does.Contain("onnxruntime-int8"));
    }

    [Test]
    public void ExportOnnxInt8WritesACalibratedQdqGraph()
    {
        string path = Path.Combine(_temp, "t0_int8.onnx");
        var result = Cli.Run("export-onnx", "-m", "t0", "-o", path, "--quantize", "int8", "--calibration-batches", "1");
        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Stdout, Does.Contain("int8 QDQ, calibrated on 8 random images"));
        // Conv weights in int8 (a quarter of their float bytes); the head's Linear (1280 x 1000, a third of T0's
        // weights) stays float: about half the float graph's size (measured 7.97 MB against 15.7 MB).
        string fp32 = Path.Combine(_temp, "t0.onnx");
        Assert.That(Cli.Run("export-onnx", "-m", "t0", "-o", fp32).ExitCode, Is.Zero);
        Assert.That(new FileInfo(path).Length, Is.LessThan(new FileInfo(fp32).Length * 0.6));
    }

    [Test]
    public void ConvertThenRunGivesPyTorchsLogits()
    {
        string converted = Path.Combine(_temp, "tiny.safetensors");
        var convert = Cli.Run("convert", "--input", Tiny("weights.pth"), "--output", converted);
        Assert.That(convert.ExitCode, Is.Zero, convert.ToString());
        Assert.That(File.Exists(converted), Is.True);

        string logits = Path.Combine(_temp, "logits.npy");
        var run = Cli.Run("run", "--config", Tiny("config.json"), "--weights", converted,
            "--input", Tiny("input_2x3x32x32.npy"), "--output", logits);
        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Tensor actual = Npy.Read(logits), expected = Npy.Read(Tiny("logits_2x3x32x32.npy"));
        Assert.That(actual.Shape, Is.EqualTo(expected.Shape));
        double scale = expected.Data.Max(v => Math.Abs(v));
        for (int i = 0; i < expected.Data.Length; i++)
            Assert.That(actual.Data[i], Is.EqualTo(expected.Data[i]).Within(1e-4 * scale), $"logit {i}");
    }

    [Test]
    public void ConvertAndRunRefuseMissingOrWrongFiles()
    {
        var convert = Cli.Run("convert", "--input", Path.Combine(_temp, "missing.pth"), "--output", Path.Combine(_temp, "x.safetensors"));
        Assert.That(convert.ExitCode, Is.EqualTo(1), convert.ToString());
        Assert.That(convert.Stderr, Does.Contain("missing.pth"));

        string garbage = Path.Combine(_temp, "garbage.pth");
        File.WriteAllBytes(garbage, new byte[100]);
        var bad = Cli.Run("convert", "--input", garbage, "--output", Path.Combine(_temp, "y.safetensors"));
        Assert.That(bad.ExitCode, Is.EqualTo(1), bad.ToString());
        Assert.That(bad.Stderr, Does.Contain("garbage.pth"));

        // A 1-channel input for a 3-channel model.
        var run = Cli.Run("run", "--config", Tiny("config.json"), "--weights", Tiny("weights.pth"),
            "--input", Tiny("odd_input_2x1x45x53.npy"), "--output", Path.Combine(_temp, "z.npy"));
        Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
        Assert.That(run.Stderr, Does.Contain("channels"));
    }

    [Test]
    public void SoakJsonCountsEveryRunAndSamplesMemoryAlongTheWay()
    {
        var result = Cli.Run("soak", "--model", "t0", "--callers", "3", "--runs", "10", "--points", "4", "--json");
        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        JsonElement json = result.Json();
        Assert.That(json.GetProperty("Runs").GetInt64(), Is.EqualTo(30));
        Assert.That(json.GetProperty("Failures").GetInt32(), Is.Zero);
        JsonElement[] curve = json.GetProperty("Curve").EnumerateArray().ToArray();
        Assert.That(curve.First().GetProperty("Runs").GetInt64(), Is.Zero);
        Assert.That(curve.Last().GetProperty("Runs").GetInt64(), Is.EqualTo(30));
        Assert.That(curve.Select(s => s.GetProperty("Runs").GetInt64()), Is.Ordered.Ascending);
        Assert.That(curve, Has.All.Matches<JsonElement>(s => s.GetProperty("RssMiB").GetDouble() > 0));
        // glibc's count of the C heap: the model's weights alone are 15 MiB (3.9 M floats).
        if (OperatingSystem.IsLinux())
            Assert.That(curve.Last().GetProperty("NativeHeapInUseMiB").GetDouble(), Is.GreaterThan(14.0));
    }

    [Test]
    public void SoakRefusesBadCounts()
    {
        foreach (string option in new[] { "--runs", "--callers", "--points" })
        {
            var result = Cli.Run("soak", "--model", "t0", option, "0");
            Assert.That(result.ExitCode, Is.Not.Zero, result.ToString());
            Assert.That(result.Stderr, Does.Contain(option));
        }
    }
}
