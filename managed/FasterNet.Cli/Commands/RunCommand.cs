using System.CommandLine;
using FasterNet.Serialization;

namespace FasterNet.Cli.Commands;

/// <summary>`fasternet run`: one .npy batch in, logits (or the four backbone maps) out.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var config = CommonOptions.Config();
        var weights = CommonOptions.Weights();
        var threads = CommonOptions.Threads();
        var isa = CommonOptions.Isa();
        var precision = CommonOptions.Precision();
        var input = new Option<FileInfo>("--input", "-i") { Description = "Input .npy, float32 [N, C, H, W] or [C, H, W]", Required = true };
        var output = new Option<FileInfo?>("--output", "-o") { Description = "Logits .npy [N, classes]" };
        var features = new Option<bool>("--features") { Description = "Backbone mode: write the normalised map of every stage" };
        var outputDir = new Option<DirectoryInfo?>("--output-dir") { Description = "With --features: folder for stage1.npy .. stageN.npy" };
        var command = new Command("run", "Run a model on an .npy input and write the logits or backbone features")
        {
            model, config, weights, threads, isa, precision, input, output, features, outputDir,
        };
        command.SetAction(result => CommonOptions.Guard(() =>
        {
            ModelSpec spec = CommonOptions.ResolveSpec(result, model, config, weights);
            bool backbone = result.GetValue(features);
            FileInfo? outputFile = result.GetValue(output);
            DirectoryInfo? dir = result.GetValue(outputDir);
            if (backbone && dir is null)
                throw new ArgumentException("--features needs --output-dir");
            if (!backbone && outputFile is null)
                throw new ArgumentException("--output is required (or --features with --output-dir)");
            if (backbone)
                spec = spec with { Backbone = true };

            Tensor x = Npy.Read(result.GetValue(input)!.FullName);
            if (x.Rank == 3)
                x = new Tensor([1, x.Dimension(0), x.Dimension(1), x.Dimension(2)], x.Data);
            if (x.Rank != 4)
                throw new ShapeMismatchException($"input has shape {x.ShapeString}; expected [N, C, H, W] or [C, H, W]");
            if (x.Dimension(1) != spec.InChannels)
                throw new ShapeMismatchException($"input has shape {x.ShapeString}: {x.Dimension(1)} channels, model {spec.Name} expects {spec.InChannels}");

            using FasterNetModel net = CommonOptions.LoadModel(spec, result.GetValue(weights), result.GetValue(threads), result.GetValue(isa)!,
                result.GetValue(precision)!);
            if (backbone)
            {
                Tensor[] maps = net.RunBackbone(x);
                dir!.Create();
                for (int i = 0; i < maps.Length; i++)
                {
                    string path = Path.Combine(dir.FullName, $"stage{i + 1}.npy");
                    Npy.Write(path, maps[i]);
                    Console.WriteLine($"{path}  {maps[i].ShapeString}");
                }
            }
            else
            {
                Tensor logits = net.Run(x);
                Npy.Write(outputFile!.FullName, logits);
                Console.WriteLine($"{outputFile.FullName}  {logits.ShapeString}");
            }
            return 0;
        }));
        return command;
    }
}
