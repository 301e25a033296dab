using System.Net;
using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace FasterNet.Server;

/// <summary>
/// The KServe v2 server: loads the models (weights, warm-up), then serves REST on one Kestrel endpoint (HTTP/1.1)
/// and gRPC on another (cleartext HTTP/2). Stopping drains: readiness goes false, new requests get 503, queued and
/// running requests finish within the drain time.
/// </summary>
public sealed class InferenceServer : IAsyncDisposable
{
    public const string ServerName = "fasternet";

    private readonly WebApplication _app;
    private readonly Dictionary<string, ServedModel> _models;
    private volatile bool _draining;

    private InferenceServer(WebApplication app, Dictionary<string, ServedModel> models, ServerConfiguration configuration,
                            InferenceCore core)
    {
        _app = app;
        _models = models;
        Configuration = configuration;
        Core = core;
    }

    public ServerConfiguration Configuration { get; }
    public InferenceCore Core { get; }
    public IReadOnlyDictionary<string, ServedModel> Models => _models;
    public bool IsReady => !_draining && _models.Values.All(m => m.IsReady);

    /// <summary>The REST base address actually bound (useful with port 0).</summary>
    public Uri HttpAddress { get; private set; } = null!;

    /// <summary>The gRPC address actually bound, or null when gRPC is off.</summary>
    public Uri? GrpcAddress { get; private set; }

    public static string Version =>
        typeof(InferenceServer).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            .Split('+')[0] ?? "0.0.0";

    public static IReadOnlyList<string> Extensions { get; } =
        ["binary_tensor_data", "classification", "statistics", "model_configuration"];

    /// <summary>Loads every model and starts listening; returns once ready.</summary>
    public static async Task<InferenceServer> StartAsync(ServerConfiguration configuration,
                                                         Action<ILoggingBuilder>? logging = null)
    {
        configuration.Validate();
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (logging is not null)
            logging(builder.Logging);
        else
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(configuration.DrainTimeoutSeconds));
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = (int)Math.Min(int.MaxValue, configuration.MaxRequestBodyBytes);
            o.MaxSendMessageSize = null;
        });
        // 64 KB connection buffers instead of Kestrel's 4 KB: a 602 KB tensor body arrives in ~20 socket reads, not
        // ~150 (each a pipe flush); see docs/serving.md, "Where the server's time went".
        builder.Services.AddSingleton<IMemoryPoolFactory<byte>, LargeBlockMemoryPoolFactory>();
        builder.WebHost.UseSockets(o => o.UnsafePreferInlineScheduling = configuration.ReadRequestsOnSocketThread);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = configuration.MaxRequestBodyBytes;
            k.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(configuration.RequestHeadersTimeoutSeconds);
            k.Limits.MinRequestBodyDataRate = new MinDataRate(configuration.MinRequestBodyBytesPerSecond, TimeSpan.FromSeconds(5));
            IPAddress address = configuration.Host is "localhost" ? IPAddress.Loopback
                : IPAddress.TryParse(configuration.Host, out IPAddress? ip) ? ip
                : throw new ArgumentException($"--host '{configuration.Host}' is not an IP address");
            k.Listen(address, configuration.HttpPort, o => o.Protocols = HttpProtocols.Http1);
            if (configuration.GrpcPort >= 0)
                k.Listen(address, configuration.GrpcPort, o => o.Protocols = HttpProtocols.Http2);
        });
        var registry = Metrics.NewCustomRegistry();
        MetricFactory metrics = Metrics.WithCustomRegistry(registry);
        var reference = new ServerReference();
        builder.Services.AddSingleton(reference);

        WebApplication app = builder.Build();
        ILogger logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("FasterNet.Server");
        var models = new Dictionary<string, ServedModel>();
        try
        {
            foreach (ModelConfiguration m in configuration.Models)
            {
                ServedModel model = ServedModel.Load(m, metrics, logger);
                models.Add(model.Name, model);
                logger.LogInformation("model {Name} ready: {Settings}", model.Name,
                    JsonSerializer.Serialize(model.EffectiveSettings));
            }
        }
        catch
        {
            foreach (ServedModel model in models.Values)
                model.Dispose();
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        var core = new InferenceCore(models, configuration);
        var server = new InferenceServer(app, models, configuration, core);
        app.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(server.BeginDrain);
        reference.Server = server;
        RestEndpoints.Map(app, server);
        app.MapGrpcService<GrpcInferenceService>();
        app.MapMetrics("/metrics", registry);
        await app.StartAsync().ConfigureAwait(false);

        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Select(a => new Uri(a)).ToList();
        server.HttpAddress = addresses[0];
        server.GrpcAddress = addresses.Count > 1 ? addresses[1] : null;
        return server;
    }

    /// <summary>
    /// Readiness false; requests arriving from now on get 503, requests that arrived before are still queued
    /// and run (Kestrel waits for them while it stops).
    /// </summary>
    public void BeginDrain()
    {
        _draining = true;
        foreach (ServedModel model in _models.Values)
            model.BeginDrain();
    }

    public bool IsDraining => _draining;

    /// <summary>Runs until the host is told to stop (SIGTERM, Ctrl+C), then drains.</summary>
    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    /// <summary>Drains (bounded by the drain time) and stops.</summary>
    public async Task StopAsync()
    {
        BeginDrain();
        await _app.StopAsync().ConfigureAwait(false); // in-flight requests finish (bounded by the drain time)
        TimeSpan drain = TimeSpan.FromSeconds(Configuration.DrainTimeoutSeconds);
        foreach (ServedModel model in _models.Values)
        {
            model.CloseQueue();
            model.WaitDrained(drain);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        foreach (ServedModel model in _models.Values)
            model.Dispose();
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>Lets gRPC services (created by DI) reach the server, which exists only after the host is built.</summary>
internal sealed class ServerReference
{
    public InferenceServer Server { get; set; } = null!;
}
