using System.CommandLine;
using FasterNet.Cli.Commands;

namespace FasterNet.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("FasterNet.NET: run and measure FasterNet (PConv) networks on the CPU.");
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
        return root.Parse(args).Invoke();
    }
}
