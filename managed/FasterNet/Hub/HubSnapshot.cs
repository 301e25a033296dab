using System.Text.Json;
using System.Text.Json.Nodes;
using FasterNet.Serialization;

namespace FasterNet;

/// <summary>A config.json field is missing, of the wrong type or out of range.</summary>
public sealed class ModelConfigException(string file, string field, string problem)
    : FasterNetException($"{file}: field '{field}' {problem}")
{
    public string FileName { get; } = file;

    /// <summary>The field's path, e.g. "pretrained_cfg.mean".</summary>
    public string Field { get; } = field;
}

/// <summary>
/// A Hugging Face hub snapshot folder as timm publishes it: <c>config.json</c> (<c>architecture</c> such as
/// <c>fasternet_t2</c>, <c>num_classes</c>, optional <c>model_args</c> and <c>label_names</c>, and
/// <c>pretrained_cfg</c> with the pre-processing) beside <c>model.safetensors</c> and/or <c>pytorch_model.bin</c>,
/// in timm's or the official layout.
/// </summary>
public sealed class HubSnapshot
{
    public const string ConfigFileName = "config.json";

    /// <summary>Weight files looked for, in this order.</summary>
    public static IReadOnlyList<string> WeightFileNames { get; } = ["model.safetensors", "pytorch_model.bin"];

    private const string ArchitecturePrefix = "fasternet_";

    // timm's FasterNet constructor arguments a config's model_args may set; the training-only ones are ignored.
    private static readonly string[] ModelArgs = ["in_chans", "num_classes", "embed_dim", "depths", "mlp_ratio", "n_div",
                                                  "patch_size", "merge_size", "feature_dim"];
    private static readonly string[] TrainingOnlyArgs = ["drop_rate", "drop_path_rate", "pconv_fw_type", "global_pool"];

    private HubSnapshot(string directory, string configPath, string weightsPath, string architecture, ModelSpec spec,
                        PretrainedConfig pretrained, IReadOnlyList<string>? labelNames)
    {
        Directory = directory;
        ConfigPath = configPath;
        WeightsPath = weightsPath;
        Architecture = architecture;
        Spec = spec;
        Pretrained = pretrained;
        LabelNames = labelNames;
    }

    public string Directory { get; }
    public string ConfigPath { get; }

    /// <summary>model.safetensors if present, else pytorch_model.bin.</summary>
    public string WeightsPath { get; }

    /// <summary>config.json's architecture, e.g. "fasternet_t0".</summary>
    public string Architecture { get; }

    /// <summary>The variant with num_classes and model_args applied.</summary>
    public ModelSpec Spec { get; }

    public PretrainedConfig Pretrained { get; }

    /// <summary>config.json's label_names, or null.</summary>
    public IReadOnlyList<string>? LabelNames { get; }

    /// <summary>True when <paramref name="path"/> is a folder (a snapshot, or meant to be one).</summary>
    public static bool IsSnapshotFolder(string path) => System.IO.Directory.Exists(path);

    /// <summary>Reads a snapshot folder's config.json and finds its weights.</summary>
    /// <exception cref="ModelConfigException">A config.json field is missing or wrong; the message names the file and field.</exception>
    /// <exception cref="CheckpointFormatException">config.json is missing or not JSON, or the folder has no weights file.</exception>
    public static HubSnapshot Open(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        string full = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(full))
            throw new CheckpointFormatException(full, "folder does not exist");
        string configPath = Path.Combine(full, ConfigFileName);
        if (!File.Exists(configPath))
            throw new CheckpointFormatException(full,
                $"not a hub snapshot folder: it has no {ConfigFileName} (expected {ConfigFileName} beside {string.Join(" or ", WeightFileNames)})");
        string weightsPath = WeightFileNames.Select(name => Path.Combine(full, name)).FirstOrDefault(File.Exists)
            ?? throw new CheckpointFormatException(full,
                $"the snapshot folder has {ConfigFileName} but no weights ({string.Join(" or ", WeightFileNames)})");

