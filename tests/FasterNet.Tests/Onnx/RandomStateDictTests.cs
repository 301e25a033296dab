using FasterNet.Onnx;
using FasterNet.Serialization;

namespace FasterNet.Tests.Onnx;

public class RandomStateDictTests
{
    [Test]
    public void SameSeedGivesTheNativeRuntimesRandomModel()
    {
        // Same generator and tensor order as FasterNetModel.CreateRandom: identical weights, identical logits.
        ModelSpec spec = ModelSpec.FromJson(Fixtures.Path("tiny/config.json"));
        var options = new ModelOptions { Threads = 1 };
        using var native = FasterNetModel.CreateRandom(spec, seed: 5, options);
        using var managed = FasterNetModel.FromStateDict(spec, RandomStateDict.Create(spec, seed: 5), options);
        float[] input = OnnxRuntimeParityTests.RandomInput(2 * 3 * 32 * 32, seed: 4);
        Assert.That(managed.Run(input, 2, 32, 32), Is.EqualTo(native.Run(input, 2, 32, 32)));
    }

    [Test]
    public void SeedsSelectDifferentWeights()
    {
        StateDict a = RandomStateDict.Create(ModelSpec.T0, seed: 1), b = RandomStateDict.Create(ModelSpec.T0, seed: 2);
        Assert.That(a["head.weight"].Data, Is.Not.EqualTo(b["head.weight"].Data));
        Assert.That(RandomStateDict.Create(ModelSpec.T0, seed: 1)["head.weight"].Data, Is.EqualTo(a["head.weight"].Data));
    }

    [Test]
    public void ValuesStayInTheirDocumentedRanges()
    {
        StateDict weights = RandomStateDict.Create(ModelSpec.T0, seed: 9);
        Assert.That(weights.Keys, Is.EquivalentTo(StateDictLayout.Expected(ModelSpec.T0).Select(e => e.Name)));
        Assert.That(weights["stages.0.blocks.0.mlp.1.running_var"].Data, Has.All.InRange(0.5f, 1.5f));
        Assert.That(weights["stages.0.blocks.0.mlp.1.weight"].Data, Has.All.InRange(0.5f, 1.5f));
        Assert.That(weights["stages.0.blocks.0.mlp.1.running_mean"].Data, Has.All.InRange(-0.1f, 0.1f));
        Assert.That(weights["head.bias"].Data, Has.All.InRange(-0.1f, 0.1f));
        // PW2 of stage 1 maps 80 hidden channels to 40: fan_in 80.
        float[] pw2 = weights["stages.0.blocks.0.mlp.3.weight"].Data;
        Assert.That(pw2, Has.All.InRange(-1f / MathF.Sqrt(80), 1f / MathF.Sqrt(80)));
        Assert.That(pw2.Max(), Is.GreaterThan(0.9f / MathF.Sqrt(80)), "spans the range, not a corner of it");
    }
}
