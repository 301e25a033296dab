using System.Text.Json;
using Google.Protobuf;

namespace FasterNet.Onnx;

/// <summary>
/// ONNX Runtime's own per-node profile of an exported FasterNet, summed per layer of the layer
/// table: the peer's side of a per-layer comparison with <c>fasternet profile</c>. Each run's
/// node kernel times (ONNX Runtime's JSON trace, <c>SessionOptions.EnableProfiling</c>) are
/// added up per layer; the result is the median over runs. Nodes ONNX Runtime adds itself
/// (layout reorders, fused GELU) count for the layer of the node that ran before them.
/// </summary>
public static class OrtNodeProfile
{
    /// <summary>Median seconds per layer name (in execution order), and the median whole run.</summary>
    public sealed record Result(IReadOnlyList<(string Layer, double Seconds)> Layers, double RunSeconds,
                                IReadOnlyList<string> UnmatchedNodes);

    /// <summary>
    /// A profiling ONNX Runtime session over the exported graph; <see cref="Run"/> adds timed runs
    /// (so a caller can interleave them with its own), <see cref="Finish"/> reads the trace.
    /// </summary>
    public sealed class Session : IDisposable
    {
        private readonly OrtPeer _peer;
        private readonly IReadOnlyDictionary<string, string> _nodeLayers;
        private readonly float[] _input;
        private readonly int _batch, _height, _width;
        private bool _finished;

        public Session(ModelSpec spec, IReadOnlyDictionary<string, Tensor> stateDict, int threads, int batch, int height, int width)
        {
            ArgumentNullException.ThrowIfNull(spec);
            byte[] onnx = OnnxExporter.Build(spec, stateDict, out _nodeLayers).ToByteArray();
            string prefix = Path.Combine(Path.GetTempPath(), $"fasternet_ort_profile_{Environment.ProcessId}");
            (_batch, _height, _width) = (batch, height, width);
            _input = new float[(long)batch * spec.InChannels * height * width];
            var random = new Random(1);
            for (long i = 0; i < _input.LongLength; i++) _input[i] = (float)(random.NextDouble() * 2 - 1);
            _peer = new OrtPeer(onnx, threads, prefix);
            _peer.Run(_input, batch, height, width);  // the session's first run allocates: left out of the result
        }

        public void Run(int count)
        {
            for (int i = 0; i < count; i++) _peer.Run(_input, _batch, _height, _width);
        }

        /// <summary>Ends profiling; per-layer medians over every run after the first.</summary>
        public Result Finish()
        {
            if (_finished) throw new InvalidOperationException("profiling already finished");
            _finished = true;
            string trace = _peer.EndProfiling();
            try
            {
                return Summarize(File.ReadAllText(trace), _nodeLayers, skipRuns: 1);
            }
            finally
            {
                File.Delete(trace);
            }
        }

        public void Dispose() => _peer.Dispose();
    }

    /// <summary>Per-layer medians from an ONNX Runtime JSON trace; the first <paramref name="skipRuns"/> runs are left out.</summary>
    public static Result Summarize(string traceJson, IReadOnlyDictionary<string, string> nodeLayers, int skipRuns)
    {
        using JsonDocument document = JsonDocument.Parse(traceJson);
        var runs = new List<(long Start, long End)>();
        var nodes = new List<(long Start, long Duration, string Name)>();
        foreach (JsonElement e in document.RootElement.EnumerateArray())
        {
            if (!e.TryGetProperty("name", out JsonElement nameElement) || !e.TryGetProperty("dur", out JsonElement dur))
                continue;
            string name = nameElement.GetString() ?? "";
            long ts = e.GetProperty("ts").GetInt64();
            string category = e.TryGetProperty("cat", out JsonElement cat) ? cat.GetString() ?? "" : "";
            if (category == "Session" && name == "model_run")
                runs.Add((ts, ts + dur.GetInt64()));
            else if (category == "Node" && name.EndsWith("_kernel_time", StringComparison.Ordinal))
                nodes.Add((ts, dur.GetInt64(), name[..^"_kernel_time".Length]));
        }
        runs.Sort();
        nodes.Sort();
        var order = new List<string>();
        var perRun = new List<Dictionary<string, double>>();
        var unmatched = new SortedSet<string>(StringComparer.Ordinal);
        var runSeconds = new List<double>();
        int node = 0;
        for (int r = 0; r < runs.Count; r++)
        {
            var layers = new Dictionary<string, double>(StringComparer.Ordinal);
            string current = "input";
            for (; node < nodes.Count && nodes[node].Start <= runs[r].End; node++)
            {
                if (nodes[node].Start < runs[r].Start) continue;
                string? layer = LayerOf(nodes[node].Name, nodeLayers);
                if (layer is null) unmatched.Add(nodes[node].Name);
                current = layer ?? current;
                layers[current] = layers.GetValueOrDefault(current) + nodes[node].Duration * 1e-6;
                if (!order.Contains(current)) order.Add(current);
            }
            if (r >= skipRuns)
            {
                perRun.Add(layers);
                runSeconds.Add((runs[r].End - runs[r].Start) * 1e-6);
            }
        }
        if (perRun.Count == 0)
            throw new InvalidOperationException("ONNX Runtime's trace holds no timed run");
        var result = order.Select(l => (l, Median(perRun.Select(run => run.GetValueOrDefault(l)).ToList()))).ToList();
        return new Result(result, Median(runSeconds), unmatched.ToList());
    }

    // A node keeps its exported name, or ONNX Runtime derives one from it (a suffix such as
    // "_nchwc"): the longest exported name the node's name starts with.
    private static string? LayerOf(string node, IReadOnlyDictionary<string, string> nodeLayers)
    {
        if (nodeLayers.TryGetValue(node, out string? layer)) return layer;
        string? best = null;
        int bestLength = 0;
        foreach ((string name, string owner) in nodeLayers)
        {
            if (name.Length > bestLength && node.StartsWith(name, StringComparison.Ordinal))
            {
                best = owner;
                bestLength = name.Length;
            }
        }
        return best;
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        int n = values.Count;
        return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
    }
}
