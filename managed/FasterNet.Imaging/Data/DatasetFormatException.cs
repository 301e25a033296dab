namespace FasterNet.Data;

/// <summary>
/// A dataset or class-index file (IDX, predictions .npy) is malformed, truncated or has an unsupported layout.
/// The message starts with the file name and says what is wrong.
/// </summary>
public sealed class DatasetFormatException : FasterNetException
{
    public DatasetFormatException(string source, string problem, Exception? innerException = null)
        : base($"{source}: {problem}", innerException)
    {
        Source = source;
        Problem = problem;
    }

    /// <summary>The file path (or the caller's name for a stream) the problem was found in.</summary>
    public new string Source { get; }

    /// <summary>What is wrong, without the file name.</summary>
    public string Problem { get; }
}

/// <summary>A dataset's files are not where they were looked for; the message says how to get them.</summary>
public sealed class DatasetNotFoundException(string message) : FasterNetException(message);
