using System.CommandLine;
using FasterNet.Cli.Benchmarking;
using FasterNet.Onnx;

namespace FasterNet.Cli.Commands;

/// <summary>`fasternet export-onnx`: the model as the unfused ONNX graph PyTorch would export (opset 13).</summary>
internal static class ExportOnnxCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var config = CommonOptions.Config();
        var weights = CommonOptions.Weights();
        var seed = new Option<ulong>("--seed") { Description = "Seed of the random weights (without --weights)", DefaultValueFactory = _ => 0 };
        var output = new Option<FileInfo>("--output", "-o") { Description = "Output .onnx file", Required = true };
        var command = new Command("export-onnx", "Write a model as an ONNX graph (IR 8, opset 13; dynamic batch, height, width)")
        {
            model, config, weights, seed, output,
        };
        command.SetAction(result => CommonOptions.Guard(() =>
        {
            ModelSpec spec = CommonOptions.ResolveSpec(result, model, config, weights);
            (IReadOnlyDictionary<string, Tensor> stateDict, string label) =
                WeightsSource.Load(spec, result.GetValue(weights), result.GetValue(seed));
            FileInfo target = result.GetValue(output)!;
            OnnxExporter.Export(spec, stateDict, target.FullName);
            string outputs = spec.Backbone
                ? string.Join(", ", Enumerable.Range(0, spec.Depths.Count).Select(OnnxExporter.StageOutputName))
                : OnnxExporter.LogitsName;
            Console.WriteLine($"{target.FullName}: FasterNet-{spec.Name} ({label}), input '{OnnxExporter.InputName}' " +
                              $"[batch, {spec.InChannels}, height, width] -> {outputs}; {new FileInfo(target.FullName).Length:N0} bytes");
            return 0;
        }));
        return command;
    }
}
