using FasterNet.Server;

namespace FasterNet.Fuzz;

/// <summary>
/// The server's KServe v2 request parser (JSON header plus binary tensors). Kept apart from
/// <see cref="FuzzTargets"/> so the library's tests need no reference to the server.
/// </summary>
public static class ServerFuzzTargets
{
    public static readonly IReadOnlyDictionary<string, Action<byte[]>> All = new SortedDictionary<string, Action<byte[]>>
    {
        // The bytes up to the first 0 byte are the JSON header (Inference-Header-Content-Length), the
        // rest binary tensor data; without a 0 byte the whole body is JSON. A refusal is an
        // InferenceException (400/413 with a message), the server's clear error.
        ["server-request"] = bytes =>
        {
            int zero = Array.IndexOf(bytes, (byte)0);
            string? headerLength = zero < 0 ? null : zero.ToString(System.Globalization.CultureInfo.InvariantCulture);
            try
            {
                RestProtocol.ParseInfer("fuzz-model", bytes, headerLength);
            }
            catch (InferenceException)
            {
            }
        },
    };
}
