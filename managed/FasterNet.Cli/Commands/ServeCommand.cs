using System.CommandLine;
using FasterNet.Server;
using Microsoft.Extensions.Logging;

namespace FasterNet.Cli.Commands;

/// <summary>
/// `fasternet serve`: a KServe v2 / Open Inference Protocol server (REST + gRPC). No arguments: the built-in
/// Fashion-MNIST model as `fashion-mnist`; --model/--weights/--name one model; --config serve.json several.
/// Options given on the command line override serve.json (model options apply to every model).
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo?>("--config") { Description = "serve.json: host, ports, limits and a list of models (see docs/serving.md)" };
        var model = new Option<string?>("--model", "-m") { Description = "Variant to serve: t0, t1, t2, s, m, l (default: the built-in fashion-mnist)" };
        var modelConfig = new Option<FileInfo?>("--model-config") { Description = "JSON with the official constructor arguments of a custom network" };
        var weights = new Option<FileInfo?>("--weights", "-w") { Description = "Checkpoint (.pth or .safetensors), or a hub snapshot folder (variant, classes and preprocessing from its config.json); without it a variant gets seeded random weights" };
        var name = new Option<string?>("--name") { Description = "Name in /v2/models/{name} (default: the variant name)" };
        var host = new Option<string?>("--host") { Description = "Address to listen on (default 127.0.0.1)" };
        var httpPort = new Option<int?>("--http-port") { Description = "REST port (default 8000; 0 picks a free one)" };
        var grpcPort = new Option<int?>("--grpc-port") { Description = "gRPC port (default 8001; -1 turns gRPC off)" };
        var maxBatch = new Option<int?>("--max-batch-size") { Description = "Most images per native call (default 16)" };
        var delay = new Option<long?>("--max-queue-delay-us") { Description = "How long a batch waits for more requests (default 0)" };
        var queue = new Option<int?>("--max-queue-size") { Description = "Queued requests before 503 (default 64)" };
        var executors = new Option<int?>("--executors") { Description = "Concurrent native calls per model (default 1)" };
        var threads = new Option<int?>("--threads", "-t") { Description = "Threads per executor (default: cores / executors)" };
        var verbose = new Option<bool>("--verbose") { Description = "Log every request (ASP.NET Core information level)" };
        var command = new Command("serve", "Serve models over the KServe v2 / Open Inference Protocol (REST and gRPC), with dynamic batching")
        {
            config, model, modelConfig, weights, name, host, httpPort, grpcPort, maxBatch, delay, queue, executors, threads, verbose,
        };
        command.SetAction(result => CommonOptions.Guard(() =>
        {
            FileInfo? file = result.GetValue(config);
            // serve.json lists the models itself: a model option next to it would otherwise be silently ignored.
            string[] modelOptions = [.. new Option[] { model, modelConfig, weights, name }
                .Where(o => result.GetResult(o) is { Implicit: false }).Select(o => o.Name)];
            if (file is not null && modelOptions.Length > 0)
                throw new ArgumentException($"{string.Join(", ", modelOptions)} cannot be combined with --config: " +
                                            "serve.json names its models (give each its variant, weights and name there)");
            ServerConfiguration configuration = file is not null
                ? ServerConfiguration.Load(file.FullName)
                : new ServerConfiguration
                {
                    Models =
                    [
                        new ModelConfiguration
                        {
                            Variant = result.GetValue(model),
                            Config = result.GetValue(modelConfig)?.FullName,
                            Weights = result.GetValue(weights)?.FullName,
                            Name = result.GetValue(name),
                        },
                    ],
                };
            configuration = configuration with
            {
                Host = result.GetValue(host) ?? configuration.Host,
                HttpPort = result.GetValue(httpPort) ?? configuration.HttpPort,
                GrpcPort = result.GetValue(grpcPort) ?? configuration.GrpcPort,
                Models = configuration.Models.Select(m => m with
                {
                    MaxBatchSize = result.GetValue(maxBatch) ?? m.MaxBatchSize,
                    MaxQueueDelayUs = result.GetValue(delay) ?? m.MaxQueueDelayUs,
                    MaxQueueSize = result.GetValue(queue) ?? m.MaxQueueSize,
                    Executors = result.GetValue(executors) ?? m.Executors,
                    Threads = result.GetValue(threads) ?? m.Threads,
                }).ToList(),
            };
            return Serve(configuration, result.GetValue(verbose)).GetAwaiter().GetResult();
        }));
        return command;
    }

    private static async Task<int> Serve(ServerConfiguration configuration, bool verbose)
    {
        SocketCompletions.PreferInline();  // before the first socket of the process
        Console.Error.WriteLine("effective configuration:");
        Console.Error.WriteLine(configuration.ToJson());
        await using InferenceServer server = await InferenceServer.StartAsync(configuration, logging => logging
            .AddSimpleConsole(o => o.SingleLine = true)
            .SetMinimumLevel(verbose ? LogLevel.Information : LogLevel.Warning));
        foreach (ServedModel m in server.Models.Values)
            Console.Error.WriteLine($"model {m.Name}: {string.Join(", ", m.EffectiveSettings.Select(kv => $"{kv.Key}={kv.Value}"))}");
        Console.Error.WriteLine($"socket completions: {SocketCompletions.Effective()} ({SocketCompletions.Variable}=0 turns inline off)");
        Console.Error.WriteLine("request reads: " + (configuration.ReadRequestsOnSocketThread
            ? "on the socket thread (\"read_requests_on_socket_thread\": false in serve.json sends them through the thread pool)"
            : "through the thread pool"));
        Console.Error.WriteLine($"ready: REST {server.HttpAddress}" + (server.GrpcAddress is { } g ? $", gRPC {g}" : "") +
                                " (SIGTERM or Ctrl+C drains and stops)");
        await server.WaitForShutdownAsync();
        Console.Error.WriteLine("stopped: queued and running requests finished");
        return 0;
    }
}
