using FasterNet.Serialization;

namespace FasterNet.Tests.Model;

/// <summary>Bad weights and bad inputs give typed exceptions whose message names the problem.</summary>
public class ModelErrorTests
{
    private static ModelSpec TinySpec => ModelSpec.FromJson(Fixtures.Path("tiny/config.json"));

    private static Dictionary<string, Tensor> TinyStateDict() =>
        TorchCheckpoint.Load(Fixtures.Path("tiny/weights.pth")).ToDictionary(p => p.Key, p => p.Value);

    [Test]
    public void MissingTensorIsNamed()
    {
        var stateDict = TinyStateDict();
        stateDict.Remove("stages.2.blocks.0.mlp.1.running_var");
        var error = Assert.Throws<StateDictMismatchException>(() => FasterNetModel.FromStateDict(TinySpec, stateDict));
        Assert.That(error!.Message, Does.Contain("missing tensors (1): stages.2.blocks.0.mlp.1.running_var"));
    }

    [Test]
    public void UnexpectedTensorIsNamed()
    {
        var stateDict = TinyStateDict();
        stateDict["stages.0.blocks.7.mlp.0.weight"] = Tensor.Zeros(1, 1, 1, 1);
        var error = Assert.Throws<StateDictMismatchException>(() => FasterNetModel.FromStateDict(TinySpec, stateDict));
        Assert.That(error!.Message, Does.Contain("unexpected tensors (1): stages.0.blocks.7.mlp.0.weight"));
    }

    [Test]
    public void WrongTensorShapeNamesTensorExpectedAndActual()
    {
        var stateDict = TinyStateDict();
        stateDict["head.weight"] = Tensor.Zeros(7, 63);
        var error = Assert.Throws<ShapeMismatchException>(() => FasterNetModel.FromStateDict(TinySpec, stateDict));
        Assert.That(error!.Message, Does.Contain("'head.weight' has shape [7, 63], expected [7, 64]"));
    }

    [Test]
    public void CheckpointForAnotherVariantIsRefusedWithTheFileName()
    {
        string path = Fixtures.Path("tiny/weights.pth");
        var error = Assert.Throws<StateDictMismatchException>(() => FasterNetModel.FromCheckpoint(ModelSpec.T0, path));
        Assert.That(error!.Message, Does.Contain(path).And.Contain("t0"));
    }

    [Test]
    public void WrongInputChannelCountIsAShapeError()
    {
        using var model = FasterNetModel.CreateRandom(TinySpec);
        var input = Tensor.Zeros(1, 4, 32, 32);
        var error = Assert.Throws<ShapeMismatchException>(() => model.Run(input));
        Assert.That(error!.Message, Does.Contain("[1, 4, 32, 32]").And.Contain("[N, 3, H, W]"));
    }

    [Test]
    public void SpanOfTheWrongLengthIsAShapeError()
    {
        using var model = FasterNetModel.CreateRandom(TinySpec);
        var error = Assert.Throws<ShapeMismatchException>(() => model.Run(new float[100], 1, 32, 32));
        Assert.That(error!.Message, Does.Contain("expected 1 x 3 x 32 x 32"));
    }

    [Test]
    public void TooSmallImageNamesTheSmallestSize()
    {
        using var model = FasterNetModel.CreateRandom(TinySpec);
        var error = Assert.Throws<InvalidModelInputException>(() => model.Run(new float[3 * 16 * 16], 1, 16, 16));
        Assert.That(error!.Message, Does.Contain("too small").And.Contain("32x32"));
    }

    [Test]
    public void ZeroBatchIsRefused()
    {
        using var model = FasterNetModel.CreateRandom(TinySpec);
        var error = Assert.Throws<InvalidModelInputException>(() => model.Run(Array.Empty<float>(), 0, 32, 32));
        Assert.That(error!.Message, Does.Contain("batch"));
    }

    [Test]
    public void NaNInputPropagatesToTheLogits()
    {
        using var model = FasterNetModel.CreateRandom(TinySpec);
        var input = new float[2 * 3 * 32 * 32];
        input[5] = float.NaN;  // only the first image
        float[] logits = model.Run(input, 2, 32, 32);
        Assert.That(logits.Take(7).All(float.IsNaN), Is.True, "image 0 has a NaN pixel");
        Assert.That(logits.Skip(7).All(float.IsFinite), Is.True, "image 1 is clean");
    }

    [Test]
    public void InvalidConfigNamesTheField()
    {
        var error = Assert.Throws<InvalidModelInputException>(() => FasterNetModel.CreateRandom(TinySpec with { NDiv = 100 }));
        Assert.That(error!.Message, Does.Contain("n_div"));
    }

    [Test]
    public void UsingADisposedModelThrows()
    {
        var model = FasterNetModel.CreateRandom(TinySpec);
        model.Dispose();
        Assert.Throws<ObjectDisposedException>(() => model.Run(new float[3 * 32 * 32], 1, 32, 32));
    }
}
