using FasterNet.Data;

namespace FasterNet.Tests.Data;

/// <summary>The Debian dataset-fashion-mnist files (build.sh installs the package).</summary>
public class FashionMnistTests
{
    internal static void RequireDataset()
    {
        if (!FashionMnist.IsAvailable(DatasetSplit.Test))
            Assert.Ignore($"Fashion-MNIST is not installed in {FashionMnist.DefaultDirectory} (apt-get install dataset-fashion-mnist)");
    }

    [Test]
    public void TestSplit_Has10000ImagesOf28x28_1000PerClass()
    {
        RequireDataset();

        LabeledImages test = FashionMnist.Load(DatasetSplit.Test);

        Assert.That((test.Count, test.Images.Rows, test.Images.Columns), Is.EqualTo((10_000, 28, 28)));
        Assert.That(test.Labels.GroupBy(l => l).Select(g => g.Count()), Is.All.EqualTo(1000));
        Assert.That(test.Labels.Distinct().Count(), Is.EqualTo(10));
    }

    [Test]
    public void Load_FromAFolderWithoutTheFiles_SaysHowToInstallThem()
    {
        string empty = Directory.CreateTempSubdirectory("fasternet-nodata-").FullName;
        try
        {
            var exception = Assert.Throws<DatasetNotFoundException>(() => FashionMnist.Load(DatasetSplit.Test, empty))!;

            Assert.That(exception.Message, Does.StartWith($"Fashion-MNIST not found in {empty}: install it with " +
                                                          "`apt-get install dataset-fashion-mnist` or pass --dir"));
        }
        finally
        {
            Directory.Delete(empty);
        }
    }

    [Test]
    public void Load_ImagesAndLabelsOfDifferentCounts_AreRefused()
    {
        string dir = Directory.CreateTempSubdirectory("fasternet-mismatch-").FullName;
        try
        {
            // Two 28x28 images but three labels.
            byte[] images = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28, .. new byte[2 * 28 * 28]];
            File.WriteAllBytes(Path.Combine(dir, "t10k-images-idx3-ubyte"), images);
            File.WriteAllBytes(Path.Combine(dir, "t10k-labels-idx1-ubyte"), [0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3]);

            var exception = Assert.Throws<DatasetFormatException>(() => FashionMnist.Load(DatasetSplit.Test, dir))!;

            Assert.That(exception.Message, Does.Contain("3 labels for the 2 images"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
