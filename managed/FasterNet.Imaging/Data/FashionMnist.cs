namespace FasterNet.Data;

/// <summary>Which half of a dataset.</summary>
public enum DatasetSplit
{
    Train,
    Test,
}

/// <summary>Images with one class label each.</summary>
public sealed class LabeledImages
{
    /// <exception cref="ArgumentException">The label count differs from the image count.</exception>
    public LabeledImages(IdxImages images, byte[] labels)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Length != images.Count)
            throw new ArgumentException($"{images.Count} images but {labels.Length} labels", nameof(labels));
        Images = images;
        Labels = labels;
    }

    public IdxImages Images { get; }
    public byte[] Labels { get; }
    public int Count => Images.Count;
}

/// <summary>
/// Fashion-MNIST (Zalando): 28x28 grayscale pictures of clothing in 10 classes, 60,000 for training and
/// 10,000 for testing, as the four gzipped IDX files Debian's <c>dataset-fashion-mnist</c> installs.
/// </summary>
public static class FashionMnist
{
    /// <summary>Where <c>apt-get install dataset-fashion-mnist</c> puts the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    public const int ImageSize = 28;

    /// <summary>The class names in label order (0 = T-shirt/top .. 9 = Ankle boot).</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
    [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ];

    /// <summary>The image and label file names of a split (gzipped; the plain names without ".gz" are accepted too).</summary>
    public static (string Images, string Labels) FileNames(DatasetSplit split) => split switch
    {
        DatasetSplit.Train => ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
        DatasetSplit.Test => ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
        _ => throw new ArgumentOutOfRangeException(nameof(split)),
    };

    /// <summary>True when both files of <paramref name="split"/> are in <paramref name="directory"/>.</summary>
    public static bool IsAvailable(DatasetSplit split = DatasetSplit.Test, string? directory = null)
    {
        string dir = directory ?? DefaultDirectory;
        (string images, string labels) = FileNames(split);
        return Locate(dir, images) is not null && Locate(dir, labels) is not null;
    }

    /// <summary>Reads a split and checks that images and labels belong together.</summary>
    /// <exception cref="DatasetNotFoundException">The files are not in the directory.</exception>
    /// <exception cref="DatasetFormatException">A file is malformed, or the two files do not match.</exception>
    public static LabeledImages Load(DatasetSplit split, string? directory = null)
    {
        string dir = directory ?? DefaultDirectory;
        (string imagesName, string labelsName) = FileNames(split);
        string imagesPath = Locate(dir, imagesName) ?? throw NotFound(dir, imagesName);
        string labelsPath = Locate(dir, labelsName) ?? throw NotFound(dir, labelsName);

        IdxImages images = IdxReader.ReadImages(imagesPath);
        byte[] labels = IdxReader.ReadLabels(labelsPath);
        if (images.Rows != ImageSize || images.Columns != ImageSize)
            throw new DatasetFormatException(imagesPath,
                $"images are {images.Rows}x{images.Columns}; Fashion-MNIST images are {ImageSize}x{ImageSize}");
        if (labels.Length != images.Count)
            throw new DatasetFormatException(labelsPath,
                $"{labels.Length} labels for the {images.Count} images of {imagesPath}: the files do not belong together");
        int bad = Array.FindIndex(labels, label => label >= ClassNames.Count);
        if (bad >= 0)
            throw new DatasetFormatException(labelsPath,
                $"label {labels[bad]} at index {bad} is not a class (0..{ClassNames.Count - 1})");
        return new LabeledImages(images, labels);
    }

    private static string? Locate(string directory, string gzipName)
    {
        string gzipped = Path.Combine(directory, gzipName);
        if (File.Exists(gzipped))
            return gzipped;
        string plain = Path.Combine(directory, Path.GetFileNameWithoutExtension(gzipName));
        return File.Exists(plain) ? plain : null;
    }

    private static DatasetNotFoundException NotFound(string directory, string fileName) =>
        new($"Fashion-MNIST not found in {directory}: install it with `apt-get install dataset-fashion-mnist` " +
            $"or pass --dir (missing: {fileName})");
}
