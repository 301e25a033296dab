using System.Text.Json;
using System.Text.Json.Nodes;
using FasterNet.Imaging;

namespace FasterNet.Data;

/// <summary>
/// A trained classifier's config.json: the official constructor arguments (<see cref="ModelSpec.FromJson(JsonObject)"/>)
/// plus what a user of the weights needs, namely the pre-processing (<see cref="Preprocessor.FromModelConfig(JsonObject, string?)"/>),
/// <c>class_names</c> and, when recorded, PyTorch's <c>test_accuracy</c>.
/// </summary>
public sealed class ClassifierConfig
{
    private ClassifierConfig(ModelSpec spec, IReadOnlyList<string>? classNames, Preprocessor preprocessor,
                             double? testAccuracy, string source)
    {
        Spec = spec;
        ClassNames = classNames;
        Preprocessor = preprocessor;
        TestAccuracy = testAccuracy;
        Source = source;
    }

    public ModelSpec Spec { get; }

    /// <summary>The config's <c>class_names</c>, or null when it has none.</summary>
    public IReadOnlyList<string>? ClassNames { get; }

    public Preprocessor Preprocessor { get; }

    /// <summary>The accuracy PyTorch measured on the test set when the weights were made, if recorded.</summary>
    public double? TestAccuracy { get; }

    /// <summary>Where the config came from (a path or a resource name).</summary>
    public string Source { get; }

    /// <summary>Class names to print: the config's own, else ImageNet's for a 1000-class model, else "class i".</summary>
    public IReadOnlyList<string> Labels => ClassNames ??
        (Spec.NumClasses == ImageNetClasses.Names.Count
            ? ImageNetClasses.Names
            : Enumerable.Range(0, Spec.NumClasses).Select(i => $"class {i}").ToArray());

    /// <exception cref="FasterNetException">The file is not valid JSON or a value is wrong.</exception>
    public static ClassifierConfig Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = File.OpenRead(path);
        return Load(stream, Path.GetFileNameWithoutExtension(path), path);
    }

    /// <summary>Reads a config from a stream; <paramref name="name"/> becomes the spec's name.</summary>
    /// <exception cref="FasterNetException">The data is not valid JSON or a value is wrong.</exception>
    public static ClassifierConfig Load(Stream stream, string name, string source)
    {
        ArgumentNullException.ThrowIfNull(stream);
        JsonObject json;
        try
        {
            json = JsonNode.Parse(stream) as JsonObject
                   ?? throw new FasterNetException($"Model config '{source}' must be a JSON object.");
        }
        catch (JsonException e)
        {
            throw new FasterNetException($"Model config '{source}' is not valid JSON: {e.Message}", e);
        }
        return Parse(json, name, source);
    }

    /// <exception cref="FasterNetException">A value is wrong; the message names the key.</exception>
    public static ClassifierConfig Parse(JsonObject json, string name, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            ModelSpec spec = ModelSpec.FromJson(json) with { Name = name };
            string[]? classNames = json["class_names"] is JsonArray names
                ? names.Select(n => n!.GetValue<string>()).ToArray()
                : null;
            if (classNames is not null && classNames.Length != spec.NumClasses)
                throw new FormatException($"class_names has {classNames.Length} names but num_classes is {spec.NumClasses}");
            double? accuracy = json["test_accuracy"]?.GetValue<double>();
            return new ClassifierConfig(spec, classNames, Preprocessor.FromModelConfig(json, source), accuracy, source);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or ArgumentException)
        {
            throw new FasterNetException($"Model config '{source}': {e.Message}", e);
        }
    }
}
