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
        Description = "Checkpoint (.pth state_dict or .safetensors); without it, seeded random weights",
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
        if (!weights.Exists)
            throw new FileNotFoundException($"weights file '{weights.FullName}' does not exist");
        return FasterNetModel.FromCheckpoint(spec, weights.FullName, options);
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
