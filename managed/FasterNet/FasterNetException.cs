namespace FasterNet;

/// <summary>The base of every error FasterNet.NET raises on bad input (files, shapes, native status codes).</summary>
public class FasterNetException : Exception
{
    public FasterNetException(string message) : base(message) { }

    public FasterNetException(string message, Exception? innerException) : base(message, innerException) { }
}
