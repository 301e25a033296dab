using System.CommandLine;
using FasterNet.Serialization;

namespace FasterNet.Cli.Commands;

/// <summary>
/// `fasternet convert`: a checkpoint to float32 safetensors, optionally renamed to the official or timm layout.
/// </summary>
internal static class ConvertCommand
{
    public static Command Create()
    {
        var input = new Option<FileInfo>("--input", "-i") { Description = "Checkpoint (.pth or .safetensors)", Required = true };
        var output = new Option<FileInfo>("--output", "-o") { Description = "Output .safetensors (float32)", Required = true };
        var layout = new Option<string?>("--layout")
        {
            Description = "Tensor names to write: official or timm (default: the names as they are)",
        };
        var command = new Command("convert", "Convert a checkpoint to float32 safetensors, in the official or timm layout")
        {
            input, output, layout,
        };
        command.SetAction(result => CommonOptions.Guard(() =>
        {
            FileInfo source = result.GetValue(input)!, target = result.GetValue(output)!;
            CheckpointLayout? wanted = result.GetValue(layout) is { } name ? CheckpointLayouts.Parse(name) : null;
            if (!target.Name.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"--output '{target.Name}' must end in .safetensors");
            StateDict stateDict = Checkpoint.Load(source.FullName);
            string note = "";
            if (wanted is { } targetLayout)
            {
                RecognizedStateDict recognized = Recognize(stateDict, source.FullName);
                stateDict = CheckpointLayouts.FromOfficial(recognized.StateDict, targetLayout);
                note = $" ({recognized.Description} -> {CheckpointLayouts.Describe(targetLayout)})";
            }
            SafeTensors.Write(target.FullName, stateDict);
            Console.WriteLine($"{target.FullName}: {stateDict.Count} tensors, {stateDict.ElementCount:N0} values{note}");
            return 0;
        }));
        return command;
    }

    /// <summary>The state_dict with official names; an unrecognized one cannot be renamed.</summary>
    internal static RecognizedStateDict Recognize(StateDict stateDict, string source)
    {
        RecognizedStateDict recognized = CheckpointLayouts.ToOfficial(stateDict);
        if (recognized.Layout == CheckpointLayout.Unrecognized)
            throw new CheckpointFormatException(source,
                $"{CheckpointLayouts.Describe(recognized.Layout)}, so it cannot be renamed (names such as " +
                $"{string.Join(", ", stateDict.Keys.Take(3).Select(k => $"'{k}'"))})");
        return recognized;
    }
}
