using FasterNet.Serialization;

namespace FasterNet.Tests.Serialization;

[TestFixture]
public class TensorAndStateDictTests
{
    [Test]
    public void Tensor_KeepsShapeAndCountsElements()
    {
        var tensor = new Tensor([40, 3, 4, 4], new float[40 * 3 * 4 * 4]);

        Assert.That(tensor.ShapeString, Is.EqualTo("[40, 3, 4, 4]"));
        Assert.That(tensor.ElementCount, Is.EqualTo(1920));
        Assert.That(tensor.Rank, Is.EqualTo(4));
        Assert.That(tensor.HasShape(40, 3, 4, 4), Is.True);
        Assert.That(tensor.HasShape(40, 3, 4), Is.False);
    }

    [Test]
    public void Tensor_ShapeCannotBeChangedFromOutside()
    {
        int[] shape = [2, 3];
        var tensor = new Tensor(shape, new float[6]);

        shape[0] = 5;
        tensor.Shape[1] = 9;

        Assert.That(tensor.Shape, Is.EqualTo(new[] { 2, 3 }));
    }

    [Test]
    public void Tensor_ScalarHasOneElement_AndEmptyShapesHaveNone()
    {
        Assert.That(new Tensor([], [3f]).ElementCount, Is.EqualTo(1));
        Assert.That(new Tensor([], [3f]).ShapeString, Is.EqualTo("[]"));
        Assert.That(Tensor.Zeros(0, 7).ElementCount, Is.Zero);
    }

    [Test]
    public void Tensor_RefusesMismatchedDataAndBadShapes()
    {
        Assert.Throws<ArgumentException>(() => _ = new Tensor([2, 3], new float[5]));
        Assert.Throws<ArgumentException>(() => _ = new Tensor([-2, -3], new float[6]));
        Assert.Throws<ArgumentException>(() => Tensor.CountElements([int.MaxValue, int.MaxValue, int.MaxValue]));
        Assert.Throws<ArgumentException>(() => Tensor.Zeros(int.MaxValue, 4));
    }

    [Test]
    public void StateDict_EnumeratesInOrdinalOrder_NotInsertionOrder()
    {
        var state = new StateDict(
        [
            new("b", Tensor.Zeros(1)), new("B", Tensor.Zeros(1)), new("a.10", Tensor.Zeros(1)), new("a.9", Tensor.Zeros(1)),
        ]);

        Assert.That(state.Keys, Is.EqualTo(new[] { "B", "a.10", "a.9", "b" }));
        Assert.That(state.ContainsKey("A"), Is.False, "keys compare ordinally");
    }

    [Test]
    public void StateDict_RefusesDuplicateNames_AcrossFloatAndIntegerEntries()
    {
        Assert.Throws<ArgumentException>(() => _ = new StateDict([new("x", Tensor.Zeros(1)), new("x", Tensor.Zeros(2))]));
        Assert.Throws<ArgumentException>(() => _ = new StateDict([new("x", Tensor.Zeros(1))], [new("x", new IntegerTensor([], [1]))]));
    }

    [Test]
    public void StateDict_MissingKey_NamesIt()
    {
        var state = new StateDict([new("x", Tensor.Zeros(1))]);

        var exception = Assert.Throws<KeyNotFoundException>(() => _ = state["head.weight"])!;

        Assert.That(exception.Message, Does.Contain("head.weight"));
    }
}
