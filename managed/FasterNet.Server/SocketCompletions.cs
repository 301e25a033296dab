using System.Net.Sockets;
using System.Reflection;

namespace FasterNet.Server;

/// <summary>
/// Where .NET runs socket completions on Linux. By default each completion is handed from the epoll thread to the
/// thread pool; inline, the epoll thread runs it itself (Kestrel's receive loop copies into the connection's pipe and
/// flushes it). Where the request's own reads then continue is Kestrel's choice, set by
/// <see cref="ServerConfiguration.ReadRequestsOnSocketThread"/>. A 602 KB tensor body arrives in about twenty socket
/// reads, so the hand-offs saved add up (docs/serving.md, "Inline socket completions").
/// </summary>
public static class SocketCompletions
{
    public const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>
    /// Sets <see cref="Variable"/> to 1 on Linux unless the environment already sets it (so `=0` opts out). .NET reads
    /// it once, when the process's first socket is created: call this before any socket exists (`fasternet serve` does
    /// so first).
    /// </summary>
    public static void PreferInline()
    {
        if (OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable(Variable) is null)
            Environment.SetEnvironmentVariable(Variable, "1");
    }

    /// <summary>What this process's socket engine actually does: "inline", "thread pool", or "unknown" when the runtime does not say.</summary>
    public static string Effective()
    {
        if (!OperatingSystem.IsLinux())
            return "thread pool";
        object? value = typeof(Socket).Assembly.GetType("System.Net.Sockets.SocketAsyncEngine")
            ?.GetField("InlineSocketCompletionsEnabled", BindingFlags.NonPublic | BindingFlags.Static)?.GetValue(null);
        return value is bool inline ? (inline ? "inline" : "thread pool") : "unknown";
    }
}
