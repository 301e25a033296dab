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

    private static double Gauge(string metrics, string name) =>
        Regex.Match(metrics, $@"^{name}\{{[^}}]*\}} (\S+)$", RegexOptions.Multiline) is { Success: true } m
            ? double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)
            : 0;

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
        start.Environment.Remove(FasterNet.Server.SocketCompletions.Variable);  // the server's own default
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
            // Six requests of four 3x320x320 images each: several seconds of queued work. The bodies are built
            // first so that all six reach the server together.
            string[] bodies = Enumerable.Range(0, 6)
                .Select(i => JsonRequest(RandomInput(4 * 3 * 320 * 320, i), [4, 3, 320, 320]).ToJsonString()).ToArray();
            var requests = bodies.Select(body => http.PostAsync("/v2/models/m/infer",
                new StringContent(body, System.Text.Encoding.UTF8, "application/json"))).ToList();
            // SIGTERM only once every request is inside the server (a connection not yet accepted would be
            // refused, which is correct shutdown behaviour but not what this test is about) and some still wait.
            await Eventually(async () =>
            {
                Assert.That(requests.Where(r => r.IsCompleted).Select(r => r.Result.StatusCode), Is.All.EqualTo(HttpStatusCode.OK));
                string metrics = await http.GetStringAsync("/metrics");
                return Gauge(metrics, "fasternet_inference_in_flight_request_count") + Gauge(metrics, "nv_inference_request_success") == 6
                    && Gauge(metrics, "nv_inference_pending_request_count") >= 1;
            }, "all six requests accepted and some waiting in the queue");

            Assert.That(kill(server.Id, SigTerm), Is.Zero);
            HttpResponseMessage[] responses = await Task.WhenAll(requests);
            Assert.That(responses.Select(r => r.StatusCode), Is.All.EqualTo(HttpStatusCode.OK));
            Assert.That(server.WaitForExit(TimeSpan.FromSeconds(60)), Is.True, "the server exits after draining");
            Assert.That(server.ExitCode, Is.Zero, log.ToString());
            // The serve verb asks for inline socket completions before its first socket, and the runtime took them;
            // request reads stay on the socket thread by default.
            lock (log)
            {
                Assert.That(log.ToString(), Does.Contain("socket completions: inline ("));
                Assert.That(log.ToString(), Does.Contain("request reads: on the socket thread ("));
            }
        }
        finally
        {
            if (!server.HasExited)
                server.Kill();
        }
    }
}
