using System.CommandLine;
using System.CommandLine.Help;
using FasterNet.Cli.Commands;

namespace FasterNet.Cli;

public static class Program
{
    /// <summary>The command as published (artifacts/bin/fasternet) and shown in help.</summary>
    public const string CommandName = "fasternet";

    public static int Main(string[] args)
    {
        // Named after the published command: a RootCommand takes the name of the entry
        // assembly (FasterNet.Cli), which is not what users type.
        var root = new Command(CommandName, "FasterNet.NET: run and measure FasterNet (PConv) networks on the CPU.")
        {
            new HelpOption(),
            new VersionOption(),
        };
        root.Subcommands.Add(InfoCommand.Create());
        root.Subcommands.Add(RunCommand.Create());
        root.Subcommands.Add(ConvertCommand.Create());
        root.Subcommands.Add(ExportOnnxCommand.Create());
        Command bench = BenchCommand.Create();
        bench.Subcommands.Add(BenchOpsCommand.Create());
        root.Subcommands.Add(bench);
        root.Subcommands.Add(ProfileCommand.Create());
        root.Subcommands.Add(PlotCommand.Create());
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(ClassifyCommand.Create());
        root.Subcommands.Add(SoakCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        return root.Parse(args).Invoke();
    }
}
