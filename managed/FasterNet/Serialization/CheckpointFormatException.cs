namespace FasterNet.Serialization;

/// <summary>
/// A checkpoint or array file (.pth, .safetensors, .npy) is malformed, truncated, unsafe or unsupported.
/// The message starts with the file name and says what is wrong.
/// </summary>
public sealed class CheckpointFormatException : FasterNetException
{
    public CheckpointFormatException(string fileName, string problem, Exception? innerException = null)
        : base($"{fileName}: {problem}", innerException)
    {
        FileName = fileName;
        Problem = problem;
    }

    /// <summary>The file path (or the caller's name for a stream) the problem was found in.</summary>
    public string FileName { get; }

    /// <summary>What is wrong, without the file name.</summary>
    public string Problem { get; }
}
