using System.Net;
using System.Text.Json.Nodes;
using FasterNet.Imaging;
using static FasterNet.Server.Tests.ServerHarness;

namespace FasterNet.Server.Tests;

/// <summary>A hub snapshot folder as the weights: served under its variant's name, with its own preprocessing.</summary>
[TestFixture]
public sealed class HubSnapshotServingTests
{
    private static string SnapshotFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", "fixtures", "t0_timm_hub");
            if (Directory.Exists(candidate))
                return candidate;
        }
        throw new DirectoryNotFoundException("tests/fixtures/t0_timm_hub not found above " + AppContext.BaseDirectory);
    }

    [Test]
    public async Task SnapshotFolderIsServedUnderItsVariantNameWithTheLibrarysLogitsAndItsPreprocessing()
    {
        // The fixture's pretrained_cfg with other mean, std, crop and interpolation than ImageNet's defaults.
        string folder = Directory.CreateTempSubdirectory("fasternet-hub-").FullName;
        File.Copy(Path.Combine(SnapshotFolder(), "model.safetensors"), Path.Combine(folder, "model.safetensors"));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(SnapshotFolder(), "config.json")))!.AsObject();
        JsonObject pretrained = config["pretrained_cfg"]!.AsObject();
        pretrained["mean"] = new JsonArray(0.5, 0.5, 0.5);
        pretrained["std"] = new JsonArray(0.25, 0.25, 0.25);
        pretrained["test_crop_pct"] = 0.875;
        pretrained["interpolation"] = "bilinear";
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        try
        {
            await using ServerHarness server = await StartAsync(new ModelConfiguration { Weights = folder, MaxBatchSize = 2 });
            ServedModel served = server.Model("t0");
            PreprocessorOptions options = served.Preprocessor.Options;
            Assert.That(options.Mean, Is.EqualTo(new[] { 0.5f, 0.5f, 0.5f }).AsCollection);
            Assert.That(options.Std, Is.EqualTo(new[] { 0.25f, 0.25f, 0.25f }).AsCollection);
            Assert.That(options.CropRatio, Is.EqualTo(0.875).Within(1e-9));
            Assert.That(options.ResizeMode, Is.EqualTo(ResizeMode.Bilinear));
            await AnswersAsTheLibrary(server, served, folder);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task AnswersAsTheLibrary(ServerHarness server, ServedModel served, string folder)
    {
        float[] input = RandomInput(3 * 64 * 64, seed: 5);
        float[] library;
        using (FasterNetModel model = FasterNetModel.FromPretrained(folder, new ModelOptions { Threads = served.ThreadsPerExecutor }))
            library = model.Run(input, 1, 64, 64);
        HttpResponseMessage response = await server.PostJsonAsync("/v2/models/t0/infer", JsonRequest(input, [1, 3, 64, 64]));
        JsonNode body = await ReadJsonAsync(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        Assert.That(Floats(body["outputs"]![0]!["data"]!), Is.EqualTo(library).AsCollection);
    }

    [Test]
    public void AVariantThatDisagreesWithTheSnapshotIsRefusedNamingBoth()
    {
        var e = Assert.ThrowsAsync<ArgumentException>(async () =>
            await (await StartAsync(new ModelConfiguration { Variant = "t2", Weights = SnapshotFolder() })).DisposeAsync());
        Assert.That(e!.Message, Does.Contain("t2").And.Contain("fasternet_t0"));
    }
}
