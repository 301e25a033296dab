using System.CommandLine;
using FasterNet.Serialization;

namespace FasterNet.Cli.Commands;

/// <summary>`fasternet convert`: a checkpoint to safetensors (float32), e.g. for the C ABI's own readers.</summary>
internal static class ConvertCommand
{
    public static Command Create()
    {
        var input = new Option<FileInfo>("--input", "-i") { Description = "Checkpoint (.pth or .safetensors)", Required = true };
        var output = new Option<FileInfo>("--output", "-o") { Description = "Output .safetensors (float32)", Required = true };
        var command = new Command("convert", "Convert a checkpoint to float32 safetensors") { input, output };
        command.SetAction(result => CommonOptions.Guard(() =>
        {
            FileInfo source = result.GetValue(input)!, target = result.GetValue(output)!;
            if (!target.Name.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"--output '{target.Name}' must end in .safetensors");
            StateDict stateDict = Checkpoint.Load(source.FullName);
            SafeTensors.Write(target.FullName, stateDict);
            Console.WriteLine($"{target.FullName}: {stateDict.Count} tensors, {stateDict.ElementCount:N0} values");
            return 0;
        }));
        return command;
    }
}
