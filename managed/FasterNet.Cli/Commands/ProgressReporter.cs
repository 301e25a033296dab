using Spectre.Console;

namespace FasterNet.Cli.Commands;

/// <summary>
/// Progress of a long job on stderr: a Spectre.Console bar when stderr is an interactive terminal, otherwise a plain
/// line about every tenth of the way (logs and CI stay readable, stdout stays clean for --json).
/// </summary>
internal static class ProgressReporter
{
    /// <summary>Runs <paramref name="body"/>, which reports finished items through the callback it is given.</summary>
    public static void Run(string description, int total, bool showPlainLines, Action<Action<int>> body)
    {
        bool terminal = !Console.IsErrorRedirected;
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(Console.Error),
            // Only stderr matters: `eval --json > result.json` still deserves a live bar.
            Interactive = terminal ? InteractionSupport.Yes : InteractionSupport.No,
        });
        if (terminal && console.Profile.Capabilities.Ansi)
        {
            console.Progress()
                .AutoClear(true)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                         new RemainingTimeColumn(), new SpinnerColumn())
                .Start(context =>
                {
                    ProgressTask task = context.AddTask(description, maxValue: total);
                    body(done => task.Increment(done));
                });
            return;
        }
        int finished = 0, step = Math.Max(1, total / 10), nextLine = step;
        body(done =>
        {
            finished += done;
            if (!showPlainLines || (finished < nextLine && finished < total))
                return;
            Console.Error.WriteLine($"{description}: {finished}/{total}");
            nextLine = (finished / step + 1) * step;
        });
    }
}
