using FasterNet.Data;
using FasterNet.Imaging;
using FasterNet.Serialization;

namespace FasterNet;

/// <summary>
/// The built-in model: a small FasterNet trained on Fashion-MNIST by tools/train_fashion_mnist.py (1x28x28 grayscale,
/// 10 classes). Its weights, config and PyTorch's 10,000 test-set predictions are embedded in this assembly, so it
/// runs with no files at hand.
/// </summary>
public static class DefaultModel
{
    public const string Name = "fashion-mnist";

    internal const string ResourcePrefix = "FasterNet.Models.FashionMnist.";
    internal const string WeightsResource = ResourcePrefix + "weights.pth";
    internal const string ConfigResource = ResourcePrefix + "config.json";
    internal const string PredictionsResource = ResourcePrefix + "test_predictions.npy";

    private static readonly Lazy<ClassifierConfig> LazyConfig = new(() =>
    {
        using Stream stream = Open(ConfigResource);
        return ClassifierConfig.Load(stream, Name, $"built-in {ConfigResource}");
    });

    private static readonly Lazy<int[]?> LazyPredictions = new(() =>
    {
        using Stream? stream = typeof(DefaultModel).Assembly.GetManifestResourceStream(PredictionsResource);
        return stream is null ? null : ClassIndexFile.Read(stream, $"built-in {PredictionsResource}");
    });

    /// <summary>True when this build of the assembly carries the model (weights and config).</summary>
    public static bool IsAvailable
    {
        get
        {
            string[] names = typeof(DefaultModel).Assembly.GetManifestResourceNames();
            return names.Contains(WeightsResource) && names.Contains(ConfigResource);
        }
    }

    /// <summary>The embedded config.json: spec, class names, pre-processing, PyTorch's test accuracy.</summary>
    public static ClassifierConfig Config => LazyConfig.Value;

    public static ModelSpec Spec => Config.Spec;

    /// <summary>Fashion-MNIST's class names, in label order.</summary>
    public static IReadOnlyList<string> ClassNames => Config.Labels;

    /// <summary>Gray pixels / 255, then (x - mean) / std with the training set's mean and std; 28x28, no crop margin.</summary>
    public static Preprocessor Preprocessor => Config.Preprocessor;

    /// <summary>PyTorch's accuracy on the 10,000 test images, as recorded when the model was trained.</summary>
    public static double? TestAccuracy => Config.TestAccuracy;

    /// <summary>PyTorch's predicted class for each of the 10,000 test images, in test-set order (null if not embedded).</summary>
    public static IReadOnlyList<int>? PyTorchTestPredictions => LazyPredictions.Value;

    /// <summary>Builds the model from the embedded weights.</summary>
    /// <exception cref="FasterNetException">This build does not carry the model.</exception>
    public static FasterNetModel Load(ModelOptions? options = null) => FasterNetModel.FromStateDict(Spec, LoadStateDict(), options);

    /// <summary>The embedded weights (official names), e.g. to export them.</summary>
    /// <exception cref="FasterNetException">This build does not carry the model.</exception>
    public static StateDict LoadStateDict()
    {
        using Stream stream = Open(WeightsResource);
        return TorchCheckpoint.Load(stream, $"built-in {WeightsResource}");
    }

    private static Stream Open(string resource) =>
        typeof(DefaultModel).Assembly.GetManifestResourceStream(resource)
        ?? throw new FasterNetException(
            $"the built-in {Name} model is not in this build of {typeof(DefaultModel).Assembly.GetName().Name}.dll " +
            $"(resource {resource} is missing): build it with models/fashion-mnist/ present (tools/train_fashion_mnist.py writes it)");
}
