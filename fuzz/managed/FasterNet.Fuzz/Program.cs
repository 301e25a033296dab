using FasterNet.Fuzz;
using SharpFuzz;

var targets = FuzzTargets.All.Concat(ServerFuzzTargets.All).ToDictionary(t => t.Key, t => t.Value);

// AFL++ harness for the managed parsers (run through fuzz/run.sh).
//   dotnet FasterNet.Fuzz.dll --list               the target names
//   dotnet FasterNet.Fuzz.dll TARGET               fuzz TARGET under afl-fuzz (input on stdin/shared memory)
//   dotnet FasterNet.Fuzz.dll TARGET FILE...       run TARGET once per file (reproduce a finding)
if (args.Length == 0 || args[0] is "--list" or "-h" or "--help")
{
    if (args.Length == 0 || args[0] != "--list")
        Console.Error.WriteLine("usage: FasterNet.Fuzz --list | TARGET [FILE...]");
    foreach (string name in targets.Keys.Order(StringComparer.Ordinal))
        Console.WriteLine(name);
    return args.Length == 0 ? 2 : 0;
}

string target = args[0];
if (!targets.TryGetValue(target, out Action<byte[]>? parse))
{
    Console.Error.WriteLine($"unknown fuzz target '{target}'; targets: {string.Join(", ", targets.Keys)}");
    return 2;
}
// The library's targets refuse with FasterNetException (FuzzTargets.Run); the server's handle their own.
Action<byte[]> run = FuzzTargets.All.ContainsKey(target) ? bytes => FuzzTargets.Run(target, bytes) : parse;

if (args.Length > 1)
{
    foreach (string file in args.Skip(1))
    {
        run(File.ReadAllBytes(file));
        Console.WriteLine($"{file}: ok");
    }
    return 0;
}

Fuzzer.OutOfProcess.Run(stream =>
{
    var bytes = new MemoryStream();
    stream.CopyTo(bytes);
    run(bytes.ToArray());
});
return 0;