        JsonObject json;
        try
        {
            json = JsonNode.Parse(File.ReadAllText(configPath)) as JsonObject
                   ?? throw new CheckpointFormatException(configPath, "must hold a JSON object");
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException(configPath, $"is not valid JSON: {e.Message}", e);
        }
        var (architecture, spec, pretrained, labels) = ParseConfig(json, configPath);
        return new HubSnapshot(full, configPath, weightsPath, architecture, spec, pretrained, labels);
    }

    /// <summary>The spec, pre-processing and label names of a hub config.json object.</summary>
    /// <exception cref="ModelConfigException">A field is missing or wrong.</exception>
    public static (string Architecture, ModelSpec Spec, PretrainedConfig Pretrained, IReadOnlyList<string>? LabelNames)
        ParseConfig(JsonObject json, string file)
    {
        ArgumentNullException.ThrowIfNull(json);
        var fields = new JsonFields(json, file, "");
        string architecture = fields.String("architecture")
            ?? throw new ModelConfigException(file, "architecture", $"is missing (e.g. \"{ArchitecturePrefix}t0\")");
        ModelSpec preset = ModelSpec.Variants.FirstOrDefault(v =>
                string.Equals(ArchitecturePrefix + v.Name, architecture, StringComparison.OrdinalIgnoreCase))
            ?? throw new ModelConfigException(file, "architecture",
                $"is \"{architecture}\", not a FasterNet ({string.Join(", ", ModelSpec.Variants.Select(v => ArchitecturePrefix + v.Name))})");

        ModelSpec spec = preset;
        if (json["model_args"] is { } argsNode)
            spec = ApplyModelArgs(spec, argsNode as JsonObject
                ?? throw new ModelConfigException(file, "model_args", "must be an object"), file);
        int? numClasses = fields.Int("num_classes");
        if (numClasses is { } classes)
        {
            if (classes <= 0)
                throw new ModelConfigException(file, "num_classes", $"is {classes}; a classifier needs at least 1 class (headless models are not supported)");
            spec = spec with { NumClasses = classes };
        }

        PretrainedConfig pretrained = json["pretrained_cfg"] is { } cfgNode
            ? ParsePretrained(cfgNode as JsonObject ?? throw new ModelConfigException(file, "pretrained_cfg", "must be an object"),
                              file, spec.InChannels)
            : DefaultPretrained(spec.InChannels, file);
        if (pretrained.InChannels != spec.InChannels)
            throw new ModelConfigException(file, "pretrained_cfg.input_size",
                $"has {pretrained.InChannels} channels but the model takes {spec.InChannels}");

        string[]? labels = fields.Strings("label_names");
        if (labels is not null && labels.Length != spec.NumClasses)
            throw new ModelConfigException(file, "label_names", $"has {labels.Length} names but num_classes is {spec.NumClasses}");
        return (architecture, spec, pretrained, labels);
    }

    /// <summary>
    /// Writes a snapshot folder: config.json (architecture, num_classes, model_args when the spec is not a preset,
    /// pretrained_cfg) and model.safetensors with the official state_dict renamed to <paramref name="layout"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The spec cannot be described by timm's FasterNet arguments.</exception>
    public static void Write(string directory, ModelSpec spec, StateDict officialStateDict, CheckpointLayout layout,
                             PretrainedConfig pretrained, IReadOnlyList<string>? labelNames = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(officialStateDict);
        ArgumentNullException.ThrowIfNull(pretrained);
        JsonObject config = BuildConfig(spec, pretrained, labelNames);
        System.IO.Directory.CreateDirectory(directory);
        SafeTensors.Write(Path.Combine(directory, WeightFileNames[0]), CheckpointLayouts.FromOfficial(officialStateDict, layout),
            new Dictionary<string, string> { ["format"] = "pt" });
        File.WriteAllText(Path.Combine(directory, ConfigFileName),
            config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    private static JsonObject BuildConfig(ModelSpec spec, PretrainedConfig pretrained, IReadOnlyList<string>? labelNames)
    {
        if (spec.Backbone)
            throw new ArgumentException("a backbone (fork_feat) has no timm architecture; hub folders hold classifiers");
        if (spec.PatchStride != spec.PatchSize || spec.PatchStride2 != spec.PatchSize2)
            throw new ArgumentException(
                $"timm's FasterNet uses one size for kernel and stride (patch_size, merge_size); {spec.Name} has " +
                $"patch {spec.PatchSize}/{spec.PatchStride}, merge {spec.PatchSize2}/{spec.PatchStride2}");
        if (labelNames is not null && labelNames.Count != spec.NumClasses)
            throw new ArgumentException($"{labelNames.Count} label names for {spec.NumClasses} classes");
        ModelSpec? preset = ModelSpec.Variants.FirstOrDefault(v => SameNetwork(v, spec));
        // A custom network is the preset with its activation plus model_args (timm's t0/t1 use GELU, the rest ReLU).
        ModelSpec architecture = preset ?? (spec.Activation == Activation.Gelu ? ModelSpec.T0 : ModelSpec.T2);
        var config = new JsonObject
        {
            ["architecture"] = ArchitecturePrefix + architecture.Name,
            ["num_classes"] = spec.NumClasses,
            ["num_features"] = spec.StageDim(spec.Depths.Count - 1),
            ["global_pool"] = "avg",
        };
        var args = new JsonObject();
        if (spec.InChannels != 3)
            args["in_chans"] = spec.InChannels;
        if (preset is null)
        {
            args["embed_dim"] = spec.EmbedDim;
            args["depths"] = new JsonArray(spec.Depths.Select(d => (JsonNode)d).ToArray());
            args["mlp_ratio"] = spec.MlpRatio;
            args["n_div"] = spec.NDiv;
            args["patch_size"] = spec.PatchSize;
            args["merge_size"] = spec.PatchSize2;
            args["feature_dim"] = spec.FeatureDim;
        }
        if (args.Count > 0)
            config["model_args"] = args;
        config["pretrained_cfg"] = new JsonObject
        {
            ["input_size"] = new JsonArray(pretrained.InChannels, pretrained.Height, pretrained.Width),
            ["interpolation"] = pretrained.Interpolation.ToString().ToLowerInvariant(),
            ["crop_pct"] = pretrained.CropPct,
            ["crop_mode"] = "center",
            ["mean"] = new JsonArray(pretrained.Mean.Select(m => (JsonNode)(double)(decimal)m).ToArray()),
            ["std"] = new JsonArray(pretrained.Std.Select(s => (JsonNode)(double)(decimal)s).ToArray()),
            ["num_classes"] = spec.NumClasses,
            ["first_conv"] = "patch_embed.proj",
            ["classifier"] = "classifier",
        };
        if (pretrained.TestCropPct is { } testCropPct)
            ((JsonObject)config["pretrained_cfg"]!)["test_crop_pct"] = testCropPct;
        if (labelNames is not null)
            config["label_names"] = new JsonArray(labelNames.Select(n => (JsonNode)n).ToArray());
        return config;
    }

    private static bool SameNetwork(ModelSpec preset, ModelSpec spec) =>
        preset with { Name = spec.Name, NumClasses = spec.NumClasses, InChannels = spec.InChannels } == spec;

    private static ModelSpec ApplyModelArgs(ModelSpec spec, JsonObject args, string file)
    {
        foreach (string key in args.Select(a => a.Key))
        {
            if (!ModelArgs.Contains(key) && !TrainingOnlyArgs.Contains(key))
                throw new ModelConfigException(file, $"model_args.{key}",
                    $"is not supported (FasterNet arguments read here: {string.Join(", ", ModelArgs)})");
        }
        var fields = new JsonFields(args, file, "model_args.");
        int? patch = fields.Int("patch_size"), merge = fields.Int("merge_size");
        spec = spec with
        {
            Name = spec.Name + " (model_args)",
            InChannels = fields.Int("in_chans") ?? spec.InChannels,
            NumClasses = fields.Int("num_classes") ?? spec.NumClasses,
            EmbedDim = fields.Int("embed_dim") ?? spec.EmbedDim,
            Depths = fields.Ints("depths") ?? spec.Depths,
            MlpRatio = (float?)fields.Double("mlp_ratio") ?? spec.MlpRatio,
            NDiv = fields.Int("n_div") ?? spec.NDiv,
            PatchSize = patch ?? spec.PatchSize,
            PatchStride = patch ?? spec.PatchStride,
            PatchSize2 = merge ?? spec.PatchSize2,
            PatchStride2 = merge ?? spec.PatchStride2,
            FeatureDim = fields.Int("feature_dim") ?? spec.FeatureDim,
        };
        foreach (var (key, value) in new[] { ("in_chans", spec.InChannels), ("embed_dim", spec.EmbedDim), ("n_div", spec.NDiv),
                                             ("patch_size", spec.PatchSize), ("merge_size", spec.PatchSize2), ("feature_dim", spec.FeatureDim) })
        {
            if (value <= 0)
                throw new ModelConfigException(file, $"model_args.{key}", $"is {value}; it must be positive");
        }
        if (spec.Depths.Count is < 1 or > ModelSpec.MaxStages || spec.Depths.Any(d => d <= 0))
            throw new ModelConfigException(file, "model_args.depths",
                $"is [{string.Join(", ", spec.Depths)}]; 1 to {ModelSpec.MaxStages} positive stage depths");
        if (!(spec.MlpRatio > 0))
            throw new ModelConfigException(file, "model_args.mlp_ratio", $"is {spec.MlpRatio}; it must be positive");
        return spec;
    }

    private static PretrainedConfig DefaultPretrained(int inChannels, string file) => inChannels == 3
        ? PretrainedConfig.ForImageNet()
        : throw new ModelConfigException(file, "pretrained_cfg",
            $"is missing; a model with in_chans {inChannels} must state its mean and std");

    private static PretrainedConfig ParsePretrained(JsonObject cfg, string file, int modelChannels)
    {
        var fields = new JsonFields(cfg, file, "pretrained_cfg.");
        var defaults = new PretrainedConfig();
        int[]? inputSize = fields.Ints("input_size");
        if (inputSize is not null && (inputSize.Length != 3 || inputSize.Any(v => v <= 0)))
            throw new ModelConfigException(file, "pretrained_cfg.input_size",
                $"is [{string.Join(", ", inputSize)}]; expected [channels, height, width], all positive");
        int channels = inputSize?[0] ?? modelChannels;
        if (inputSize is not null && inputSize[1] != inputSize[2])
            throw new ModelConfigException(file, "pretrained_cfg.input_size",
                $"is [{string.Join(", ", inputSize)}]; only square inputs (height = width) are supported");

        string? interpolation = fields.String("interpolation");
        ImageInterpolation mode = interpolation?.ToLowerInvariant() switch
        {
            null => defaults.Interpolation,
            "bicubic" => ImageInterpolation.Bicubic,
            "bilinear" => ImageInterpolation.Bilinear,
            _ => throw new ModelConfigException(file, "pretrained_cfg.interpolation",
                $"is \"{interpolation}\"; supported: bicubic, bilinear"),
        };
        string? cropMode = fields.String("crop_mode");
        if (cropMode is not null && !string.Equals(cropMode, "center", StringComparison.OrdinalIgnoreCase))
            throw new ModelConfigException(file, "pretrained_cfg.crop_mode", $"is \"{cropMode}\"; only \"center\" is supported");

        double? cropPct = fields.Double("crop_pct"), testCropPct = fields.Double("test_crop_pct");
        foreach (var (key, value) in new[] { ("crop_pct", cropPct), ("test_crop_pct", testCropPct) })
        {
            if (value is { } v && !(v > 0 && v <= 1))
                throw new ModelConfigException(file, $"pretrained_cfg.{key}", $"is {v}; it must be in (0, 1]");
        }

        float[]? mean = fields.Floats("mean"), std = fields.Floats("std");
        if (channels != 3 && (mean is null || std is null))
            throw new ModelConfigException(file, mean is null ? "pretrained_cfg.mean" : "pretrained_cfg.std",
                $"is missing; ImageNet's values are for 3 channels and the input has {channels}");
        foreach (var (key, values) in new[] { ("mean", mean), ("std", std) })
        {
            if (values is not null && values.Length != channels)
                throw new ModelConfigException(file, $"pretrained_cfg.{key}",
                    $"has {values.Length} values; input_size has {channels} channels");
            if (values is not null && values.Any(v => !float.IsFinite(v)))
                throw new ModelConfigException(file, $"pretrained_cfg.{key}", "must hold finite numbers");
        }
        if (std is not null && std.Any(s => !(s > 0)))
            throw new ModelConfigException(file, "pretrained_cfg.std", $"is [{string.Join(", ", std)}]; every value must be positive");

        return new PretrainedConfig
        {
            InChannels = channels,
            Height = inputSize?[1] ?? defaults.Height,
            Width = inputSize?[2] ?? defaults.Width,
            Interpolation = mode,
            // With only crop_pct given, it is also the evaluation ratio.
            CropPct = cropPct ?? (testCropPct is null ? defaults.CropPct : testCropPct.Value),
            TestCropPct = testCropPct ?? (cropPct is null ? defaults.TestCropPct : null),
            Mean = mean ?? defaults.Mean,
            Std = std ?? defaults.Std,
        };
    }

    /// <summary>Typed reads of optional fields; a wrong type is an error naming the file and the field.</summary>
    private sealed class JsonFields(JsonObject json, string file, string prefix)
    {
        public string? String(string key) => Read(key, "a string", node => node.GetValue<string>());

        public int? Int(string key) => Read<int?>(key, "an integer", node => node.GetValue<int>());

        public double? Double(string key) => Read<double?>(key, "a number", node => node.GetValue<double>());

        public int[]? Ints(string key) => Read(key, "an array of integers",
            node => ((JsonArray)node).Select(item => item!.GetValue<int>()).ToArray());

        public float[]? Floats(string key) => Read(key, "an array of numbers",
            node => ((JsonArray)node).Select(item => item!.GetValue<float>()).ToArray());

        public string[]? Strings(string key) => Read(key, "an array of strings",
            node => ((JsonArray)node).Select(item => item!.GetValue<string>()).ToArray());

        private T? Read<T>(string key, string expected, Func<JsonNode, T> read)
        {
            JsonNode? node = json[key];
            if (node is null)
                return default;
            try
            {
                return read(node);
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException or InvalidCastException
                                          or NullReferenceException or OverflowException)
            {
                throw new ModelConfigException(file, prefix + key, $"must be {expected}, not {node.ToJsonString()}");
            }
        }
    }
}
