using FasterNet.Serialization;

namespace FasterNet;

/// <summary>Reads a state_dict from any supported weights file, chosen by extension.</summary>
public static class Checkpoint
{
    /// <summary>.safetensors files by their format; anything else as a PyTorch torch.save file.</summary>
    /// <exception cref="CheckpointFormatException">The file is not a readable checkpoint.</exception>
    public static StateDict Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new CheckpointFormatException(path, "file does not exist");
        return path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)
            ? SafeTensors.Read(path)
            : TorchCheckpoint.Load(path);
    }
}
