using System.CommandLine;
using FasterNet.Serialization;

namespace FasterNet.Cli.Commands;

/// <summary>Options several commands share, and how they become a model.</summary>
internal static class CommonOptions
{
    public static Option<string> Model() => new("--model", "-m")
    {
        Description = "Model: t0, t1, t2, s, m, l (ImageNet variants)",
        DefaultValueFactory = _ => "t0",
    };

    public static Option<FileInfo?> Config() => new("--config")
    {
        Description = "JSON config with the official constructor arguments (custom networks); overrides --model",
    };

    public static Option<FileInfo?> Weights() => new("--weights", "-w")
    {
        Description = "Checkpoint (.pth or .safetensors, official or timm names) or a hub snapshot folder " +
                      "(config.json + model.safetensors); without it, seeded random weights",
    };

    public static Option<int> Threads() => new("--threads", "-t")
    {
        Description = "Threads per inference (0 = all cores)",
        DefaultValueFactory = _ => 0,
    };

    public static Option<string> Isa() => new("--isa")
    {
        Description = "Kernel set: auto, reference, avx2, avx512, neon",
        DefaultValueFactory = _ => "auto",
    };

    public static Option<string> Precision() => new Option<string>("--precision")
    {
        Description = "Arithmetic of the matrix products: fp32, or bf16 (bf16 inputs and weights, fp32 accumulation; " +
                      "needs AMX or AVX512-BF16, or --isa reference)",
        DefaultValueFactory = _ => "fp32",
    }.AcceptOnlyFromAmongChained("fp32", "bf16");

    public static FasterNet.Precision ParsePrecision(string name) => name switch
    {
        "fp32" => FasterNet.Precision.Float32,
        "bf16" => FasterNet.Precision.BFloat16,
        _ => throw new ArgumentException($"--precision '{name}' is not one of fp32, bf16"),
    };

    private static Option<string> AcceptOnlyFromAmongChained(this Option<string> option, params string[] values)
    {
        option.AcceptOnlyFromAmong(values);
        return option;
    }

    public static Option<bool> Json() => new("--json") { Description = "Print JSON instead of a table" };

    public static ModelSpec ResolveSpec(string model, FileInfo? config) =>
        config is not null ? ModelSpec.FromJson(config.FullName) : ModelSpec.FromName(model);

    /// <summary>
    /// The model a command runs: a hub snapshot folder's (--weights DIR; --model, if given, must agree with its
    /// architecture), else --config's, else --model's.
    /// </summary>
    public static ModelSpec ResolveSpec(ParseResult result, Option<string> model, Option<FileInfo?> config, Option<FileInfo?> weights)
    {
        HubSnapshot? snapshot = Snapshot(result.GetValue(weights));
        if (snapshot is null)
            return ResolveSpec(result.GetValue(model)!, result.GetValue(config));
        bool modelGiven = result.GetResult(model) is { Implicit: false };
        return SnapshotSpec(snapshot, modelGiven ? result.GetValue(model) : null, result.GetValue(config));
    }

    /// <summary>A snapshot's spec, checked against --model and --config when they are given.</summary>
    public static ModelSpec SnapshotSpec(HubSnapshot snapshot, string? model, FileInfo? config)
    {
        if (config is not null)
            throw new ArgumentException(
                $"--config {config.Name} and the hub snapshot folder {snapshot.Directory} both describe the model; give one of them");
        if (model is not null && !string.Equals("fasternet_" + ModelSpec.FromName(model).Name, snapshot.Architecture,
                                                StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException(
                $"--model {model} disagrees with the architecture {snapshot.Architecture} in {snapshot.ConfigPath}; " +
                "leave --model out to use the folder's");
        return snapshot.Spec;
    }

    /// <summary>The hub snapshot when <paramref name="weights"/> names a folder, else null.</summary>
    public static HubSnapshot? Snapshot(FileInfo? weights) =>
        weights is not null && HubSnapshot.IsSnapshotFolder(weights.FullName) ? HubSnapshot.Open(weights.FullName) : null;

    public static FasterNetModel LoadModel(ModelSpec spec, FileInfo? weights, int threads, string isa, string precision = "fp32")
    {
        var options = new ModelOptions
        {
            Threads = threads, KernelSet = Runtime.ParseKernelSet(isa), Precision = ParsePrecision(precision),
        };
        if (weights is null)
        {
            Console.Error.WriteLine($"note: no --weights given; {spec.Name} uses seeded random weights");
            return FasterNetModel.CreateRandom(spec, seed: 0, options);
        }
        FasterNetModel model;
        if (Snapshot(weights) is { } snapshot)
        {
            // A backbone run of a snapshot's classifier uses the same weights file with its own spec.
            model = spec.Backbone
                ? FasterNetModel.FromCheckpoint(spec, snapshot.WeightsPath, options)
                : FasterNetModel.FromPretrained(snapshot, options);
            Console.Error.WriteLine($"note: {snapshot.WeightsPath}: {CheckpointLayouts.Describe(model.WeightsLayout!.Value)}, " +
                                    $"{snapshot.Architecture}, {snapshot.Spec.NumClasses} classes");
            return model;
        }
        if (!weights.Exists)
            throw new FileNotFoundException($"weights file '{weights.FullName}' does not exist");
        model = FasterNetModel.FromCheckpoint(spec, weights.FullName, options);
        Console.Error.WriteLine($"note: {weights.FullName}: {CheckpointLayouts.Describe(model.WeightsLayout!.Value)}");
        return model;
    }

    /// <summary>Runs a command body; any error becomes one line on stderr and exit code 1.</summary>
    public static int Guard(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is FasterNetException or ArgumentException or IOException
                                      or UnauthorizedAccessException or InvalidOperationException
                                      or InsufficientMemoryException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
