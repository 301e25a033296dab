using FasterNet.Fuzz;
using SharpFuzz;

// AFL++ harness for the managed parsers (run through fuzz/run.sh).
//   dotnet FasterNet.Fuzz.dll --list               the target names
//   dotnet FasterNet.Fuzz.dll TARGET               fuzz TARGET under afl-fuzz (input on stdin/shared memory)
//   dotnet FasterNet.Fuzz.dll TARGET FILE...       run TARGET once per file (reproduce a finding)
if (args.Length == 0 || args[0] is "--list" or "-h" or "--help")
{
    if (args.Length == 0 || args[0] != "--list")
        Console.Error.WriteLine("usage: FasterNet.Fuzz --list | TARGET [FILE...]");
    foreach (string name in FuzzTargets.All.Keys)
        Console.WriteLine(name);
    return args.Length == 0 ? 2 : 0;
}

string target = args[0];
if (!FuzzTargets.All.ContainsKey(target))
{
    Console.Error.WriteLine($"unknown fuzz target '{target}'; targets: {string.Join(", ", FuzzTargets.All.Keys)}");
    return 2;
}

if (args.Length > 1)
{
    foreach (string file in args.Skip(1))
    {
        FuzzTargets.Run(target, File.ReadAllBytes(file));
        Console.WriteLine($"{file}: ok");
    }
    return 0;
}

Fuzzer.OutOfProcess.Run(stream =>
{
    var bytes = new MemoryStream();
    stream.CopyTo(bytes);
    FuzzTargets.Run(target, bytes.ToArray());
});
return 0;
