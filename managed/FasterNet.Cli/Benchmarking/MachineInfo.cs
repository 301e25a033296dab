using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using FasterNet.Onnx;

namespace FasterNet.Cli.Benchmarking;

/// <summary>What a benchmark ran on, so that recorded numbers say where they come from.</summary>
internal sealed record MachineInfo(string Cpu, int LogicalCores, string Os, string DotNet, string FasterNetVersion,
                                   string KernelSet, IReadOnlyList<string> CpuFeatures, string OnnxRuntimeVersion)
{
    public static MachineInfo Current() => new(
        CpuModelName(), Environment.ProcessorCount, RuntimeInformation.OSDescription,
        RuntimeInformation.FrameworkDescription, Runtime.Version, Runtime.ActiveKernelSet.ToString().ToLowerInvariant(),
        Runtime.CpuFeatures, OrtPeer.Version);

    public JsonObject ToJson() => new()
    {
        ["cpu"] = Cpu,
        ["logical_cores"] = LogicalCores,
        ["os"] = Os,
        ["dotnet"] = DotNet,
        ["fasternet"] = FasterNetVersion,
        ["kernel_set"] = KernelSet,
        ["cpu_features"] = new JsonArray(CpuFeatures.Select(f => (JsonNode?)f).ToArray()),
        ["onnxruntime"] = OnnxRuntimeVersion,
    };

    public override string ToString() =>
        $"{Cpu}, {LogicalCores} logical cores; {Os}; {DotNet}; FasterNet {FasterNetVersion} ({KernelSet}); " +
        $"ONNX Runtime {OnnxRuntimeVersion}";

    /// <summary>The "model name" line of /proc/cpuinfo, or the architecture where there is none.</summary>
    private static string CpuModelName()
    {
        try
        {
            string? line = File.Exists("/proc/cpuinfo")
                ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))
                : null;
            if (line is not null && line.IndexOf(':') is var colon and >= 0)
                return line[(colon + 1)..].Trim();
        }
        catch (IOException)
        {
            // Unreadable cpuinfo: fall back to the architecture name.
        }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }
}
