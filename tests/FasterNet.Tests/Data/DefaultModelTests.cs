using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using FasterNet.Data;
using FasterNet.Imaging;
using FasterNet.Serialization;

namespace FasterNet.Tests.Data;

/// <summary>
/// The built-in Fashion-MNIST model end to end on real data, against what PyTorch computed with the same weights
/// (models/fashion-mnist/test_logits.npy, test_predictions.npy and samples/fashion-mnist/labels.json, written by
/// tools/train_fashion_mnist.py).
/// </summary>
public class DefaultModelTests
{
    private static string ModelFile(string name) => Path.Combine(Fixtures.RepoRoot, "models", "fashion-mnist", name);

    private static string SamplesDirectory => Path.Combine(Fixtures.RepoRoot, "samples", "fashion-mnist");

    [Test]
    public void EmbeddedModel_IsTheTrainedFashionMnistClassifier()
    {
        Assert.That(DefaultModel.IsAvailable, Is.True, "models/fashion-mnist must be embedded in FasterNet.dll");
        Assert.That((DefaultModel.Spec.InChannels, DefaultModel.Spec.NumClasses), Is.EqualTo((1, 10)));
        Assert.That(DefaultModel.ClassNames, Is.EqualTo(FashionMnist.ClassNames));
        PreprocessorOptions options = DefaultModel.Preprocessor.Options;
        Assert.That((options.Channels, options.Size, options.ResizeSize), Is.EqualTo((ImageChannels.Grayscale, 28, 28)));
        Assert.That(options.Mean, Is.EqualTo(new[] { 0.2860f }));
        Assert.That(options.Std, Is.EqualTo(new[] { 0.3530f }));
    }

    [Test]
    public void EmbeddedPredictions_AreTheCommittedFileAndMatchTheRecordedHash()
    {
        int[] committed = ClassIndexFile.Read(ModelFile("test_predictions.npy"));
        using var config = JsonDocument.Parse(File.ReadAllText(ModelFile("config.json")));
        string recorded = config.RootElement.GetProperty("test_predictions_sha256").GetString()!;

        Assert.That(DefaultModel.PyTorchTestPredictions, Is.EqualTo(committed));
        Assert.That(committed, Has.Length.EqualTo(10_000));
        // The training script hashed the int32 little-endian bytes numpy saved.
        Assert.That(Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(committed.AsSpan()))), Is.EqualTo(recorded));
    }

    [Test]
    public void SamplePngs_DecodeToTheIdxPixelsOfTheirTestImage()
    {
        FashionMnistTests.RequireDataset();
        IdxImages test = FashionMnist.Load(DatasetSplit.Test).Images;

        foreach ((string file, SampleLabel sample) in SampleLabels())
        {
            PixelImage image = ImageDecoder.Decode(Path.Combine(SamplesDirectory, file));

            Assert.That((image.Channels, image.Height, image.Width), Is.EqualTo((ImageChannels.Grayscale, 28, 28)), file);
            Assert.That(image.Pixels, Is.EqualTo(test.Image(sample.TestIndex).ToArray()), file);
        }
    }

    [Test]
    public void SamplePngs_AreClassifiedAsPyTorchClassifiedThem()
    {
        var samples = SampleLabels();
        using FasterNetModel model = DefaultModel.Load();
        ImageBatch batch = DefaultModel.Preprocessor.LoadBatch(samples.Select(s => Path.Combine(SamplesDirectory, s.File)).ToList());

        float[] logits = model.Run(batch.Data, batch.Count, 28, 28);

        int[] predicted = Classification.ArgMax(logits, 10);
        Assert.That(predicted, Is.EqualTo(samples.Select(s => s.Label.PyTorchPrediction).ToArray()));
        for (int i = 0; i < samples.Count; i++)
        {
            // labels.json rounds PyTorch's probability to 6 decimals.
            Assert.That(Classification.TopK(logits.AsSpan(i * 10, 10), 1)[0].Probability,
                Is.EqualTo(samples[i].Label.PyTorchProbability).Within(2e-6), samples[i].File);
        }
        int correct = predicted.Where((p, i) => p == samples[i].Label.Label).Count();
        Assert.That(correct, Is.GreaterThanOrEqualTo(7), "a ~90% model gets most of one image per class right");
    }

    [Test]
    public void First500TestImages_MatchPyTorchLogitsAndPredictions()
    {
        FashionMnistTests.RequireDataset();
        const int count = 500;
        LabeledImages test = FashionMnist.Load(DatasetSplit.Test);
        Preprocessor preprocessor = DefaultModel.Preprocessor;
        var input = new float[count * preprocessor.ValuesPerImage];
        for (int i = 0; i < count; i++)
        {
            preprocessor.ProcessInto(PixelImage.FromGray(test.Images.Image(i), 28, 28),
                input.AsSpan(i * preprocessor.ValuesPerImage, preprocessor.ValuesPerImage));
        }
        using FasterNetModel model = DefaultModel.Load();

        float[] logits = model.Run(input, count, 28, 28);

        Tensor expected = Npy.Read(ModelFile("test_logits.npy"));
        Assert.That(Fixtures.MaxRelativeError(logits, expected.Data.AsSpan(0, count * 10)), Is.LessThan(1e-4),
            "logits against PyTorch's, relative to the largest |logit|");
        int[] predicted = Classification.ArgMax(logits, 10);
        IReadOnlyList<int> pytorch = DefaultModel.PyTorchTestPredictions!;
        int differing = Enumerable.Range(0, count).Count(i => predicted[i] != pytorch[i]);
        Assert.That(differing, Is.LessThanOrEqualTo(1), "predictions that differ from PyTorch's");
    }

    private sealed record SampleLabel(int Label, int TestIndex, int PyTorchPrediction, double PyTorchProbability);

    private static List<(string File, SampleLabel Label)> SampleLabels()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(SamplesDirectory, "labels.json")));
        var samples = json.RootElement.EnumerateObject()
            .Select(p => (p.Name, new SampleLabel(p.Value.GetProperty("label").GetInt32(), p.Value.GetProperty("test_index").GetInt32(),
                                                  p.Value.GetProperty("pytorch_prediction").GetInt32(),
                                                  p.Value.GetProperty("pytorch_probability").GetDouble())))
            .OrderBy(s => s.Name, StringComparer.Ordinal)
            .ToList();
        Assert.That(samples, Has.Count.GreaterThanOrEqualTo(8), "samples/fashion-mnist/labels.json");
        return samples;
    }
}
