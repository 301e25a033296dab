using System.Text.Json;
using System.Text.Json.Serialization;

namespace FasterNet.Server;

/// <summary>One served model: what to load and how its queue, batcher and executors behave.</summary>
public sealed record ModelConfiguration
{
    /// <summary>Name in URLs (/v2/models/{name}); defaults to the variant name, or fashion-mnist for the built-in model.</summary>
    public string? Name { get; init; }

    /// <summary>t0..l, or "fashion-mnist" for the built-in model (the default).</summary>
    public string? Variant { get; init; }

    /// <summary>JSON with the official constructor arguments (custom networks); overrides <see cref="Variant"/>.</summary>
    public string? Config { get; init; }

    /// <summary>
    /// Checkpoint (.pth or .safetensors, official or timm layout), or a Hugging Face hub snapshot folder (config.json
    /// beside the weights: variant, classes, labels and image preprocessing from it); without it a variant gets seeded
    /// random weights.
    /// </summary>
    public string? Weights { get; init; }

    /// <summary>Threads per executor; 0: the cores divided evenly between the executors.</summary>
    public int Threads { get; init; }

    /// <summary>"fp32" (default) or "bf16": the arithmetic of the matrix products (ModelOptions.Precision).</summary>
    public string Precision { get; init; } = "fp32";

    internal FasterNet.Precision ParsedPrecision => Precision switch
    {
        "fp32" => FasterNet.Precision.Float32,
        "bf16" => FasterNet.Precision.BFloat16,
        _ => throw new ArgumentException($"model {EffectiveName}: precision must be \"fp32\" or \"bf16\", got \"{Precision}\""),
    };

    /// <summary>Executors (concurrent native calls) of this model.</summary>
    public int Executors { get; init; } = 1;

    /// <summary>Most images in one native call; a request with more gets 400.</summary>
    public int MaxBatchSize { get; init; } = 16;

    /// <summary>How long a batch waits for more requests of its image size (0: run what is there).</summary>
    public long MaxQueueDelayUs { get; init; }

    /// <summary>Requests waiting in the queue; one more gets 503 with Retry-After.</summary>
    public int MaxQueueSize { get; init; } = 64;

    /// <summary>Default per-request deadline from arrival (0: none); a request's "timeout" parameter only shortens it.</summary>
    public long DefaultTimeoutUs { get; init; } = 30_000_000;

    /// <summary>Image side the "image" input is preprocessed to (0: the model's own preprocessing).</summary>
    public int ImageSize { get; init; }

    internal string EffectiveName => Name ?? (Config is not null ? Path.GetFileNameWithoutExtension(Config)
                                              : Variant ?? SnapshotVariant ?? DefaultModel.Name);

    /// <summary>True when <see cref="Weights"/> names a hub snapshot folder.</summary>
    internal bool WeightsIsSnapshot => Weights is not null && HubSnapshot.IsSnapshotFolder(Weights);

    // A snapshot's variant name ("t0" for architecture "fasternet_t0"), the default name of the model it serves.
    private string? SnapshotVariant => WeightsIsSnapshot && File.Exists(Path.Combine(Weights!, "config.json"))
        ? HubSnapshot.Open(Weights!).Spec.Name.ToLowerInvariant()
        : null;

    internal void Validate()
    {
        if (Executors < 1)
            throw new ArgumentException($"model {EffectiveName}: executors must be at least 1, got {Executors}");
        if (Threads < 0)
            throw new ArgumentException($"model {EffectiveName}: threads must be 0 (automatic) or more, got {Threads}");
        _ = ParsedPrecision;
        if (MaxBatchSize < 1)
            throw new ArgumentException($"model {EffectiveName}: max_batch_size must be at least 1, got {MaxBatchSize}");
        if (MaxQueueDelayUs < 0)
            throw new ArgumentException($"model {EffectiveName}: max_queue_delay_us must be 0 or more, got {MaxQueueDelayUs}");
        if (MaxQueueSize < 1)
            throw new ArgumentException($"model {EffectiveName}: max_queue_size must be at least 1, got {MaxQueueSize}");
        if (DefaultTimeoutUs < 0)
            throw new ArgumentException($"model {EffectiveName}: default_timeout_us must be 0 or more, got {DefaultTimeoutUs}");
        if (string.IsNullOrWhiteSpace(EffectiveName) || EffectiveName.Contains('/'))
            throw new ArgumentException($"model name '{EffectiveName}' is empty or contains '/'");
    }
}

/// <summary>Everything `fasternet serve` runs with; serve.json has the same fields in snake_case.</summary>
public sealed record ServerConfiguration
{
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>REST (HTTP/1.1) port; 0 picks a free one.</summary>
    public int HttpPort { get; init; } = 8000;

    /// <summary>gRPC (cleartext HTTP/2) port; 0 picks a free one, -1 turns gRPC off.</summary>
    public int GrpcPort { get; init; } = 8001;

    public IReadOnlyList<ModelConfiguration> Models { get; init; } = [new ModelConfiguration()];

    /// <summary>Largest request body, compressed or not (413 beyond).</summary>
    public long MaxRequestBodyBytes { get; init; } = 64L << 20;

    /// <summary>Largest image (width x height) an "image" input may declare in its header.</summary>
    public long MaxImagePixels { get; init; } = 4096L * 4096;

    /// <summary>A client must send its request headers within this time.</summary>
    public double RequestHeadersTimeoutSeconds { get; init; } = 10;

    /// <summary>A client must send its body at this rate at least (after a 5 s grace period).</summary>
    public double MinRequestBodyBytesPerSecond { get; init; } = 4096;

    /// <summary>On SIGTERM, how long queued and running requests may take to finish.</summary>
    public double DrainTimeoutSeconds { get; init; } = 30;

    /// <summary>
    /// HTTP/1.1 request reads continue on the socket thread that received the bytes (Kestrel's inline scheduling)
    /// instead of one thread-pool hand-off per socket read; decompression, JSON tensors and image decoding still move
    /// to the thread pool. false: every read goes through the thread pool (docs/serving.md, "Request reads on the
    /// socket thread").
    /// </summary>
    public bool ReadRequestsOnSocketThread { get; init; } = true;

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Reads serve.json (snake_case names, e.g. "http_port", "models": [{"name", "variant", "max_batch_size"}]).</summary>
    public static ServerConfiguration Load(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<ServerConfiguration>(File.ReadAllText(path), JsonOptions)
                   ?? throw new ArgumentException($"{path}: the file holds null, expected an object");
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"{path}: {e.Message}", e);
        }
    }

    internal void Validate()
    {
        if (Models.Count == 0)
            throw new ArgumentException("the configuration names no models");
        foreach (ModelConfiguration model in Models)
            model.Validate();
        var duplicate = Models.GroupBy(m => m.EffectiveName).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException($"model name '{duplicate.Key}' is used {duplicate.Count()} times");
        if (HttpPort is < 0 or > 65535)
            throw new ArgumentException($"http port must be 0..65535, got {HttpPort}");
        if (GrpcPort is < -1 or > 65535)
            throw new ArgumentException($"grpc port must be -1 (off) or 0..65535, got {GrpcPort}");
        if (MaxRequestBodyBytes < 1024)
            throw new ArgumentException($"max_request_body_bytes must be at least 1024, got {MaxRequestBodyBytes}");
    }

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);
}
