using System.Diagnostics;

namespace FasterNet.Tests.Cli;

/// <summary>Runs the published `fasternet` (artifacts/bin, made by ./build.sh) and captures what it prints.</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static string Executable => Path.Combine(Fixtures.RepoRoot, "artifacts", "bin", "fasternet");

    public static Result Run(params string[] arguments)
    {
        if (!File.Exists(Executable))
            Assert.Fail($"{Executable} is missing: run ./build.sh first (it publishes the CLI there)");
        var start = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Fixtures.RepoRoot,
        };
        foreach (string argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(), stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"fasternet {string.Join(' ', arguments)} did not finish in 3 minutes");
        }
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Runs and asserts success, showing stderr when it fails.</summary>
    public static Result Succeed(params string[] arguments)
    {
        Result result = Run(arguments);
        Assert.That(result.ExitCode, Is.Zero, $"fasternet {string.Join(' ', arguments)}\n{result.Stderr}");
        return result;
    }
}
