using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.DependencyInjection;

namespace FasterNet.Server;

/// <summary>The REST routes of the KServe v2 protocol (plus Triton's statistics extension).</summary>
internal static class RestEndpoints
{
    public static void Map(WebApplication app, InferenceServer server)
    {
        ILogger logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("FasterNet.Server.Rest");

        app.MapGet("/v2/health/live", () => Results.Ok());
        app.MapGet("/v2/health/ready", () => server.IsReady ? Results.Ok() : Results.StatusCode(503));
        app.MapGet("/v2", () => Results.Json(new
        {
            name = InferenceServer.ServerName,
            version = InferenceServer.Version,
            extensions = InferenceServer.Extensions,
        }));

        foreach (string prefix in new[] { "/v2/models/{name}", "/v2/models/{name}/versions/{version}" })
        {
            app.MapGet(prefix, (HttpContext http, string name, string? version) =>
                Guarded(http, logger, () =>
                {
                    ServedModel model = server.Core.FindModel(name, version);
                    return http.Response.WriteAsJsonAsync(Metadata(model));
                }));
            app.MapGet(prefix + "/ready", (HttpContext http, string name, string? version) =>
                Guarded(http, logger, () =>
                {
                    ServedModel model = server.Core.FindModel(name, version);
                    http.Response.StatusCode = model.IsReady && !server.IsDraining ? 200 : 503;
                    return Task.CompletedTask;
                }));
            app.MapGet(prefix + "/stats", (HttpContext http, string name, string? version) =>
                Guarded(http, logger, () =>
                {
                    ServedModel model = server.Core.FindModel(name, version);
                    return http.Response.WriteAsJsonAsync(new { model_stats = new[] { model.Statistics.ToTritonStats(model.Name) } });
                }));
            app.MapPost(prefix + "/infer", (HttpContext http, string name, string? version) =>
                Guarded(http, logger, () => InferAsync(http, server, name, version)));
        }
        app.MapGet("/v2/models/stats", (HttpContext http) => http.Response.WriteAsJsonAsync(new
        {
            model_stats = server.Models.Values.Select(m => m.Statistics.ToTritonStats(m.Name)).ToArray(),
        }));
    }

    public static object Metadata(ServedModel model) => new
    {
        name = model.Name,
        versions = new[] { "1" },
        platform = "fasternet",
        inputs = model.Inputs.Select(t => new { name = t.Name, datatype = t.Datatype, shape = t.Shape }),
        outputs = model.Outputs.Select(t => new { name = t.Name, datatype = t.Datatype, shape = t.Shape }),
        parameters = model.EffectiveSettings,
    };

    private static async Task InferAsync(HttpContext http, InferenceServer server, string name, string? version)
    {
        // Only requests that arrive after SIGTERM are turned away; earlier ones finish.
        if (server.IsDraining)
            throw new InferenceException(InferenceErrorKind.Unavailable, "the server is shutting down", "shutting_down");
        ServedModel model = server.Core.FindModel(name, version);
        // Overloaded: answer before reading (and paying for) the body; the queue's own check stays the exact one.
        if (model.QueueLength >= model.Configuration.MaxQueueSize)
            throw model.RejectQueueFull();
        CancellationToken clientGone = http.RequestAborted;
        (InferenceRequest request, bool binaryOutput) = await RestProtocol.ReadInferAsync(
            http.Request, model.Name, server.Configuration.MaxRequestBodyBytes, server.Core.InputPool, clientGone);
        InferenceResponse response = await server.Core.InferAsync(request, clientGone);
        await RestProtocol.WriteInferResponseAsync(http.Response, response, binaryOutput);
    }

    /// <summary>Every failure becomes {"error": "..."} with Triton's status code; nothing a client sends escapes.</summary>
    private static async Task Guarded(HttpContext http, ILogger logger, Func<Task> body)
    {
        try
        {
            await body();
        }
        catch (InferenceException e)
        {
            if (e.Kind == InferenceErrorKind.Unavailable)
                http.Response.Headers.RetryAfter = "1";
            await RestProtocol.WriteErrorAsync(http.Response, e.HttpStatus, e.Message);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client left: nobody to answer.
        }
        catch (BadHttpRequestException e)
        {
            await RestProtocol.WriteErrorAsync(http.Response, e.StatusCode, e.Message);
        }
        catch (Exception e)
        {
            logger.LogError(e, "request {Path} failed", http.Request.Path);
            await RestProtocol.WriteErrorAsync(http.Response, 500, $"internal error: {e.Message}");
        }
    }
}
