namespace FasterNet.Imaging;

/// <summary>
/// An image file is corrupt, truncated, too large or in a format that is not supported.
/// The message starts with the file name and says what is wrong.
/// </summary>
public sealed class ImageFormatException : FasterNetException
{
    public ImageFormatException(string source, string problem, Exception? innerException = null)
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
