namespace FasterNet.Serialization;

/// <summary>The readers look back at headers and check lengths up front, so they need a seekable stream.</summary>
internal static class SeekableStream
{
    /// <summary>The stream itself when it can seek; otherwise its remaining bytes copied into memory.</summary>
    public static Stream Of(Stream stream)
    {
        if (stream.CanSeek)
            return stream;
        var copy = new MemoryStream();
        stream.CopyTo(copy);
        copy.Position = 0;
        return copy;
    }
}
