using System.Text.Json.Nodes;
using FasterNet.Imaging;

namespace FasterNet.Tests.Imaging;

public class PreprocessorTests
{
    [Test]
    public void WholePipeline_OnTheFixturePng_MatchesTorch()
    {
        // The fixture's pipeline: shorter side int(28 / 0.875) = 32 (bilinear, no antialias), centre crop 28, ImageNet normalisation.
        var preprocessor = new Preprocessor(new PreprocessorOptions
        {
            Size = 28,
            CropRatio = 0.875,
            ResizeMode = ResizeMode.Bilinear,
            Antialias = false,
        });

        PlanarImage input = preprocessor.Process(PipelineFixtures.PngPath);

        Assert.That(PipelineFixtures.MaxAbsoluteDifference(input, PipelineFixtures.Expected("eval_pipeline_1x3x28x28.npy")),
            Is.LessThan(1e-5));
    }

    [Test]
    public void ForImageNet_IsTheOfficialEvaluation()
    {
        PreprocessorOptions options = Preprocessor.ForImageNet().Options;

        Assert.That(options.Size, Is.EqualTo(224));
        Assert.That(options.ResizeSize, Is.EqualTo(248)); // int(224 / 0.9) = int(248.9)
        Assert.That(options.ResizeMode, Is.EqualTo(ResizeMode.Bicubic));
        Assert.That(options.Antialias, Is.True);
        Assert.That(options.Channels, Is.EqualTo(ImageChannels.Rgb));
        Assert.That(options.Mean, Is.EqualTo(new[] { 0.485f, 0.456f, 0.406f }));
        Assert.That(options.Std, Is.EqualTo(new[] { 0.229f, 0.224f, 0.225f }));
    }

    [Test]
    public void CreateBatch_StacksImagesInNchwOrder()
    {
        var preprocessor = new Preprocessor(new PreprocessorOptions
        {
            Size = 2, CropRatio = 1, Channels = ImageChannels.Grayscale, Mean = [0f], Std = [1f],
        });
        PixelImage first = PixelImage.FromGray([0, 255, 255, 0], 2, 2);
        PixelImage second = PixelImage.FromGray([51, 51, 51, 51], 2, 2);

        ImageBatch batch = preprocessor.CreateBatch([first, second]);

        Assert.That(batch.ToTensor().Shape, Is.EqualTo(new[] { 2, 1, 2, 2 }));
        Assert.That(batch.Data, Is.EqualTo(new[] { 0f, 1f, 1f, 0f, 0.2f, 0.2f, 0.2f, 0.2f }));
    }

    [Test]
    public void Process_ColourImageForAGrayscaleModel_UsesTheLuma()
    {
        var preprocessor = new Preprocessor(new PreprocessorOptions
        {
            Size = 1, CropRatio = 1, Channels = ImageChannels.Grayscale, Mean = [0f], Std = [1f],
        });

        PlanarImage input = preprocessor.Process(new PixelImage(1, 1, ImageChannels.Rgb, [10, 200, 30]));

        Assert.That(input.Data, Is.EqualTo(new[] { 124 / 255f }));
    }

    [Test]
    public void FromModelConfig_ReadsTheTrainedModelsPreprocessing()
    {
        var config = JsonNode.Parse("""
            {"in_chans": 1, "num_classes": 10, "mean": [0.2860], "std": [0.3530], "input_size": [28, 28]}
            """)!.AsObject();

        PreprocessorOptions options = Preprocessor.FromModelConfig(config).Options;

        Assert.That(options.Channels, Is.EqualTo(ImageChannels.Grayscale));
        Assert.That(options.Size, Is.EqualTo(28));
        Assert.That(options.CropRatio, Is.EqualTo(1.0), "an input_size without a crop ratio means no crop margin");
        Assert.That(options.ResizeSize, Is.EqualTo(28));
        Assert.That(options.Mean, Is.EqualTo(new[] { 0.2860f }));
        Assert.That(options.Std, Is.EqualTo(new[] { 0.3530f }));
    }

    [Test]
    public void FromModelConfig_WithoutPreprocessingKeys_IsImageNets()
    {
        var config = JsonNode.Parse("""{"embed_dim": 40, "depths": [1, 2, 8, 2]}""")!.AsObject();

        Assert.That(Preprocessor.FromModelConfig(config).Options, Is.EqualTo(Preprocessor.ForImageNet().Options));
    }

    [Test]
    public void FromModelConfig_ReadsTimmCropPctAndInterpolation()
    {
        var config = JsonNode.Parse("""
            {"input_size": [3, 256, 256], "crop_pct": 0.875, "interpolation": "bilinear", "antialias": false}
            """)!.AsObject();

        PreprocessorOptions options = Preprocessor.FromModelConfig(config).Options;

        Assert.That((options.Size, options.ResizeSize), Is.EqualTo((256, 292)));
        Assert.That((options.ResizeMode, options.Antialias), Is.EqualTo((ResizeMode.Bilinear, false)));
    }

    [TestCase("""{"in_chans": 1}""", "mean")]
    [TestCase("""{"in_chans": 4}""", "in_chans 4")]
    [TestCase("""{"input_size": [28, 32]}""", "not square")]
    [TestCase("""{"interpolation": "lanczos"}""", "lanczos")]
    [TestCase("""{"std": [0, 1, 1]}""", "Std")]
    [TestCase("""{"crop_ratio": 1.5}""", "CropRatio")]
    public void FromModelConfig_RefusesBadValues_NamingThem(string json, string expected)
    {
        var config = JsonNode.Parse(json)!.AsObject();

        var exception = Assert.Throws<FasterNetException>(() => Preprocessor.FromModelConfig(config, "my.json"))!;

        Assert.That(exception.Message, Does.StartWith("my.json").And.Contain(expected));
    }
}
