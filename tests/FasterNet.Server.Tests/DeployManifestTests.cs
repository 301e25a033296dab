using System.Net;
using System.Text.RegularExpressions;

namespace FasterNet.Server.Tests;

/// <summary>The probe paths and ports in deploy/ are ones the server really answers on.</summary>
[TestFixture]
public sealed class DeployManifestTests
{
    private static string DeployDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (Directory.Exists(Path.Combine(dir.FullName, "deploy", "kubernetes")))
                return Path.Combine(dir.FullName, "deploy");
        }
        throw new DirectoryNotFoundException("deploy/ not found above " + AppContext.BaseDirectory);
    }

    private static IEnumerable<string> Manifests() =>
        Directory.EnumerateFiles(DeployDirectory(), "*.yaml", SearchOption.AllDirectories).Order();

    [Test]
    public async Task EveryProbePathInTheManifestsAnswers200()
    {
        var paths = Manifests().SelectMany(f => Regex.Matches(File.ReadAllText(f), @"path:\s*(/v2/\S+)").Select(m => m.Groups[1].Value))
            .Distinct().ToList();
        Assert.That(paths, Is.SupersetOf(new[] { "/v2/health/live", "/v2/health/ready" }));
        await using ServerHarness server = await ServerHarness.StartAsync();
        foreach (string path in paths)
            Assert.That((await server.Http.GetAsync(path)).StatusCode, Is.EqualTo(HttpStatusCode.OK), path);
    }

    [Test]
    public void EveryContainerAndServicePortIsOneTheServerListensOnByDefault()
    {
        var defaults = new ServerConfiguration();
        foreach (string file in Manifests())
        {
            string text = File.ReadAllText(file);
            var ports = Regex.Matches(text, @"(?:containerPort|\bport):\s*(\d+)").Select(m => int.Parse(m.Groups[1].Value)).ToList();
            Assert.That(ports, Is.All.AnyOf(defaults.HttpPort, defaults.GrpcPort), file);
        }
        string dockerfile = File.ReadAllText(Path.Combine(DeployDirectory(), "Dockerfile"));
        Assert.That(dockerfile, Does.Contain($"EXPOSE {defaults.HttpPort} {defaults.GrpcPort}"));
    }
}
