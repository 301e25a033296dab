using System.CommandLine;
using System.Text.Json;

namespace FasterNet.Cli.Commands;

/// <summary>`fasternet info`: parameters, MACs and the per-stage layout of a model.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var config = CommonOptions.Config();
        var size = new Option<int>("--size") { Description = "Input height and width", DefaultValueFactory = _ => 224 };
        var json = CommonOptions.Json();
        var cpu = new Option<bool>("--cpu")
        {
            Description = "Only the CPU: model, features, caches and the tile and blocking choices derived from them",
        };
        var command = new Command("info", "Parameters, MACs and per-stage summary of a model; runtime and CPU facts")
        {
            model, config, size, json, cpu,
        };
        command.SetAction(result => CommonOptions.Guard(() =>
        {
            if (result.GetValue(cpu))
            {
                Console.Write(Runtime.CpuReport);
                return 0;
            }
            ModelSpec spec = CommonOptions.ResolveSpec(result.GetValue(model)!, result.GetValue(config));
            Print(spec, result.GetValue(size), result.GetValue(json));
            return 0;
        }));
        return command;
    }

    private static void Print(ModelSpec spec, int size, bool json)
    {
        IReadOnlyList<LayerCost> layers = LayerCost.For(spec, size, size);
        long macs = spec.Macs(size, size), parameters = spec.Parameters;
        var stages = Enumerable.Range(0, spec.Depths.Count).Select(s =>
        {
            var own = layers.Where(l => l.Stage == s && l.Kind is not (LayerKind.Input or LayerKind.PatchEmbedding or LayerKind.Head)).ToList();
            LayerCost last = own.Last();
            return new
            {
                stage = s + 1,
                channels = spec.StageDim(s),
                depth = spec.Depths[s],
                height = last.Height,
                width = last.Width,
                macs = own.Sum(l => l.Macs),
                parameters = own.Sum(l => l.Parameters),
            };
        }).ToList();
        if (json)
        {
            var document = new
            {
                model = spec.Name,
                input = new[] { spec.InChannels, size, size },
                parameters,
                macs,
                gmacs = macs / 1e9,
                embed_dim = spec.EmbedDim,
                depths = spec.Depths,
                n_div = spec.NDiv,
                mlp_ratio = spec.MlpRatio,
                activation = spec.Activation.ToString().ToLowerInvariant(),
                num_classes = spec.Backbone ? 0 : spec.NumClasses,
                backbone = spec.Backbone,
                stages,
                runtime = new { version = Runtime.Version, kernel_set = Runtime.ActiveKernelSet.ToString().ToLowerInvariant(), cpu = Runtime.CpuFeatures },
            };
            Console.WriteLine(JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true }));
            return;
        }
        Console.WriteLine($"FasterNet-{spec.Name.ToUpperInvariant()}  ({spec})");
        Console.WriteLine($"  parameters : {parameters / 1e6:F2} M  ({parameters:N0}; conv/linear weights, BN folded)");
        Console.WriteLine($"  MACs       : {macs / 1e9:F2} G at {spec.InChannels}x{size}x{size}  ({macs:N0})");
        Console.WriteLine();
        Console.WriteLine("  stage  channels  depth  map        GMACs    params (M)");
        foreach (var s in stages)
            Console.WriteLine($"  {s.stage,5}  {s.channels,8}  {s.depth,5}  {s.height + "x" + s.width,-9}  {s.macs / 1e9,6:F3}  {s.parameters / 1e6,10:F3}");
        LayerCost embed = layers.First(l => l.Kind == LayerKind.PatchEmbedding);
        Console.WriteLine($"  embed: {spec.PatchSize}x{spec.PatchSize}/s{spec.PatchStride} conv -> {embed.OutChannels}x{embed.Height}x{embed.Width}, {embed.Macs / 1e9:F3} GMACs");
        if (!spec.Backbone)
        {
            LayerCost head = layers[^1];
            Console.WriteLine($"  head : pool -> 1x1 conv {head.InChannels}->{spec.FeatureDim} -> {spec.Activation.ToString().ToLowerInvariant()} -> linear {spec.FeatureDim}->{spec.NumClasses}, {head.Parameters / 1e6:F3} M params");
        }
        Console.WriteLine();
        Console.WriteLine($"  runtime {Runtime.Version}, kernels {Runtime.ActiveKernelSet.ToString().ToLowerInvariant()}, CPU: {string.Join(" ", Runtime.CpuFeatures)}");
    }
}
