using FasterNet.Data;

namespace FasterNet.Tests.Data;

public class ClassNamesTests
{
    [Test]
    public void ImageNet_HasOneThousandNames()
    {
        Assert.That(ImageNetClasses.Names, Has.Count.EqualTo(1000));
        Assert.That(ImageNetClasses.Names, Has.None.Empty);
    }

    // Well-known indices of the standard ILSVRC 2012 order.
    [TestCase(0, "tench")]
    [TestCase(1, "goldfish")]
    [TestCase(134, "crane")]
    [TestCase(151, "Chihuahua")]
    [TestCase(207, "golden retriever")]
    [TestCase(281, "tabby")]
    [TestCase(285, "Egyptian cat")]
    [TestCase(340, "zebra")]
    [TestCase(386, "African elephant")]
    [TestCase(409, "analog clock")]
    [TestCase(517, "crane")]
    [TestCase(504, "coffee mug")]
    [TestCase(817, "sports car")]
    [TestCase(954, "banana")]
    [TestCase(999, "toilet tissue")]
    public void ImageNet_NamesSitAtTheirStandardIndex(int index, string name)
    {
        Assert.That(ImageNetClasses.Names[index], Is.EqualTo(name));
    }

    [Test]
    public void FashionMnist_HasItsTenClassesInLabelOrder()
    {
        Assert.That(FashionMnist.ClassNames, Is.EqualTo(new[]
        {
            "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
        }));
    }
}
