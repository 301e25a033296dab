using System.CommandLine;
using FasterNet.Data;
using FasterNet.Serialization;

namespace FasterNet.Cli.Commands;

/// <summary>
/// `fasternet convert`: a checkpoint (or hub snapshot folder) to float32 safetensors, optionally renamed to the
/// official or timm layout, or to a hub snapshot folder (config.json + model.safetensors, timm layout by default)
/// that timm and <c>FasterNetModel.FromPretrained</c> load.
/// </summary>
internal static class ConvertCommand
{
    public static Command Create()
    {
        var input = new Option<FileInfo>("--input", "-i")
        {
            Description = "Checkpoint (.pth or .safetensors) or hub snapshot folder", Required = true,
        };
        var output = new Option<FileInfo>("--output", "-o")
        {
            Description = "Output .safetensors (float32), or a folder for a hub snapshot (config.json + model.safetensors)",
            Required = true,
        };
        var layout = new Option<string?>("--layout")
        {
            Description = "Tensor names to write: official or timm (default: as they are; timm for a hub folder)",
        };
        var model = new Option<string?>("--model", "-m") { Description = "For a hub folder: the variant (t0, t1, t2, s, m, l)" };
        var config = CommonOptions.Config();
        var classes = new Option<int?>("--num-classes") { Description = "For a hub folder with --model: the class count (default 1000)" };
        var command = new Command("convert",
            "Convert a checkpoint to float32 safetensors (official or timm layout) or to a hub snapshot folder")
        {
            input, output, layout, model, config, classes,
        };
        command.SetAction(result => CommonOptions.Guard(() =>
        {
            FileInfo source = result.GetValue(input)!, target = result.GetValue(output)!;
            CheckpointLayout? wanted = result.GetValue(layout) is { } name ? CheckpointLayouts.Parse(name) : null;
            if (!target.Name.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
                return WriteSnapshot(source, target.FullName, wanted ?? CheckpointLayout.Timm,
                                     result.GetValue(model), result.GetValue(config), result.GetValue(classes));
            if (result.GetValue(model) is not null || result.GetValue(config) is not null || result.GetValue(classes) is not null)
                throw new ArgumentException("--model, --config and --num-classes describe a hub folder; --output is a .safetensors file");
            HubSnapshot? snapshot = CommonOptions.Snapshot(source);
            StateDict stateDict = Checkpoint.Load(snapshot?.WeightsPath ?? source.FullName);
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

    private static int WriteSnapshot(FileInfo source, string folder, CheckpointLayout layout, string? model, FileInfo? config,
                                     int? classes)
    {
        if (File.Exists(folder))
            throw new ArgumentException($"--output '{folder}' is a file; a hub snapshot is written to a folder (or give a .safetensors name)");
        HubSnapshot? snapshot = CommonOptions.Snapshot(source);
        ModelSpec spec;
        PretrainedConfig pretrained;
        IReadOnlyList<string>? labels = null;
        if (snapshot is not null)
        {
            if (classes is not null)
                throw new ArgumentException($"--num-classes: the class count comes from {snapshot.ConfigPath}");
            spec = CommonOptions.SnapshotSpec(snapshot, model, config);
            (pretrained, labels) = (snapshot.Pretrained, snapshot.LabelNames);
        }
        else
        {
            if (model is null && config is null)
                throw new ArgumentException("a hub folder needs the model: --model t0..l (with --num-classes) or --config cfg.json");
            if (model is not null && config is not null)
                throw new ArgumentException("give --model or --config, not both");
            if (config is not null && classes is not null)
                throw new ArgumentException("--num-classes comes from --config's num_classes");
            if (config is not null)
            {
                // The config's own pre-processing and class names go into pretrained_cfg and label_names.
                ClassifierConfig loaded = ClassifierConfig.Load(config.FullName);
                (spec, pretrained, labels) = (loaded.Spec, loaded.Preprocessor.Options.ToPretrained(), loaded.ClassNames);
            }
            else
            {
                spec = ModelSpec.FromName(model!) with { NumClasses = classes ?? 1000 };
                pretrained = PretrainedConfig.ForImageNet(spec.InChannels);
            }
        }
        if (classes is <= 0)
            throw new ArgumentException($"--num-classes {classes} must be positive");

        string weightsPath = snapshot?.WeightsPath ?? source.FullName;
        RecognizedStateDict recognized = Recognize(Checkpoint.Load(weightsPath), weightsPath);
        // Loading checks every name and shape against the spec before anything is written.
        try
        {
            FasterNetModel.FromStateDict(spec, recognized.StateDict).Dispose();
        }
        catch (StateDictMismatchException e)
        {
            throw new StateDictMismatchException($"checkpoint '{weightsPath}' does not fit model {spec.Name}: {e.Message}");
        }
        catch (ShapeMismatchException e)
        {
            throw new ShapeMismatchException($"checkpoint '{weightsPath}' does not fit model {spec.Name}: {e.Message}");
        }
        HubSnapshot.Write(folder, spec, recognized.StateDict, layout, pretrained, labels);
        Console.WriteLine($"{folder}: {HubSnapshot.ConfigFileName} (fasternet {spec.Name}, {spec.NumClasses} classes) + " +
                          $"{HubSnapshot.WeightFileNames[0]} ({recognized.StateDict.Count} tensors, " +
                          $"{recognized.Description} -> {CheckpointLayouts.Describe(layout)})");
        return 0;
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
