using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using static FasterNet.Server.Tests.ServerHarness;

namespace FasterNet.Server.Tests;

/// <summary>`fasternet serve` as a child process: SIGTERM drains every accepted request, then exits 0.</summary>
[TestFixture]
public sealed partial class ShutdownTests
{
    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    private const int SigTerm = 15;

    [GeneratedRegex(@"ready: REST (http://\S+)")]
    private static partial Regex ReadyLine();

    [Test]
    [Platform("Linux")]
    public async Task SigtermFinishesQueuedAndRunningRequestsAndExitsZero()
    {
        string cli = Path.Combine(AppContext.BaseDirectory, "FasterNet.Cli.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            // FasterNet-M on one thread: each request below is about a second of compute on any CPU, so
            // the queue holds work long after the bodies have been parsed.
            ArgumentList = { cli, "serve", "--model", "m", "--threads", "1", "--http-port", "0", "--grpc-port", "0", "--max-batch-size", "4" },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using Process server = Process.Start(start)!;
        var ready = new TaskCompletionSource<Uri>();
        var log = new System.Text.StringBuilder();
        server.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
                return;
            lock (log)
                log.AppendLine(e.Data);
            if (ReadyLine().Match(e.Data) is { Success: true } m)
                ready.TrySetResult(new Uri(m.Groups[1].Value));
        };
        server.BeginErrorReadLine();
        server.BeginOutputReadLine();
        try
        {
            Uri address = await ready.Task.WaitAsync(TimeSpan.FromSeconds(120));
            using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(120) };
            // Six requests of four 3x320x320 images each: several seconds of queued work.
            var requests = Enumerable.Range(0, 6).Select(i => Task.Run(() => new ServerHarness.Client(http).PostJsonAsync(
                "/v2/models/m/infer", JsonRequest(RandomInput(4 * 3 * 320 * 320, i), [4, 3, 320, 320])))).ToList();
            await Eventually(async () =>
            {
                Assert.That(requests.Where(r => r.IsCompleted).Select(r => r.Result.StatusCode), Is.All.EqualTo(HttpStatusCode.OK));
                string metrics = await http.GetStringAsync("/metrics");
                return Regex.IsMatch(metrics, @"nv_inference_pending_request_count\{[^}]*\} [1-9]");
            }, "requests waiting in the queue");

            Assert.That(kill(server.Id, SigTerm), Is.Zero);
            HttpResponseMessage[] responses = await Task.WhenAll(requests);
            Assert.That(responses.Select(r => r.StatusCode), Is.All.EqualTo(HttpStatusCode.OK));
            Assert.That(server.WaitForExit(TimeSpan.FromSeconds(60)), Is.True, "the server exits after draining");
            Assert.That(server.ExitCode, Is.Zero, log.ToString());
        }
        finally
        {
            if (!server.HasExited)
                server.Kill();
        }
    }
}
