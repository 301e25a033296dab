using System.Diagnostics;
using System.Text.Json;

namespace FasterNet.Cli.Tests;

/// <summary>Runs FasterNet.Cli.dll (the `fasternet` command) in its own process.</summary>
internal static class Cli
{
    internal sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public JsonElement Json()
        {
            try
            {
                return JsonDocument.Parse(Stdout).RootElement;
            }
            catch (JsonException e)
            {
                throw new AssertionException($"stdout is not JSON ({e.Message}):\n{Stdout}\nstderr:\n{Stderr}");
            }
        }

        public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
    }

    public static Result Run(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = TestContext.CurrentContext.WorkDirectory,
        };
        start.ArgumentList.Add(Path.Combine(TestContext.CurrentContext.TestDirectory, "FasterNet.Cli.dll"));
        foreach (string arg in args)
            start.ArgumentList.Add(arg);
        start.Environment["NO_COLOR"] = "1";
        using var process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            process.Kill(entireProcessTree: true);
            throw new AssertionException($"fasternet {string.Join(' ', args)} did not finish in 10 minutes");
        }
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Repo(string relative) => Path.Combine(RepoRoot, relative);

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FasterNet.sln")))
                return dir.FullName;
        }
        throw new DirectoryNotFoundException("repository root (FasterNet.sln) not found above the test directory");
    }
}
